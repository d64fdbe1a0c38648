//! The crate's error type: every variant names what failed and where.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;
use virt_audit::AuditError;

/// Why a cgroup operation failed.
#[derive(Debug, Error)]
pub enum CgroupError {
    /// A file or directory operation on a cgroup (or proc) path failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A line of a proc file (mountinfo, /proc/PID/cgroup, /proc/cgroups) is malformed.
    #[error("{file} line {line}: {reason}")]
    Parse {
        file: &'static str,
        line: usize,
        reason: String,
    },

    /// No cgroup hierarchy (v1 or v2) is mounted.
    #[error("no cgroup hierarchy is mounted (looked in {0})")]
    NoCgroups(String),

    /// A controller a knob or the device ACL needs is neither in a v1 hierarchy nor enabled in v2.
    #[error("the {controller} controller is not available on this host for cgroup {}", path.display())]
    ControllerUnavailable {
        controller: &'static str,
        path: PathBuf,
    },

    /// The guest cgroup was made without a device ACL (no devices controller and no cgroup v2).
    #[error("no device ACL for cgroup {}: neither a v1 devices hierarchy nor cgroup v2 is in use", path.display())]
    NoDeviceAcl { path: PathBuf },

    /// A device path could not be looked up (missing, dangling symlink, no permission).
    #[error("device path {}: {source}", path.display())]
    DevicePath {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A path (after following symlinks) is not a block or character device node.
    #[error("{} is not a device node (it is a {kind})", path.display())]
    NotADevice { path: PathBuf, kind: &'static str },

    /// A bpf(2) command failed.
    #[error("bpf {op} for cgroup {}: {source}", cgroup.display())]
    Bpf {
        op: &'static str,
        cgroup: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The kernel verifier refused the device program.
    #[error("the kernel refused the device-ACL BPF program ({source}); verifier log: {log}")]
    Verifier {
        #[source]
        source: std::io::Error,
        log: String,
    },

    /// The device map of a guest is full.
    #[error("the device ACL of cgroup {} is full ({capacity} entries)", cgroup.display())]
    AclFull { cgroup: PathBuf, capacity: u32 },

    /// A cgroup still held processes when the bounded wait for it to empty ran out.
    #[error("cgroup {} still holds process(es) {pids:?} after waiting {waited:?}; stop them before removing it", path.display())]
    Busy {
        path: PathBuf,
        pids: Vec<u32>,
        waited: Duration,
    },

    /// A value given by the caller is out of range or malformed.
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },

    /// The change was made but its audit record could not be sent under `audit_level` strict.
    #[error("audit: {0}")]
    Audit(#[from] AuditError),
}

impl CgroupError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CgroupError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        CgroupError::Invalid {
            what,
            reason: reason.into(),
        }
    }
}
