//! controllers: the global controller options (`-global PIIX4_PM.acpi-root-pci-hotplug=...`) and `-device` for PCI/PCIe buses, USB, SCSI, virtio-serial, IDE/SATA, CCID....
//!
//! Not emitted yet: this family writes nothing, so domains with such devices do not yet give
//! libvirt's command line. It is filled by the device work that follows the framework.

use crate::argv::builder::{ArgvError, Builder};

/// Writes this family's options for every such device of `b.def`, in document order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let _ = b;
    Ok(())
}
