//! Parsers for the proc files that describe cgroups: `/proc/self/mountinfo` (and the older
//! `/proc/mounts` layout), `/proc/PID/cgroup` and `/proc/cgroups`.
//!
//! These read outside input: a malformed line is an error naming the file and line, never a panic.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use crate::CgroupError;

/// One mounted filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// The directory of the filesystem that is mounted here (`/` unless a bind mount or a container).
    pub root: PathBuf,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// `cgroup`, `cgroup2`, `tmpfs`, ...
    pub fstype: String,
    /// The mount source (`cgroup`, `none`, a device...).
    pub source: String,
    /// The per-superblock options (for cgroup v1 these name the controllers: `rw,cpu,cpuacct`).
    pub super_options: Vec<String>,
}

impl MountEntry {
    /// Whether `opt` is one of the super options.
    pub fn has_option(&self, opt: &str) -> bool {
        self.super_options.iter().any(|o| o == opt)
    }
}

/// Undoes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash).
fn unescape(field: &str) -> PathBuf {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = u32::from(oct[0] - b'0') * 64
                    + u32::from(oct[1] - b'0') * 8
                    + u32::from(oct[2] - b'0');
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    PathBuf::from(OsString::from_vec(out))
}

fn parse_err(file: &'static str, line: usize, reason: impl Into<String>) -> CgroupError {
    CgroupError::Parse {
        file,
        line,
        reason: reason.into(),
    }
}

/// Parses `/proc/PID/mountinfo`:
/// `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS`.
pub fn parse_mountinfo(text: &str) -> Result<Vec<MountEntry>, CgroupError> {
    const FILE: &str = "mountinfo";
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (pre, post) = line.split_once(" - ").ok_or_else(|| {
            parse_err(
                FILE,
                lineno,
                "no ` - ` separator before the filesystem type",
            )
        })?;
        let pre: Vec<&str> = pre.split(' ').collect();
        if pre.len() < 6 {
            return Err(parse_err(
                FILE,
                lineno,
                format!(
                    "expected at least 6 fields before ` - `, found {}",
                    pre.len()
                ),
            ));
        }
        for (i, what) in [(0, "mount id"), (1, "parent id")] {
            pre[i].parse::<u64>().map_err(|_| {
                parse_err(FILE, lineno, format!("{what} {:?} is not a number", pre[i]))
            })?;
        }
        if !pre[2]
            .split_once(':')
            .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok())
        {
            return Err(parse_err(
                FILE,
                lineno,
                format!("device {:?} is not MAJOR:MINOR", pre[2]),
            ));
        }
        let mut post = post.split(' ');
        let fstype = post
            .next()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| parse_err(FILE, lineno, "missing filesystem type"))?;
        let source = post
            .next()
            .ok_or_else(|| parse_err(FILE, lineno, "missing mount source"))?;
        let opts = post.next().unwrap_or("");
        out.push(MountEntry {
            root: unescape(pre[3]),
            mount_point: unescape(pre[4]),
            fstype: fstype.to_string(),
            source: unescape(source).to_string_lossy().into_owned(),
            super_options: split_opts(opts),
        });
    }
    Ok(out)
}

/// Parses the `/proc/mounts` (fstab) layout: `SOURCE MOUNTPOINT FSTYPE OPTS FREQ PASSNO`.
/// Every entry's root is `/`, as that layout does not say.
pub fn parse_mounts(text: &str) -> Result<Vec<MountEntry>, CgroupError> {
    const FILE: &str = "mounts";
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            return Err(parse_err(
                FILE,
                lineno,
                format!("expected at least 4 fields, found {}", f.len()),
            ));
        }
        out.push(MountEntry {
            root: PathBuf::from("/"),
            mount_point: unescape(f[1]),
            fstype: f[2].to_string(),
            source: unescape(f[0]).to_string_lossy().into_owned(),
            super_options: split_opts(f[3]),
        });
    }
    Ok(out)
}

fn split_opts(opts: &str) -> Vec<String> {
    opts.split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect()
}

/// One line of `/proc/PID/cgroup`: `HIERARCHY-ID:CONTROLLERS:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcCgroupLine {
    /// 0 for the cgroup v2 hierarchy.
    pub hierarchy_id: u32,
    /// Controllers bound to the hierarchy (`cpu`, `cpuacct`, `name=systemd`); empty for v2.
    pub controllers: Vec<String>,
    /// The process's cgroup, relative to the hierarchy's root.
    pub path: String,
}

