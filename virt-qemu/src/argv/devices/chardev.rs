//! `<serial>`, `<parallel>`, `<channel>`, `<console>`: their `-chardev` (with `-add-fd` for files)
//! and frontend `-device`, in libvirt's order (serials, parallels, channels, consoles).
//!
//! - [`backend`]: the `-chardev` value of a host side (shared with rng `egd`, TPM, smartcards,
//!   USB redirection).
//! - [`addr`]: address and virtio option properties shared by this helper's families.

pub mod addr;
pub mod backend;

use virt_xml::address::Address;
use virt_xml::devices::chardev::{Chardev, ChrType, TargetModel, TargetType};
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::props::Props;

use backend::ChardevUse;

/// The host side plus the frontend's properties that name it.
fn chardev_for(b: &mut Builder<'_>, dev: &Chardev, alias: &str) -> Result<String, ArgvError> {
    let id = format!("char{alias}");
    // A SPICE channel device is the SPICE agent's.
    let spice_name = "vdagent";
    backend::emit(
        b,
        &dev.source,
        &ChardevUse {
            id: &id,
            dev_alias: alias,
            spice_name: Some(spice_name),
        },
    )?;
    Ok(id)
}

fn virtio_serial_addr(dev: &Chardev, p: Props) -> Props {
    match &dev.info.address {
        Some(Address::VirtioSerial {
            controller,
            bus,
            port,
        }) => p
            .str(
                "bus",
                format!(
                    "virtio-serial{}.{}",
                    controller.unwrap_or(0),
                    bus.unwrap_or(0)
                ),
            )
            .opt_uint("nr", port.map(u64::from)),
        _ => p,
    }
}

fn serial_model(b: &Builder<'_>, dev: &Chardev) -> TargetModel {
    let t = dev.target.as_ref();
    if let Some(m) = t.and_then(|t| t.model) {
        return m;
    }
    match t.and_then(|t| t.kind) {
        Some(TargetType::UsbSerial) => TargetModel::UsbSerial,
        Some(TargetType::PciSerial) => TargetModel::PciSerial,
        Some(TargetType::IsaDebug) => TargetModel::IsaDebugcon,
        _ if b.is_pc() || b.chipset == crate::argv::builder::Chipset::Isapc => {
            TargetModel::IsaSerial
        }
        _ => TargetModel::IsaSerial,
    }
}

fn emit_serial(
    b: &mut Builder<'_>,
    dev: &Chardev,
    alias: &str,
    port: u32,
) -> Result<(), ArgvError> {
    let id = chardev_for(b, dev, alias)?;
    let model = serial_model(b, dev);
    let mut p = Props::new()
        .str("driver", model.as_str())
        .str("chardev", id)
        .str("id", alias);
    match model {
        TargetModel::IsaSerial => {
            p = p.uint("index", u64::from(port));
            p = addr::address_props(b, &dev.info, p);
        }
        TargetModel::UsbSerial | TargetModel::PciSerial | TargetModel::IsaDebugcon => {
            p = addr::address_props(b, &dev.info, p);
        }
        other => {
            return Err(ArgvError::unsupported(format!(
                "unsupported serial target model '{}' for this machine",
                other.as_str()
            )))
        }
    }
    b.device(&p);
    Ok(())
}

fn emit_parallel(b: &mut Builder<'_>, dev: &Chardev, alias: &str) -> Result<(), ArgvError> {
    let id = chardev_for(b, dev, alias)?;
    let p = Props::new()
        .str("driver", "isa-parallel")
        .str("chardev", id)
        .str("id", alias);
    b.device(&p);
    Ok(())
}

