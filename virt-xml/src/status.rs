//! A running guest's runtime state, kept next to its definition (libvirt's status XML).
//!
//! The host-device record of each NIC lists exactly what was opened for it, so a hot-unplug can say
//! which host devices were released.

use crate::values::MacAddr;

/// One host device opened for a NIC: its path, device number (if it is a device node) and how many
/// descriptors were opened on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpenedDevice {
    pub path: String,
    /// `(major, minor)`; `None` when unknown.
    pub rdev: Option<(u32, u32)>,
    pub fds: u32,
}

/// What the host holds for one guest NIC.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NicHostState {
    pub mac: MacAddr,
    /// The host interface (tap or macvtap) created or used for the NIC.
    pub ifname: Option<String>,
    /// Every device opened for the NIC, in the order opened.
    pub devices: Vec<OpenedDevice>,
}
