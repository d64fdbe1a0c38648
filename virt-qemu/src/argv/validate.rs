//! Refusals of configurations that are not about one device: architecture and virt type against
//! the emulator, boot order mixing, SMM TSEG size, IOMMU placement.

use virt_xml::address::Address;
use virt_xml::devices::iommu::{Iommu, IommuModel};
use virt_xml::domain::OnOff;
use virt_xml::sections::{PropertyType, Section};
use virt_xml::{Device, Domain};

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
    let machine = def
        .os_def
        .as_ref()
        .and_then(|o| o.machine.as_deref())
        .and_then(|m| caps.canonical_machine(m, accel));
    let chipset = machine.as_deref().map(chipset_of);
    if let Some(smm) = def.features.as_ref().and_then(|f| f.smm.as_ref()) {
        if let Some(tseg) = smm.tseg {
            // The extended TSEG is a property of q35's MCH; no other chipset has one.
            if chipset != Some(Chipset::Q35) {
                return Err(ArgvError::unsupported(
                    "SMM TSEG is only supported with q35 machine type",
                ));
            }
            if smm.state == OnOff::On && tseg.0 % 1024 != 0 {
                return Err(ArgvError::unsupported(
                    "SMM TSEG size must be divisible by 1 MiB",
                ));
            }
        }
    }
    let arm_virt = is_arm_virt(def, machine.as_deref());
    for d in &def.devices {
        let Device::Iommu(iommu) = d else { continue };
        match iommu.model {
            IommuModel::Intel if chipset != Some(Chipset::Q35) => {
                return Err(ArgvError::unsupported(
                    "IOMMU device: 'intel' is only supported with Q35 machines",
                ))
            }
            IommuModel::Virtio => virtio_iommu(def, iommu, chipset, arm_virt)?,
            _ => {}
        }
    }
    overrides(def)?;
    if let Some(menu) = def.os_def.as_ref().and_then(|o| o.bootmenu) {
        if let (false, Some(_)) = (menu.enable, menu.timeout) {
            // A timeout without the menu is ignored by libvirt.
        }
    }
    Ok(())
}

/// ARM's generic `virt` board (any version), the other machine with a virtio IOMMU.
fn is_arm_virt(def: &Domain, machine: Option<&str>) -> bool {
    let arch = def.os_def.as_ref().and_then(|o| o.arch.as_deref());
    matches!(arch, Some("aarch64" | "armv7l" | "armv6l"))
        && machine.is_some_and(|m| m == "virt" || m.starts_with("virt-"))
}

/// A virtio IOMMU: q35 or ARM virt only, with ACPI, as a PCI device on the root bus.
fn virtio_iommu(
    def: &Domain,
    iommu: &Iommu,
    chipset: Option<Chipset>,
    arm_virt: bool,
) -> Result<(), ArgvError> {
    if chipset != Some(Chipset::Q35) && !arm_virt {
        return Err(ArgvError::unsupported(
            "IOMMU device: 'virtio' is only supported with Q35 and ARM Virt machines",
        ));
    }
    if !def.features.as_ref().is_some_and(|f| f.acpi) {
        return Err(ArgvError::unsupported(
            "IOMMU device: 'virtio' requires ACPI",
        ));
    }
    match &iommu.info.address {
        None => Ok(()),
        // The IOMMU must sit on the root complex itself, never behind a bridge or root port.
        Some(Address::Pci { addr, .. }) if addr.bus != 0 => Err(ArgvError::Prepare(format!(
            "XML error: The device at PCI address {addr} needs to be an integrated device (bus=0)"
        ))),
        Some(Address::Pci { .. }) => Ok(()),
        Some(_) => Err(ArgvError::unsupported(
            "IOMMU device: 'virtio' needs a PCI address",
        )),
    }
}

/// Every `<qemu:property>` of `<qemu:override>` has a value of its type (none for `remove`).
fn overrides(def: &Domain) -> Result<(), ArgvError> {
    let props = def
        .sections
        .iter()
        .filter_map(|s| match s {
            Section::QemuOverride(o) => Some(o),
            _ => None,
        })
        .flat_map(|o| o.devices.iter())
        .flat_map(|d| d.frontend.iter().flatten().map(move |p| (&d.alias, p)));
    for (alias, p) in props {
        if p.kind != PropertyType::Remove && super::misc::override_value(p).is_none() {
            return Err(ArgvError::Device {
                device: format!("qemu:override of device '{alias}'"),
                reason: format!(
                    "invalid value '{}' of {} property '{}'",
                    p.value.as_deref().unwrap_or_default(),
                    p.kind.as_str(),
                    p.name
                ),
            });
        }
    }
    Ok(())
}
