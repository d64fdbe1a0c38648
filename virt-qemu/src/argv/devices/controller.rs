//! controllers: the global controller options (`-global PIIX4_PM.acpi-root-pci-hotplug=...`) and
//! `-device` for PCI/PCIe buses, USB, SCSI, SATA and virtio-serial controllers, in libvirt's order
//! (by type: PCI, USB, SCSI, IDE, SATA, virtio-serial; by index within a type, a USB master
//! before its companions). CCID controllers sit on USB and are written by the `hub` family.

use virt_xml::devices::controller::{
    Controller, ControllerModel, ControllerType, PciModel, PciModelName, ScsiModel, UsbModel,
    VirtioModel,
};
use virt_xml::domain::OnOff;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder, Chipset};
use crate::argv::devices::chardev::addr::virtio_opts;
use crate::argv::devices::net::common::push_address;
use crate::argv::props::Props;

/// The controllers of `b.def` (with their index in `def.devices`).
pub(crate) fn controllers<'d>(b: &Builder<'d>) -> Vec<(usize, &'d Controller)> {
    b.def
        .devices
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            Device::Controller(c) => Some((i, c)),
            _ => None,
        })
        .collect()
}

fn dev_name(c: &Controller) -> String {
    format!("controller {} index {}", c.kind.as_str(), c.index)
}

fn refuse(c: &Controller, reason: impl Into<String>) -> ArgvError {
    ArgvError::Device {
        device: dev_name(c),
        reason: reason.into(),
    }
}

/// Whether QEMU provides the controller itself (no `-device`).
fn is_builtin(b: &Builder<'_>, c: &Controller) -> bool {
    match c.kind {
        ControllerType::Pci => matches!(
            c.model,
            None | Some(ControllerModel::Pci(PciModel::PciRoot | PciModel::PcieRoot))
        ),
        ControllerType::Usb => matches!(c.model, Some(ControllerModel::Usb(UsbModel::None))),
        ControllerType::Ide => c.index == 0 && b.chipset == Chipset::I440fx,
        ControllerType::Sata => c.index == 0 && b.chipset == Chipset::Q35,
        ControllerType::Fdc | ControllerType::Isa | ControllerType::Xenbus => true,
        ControllerType::Ccid => true,
        _ => false,
    }
}

fn type_rank(kind: ControllerType) -> u8 {
    match kind {
        ControllerType::Pci => 0,
        ControllerType::Usb => 1,
        ControllerType::Scsi => 2,
        ControllerType::Ide => 3,
        ControllerType::Sata => 4,
        ControllerType::VirtioSerial => 5,
        _ => 6,
    }
}

fn pci_props(b: &Builder<'_>, c: &Controller) -> Result<Props, ArgvError> {
    let alias = alias_of(b, c);
    let t = c.target.unwrap_or_default();
    let model = match c.model {
        Some(ControllerModel::Pci(m)) => m,
        _ => return Err(refuse(c, "PCI controller has no model")),
    };
    let name = c.model_name.map(|n| n.as_str()).unwrap_or(match model {
        PciModel::PciBridge => PciModelName::PciBridge.as_str(),
        PciModel::DmiToPciBridge => PciModelName::I82801b11Bridge.as_str(),
        PciModel::PcieToPciBridge => PciModelName::PciePciBridge.as_str(),
        PciModel::PcieRootPort => PciModelName::PcieRootPort.as_str(),
        PciModel::PcieSwitchUpstreamPort => PciModelName::X3130Upstream.as_str(),
        PciModel::PcieSwitchDownstreamPort => PciModelName::Xio3130Downstream.as_str(),
        PciModel::PciExpanderBus => PciModelName::Pxb.as_str(),
        PciModel::PcieExpanderBus => PciModelName::PxbPcie.as_str(),
        PciModel::PciRoot | PciModel::PcieRoot => "",
    });
    let mut p = Props::new().str("driver", name);
    match model {
        PciModel::PciBridge => {
            p = p
                .uint(
                    "chassis_nr",
                    u64::from(t.chassis_nr.unwrap_or(c.index as u8)),
                )
                .str("id", alias);
        }
        PciModel::PcieRootPort | PciModel::PcieSwitchDownstreamPort => {
            p = p
                .opt_uint("port", t.port.map(u64::from))
                .opt_uint("chassis", t.chassis.map(u64::from))
                .str("id", alias)
                .opt_bool("hotplug", t.hotplug.map(|h| h == OnOff::On));
        }
        PciModel::PciExpanderBus | PciModel::PcieExpanderBus => {
            p = p
                .opt_uint("bus_nr", t.bus_nr.map(u64::from))
                .str("id", alias)
                .opt_uint("numa_node", t.node.map(u64::from));
        }
        _ => p = p.str("id", alias),
    }
    Ok(p)
}

