//! `<iommu>`: `-device intel-iommu` / `virtio-iommu-pci`.
//!
//! Not emitted yet: this family writes nothing, so domains with such devices do not yet give
//! libvirt's command line. It is filled by the device work that follows the framework.

use crate::argv::builder::{ArgvError, Builder};

/// Writes this family's options for every such device of `b.def`, in document order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let _ = b;
    Ok(())
}