impl ProcCgroupLine {
    /// Whether this is the unified (v2) hierarchy's line (`0::/PATH`).
    pub fn is_unified(&self) -> bool {
        self.hierarchy_id == 0 && self.controllers.is_empty()
    }
}

/// Parses `/proc/PID/cgroup`.
pub fn parse_proc_cgroup(text: &str) -> Result<Vec<ProcCgroupLine>, CgroupError> {
    const FILE: &str = "/proc/PID/cgroup";
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(parse_err(FILE, lineno, "expected ID:CONTROLLERS:PATH"));
        };
        let hierarchy_id = id
            .parse::<u32>()
            .map_err(|_| parse_err(FILE, lineno, format!("hierarchy id {id:?} is not a number")))?;
        if !path.starts_with('/') {
            return Err(parse_err(
                FILE,
                lineno,
                format!("cgroup path {path:?} is not absolute"),
            ));
        }
        out.push(ProcCgroupLine {
            hierarchy_id,
            controllers: split_opts(ctrl),
            path: path.to_string(),
        });
    }
    Ok(out)
}

/// One line of `/proc/cgroups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subsystem {
    pub name: String,
    /// 0 when the controller is not bound to a v1 hierarchy (it is in v2, or unmounted).
    pub hierarchy: u32,
    pub num_cgroups: u32,
    pub enabled: bool,
}

/// Parses `/proc/cgroups` (`#subsys_name hierarchy num_cgroups enabled`).
pub fn parse_proc_cgroups(text: &str) -> Result<Vec<Subsystem>, CgroupError> {
    const FILE: &str = "/proc/cgroups";
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 4 {
            return Err(parse_err(
                FILE,
                lineno,
                format!("expected 4 fields, found {}", f.len()),
            ));
        }
        let num = |i: usize, what: &str| {
            f[i].parse::<u32>()
                .map_err(|_| parse_err(FILE, lineno, format!("{what} {:?} is not a number", f[i])))
        };
        out.push(Subsystem {
            name: f[0].to_string(),
            hierarchy: num(1, "hierarchy")?,
            num_cgroups: num(2, "num_cgroups")?,
            enabled: num(3, "enabled")? != 0,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_fields_and_escapes() {
        let text =
            "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime shared:5 - cgroup cgroup rw,devices\n\
                    41 31 0:38 /sub /sys/fs/cgroup/my\\040dir rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let m = parse_mountinfo(text).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].mount_point, PathBuf::from("/sys/fs/cgroup/devices"));
        assert_eq!(m[0].fstype, "cgroup");
        assert_eq!(m[0].super_options, vec!["rw", "devices"]);
        assert_eq!(m[1].mount_point, PathBuf::from("/sys/fs/cgroup/my dir"));
        assert_eq!(m[1].root, PathBuf::from("/sub"));
        assert!(m[1].has_option("nsdelegate"));
    }

    #[test]
    fn mountinfo_errors_name_the_line() {
        let err = parse_mountinfo("1 2 0:3 / /x rw - tmpfs t rw\ngarbage\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "mountinfo line 2: no ` - ` separator before the filesystem type"
        );
        let err = parse_mountinfo("x 2 0:3 / /x rw - tmpfs t rw\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "mountinfo line 1: mount id \"x\" is not a number"
        );
    }

    #[test]
    fn proc_cgroup_lines() {
        let l =
            parse_proc_cgroup("9:name=systemd:/\n2:cpu,cpuacct:/a:b\n0::/user.slice\n").unwrap();
        assert_eq!(l[0].controllers, vec!["name=systemd"]);
        assert_eq!(l[1].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(l[1].path, "/a:b");
        assert!(l[2].is_unified());
        assert!(parse_proc_cgroup("1:cpu\n").is_err());
        assert!(parse_proc_cgroup("1:cpu:relative\n").is_err());
    }

    #[test]
    fn proc_cgroups_table() {
        let s = parse_proc_cgroups(
            "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu 2 10 1\nmemory 0 1 0\n",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].hierarchy, 2);
        assert!(!s[1].enabled);
    }

    #[test]
    fn unescape_handles_short_and_bad_escapes() {
        assert_eq!(unescape("a\\04"), PathBuf::from("a\\04"));
        assert_eq!(unescape("a\\999"), PathBuf::from("a\\999"));
        assert_eq!(unescape("\\134x"), PathBuf::from("\\x"));
        assert_eq!(unescape("\\"), PathBuf::from("\\"));
    }
}
