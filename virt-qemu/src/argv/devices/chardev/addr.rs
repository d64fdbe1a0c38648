//! Device address and virtio options as `-device` properties, shared by the device families
//! of this helper (chardev frontends, rng, memballoon, watchdog, vsock, ...).

use virt_xml::address::Address;
use virt_xml::devices::controller::VirtioOptions;
use virt_xml::devices::info::DeviceInfo;
use virt_xml::domain::OnOff;

use crate::argv::builder::{Builder, Chipset};
use crate::argv::props::Props;

/// The QEMU id of PCI bus `bus`: the alias of the PCI controller with that index (the built-in
/// root buses keep QEMU's names `pci.0`/`pcie.0`); `pci.N`/`pcie.0` when the domain lacks it.
pub fn pci_bus_name(b: &Builder<'_>, bus: u8) -> String {
    match crate::argv::devices::net::common::pci_bus_name(b, u32::from(bus), "") {
        Ok(name) => name,
        Err(_) if bus == 0 && b.chipset == Chipset::Q35 => "pcie.0".into(),
        Err(_) => format!("pci.{bus}"),
    }
}

/// Appends the address properties of `info` (PCI `bus`/`multifunction`/`addr`, USB
/// `bus`/`port`, ISA `iobase`/`irq`); nothing for other or no address.
pub fn address_props(b: &Builder<'_>, info: &DeviceInfo, mut p: Props) -> Props {
    match &info.address {
        Some(Address::Pci {
            addr,
            multifunction,
            ..
        }) => {
            p = p.str("bus", pci_bus_name(b, addr.bus));
            if let Some(m) = multifunction {
                p = p.bool("multifunction", *m);
            }
            let a = if addr.function != 0 {
                format!("0x{:x}.0x{:x}", addr.slot, addr.function)
            } else {
                format!("0x{:x}", addr.slot)
            };
            p.str("addr", a)
        }
        Some(Address::Usb { bus, port }) => {
            let p = p.str("bus", format!("usb.{}", bus.unwrap_or(0)));
            p.opt_str("port", port.clone())
        }
        Some(Address::Isa { iobase, irq }) => p
            .opt_uint("iobase", iobase.map(u64::from))
            .opt_uint("irq", irq.map(u64::from)),
        _ => p,
    }
}

fn on(v: Option<OnOff>) -> Option<bool> {
    v.map(|v| v == OnOff::On)
}

/// Appends libvirt's virtio options (`iommu_platform`, `ats`, `packed`, `page-per-vq`).
pub fn virtio_props(
    iommu: Option<OnOff>,
    ats: Option<OnOff>,
    packed: Option<OnOff>,
    page_per_vq: Option<OnOff>,
    p: Props,
) -> Props {
    p.opt_bool("iommu_platform", on(iommu))
        .opt_bool("ats", on(ats))
        .opt_bool("packed", on(packed))
        .opt_bool("page-per-vq", on(page_per_vq))
}

/// [`virtio_props`] from a `<driver>`'s [`VirtioOptions`].
pub fn virtio_opts(o: Option<&VirtioOptions>, p: Props) -> Props {
    match o {
        Some(o) => virtio_props(o.iommu, o.ats, o.packed, o.page_per_vq, p),
        None => p,
    }
}

/// The virtio PCI driver name for a model suffix (`""`, `-transitional`, `-non-transitional`).
pub fn virtio_pci_driver(base: &str, model: &str) -> String {
    if model.ends_with("non-transitional") {
        format!("{base}-pci-non-transitional")
    } else if model.ends_with("transitional") {
        format!("{base}-pci-transitional")
    } else {
        format!("{base}-pci")
    }
}
