use std::io;
use std::path::PathBuf;

use thiserror::Error;
use virt_audit::AuditError;
use virt_xml::PciAddr;

/// Everything that can go wrong handling a host device.
#[derive(Debug, Error)]
pub enum HostdevError {
    #[error("PCI device {addr} not found: {path} does not exist")]
    PciNotFound { addr: PciAddr, path: PathBuf },
    #[error("PCI device {addr} vanished while {step}: {path}: {source}; the host state was restored as far as the device still exists")]
    Vanished {
        addr: PciAddr,
        step: String,
        path: PathBuf,
        source: io::Error,
    },
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("writing {value:?} to {path}: {source}")]
    Write {
        path: PathBuf,
        value: String,
        source: io::Error,
    },
    #[error("{path}: {what} (content {content:?})")]
    BadAttr {
        path: PathBuf,
        what: String,
        content: String,
    },
    #[error("PCI passthrough is impossible on this host: {0}")]
    NoIommu(String),
    #[error(
        "PCI device {addr} has no IOMMU group ({path} is absent): it cannot be given to a guest"
    )]
    NoGroup { addr: PciAddr, path: PathBuf },
    #[error(
        "driver {driver} is not loaded: {path} does not exist (load it with `modprobe {driver}`)"
    )]
    DriverMissing { driver: String, path: PathBuf },
    #[error(
        "IOMMU group {group} of {addr} is not viable: {member} is bound to host driver {driver}"
    )]
    GroupHostDriver {
        addr: PciAddr,
        group: u32,
        member: PciAddr,
        driver: String,
    },
    #[error("IOMMU group {group} of {addr} is shared: {member} is held by guest {owner}")]
    GroupOwned {
        addr: PciAddr,
        group: u32,
        member: PciAddr,
        owner: String,
    },
    #[error("{device} is in use by guest {owner} (uuid {owner_uuid})")]
    InUse {
        device: String,
        owner: String,
        owner_uuid: String,
    },
    #[error("{device} is not held by guest {guest}")]
    NotHeld { device: String, guest: String },
    #[error("PCI device {addr} is bound to {found}, not vfio-pci: detach it from the host first or assign it managed")]
    NotVfio { addr: PciAddr, found: String },
    #[error("PCI device {addr}: after {step} it is bound to {found}, expected {expected}")]
    BindFailed {
        addr: PciAddr,
        step: String,
        found: String,
        expected: String,
    },
    #[error("no USB bus in sysfs: {path} is absent")]
    NoUsb { path: PathBuf },
    #[error("USB device {selector} not found under {path}")]
    UsbNotFound { selector: String, path: PathBuf },
    #[error(
        "USB device {selector} is ambiguous: {count} devices match ({list}); name it by bus.device"
    )]
    UsbAmbiguous {
        selector: String,
        count: usize,
        list: String,
    },
    #[error("mediated device {uuid} not found: {path} does not exist")]
    MdevNotFound { uuid: String, path: PathBuf },
    #[error("bad device name {0:?} for the state directory")]
    BadName(String),
    #[error("state directory {path}: {source}")]
    State { path: PathBuf, source: io::Error },
    #[error("state file {path}: {what}")]
    BadState { path: PathBuf, what: String },
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl HostdevError {
    pub(crate) fn read(path: impl Into<PathBuf>, source: io::Error) -> Self {
        HostdevError::Read {
            path: path.into(),
            source,
        }
    }
}
