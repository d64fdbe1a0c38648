//! Giving host devices to guests and taking them back: one owner per device, persisted; the IOMMU
//! group rules; a `resrc=dev` audit record for every start, attach and detach, success or failure.

use std::path::PathBuf;
use std::time::Duration;

use virt_audit::{records, Auditor, Outcome, VmIdentity};
use virt_xml::PciAddr;

use crate::detach::{Detached, VFIO_PCI};
use crate::owner::{Owner, OwnerStore};
use crate::sysfs::Sysfs;
use crate::usb::{UsbDevice, UsbSelector};
use crate::{HostdevError, HostdevId};

/// Why a device is given to a guest: the audit record's `reason=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignReason {
    /// The guest is starting with the device in its definition.
    Start,
    /// Hot-plugged into a running guest.
    Attach,
}

impl AssignReason {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignReason::Start => "start",
            AssignReason::Attach => "attach",
        }
    }
}

/// What the guest's driver needs to use an assigned device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    /// A PCI function on `vfio-pci`: QEMU opens `/dev/vfio/GROUP`.
    Pci {
        addr: PciAddr,
        iommu_group: u32,
        vfio_group: PathBuf,
        original_driver: Option<String>,
    },
    /// A USB device: QEMU opens its node, the cgroup ACL must allow it.
    Usb(UsbDevice),
    /// SCSI and mediated devices: only ownership is kept here.
    Other(HostdevId),
}

/// Host devices and the guests that hold them.
#[derive(Debug, Clone)]
pub struct HostdevManager {
    sysfs: Sysfs,
    owners: OwnerStore,
    auditor: Auditor,
    bind_timeout: Duration,
}

impl HostdevManager {
    /// `state_dir` keeps one ownership file per held device (made if absent).
    pub fn new(
        sysfs: Sysfs,
        state_dir: impl Into<PathBuf>,
        auditor: Auditor,
    ) -> Result<Self, HostdevError> {
        Ok(Self {
            sysfs,
            owners: OwnerStore::open(state_dir)?,
            auditor,
            bind_timeout: Duration::from_secs(2),
        })
    }

    /// How long to wait for a driver to bind after a probe (2 s by default).
    pub fn with_bind_timeout(mut self, t: Duration) -> Self {
        self.bind_timeout = t;
        self
    }

    pub fn sysfs(&self) -> &Sysfs {
        &self.sysfs
    }

    pub fn owners(&self) -> &OwnerStore {
        &self.owners
    }

    /// Who holds `id`.
    pub fn owner_of(&self, id: &HostdevId) -> Result<Option<Owner>, HostdevError> {
        self.owners.get(id)
    }

    /// Every device `vm` holds.
    pub fn held_by(&self, vm: &VmIdentity) -> Result<Vec<HostdevId>, HostdevError> {
        Ok(self
            .owners
            .list()?
            .into_iter()
            .filter(|(_, o)| o.is(vm))
            .map(|(id, _)| id)
            .collect())
    }

    /// Host side only (no guest): moves an unowned PCI function to `vfio-pci`.
    pub fn detach_host(&self, addr: PciAddr) -> Result<Detached, HostdevError> {
        let _lock = self.owners.lock()?;
        self.refuse_if_owned(&HostdevId::Pci(addr))?;
        self.sysfs.pci_detach(addr, self.bind_timeout)
    }

    /// Host side only: gives an unowned PCI function back to a host driver (`expected`, if known).
    pub fn reattach_host(&self, addr: PciAddr, expected: Option<&str>) -> Result<(), HostdevError> {
        let _lock = self.owners.lock()?;
        self.refuse_if_owned(&HostdevId::Pci(addr))?;
        self.sysfs.pci_reattach(addr, expected, self.bind_timeout)
    }

    fn refuse_if_owned(&self, id: &HostdevId) -> Result<(), HostdevError> {
        match self.owners.get(id)? {
            Some(o) => Err(HostdevError::InUse {
                device: id.to_string(),
                owner: o.vm.name.clone(),
                owner_uuid: o.vm.uuid_string(),
            }),
            None => Ok(()),
        }
    }

    fn audit(
        &self,
        vm: &VmIdentity,
        reason: &str,
        id: &HostdevId,
        ok: bool,
    ) -> Result<(), HostdevError> {
        let rec = records::hostdev(vm, reason, &id.audit_addr(), Outcome::from(ok));
        self.auditor.emit(&rec).map_err(HostdevError::from)
    }

    /// Gives `id` to `vm`. `managed`: a PCI function is detached from its host driver for the guest
    /// (and returned on release); otherwise it must already be on `vfio-pci`. One record
    /// `resrc=dev reason=start|attach` is written, `res=failed` when refused.
    pub fn assign(
        &self,
        vm: &VmIdentity,
        id: &HostdevId,
        reason: AssignReason,
        managed: bool,
    ) -> Result<Assigned, HostdevError> {
        let result = {
            let lock = self.owners.lock();
            lock.and_then(|_l| self.assign_locked(vm, id, managed))
        };
        let audited = self.audit(vm, reason.as_str(), id, result.is_ok());
        match (result, audited) {
            (Ok(a), Ok(())) => Ok(a),
            (Ok(_), Err(e)) => {
                // Strict audit: the guest must not get a device no record speaks of.
                let _ = self.release_inner(vm, id);
                Err(e)
            }
            (Err(e), _) => Err(e),
        }
    }

