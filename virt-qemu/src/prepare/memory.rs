//! Memory devices and file systems at post-parse: DIMM slots, and the file system defaults
//! libvirt fills in.
//!
//! - With memory hotplug on (`<maxMemory>` with slots or a size), every `dimm`/`nvdimm` without
//!   an address gets the lowest free slot (`<address type='dimm' slot='N'/>`); the base stays
//!   for QEMU to choose. virtio-mem and virtio-pmem are PCI devices: the PCI pass places them.
//! - A `<filesystem>` without a type is a `mount`; without an access mode (and not served by an
//!   externally started virtiofsd) it is `passthrough`.

use virt_xml::address::Address;
use virt_xml::DeviceKind;

use super::view::{self, Prep};
use super::PrepareError;

/// Gives every DIMM and NVDIMM without an address the lowest free slot.
pub(super) fn dimm_slots(def: &mut Prep) -> Result<(), PrepareError> {
    let Some(max) = def.max_memory else {
        return Ok(());
    };
    let slots = max.slots.unwrap_or(0);
    if slots == 0 && max.size.0 == 0 {
        return Ok(());
    }
    let mut used: Vec<u32> = def
        .devices
        .iter()
        .filter(|d| view::kind(d) == DeviceKind::Memory)
        .filter_map(|d| match view::address(d) {
            Some(Address::Dimm { slot, .. }) => Some(slot.unwrap_or(0)),
            _ => None,
        })
        .collect();
    for d in def.devices.iter_mut() {
        if view::kind(d) != DeviceKind::Memory
            || !matches!(view::attr(d, "model"), Some("dimm") | Some("nvdimm"))
            || view::address(d).is_some()
        {
            continue;
        }
        let Some(free) = (0..slots).find(|s| !used.contains(s)) else {
            return Err(PrepareError::Invalid {
                device: view::describe(d),
                message: "failed to find an empty memory slot".into(),
            });
        };
        used.push(free);
        view::set_address(
            d,
            &Address::Dimm {
                slot: Some(free),
                base: None,
            },
        );
    }
    Ok(())
}

/// Fills in a file system's type (`mount`) and access mode (`passthrough`).
pub(super) fn filesystem_defaults(def: &mut Prep) {
    for d in def.devices.iter_mut() {
        if view::kind(d) != DeviceKind::Filesystem {
            continue;
        }
        if view::attr(d, "type").is_none() {
            view::set_attr(d, "type", "mount", &[]);
        }
        let external = view::sub_attr(d, "source", "socket").is_some();
        if view::attr(d, "accessmode").is_none() && !external {
            view::set_attr(d, "accessmode", "passthrough", &["type"]);
        }
    }
}
