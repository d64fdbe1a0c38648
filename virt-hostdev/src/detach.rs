//! Moving a PCI function between its host driver and `vfio-pci`.
//!
//! Detach writes, in order: `vfio-pci` to the device's `driver_override`, the address to the old
//! driver's `unbind`, the address to `bus/pci/drivers_probe`; then it waits (bounded) for the `driver`
//! link to name `vfio-pci`. Reattach unbinds from `vfio-pci`, clears `driver_override` (a newline),
//! and probes again, so the kernel picks the native driver; when that is not the one expected, the
//! address goes to that driver's `bind`. A failure part-way undoes what was done, in reverse.

use std::path::Path;
use std::time::{Duration, Instant};

use virt_xml::PciAddr;

use crate::sysfs::{link_name, Sysfs};
use crate::HostdevError;

/// The VFIO driver a passed-through PCI function is bound to.
pub const VFIO_PCI: &str = "vfio-pci";

/// Drivers a group member may be bound to without making the group unsafe to hand to a guest.
fn harmless_driver(driver: &str, is_bridge: bool) -> bool {
    driver.starts_with("vfio") || driver == "pci-stub" || (is_bridge && driver == "pcieport")
}

/// What a detach did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detached {
    pub addr: PciAddr,
    /// The driver it was bound to before (`None`: no driver, or already `vfio-pci`).
    pub original_driver: Option<String>,
    pub iommu_group: u32,
}

impl Sysfs {
    fn step(
        &self,
        addr: PciAddr,
        what: &str,
        path: &Path,
        value: &str,
    ) -> Result<(), HostdevError> {
        self.write_raw(path, value).map_err(|source| {
            if self.pci_device_path(addr).exists() {
                HostdevError::Write {
                    path: path.to_path_buf(),
                    value: value.to_string(),
                    source,
                }
            } else {
                HostdevError::Vanished {
                    addr,
                    step: what.to_string(),
                    path: path.to_path_buf(),
                    source,
                }
            }
        })
    }