fn usb_driver(m: UsbModel) -> Option<&'static str> {
    Some(match m {
        UsbModel::Piix3Uhci => "piix3-usb-uhci",
        UsbModel::Piix4Uhci => "piix4-usb-uhci",
        UsbModel::Ehci => "usb-ehci",
        UsbModel::Ich9Ehci1 => "ich9-usb-ehci1",
        UsbModel::Ich9Uhci1 => "ich9-usb-uhci1",
        UsbModel::Ich9Uhci2 => "ich9-usb-uhci2",
        UsbModel::Ich9Uhci3 => "ich9-usb-uhci3",
        UsbModel::Vt82c686bUhci => "vt82c686b-usb-uhci",
        UsbModel::PciOhci => "pci-ohci",
        UsbModel::NecXhci => "nec-usb-xhci",
        UsbModel::QemuXhci => "qemu-xhci",
        UsbModel::None | UsbModel::Qusb1 | UsbModel::Qusb2 => return None,
    })
}

fn alias_of(b: &Builder<'_>, c: &Controller) -> String {
    controllers(b)
        .into_iter()
        .find(|(_, x)| std::ptr::eq(*x, c))
        .map(|(i, _)| b.alias(i).to_string())
        .unwrap_or_default()
}

/// The alias of the master (non-companion) USB controller with `index`.
fn usb_master_alias(b: &Builder<'_>, index: u32) -> String {
    controllers(b)
        .into_iter()
        .find(|(_, x)| {
            x.kind == ControllerType::Usb && x.index == index && x.info.master_startport.is_none()
        })
        .map(|(i, _)| b.alias(i).to_string())
        .unwrap_or_else(|| {
            if index == 0 {
                "usb".into()
            } else {
                format!("usb{index}")
            }
        })
}

fn usb_props(b: &Builder<'_>, c: &Controller) -> Result<Props, ArgvError> {
    let model = match c.model {
        Some(ControllerModel::Usb(m)) => m,
        _ => UsbModel::Piix3Uhci,
    };
    let driver = usb_driver(model).ok_or_else(|| {
        refuse(
            c,
            format!("USB controller model '{}' is not supported", model.as_str()),
        )
    })?;
    let mut p = Props::new().str("driver", driver);
    if let Some(ports) = c.ports {
        if !matches!(model, UsbModel::QemuXhci | UsbModel::NecXhci) {
            return Err(refuse(
                c,
                format!(
                    "usb controller type '{}' doesn't support 'ports' with this QEMU binary",
                    model.as_str()
                ),
            ));
        }
        p = p.uint("p2", u64::from(ports)).uint("p3", u64::from(ports));
    }
    match c.info.master_startport {
        Some(start) => {
            p = p
                .str("masterbus", format!("{}.0", usb_master_alias(b, c.index)))
                .uint("firstport", u64::from(start));
        }
        None => p = p.str("id", alias_of(b, c)),
    }
    Ok(p)
}

fn virtio_suffix(transitional: Option<bool>) -> &'static str {
    match transitional {
        Some(true) => "-transitional",
        Some(false) => "-non-transitional",
        None => "",
    }
}

