//! PCI and USB passthrough: sysfs discovery, driver detach/reattach, IOMMU groups, one owner per
//! device across guests, and the `resrc=dev` audit records for start, attach and detach.
//!
//! - [`Sysfs`]: the tree (injectable root, `/sys` by default) and the [`SysfsWriter`] seam.
//! - [`PciDevice`] discovery ([`Sysfs::pci_list`], [`Sysfs::pci_device`]) with [`PciConfig`], the
//!   config-space parser; [`Sysfs::iommu_status`] says why passthrough is impossible when it is.
//! - [`Sysfs::pci_detach`] / [`Sysfs::pci_reattach`]: host driver <-> `vfio-pci`.
//! - [`UsbDevice`] discovery ([`Sysfs::usb_find`]).
//! - [`HostdevManager`]: assign/release for guests, with [`OwnerStore`] ownership and auditing.
//!
//! ```no_run
//! use virt_audit::{Auditor, VirtType, VmIdentity};
//! use virt_hostdev::{AssignReason, HostdevId, HostdevManager, Sysfs};
//! let (auditor, _) = Auditor::memory();
//! let mgr = HostdevManager::new(Sysfs::default(), "/run/virt/hostdev", auditor).unwrap();
//! let vm = VmIdentity::new(VirtType::Kvm, "guest", [0; 16]);
//! let dev = HostdevId::Pci("0000:06:00.0".parse().unwrap());
//! let assigned = mgr.assign(&vm, &dev, AssignReason::Attach, true).unwrap();
//! mgr.release(&vm, &dev).unwrap();
//! ```

pub mod config;
pub mod detach;
pub mod error;
pub mod ident;
pub mod iommu;
pub mod manager;
pub mod owner;
pub mod pci;
pub mod sysfs;
pub mod usb;

pub use config::{ConfigError, PciConfig};
pub use detach::{Detached, VFIO_PCI};
pub use error::HostdevError;
pub use ident::HostdevId;
pub use iommu::IommuStatus;
pub use manager::{AssignReason, Assigned, HostdevManager};
pub use owner::{Owner, OwnerStore};
pub use pci::{LinkInfo, PciDevice};
pub use sysfs::{KernelWriter, Sysfs, SysfsWriter};
pub use usb::{UsbDevice, UsbSelector};
