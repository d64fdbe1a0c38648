//! What can go wrong hot-plugging.

use std::path::PathBuf;
use std::time::Duration;

use virt_net::NetError;

use crate::qmp::QmpError;
use crate::status::StatusError;

/// A hot-plug or hot-unplug that failed (what was done so far has been undone unless said).
/// Large sources are boxed to keep the error small.
#[derive(Debug, thiserror::Error)]
pub enum HotplugError {
    /// The device's configuration cannot be hot-plugged by this driver.
    #[error("cannot hot-plug {what}: {why}")]
    Unsupported { what: String, why: String },
    /// No free hot-pluggable PCI place for the device.
    #[error("no free hot-pluggable PCI slot for {0} (add a pcie-root-port controller)")]
    NoFreeSlot(String),
    /// The device (MAC, disk target, alias) is already in the definition.
    #[error("{0} is already attached")]
    Duplicate(String),
    /// No such device in the live definition.
    #[error("no {0} in the live definition")]
    NotFound(String),
    /// Opening or deleting the host side failed.
    #[error("host side of {what}: {source}")]
    Net {
        what: String,
        #[source]
        source: Box<NetError>,
    },
    /// Changing the guest's devices cgroup failed.
    #[error("cgroup device ACL for {what}: {source}")]
    Cgroup {
        what: String,
        #[source]
        source: Box<virt_cgroup::CgroupError>,
    },
    /// A QMP command failed.
    #[error("{step} for {what}: {source}")]
    Qmp {
        step: &'static str,
        what: String,
        #[source]
        source: Box<QmpError>,
    },
    /// The guest did not release the device in time; it stays attached and recorded.
    #[error(
        "guest did not release device '{alias}' within {timeout:?} (no DEVICE_DELETED); it stays attached"
    )]
    DetachTimeout { alias: String, timeout: Duration },
    /// Persisting the runtime state or definition failed.
    #[error(transparent)]
    Status(StatusError),
    /// The pending-attach record could not be written, read or removed.
    #[error("pending attach record {path}: {what}")]
    Pending { path: PathBuf, what: String },
}
