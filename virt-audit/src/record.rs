use std::fmt;

use crate::ProcessContext;

/// The three record types libvirt writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// AUDIT_VIRT_CONTROL (2500): start, stop, ...
    VirtControl,
    /// AUDIT_VIRT_RESOURCE (2501): a host resource given to or taken from a guest.
    VirtResource,
    /// AUDIT_VIRT_MACHINE_ID (2502): the guest's security labels.
    VirtMachineId,
}

impl RecordType {
    /// The kernel's message type number.
    pub fn number(self) -> u16 {
        match self {
            RecordType::VirtControl => 2500,
            RecordType::VirtResource => 2501,
            RecordType::VirtMachineId => 2502,
        }
    }

    /// The record type with this kernel message type number.
    pub fn from_number(n: u16) -> Option<Self> {
        match n {
            2500 => Some(RecordType::VirtControl),
            2501 => Some(RecordType::VirtResource),
            2502 => Some(RecordType::VirtMachineId),
            _ => None,
        }
    }

    /// The name `ausearch -m` takes and logs show after `type=`.
    pub fn name(self) -> &'static str {
        match self {
            RecordType::VirtControl => "VIRT_CONTROL",
            RecordType::VirtResource => "VIRT_RESOURCE",
            RecordType::VirtMachineId => "VIRT_MACHINE_ID",
        }
    }
}

/// Whether the action a record describes succeeded (`res=success`) or failed (`res=failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
        }
    }
}

impl From<bool> for Outcome {
    fn from(ok: bool) -> Self {
        if ok {
            Outcome::Success
        } else {
            Outcome::Failed
        }
    }
}

/// A device number; written as `rdev=MA:MI`, each part as at least two uppercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    pub fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// The device number of `path` when it is a character or block device (following symlinks),
    /// as libvirt looks it up for `rdev=`; `None` for anything else or when `stat` fails.
    pub fn of_path(path: impl AsRef<std::path::Path>) -> Option<Self> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let m = std::fs::metadata(path).ok()?;
        let ft = m.file_type();
        (ft.is_char_device() || ft.is_block_device()).then(|| Self::from_rdev(m.rdev()))
    }

    /// From a `st_rdev` value.
    pub fn from_rdev(rdev: u64) -> Self {
        // The glibc dev_t layout, decoded as major()/minor() do.
        let major = ((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0x0000_0fff);
        let minor = ((rdev >> 12) & 0xffff_ff00) | (rdev & 0x0000_00ff);
        Self {
            major: major as u32,
            minor: minor as u32,
        }
    }
}

impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}:{:02X}", self.major, self.minor)
    }
}

/// One audit record: its type, the message body libvirt would pass to `audit_log_user_message`, and
/// the outcome (which becomes `res=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub rtype: RecordType,
    pub body: String,
    pub outcome: Outcome,
}

impl Record {
    pub fn new(rtype: RecordType, body: String, outcome: impl Into<Outcome>) -> Self {
        Self {
            rtype,
            body,
            outcome: outcome.into(),
        }
    }

    /// `BODY res=success|failed`: the record's text less the fields libaudit adds about the sending
    /// process (`exe`, `hostname`, `addr`, `terminal`). Convenient for exact comparisons in tests.
    pub fn summary(&self) -> String {
        format!("{} res={}", self.body, self.outcome.as_str())
    }

    /// The full text libaudit's `audit_log_user_message` sends to the kernel for this record:
    /// `BODY exe=... hostname=? addr=? terminal=? res=success|failed`.
    pub fn text(&self, ctx: &ProcessContext) -> String {
        let mut s = String::with_capacity(self.body.len() + 96);
        s.push_str(&self.body);
        ctx.push_fields(&mut s);
        s.push_str(" res=");
        s.push_str(self.outcome.as_str());
        s
    }

    /// One line of a record file: `type=VIRT_RESOURCE msg='TEXT'` (no newline).
    pub fn file_line(&self, ctx: &ProcessContext) -> String {
        format!("type={} msg='{}'", self.rtype.name(), self.text(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_numbers() {
        assert_eq!(DevNum::of_path("/dev/null"), Some(DevNum::new(1, 3)));
        assert_eq!(
            DevNum::of_path("/dev/null")
                .map(|d| d.to_string())
                .as_deref(),
            Some("01:03")
        );
        assert_eq!(DevNum::of_path("/proc/self/status"), None);
        assert_eq!(DevNum::of_path("/nonexistent/x"), None);
        assert_eq!(
            DevNum::from_rdev(libc::makedev(259, 70000)),
            DevNum::new(259, 70000)
        );
    }
}