fn emit_channel(b: &mut Builder<'_>, dev: &Chardev, alias: &str) -> Result<(), ArgvError> {
    let target = dev.target.clone().unwrap_or_default();
    match target.kind {
        Some(TargetType::Guestfwd) => {
            let id = chardev_for(b, dev, alias)?;
            let (Some(ip), Some(port)) = (target.address, target.port) else {
                return Err(ArgvError::Device {
                    device: format!("channel '{alias}'"),
                    reason: "guestfwd channel needs a target address and port".into(),
                });
            };
            let fwd = Props::new().str("str", format!("tcp:{ip}:{port}-chardev:{id}"));
            let p = Props::new()
                .str("type", "user")
                .add(
                    "guestfwd",
                    crate::argv::props::Value::Arr(vec![crate::argv::props::Value::Obj(fwd)]),
                )
                .str("id", alias);
            b.netdev(&p);
        }
        Some(TargetType::Virtio) | None => {
            let id = chardev_for(b, dev, alias)?;
            let mut p = Props::new().str("driver", "virtserialport");
            p = virtio_serial_addr(dev, p);
            p = p.str("chardev", id).str("id", alias);
            if dev.source.chr_type() == ChrType::Spicevmc && target.name.is_none() {
                p = p.str("name", "com.redhat.spice.0");
            } else {
                p = p.opt_str("name", target.name.clone());
            }
            b.device(&p);
        }
        Some(other) => {
            return Err(ArgvError::unsupported(format!(
                "unsupported channel target type '{}'",
                other.as_str()
            )))
        }
    }
    Ok(())
}

fn emit_console(
    b: &mut Builder<'_>,
    dev: &Chardev,
    alias: &str,
    first: bool,
) -> Result<(), ArgvError> {
    let kind = dev.target.as_ref().and_then(|t| t.kind);
    match kind {
        Some(TargetType::Virtio) => {
            let id = chardev_for(b, dev, alias)?;
            let mut p = Props::new().str("driver", "virtconsole");
            p = virtio_serial_addr(dev, p);
            p = p.str("chardev", id).str("id", alias);
            b.device(&p);
        }
        Some(TargetType::Sclp) | Some(TargetType::Sclplm) => {
            let id = chardev_for(b, dev, alias)?;
            let driver = if kind == Some(TargetType::Sclp) {
                "sclpconsole"
            } else {
                "sclplmconsole"
            };
            let p = Props::new()
                .str("driver", driver)
                .str("chardev", id)
                .str("id", alias);
            b.device(&p);
        }
        // The first serial console is the first serial port seen from another side.
        Some(TargetType::Serial) | None => {
            if !first {
                return Err(ArgvError::unsupported(
                    "Only the first console can be a serial port",
                ));
            }
        }
        Some(other) => {
            return Err(ArgvError::unsupported(format!(
                "unsupported console target type '{}'",
                other.as_str()
            )))
        }
    }
    Ok(())
}

/// The port of each serial device: its own, or one past the highest port of all serials (those
/// written and those given before it), as libvirt numbers ports left out.
fn serial_ports(def: &virt_xml::Domain) -> Vec<u32> {
    let given: Vec<Option<u32>> = def
        .devices
        .iter()
        .filter_map(|d| match d {
            Device::Serial(c) => Some(c.target.as_ref().and_then(|t| t.port)),
            _ => None,
        })
        .collect();
    let mut highest: Option<u32> = given.iter().flatten().copied().max();
    given
        .iter()
        .map(|p| match p {
            Some(p) => *p,
            None => {
                let next = highest.map_or(0, |h| h + 1);
                highest = Some(next);
                next
            }
        })
        .collect()
}

/// Writes this family's options for every such device of `b.def`, in libvirt's order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    let ports = serial_ports(def);
    let mut n = 0;
    for (i, d) in def.devices.iter().enumerate() {
        if let Device::Serial(c) = d {
            let alias = b.alias(i).to_string();
            emit_serial(b, c, &alias, ports.get(n).copied().unwrap_or(0))?;
            n += 1;
        }
    }
    for (i, d) in def.devices.iter().enumerate() {
        if let Device::Parallel(c) = d {
            let alias = b.alias(i).to_string();
            emit_parallel(b, c, &alias)?;
        }
    }
    for (i, d) in def.devices.iter().enumerate() {
        if let Device::Channel(c) = d {
            let alias = b.alias(i).to_string();
            emit_channel(b, c, &alias)?;
        }
    }
    let mut first = true;
    for (i, d) in def.devices.iter().enumerate() {
        if let Device::Console(c) = d {
            let alias = b.alias(i).to_string();
            emit_console(b, c, &alias, first)?;
            first = false;
        }
    }
    Ok(())
}