    fn assign_locked(
        &self,
        vm: &VmIdentity,
        id: &HostdevId,
        managed: bool,
    ) -> Result<Assigned, HostdevError> {
        self.refuse_if_owned(id)?;
        let owner = |original_driver: Option<String>| Owner {
            vm: vm.clone(),
            managed,
            original_driver,
        };
        match id {
            HostdevId::Pci(addr) => self.assign_pci(vm, *addr, managed),
            HostdevId::Usb(u) => {
                let dev = self.sysfs.usb_find(&UsbSelector::Addr(*u))?;
                self.owners.put(id, &owner(None))?;
                Ok(Assigned::Usb(dev))
            }
            HostdevId::Mdev(uuid) => {
                let path = self.sysfs.mdev_devices().join(uuid.to_string());
                if !path.exists() {
                    return Err(HostdevError::MdevNotFound {
                        uuid: uuid.to_string(),
                        path,
                    });
                }
                self.owners.put(id, &owner(None))?;
                Ok(Assigned::Other(id.clone()))
            }
            HostdevId::Scsi { .. } => {
                self.owners.put(id, &owner(None))?;
                Ok(Assigned::Other(id.clone()))
            }
        }
    }

    fn assign_pci(
        &self,
        vm: &VmIdentity,
        addr: PciAddr,
        managed: bool,
    ) -> Result<Assigned, HostdevError> {
        let id = HostdevId::Pci(addr);
        self.sysfs.require_iommu()?;
        let dev = self.sysfs.pci_device(addr)?;
        let Some(group) = dev.iommu_group else {
            return Err(HostdevError::NoGroup {
                addr,
                path: dev.path.join("iommu_group"),
            });
        };
        for &m in dev.iommu_group_members.iter().filter(|&&m| m != addr) {
            if let Some(o) = self.owners.get(&HostdevId::Pci(m))? {
                if !o.is(vm) {
                    return Err(HostdevError::GroupOwned {
                        addr,
                        group,
                        member: m,
                        owner: o.vm.name,
                    });
                }
            }
        }
        let original = dev.driver.clone().filter(|d| d != VFIO_PCI);
        if managed {
            // Record the owner (and the driver to give it back to) before touching the host, so a
            // restarted manager can finish or undo.
            self.owners.put(
                &id,
                &Owner {
                    vm: vm.clone(),
                    managed,
                    original_driver: original.clone(),
                },
            )?;
            if let Err(e) = self.sysfs.pci_detach(addr, self.bind_timeout) {
                let _ = self.owners.remove(&id);
                return Err(e);
            }
        } else {
            if dev.driver.as_deref() != Some(VFIO_PCI) {
                return Err(HostdevError::NotVfio {
                    addr,
                    found: dev.driver.unwrap_or_else(|| "no driver".into()),
                });
            }
            self.sysfs.pci_group_viable(addr)?;
            self.owners.put(
                &id,
                &Owner {
                    vm: vm.clone(),
                    managed,
                    original_driver: None,
                },
            )?;
        }
        Ok(Assigned::Pci {
            addr,
            iommu_group: group,
            vfio_group: PathBuf::from(format!("/dev/vfio/{group}")),
            original_driver: original,
        })
    }

    /// Gives every device of `devs` to `vm` (a starting guest: `reason=start`), or none: on the first
    /// refusal the ones already given are released again.
    pub fn assign_all(
        &self,
        vm: &VmIdentity,
        devs: &[(HostdevId, bool)],
        reason: AssignReason,
    ) -> Result<Vec<Assigned>, HostdevError> {
        let mut done = Vec::new();
        for (id, managed) in devs {
            match self.assign(vm, id, reason, *managed) {
                Ok(a) => done.push((id, a)),
                Err(e) => {
                    for (id, _) in done.iter().rev() {
                        let _ = self.release_inner(vm, id);
                    }
                    return Err(e);
                }
            }
        }
        Ok(done.into_iter().map(|(_, a)| a).collect())
    }

    /// Takes `id` back from `vm` (hot-unplug): a managed PCI function returns to its host driver. One
    /// record `resrc=dev reason=detach`. Ownership ends even when the host driver cannot be
    /// restored (the error says so; [`HostdevManager::reattach_host`] can retry).
    pub fn release(&self, vm: &VmIdentity, id: &HostdevId) -> Result<(), HostdevError> {
        let r = self.release_inner(vm, id);
        let audited = self.audit(vm, "detach", id, r.is_ok());
        r.and(audited)
    }

    fn release_inner(&self, vm: &VmIdentity, id: &HostdevId) -> Result<(), HostdevError> {
        let _lock = self.owners.lock()?;
        let owner = match self.owners.get(id)? {
            Some(o) if o.is(vm) => o,
            _ => {
                return Err(HostdevError::NotHeld {
                    device: id.to_string(),
                    guest: vm.name.clone(),
                })
            }
        };
        self.owners.remove(id)?;
        match id {
            HostdevId::Pci(addr) if owner.managed => {
                self.sysfs
                    .pci_reattach(*addr, owner.original_driver.as_deref(), self.bind_timeout)
            }
            _ => Ok(()),
        }
    }

    /// The guest stopped: releases everything it holds (managed PCI functions go back to their host
    /// drivers). No per-device record: the guest's stop record covers them, as in libvirt. Returns
    /// what was released; the first error, if any, after trying every device.
    pub fn release_guest(&self, vm: &VmIdentity) -> Result<Vec<HostdevId>, HostdevError> {
        let held = self.held_by(vm)?;
        let mut first_err = None;
        for id in &held {
            if let Err(e) = self.release_inner(vm, id) {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(held),
        }
    }
}