fn scsi_props(b: &Builder<'_>, c: &Controller) -> Result<Props, ArgvError> {
    let model = match c.model {
        Some(ControllerModel::Scsi(m)) => m,
        _ => ScsiModel::Lsilogic,
    };
    let drv = c.driver.unwrap_or_default();
    let virtio = match model {
        ScsiModel::VirtioScsi => Some(None),
        ScsiModel::VirtioTransitional => Some(Some(true)),
        ScsiModel::VirtioNonTransitional => Some(Some(false)),
        _ => None,
    };
    if let Some(t) = virtio {
        let driver = format!("virtio-scsi-pci{}", virtio_suffix(t));
        let p = virtio_opts(Some(&drv.virtio), Props::new().str("driver", driver));
        let p = p
            .opt_str("iothread", drv.iothread.map(|n| format!("iothread{n}")))
            .str("id", alias_of(b, c))
            .opt_uint("num_queues", drv.queues.map(u64::from))
            .opt_uint("cmd_per_lun", drv.cmd_per_lun.map(u64::from))
            .opt_uint("max_sectors", drv.max_sectors.map(u64::from))
            .opt_bool("ioeventfd", drv.ioeventfd.map(|v| v == OnOff::On));
        return Ok(p);
    }
    let driver = match model {
        ScsiModel::Lsilogic | ScsiModel::Auto => "lsi",
        ScsiModel::Lsisas1068 => "mptsas1068",
        ScsiModel::Lsisas1078 => "megasas",
        ScsiModel::Vmpvscsi => "pvscsi",
        ScsiModel::Ibmvscsi => "spapr-vscsi",
        ScsiModel::Am53c974 => "am53c974",
        ScsiModel::Dc390 => "dc390",
        ScsiModel::Ncr53c90 => return Ok(Props::new()),
        other => {
            return Err(refuse(
                c,
                format!("Unsupported controller model: {}", other.as_str()),
            ))
        }
    };
    Ok(Props::new().str("driver", driver).str("id", alias_of(b, c)))
}

fn serial_props(b: &Builder<'_>, c: &Controller) -> Props {
    let t = match c.model {
        Some(ControllerModel::VirtioSerial(VirtioModel::VirtioTransitional)) => Some(true),
        Some(ControllerModel::VirtioSerial(VirtioModel::VirtioNonTransitional)) => Some(false),
        _ => None,
    };
    let drv = c.driver.unwrap_or_default();
    let p = virtio_opts(
        Some(&drv.virtio),
        Props::new().str("driver", format!("virtio-serial-pci{}", virtio_suffix(t))),
    );
    p.str("id", alias_of(b, c))
        .opt_uint("max_ports", c.ports.map(u64::from))
        .opt_uint("vectors", c.vectors.map(u64::from))
}

/// The `-device` properties of one controller (empty when nothing is written).
fn props(b: &Builder<'_>, c: &Controller) -> Result<Props, ArgvError> {
    match c.kind {
        ControllerType::Pci => pci_props(b, c),
        ControllerType::Usb => usb_props(b, c),
        ControllerType::Scsi => scsi_props(b, c),
        ControllerType::Sata => Ok(Props::new().str("driver", "ahci").str("id", alias_of(b, c))),
        ControllerType::VirtioSerial => Ok(serial_props(b, c)),
        ControllerType::Ide => Err(refuse(
            c,
            "IDE controllers are unsupported for this QEMU binary or machine type",
        )),
        _ => Ok(Props::new()),
    }
}

/// `-global PIIX4_PM.acpi-root-pci-hotplug=on|off` for an i440fx pci-root whose `<target
/// hotplug>` is set either way (ACPI hotplug on the root bus is PIIX4 power management's switch).
fn emit_globals(b: &mut Builder<'_>) {
    let hotplug = controllers(b).iter().find_map(|(_, c)| {
        if c.kind == ControllerType::Pci
            && matches!(c.model, Some(ControllerModel::Pci(PciModel::PciRoot)))
        {
            c.target.and_then(|t| t.hotplug)
        } else {
            None
        }
    });
    if let (Some(v), Chipset::I440fx) = (hotplug, b.chipset) {
        let v = if v == OnOff::On { "on" } else { "off" };
        b.arg("-global", format!("PIIX4_PM.acpi-root-pci-hotplug={v}"));
    }
}

/// Writes this family's options for every controller of `b.def`, in libvirt's order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    emit_globals(b);
    let mut list = controllers(b);
    list.sort_by_key(|(pos, c)| {
        (
            type_rank(c.kind),
            c.index,
            c.info.master_startport.is_some(),
            *pos,
        )
    });
    for (_, c) in list {
        if is_builtin(b, c) {
            continue;
        }
        let mut p = props(b, c)?;
        if p.is_empty() {
            continue;
        }
        push_address(b, &c.info, &mut p)?;
        b.device(&p);
    }
    Ok(())
}
