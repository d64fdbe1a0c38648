//! What a device ACL entry names: a device node's kind and number, or a whole major, and the
//! access (`r`, `w`, `m`) granted or revoked.

use std::fmt;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use virt_audit::DevNum;

use crate::CgroupError;

/// Block or character device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Block,
    Char,
}

impl DeviceKind {
    /// The letter the v1 `devices.allow`/`devices.deny` files use.
    pub fn letter(self) -> char {
        match self {
            DeviceKind::Block => 'b',
            DeviceKind::Char => 'c',
        }
    }

    /// The kernel's `BPF_DEVCG_DEV_BLOCK` / `BPF_DEVCG_DEV_CHAR`.
    pub fn bpf_type(self) -> u32 {
        match self {
            DeviceKind::Block => 1,
            DeviceKind::Char => 2,
        }
    }
}

/// A set of device accesses. The bits are the kernel's `BPF_DEVCG_ACC_*` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Access(u8);

impl Access {
    pub const MKNOD: Access = Access(1);
    pub const READ: Access = Access(2);
    pub const WRITE: Access = Access(4);
    pub const RW: Access = Access(6);
    pub const RWM: Access = Access(7);

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn from_bits(bits: u8) -> Access {
        Access(bits & 7)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }

    pub fn without(self, other: Access) -> Access {
        Access(self.0 & !other.0)
    }

    /// Parses `r`, `w`, `m` in any order (`rw`, `rwm`, `m`...).
    pub fn parse(s: &str) -> Result<Access, CgroupError> {
        let mut a = Access(0);
        for ch in s.chars() {
            a = a.union(match ch {
                'r' => Access::READ,
                'w' => Access::WRITE,
                'm' => Access::MKNOD,
                _ => {
                    return Err(CgroupError::invalid(
                        "device access",
                        format!("{s:?}: only r, w and m are allowed"),
                    ))
                }
            });
        }
        if a.is_empty() {
            return Err(CgroupError::invalid(
                "device access",
                "empty (give r, w and/or m)",
            ));
        }
        Ok(a)
    }
}

impl fmt::Display for Access {
    /// `r`, `w`, `m` in that order, as the `acl=` audit field and the v1 files write them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, ch) in [
            (Access::READ, 'r'),
            (Access::WRITE, 'w'),
            (Access::MKNOD, 'm'),
        ] {
            if self.contains(bit) {
                write!(f, "{ch}")?;
            }
        }
        Ok(())
    }
}

/// A device node as found on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceNode {
    pub kind: DeviceKind,
    pub rdev: DevNum,
}

/// Looks a device node up, following symlinks, so the ACL names the real device whatever the path
/// is called. A missing path and a path that is not a block or character device are errors.
pub fn stat_device(path: &Path) -> Result<DeviceNode, CgroupError> {
    let meta = std::fs::metadata(path).map_err(|e| CgroupError::DevicePath {
        path: path.to_path_buf(),
        source: e,
    })?;
    let ft = meta.file_type();
    let kind = if ft.is_block_device() {
        DeviceKind::Block
    } else if ft.is_char_device() {
        DeviceKind::Char
    } else {
        let what = if ft.is_dir() {
            "directory"
        } else if ft.is_file() {
            "regular file"
        } else if ft.is_fifo() {
            "fifo"
        } else if ft.is_socket() {
            "socket"
        } else {
            "non-device file"
        };
        return Err(CgroupError::NotADevice {
            path: path.to_path_buf(),
            kind: what,
        });
    };
    use std::os::unix::fs::MetadataExt;
    Ok(DeviceNode {
        kind,
        rdev: DevNum::from_rdev(meta.rdev()),
    })
}

/// One entry of a device ACL: a device, or a whole major when `minor` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AclEntry {
    pub kind: DeviceKind,
    pub major: u32,
    pub minor: Option<u32>,
    pub access: Access,
}

/// A whole major, named by its category as the audit record says it (`category=pty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MajorClass<'a> {
    /// Letters only (it is written unquoted in the audit record).
    pub category: &'a str,
    pub kind: DeviceKind,
    pub major: u32,
}

impl MajorClass<'static> {
    /// Pseudo-terminal slaves (`/dev/pts/N`), character major 136.
    pub const PTY: MajorClass<'static> = MajorClass {
        category: "pty",
        kind: DeviceKind::Char,
        major: 136,
    };
    /// ALSA sound devices, character major 116.
    pub const SOUND: MajorClass<'static> = MajorClass {
        category: "sound",
        kind: DeviceKind::Char,
        major: 116,
    };
}

impl MajorClass<'_> {
    pub(crate) fn validate(&self) -> Result<(), CgroupError> {
        if self.category.is_empty() || !self.category.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(CgroupError::invalid(
                "device category",
                format!("{:?} must be letters only", self.category),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_text() {
        assert_eq!(Access::parse("wr").unwrap().to_string(), "rw");
        assert_eq!(Access::parse("mrw").unwrap().to_string(), "rwm");
        assert_eq!(Access::RWM.without(Access::RW).to_string(), "m");
        assert!(Access::parse("").is_err());
        assert!(Access::parse("rx").is_err());
    }

    #[test]
    fn stat_kinds_and_errors() {
        let n = stat_device(Path::new("/dev/null")).unwrap();
        assert_eq!(n.kind, DeviceKind::Char);
        assert_eq!(n.rdev, DevNum::new(1, 3));
        let e = stat_device(Path::new("/")).unwrap_err();
        assert_eq!(e.to_string(), "/ is not a device node (it is a directory)");
        let e = stat_device(Path::new("/nonexistent/dev")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("device path /nonexistent/dev: No such file or directory"),
            "{e}"
        );
    }

    #[test]
    fn category_must_be_letters() {
        let bad = MajorClass {
            category: "p ty",
            ..MajorClass::PTY
        };
        assert!(bad.validate().is_err());
        assert!(MajorClass::PTY.validate().is_ok());
    }
}
