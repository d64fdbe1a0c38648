//! Audited opening: every open of a device for a guest NIC is recorded at once, success or failure,
//! and what was opened is tallied for the guest's status.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use virt_audit::{records::net_open, Auditor, DevNum, Outcome, VmIdentity};
use virt_xml::status::OpenedDevice;
use virt_xml::MacAddr;

use crate::NetError;

/// Why an open failed: the device could not be opened, or (under a strict audit level) the record of
/// a successful open could not be sent and the fd was closed again.
#[derive(Debug)]
pub(crate) enum OpenFailure {
    Device { path: String, source: io::Error },
    Audit(NetError),
}

impl From<OpenFailure> for NetError {
    fn from(f: OpenFailure) -> NetError {
        match f {
            OpenFailure::Device { path, source } => NetError::Open { path, source },
            OpenFailure::Audit(e) => e,
        }
    }
}

/// Opens devices on behalf of one guest NIC and keeps the tally.
pub(crate) struct Ledger<'a> {
    auditor: &'a Auditor,
    vm: &'a VmIdentity,
    mac: MacAddr,
    devices: Vec<OpenedDevice>,
}

/// The device number of the node an fd was opened on (`fstat`), if it is a device node.
fn fd_dev(fd: &OwnedFd) -> Option<DevNum> {
    let st = nix::sys::stat::fstat(fd.as_raw_fd()).ok()?;
    let fmt = st.st_mode & libc::S_IFMT;
    (fmt == libc::S_IFCHR || fmt == libc::S_IFBLK).then(|| DevNum::from_rdev(st.st_rdev))
}

impl<'a> Ledger<'a> {
    pub(crate) fn new(auditor: &'a Auditor, vm: &'a VmIdentity, mac: MacAddr) -> Self {
        Ledger {
            auditor,
            vm,
            mac,
            devices: Vec::new(),
        }
    }

    /// Opens `path` read-write (close-on-exec) and emits the `resrc=net reason=open` record: on
    /// success with the device number of the node actually opened, on failure with that of the
    /// path if it is a device node, else `?`.
    pub(crate) fn open(&mut self, path: &Path) -> Result<OwnedFd, OpenFailure> {
        let shown = path.to_string_lossy().into_owned();
        match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => {
                let fd = OwnedFd::from(f);
                let rdev = fd_dev(&fd);
                let rec = net_open(self.vm, &self.mac, &shown, rdev, Outcome::Success);
                // Under a strict level an unsent record fails the open; the fd closes on return.
                self.auditor
                    .emit(&rec)
                    .map_err(|e| OpenFailure::Audit(e.into()))?;
                self.tally(&shown, rdev);
                Ok(fd)
            }
            Err(source) => {
                let rdev = DevNum::of_path(path);
                let rec = net_open(self.vm, &self.mac, &shown, rdev, Outcome::Failed);
                if let Err(e) = self.auditor.emit(&rec) {
                    return Err(OpenFailure::Audit(e.into()));
                }
                Err(OpenFailure::Device {
                    path: shown,
                    source,
                })
            }
        }
    }

    fn tally(&mut self, path: &str, rdev: Option<DevNum>) {
        let rdev = rdev.map(|d| (d.major, d.minor));
        if let Some(d) = self
            .devices
            .iter_mut()
            .find(|d| d.path == path && d.rdev == rdev)
        {
            d.fds += 1;
        } else {
            self.devices.push(OpenedDevice {
                path: path.to_string(),
                rdev,
                fds: 1,
            });
        }
    }

    /// Drops `path` from the tally (its fds were closed again).
    pub(crate) fn forget(&mut self, path: &Path) {
        let shown = path.to_string_lossy();
        self.devices.retain(|d| d.path != shown);
    }

    pub(crate) fn into_devices(self) -> Vec<OpenedDevice> {
        self.devices
    }
}