    /// Waits until the device's driver is `want` (or the time is up); returns the driver seen last.
    fn wait_driver(
        &self,
        addr: PciAddr,
        want: Option<&str>,
        timeout: Duration,
    ) -> Result<Option<String>, HostdevError> {
        let link = self.pci_device_path(addr).join("driver");
        let start = Instant::now();
        loop {
            let now = link_name(&link)?;
            if now.as_deref() == want || start.elapsed() >= timeout {
                return Ok(now);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Checks that every other function in `addr`'s IOMMU group is unbound, on a VFIO driver,
    /// `pci-stub`, or a bridge on `pcieport`. Returns the group.
    pub fn pci_group_viable(&self, addr: PciAddr) -> Result<(u32, Vec<PciAddr>), HostdevError> {
        let (group, members) = self.pci_group_of(addr)?;
        let Some(group) = group else {
            return Err(HostdevError::NoGroup {
                addr,
                path: self.pci_device_path(addr).join("iommu_group"),
            });
        };
        for &m in members.iter().filter(|&&m| m != addr) {
            let Some(driver) = self.pci_driver_of(m)? else {
                continue;
            };
            let class = crate::sysfs::read_attr(&self.pci_device_path(m).join("class"))?
                .and_then(|c| crate::sysfs::parse_hex(Path::new("class"), &c).ok())
                .unwrap_or(0);
            if !harmless_driver(&driver, class >> 8 == 0x0604) {
                return Err(HostdevError::GroupHostDriver {
                    addr,
                    group,
                    member: m,
                    driver,
                });
            }
        }
        Ok((group, members))
    }

    /// Unbinds `addr` from its host driver and binds it to `vfio-pci`. Refused when there is no IOMMU,
    /// `vfio-pci` is not loaded, or another member of the IOMMU group is on a host driver.
    pub fn pci_detach(&self, addr: PciAddr, timeout: Duration) -> Result<Detached, HostdevError> {
        self.require_iommu()?;
        let dev = self.pci_device_path(addr);
        if !dev.exists() {
            return Err(HostdevError::PciNotFound { addr, path: dev });
        }
        let (group, _) = self.pci_group_viable(addr)?;
        let vfio = self.pci_driver(VFIO_PCI);
        if !vfio.is_dir() {
            return Err(HostdevError::DriverMissing {
                driver: VFIO_PCI.into(),
                path: vfio,
            });
        }
        let original = self.pci_driver_of(addr)?;
        if original.as_deref() == Some(VFIO_PCI) {
            return Ok(Detached {
                addr,
                original_driver: None,
                iommu_group: group,
            });
        }
        let a = addr.to_string();
        let result = (|| {
            self.step(
                addr,
                "setting driver_override",
                &dev.join("driver_override"),
                VFIO_PCI,
            )?;
            if let Some(d) = &original {
                self.step(addr, "unbinding", &self.pci_driver(d).join("unbind"), &a)?;
            }
            self.step(addr, "probing", &self.pci_drivers_probe(), &a)?;
            let now = self.wait_driver(addr, Some(VFIO_PCI), timeout)?;
            if now.as_deref() != Some(VFIO_PCI) {
                return Err(HostdevError::BindFailed {
                    addr,
                    step: "drivers_probe".into(),
                    found: now.unwrap_or_else(|| "no driver".into()),
                    expected: VFIO_PCI.into(),
                });
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(Detached {
                addr,
                original_driver: original,
                iommu_group: group,
            }),
            Err(e) => {
                if dev.exists() {
                    // Best effort: the first error is what the caller needs to see.
                    let _ = self.pci_restore(addr, original.as_deref(), timeout);
                }
                Err(e)
            }
        }
    }

    /// Gives `addr` back to the host: off `vfio-pci`, `driver_override` cleared, probed again. When
    /// `expected` names a driver and the probe did not pick it, binds it explicitly and checks.
    pub fn pci_reattach(
        &self,
        addr: PciAddr,
        expected: Option<&str>,
        timeout: Duration,
    ) -> Result<(), HostdevError> {
        let dev = self.pci_device_path(addr);
        if !dev.exists() {
            return Err(HostdevError::PciNotFound { addr, path: dev });
        }
        self.pci_restore(addr, expected, timeout)
    }

    fn pci_restore(
        &self,
        addr: PciAddr,
        expected: Option<&str>,
        timeout: Duration,
    ) -> Result<(), HostdevError> {
        let dev = self.pci_device_path(addr);
        let a = addr.to_string();
        let current = self.pci_driver_of(addr)?;
        if let Some(d) = current.as_deref().filter(|d| d.starts_with("vfio")) {
            self.step(
                addr,
                "unbinding from vfio",
                &self.pci_driver(d).join("unbind"),
                &a,
            )?;
        }
        let overridden = crate::sysfs::read_attr(&dev.join("driver_override"))?
            .is_some_and(|s| !s.is_empty() && s != "(null)");
        if overridden {
            self.step(
                addr,
                "clearing driver_override",
                &dev.join("driver_override"),
                "\n",
            )?;
        }
        if current.as_deref().is_some_and(|d| !d.starts_with("vfio")) {
            // Already on a host driver: nothing to probe.
            return Ok(());
        }
        self.step(addr, "probing", &self.pci_drivers_probe(), &a)?;
        let Some(want) = expected else {
            return Ok(());
        };
        let now = self.wait_driver(addr, Some(want), timeout)?;
        if now.as_deref() == Some(want) {
            return Ok(());
        }
        if now.is_none() {
            self.step(addr, "binding", &self.pci_driver(want).join("bind"), &a)?;
        }
        let now = self.wait_driver(addr, Some(want), timeout)?;
        if now.as_deref() != Some(want) {
            return Err(HostdevError::BindFailed {
                addr,
                step: "reattach".into(),
                found: now.unwrap_or_else(|| "no driver".into()),
                expected: want.into(),
            });
        }
        Ok(())
    }
}
