//! What can go wrong when giving a guest NIC its host side.

use std::io;

use virt_audit::AuditError;

/// Every failure names the interface, device path or netlink operation concerned. When one is
/// returned, the call that failed has already closed every fd it opened and deleted every interface
/// it created.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("invalid interface name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("invalid queue count {0}: a NIC has 1 to {max} queues", max = crate::MAX_QUEUES)]
    InvalidQueues(u32),
    #[error("invalid MTU {0}: must be at least 68")]
    InvalidMtu(u32),
    #[error("MAC address {0} is a multicast address and cannot be a NIC's own")]
    MulticastMac(String),
    #[error("interface {0:?} already exists")]
    NameInUse(String),
    #[error("bridge {0:?} does not exist")]
    BridgeMissing(String),
    #[error("interface {0:?} is not a bridge")]
    NotABridge(String),
    #[error("parent interface {0:?} does not exist")]
    ParentMissing(String),
    #[error("no free interface name for template {0:?}")]
    NoFreeName(String),
    #[error("cannot open {path}: {source}")]
    Open { path: String, source: io::Error },
    #[error("{op} on {path} for interface {ifname:?}: {source}")]
    Ioctl {
        op: &'static str,
        path: String,
        ifname: String,
        source: io::Error,
    },
    #[error("{path} belongs to interface {found:?}, not to the macvtap {ifname:?} just created")]
    TapMismatch {
        path: String,
        ifname: String,
        found: String,
    },
    #[error("vhost-net was required (driver name='vhost') but {path} cannot be opened: {source}")]
    VhostUnavailable { path: String, source: io::Error },
    #[error("netlink {op} for {ifname:?}: {source}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Netlink {
        op: &'static str,
        ifname: String,
        source: io::Error,
        /// The kernel's extended-ack message, when it gave one.
        detail: Option<String>,
    },
    #[error("audit record could not be sent: {0}")]
    Audit(#[from] AuditError),
}
