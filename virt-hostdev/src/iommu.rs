//! Whether this host can pass PCI devices through at all: an IOMMU must have made groups.

use crate::sysfs::{list_dir, Sysfs};
use crate::HostdevError;

/// What `ROOT/kernel/iommu_groups` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IommuStatus {
    /// The IOMMU is on: this many groups exist.
    Available { groups: usize },
    /// No IOMMU: why passthrough is impossible here.
    Unavailable { reason: String },
}

impl IommuStatus {
    pub fn is_available(&self) -> bool {
        matches!(self, IommuStatus::Available { .. })
    }
}

impl Sysfs {
    /// Reads `ROOT/kernel/iommu_groups`: absent or empty means no IOMMU.
    pub fn iommu_status(&self) -> Result<IommuStatus, HostdevError> {
        let dir = self.iommu_groups();
        if !dir.is_dir() {
            return Ok(IommuStatus::Unavailable {
                reason: format!(
                    "no IOMMU: {} is absent (the kernel has no IOMMU support)",
                    dir.display()
                ),
            });
        }
        let groups = list_dir(&dir)?.len();
        if groups == 0 {
            return Ok(IommuStatus::Unavailable {
                reason: format!(
                    "no IOMMU: {} is empty (no IOMMU is enabled; turn on VT-d/AMD-Vi and boot with \
                     intel_iommu=on or amd_iommu=on)",
                    dir.display()
                ),
            });
        }
        Ok(IommuStatus::Available { groups })
    }

    /// `Ok` when an IOMMU is on, else [`HostdevError::NoIommu`] with the reason.
    pub fn require_iommu(&self) -> Result<usize, HostdevError> {
        match self.iommu_status()? {
            IommuStatus::Available { groups } => Ok(groups),
            IommuStatus::Unavailable { reason } => Err(HostdevError::NoIommu(reason)),
        }
    }
}
