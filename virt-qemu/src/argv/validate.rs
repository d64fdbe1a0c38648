//! Refusals of configurations that are not about one device: architecture and virt type against
//! the emulator, boot order mixing, SMM TSEG size, IOMMU placement.

use virt_xml::domain::OnOff;
use virt_xml::Domain;

use super::builder::{chipset_of, ArgvError, Chipset};
use super::caps::{Accel, QemuCaps};
use super::host::HostContext;
use super::view;

/// Architectures an emulator for `caps_arch` also runs.
fn arch_supported(caps_arch: &str, arch: &str) -> bool {
    arch == caps_arch || (caps_arch == "x86_64" && arch == "i686")
}

pub(crate) fn domain(def: &Domain, caps: &QemuCaps, host: &HostContext) -> Result<(), ArgvError> {
    let emulator = host.emulator.display();
    if let Some(arch) = def.os_def.as_ref().and_then(|o| o.arch.as_deref()) {
        if !arch_supported(caps.arch(), arch)
            || !host
                .emulator
                .ends_with(format!("qemu-system-{}", caps.arch()))
        {
            return Err(ArgvError::unsupported(format!(
                "Emulator '{emulator}' does not support arch '{arch}'"
            )));
        }
    }
    let accel = match def.domain_type {
        virt_xml::DomainType::Kvm => Accel::Kvm,
        virt_xml::DomainType::Qemu => Accel::Tcg,
        other => {
            return Err(ArgvError::unsupported(format!(
                "Emulator '{emulator}' does not support virt type '{}'",
                other.as_str()
            )))
        }
    };
    if let Some(m) = def.os_def.as_ref().and_then(|o| o.machine.as_deref()) {
        if caps.machine(m, accel).is_none() {
            return Err(ArgvError::unsupported(format!(
                "Emulator '{emulator}' does not support machine type '{m}'"
            )));
        }
    }
    let nt = view::numatune(def);
    let nodesets = nt
        .nodeset
        .iter()
        .chain(nt.memnodes.iter().filter_map(|m| m.2.as_ref()));
    for ns in nodesets {
        let nodes = super::memory::parse_nodeset(ns).ok_or_else(|| {
            ArgvError::unsupported(format!("invalid nodeset '{ns}' in <numatune>"))
        })?;
        if let Some(bad) = nodes.iter().find(|n| !host.numa_node_exists(**n)) {
            return Err(ArgvError::Host(format!(
                "host NUMA node {bad} named in <numatune> is not available"
            )));
        }
    }
    let os_boot = def.os_def.as_ref().is_some_and(|o| !o.boot.is_empty());
    if os_boot && view::any_device_boot_order(def) {
        return Err(ArgvError::unsupported(
            "per-device boot elements cannot be used together with os/boot elements",
        ));
    }
    if let Some(smm) = def.features.as_ref().and_then(|f| f.smm.as_ref()) {
        if let Some(tseg) = smm.tseg {
            if smm.state == OnOff::On && tseg.0 % 1024 != 0 {
                return Err(ArgvError::unsupported(
                    "SMM TSEG size must be divisible by 1 MiB",
                ));
            }
        }
    }
    let machine = def
        .os_def
        .as_ref()
        .and_then(|o| o.machine.as_deref())
        .and_then(|m| caps.canonical_machine(m, accel));
    let chipset = machine.as_deref().map(chipset_of);
    for model in view::iommu_models(def) {
        match model.as_str() {
            "intel" if chipset != Some(Chipset::Q35) => {
                return Err(ArgvError::unsupported(
                    "IOMMU device: 'intel' is only supported with Q35 machines",
                ))
            }
            "virtio" if !def.features.as_ref().is_some_and(|f| f.acpi) => {
                return Err(ArgvError::unsupported(
                    "IOMMU device: 'virtio' requires ACPI",
                ))
            }
            _ => {}
        }
    }
    if let Some(menu) = def.os_def.as_ref().and_then(|o| o.bootmenu) {
        if let (false, Some(_)) = (menu.enable, menu.timeout) {
            // A timeout without the menu is ignored by libvirt.
        }
    }
    Ok(())
}
