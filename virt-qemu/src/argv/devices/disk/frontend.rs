//! The guest-side `-device` of a disk: driver by bus and device kind, its address on the bus, and
//! the frontend options (boot index, serial, wwn, write cache, error policies, geometry, ...).

use virt_xml::address::Address;
use virt_xml::devices::controller::{ControllerModel, ControllerType, ScsiModel};
use virt_xml::devices::disk::{Disk, DiskBus, DiskDevice, DiskModel, ErrorPolicy, SourceData};
use virt_xml::domain::OnOff;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::props::Props;

use super::storage::cache_flags;

/// The alias of controller `kind`/`index`, if the domain has it.
pub(super) fn controller_alias(
    b: &Builder<'_>,
    kind: ControllerType,
    index: u32,
) -> Option<String> {
    b.def.devices.iter().enumerate().find_map(|(i, d)| match d {
        Device::Controller(c) if c.kind == kind && c.index == index => {
            Some(b.alias(i).to_string()).filter(|a| !a.is_empty())
        }
        _ => None,
    })
}

fn scsi_model(b: &Builder<'_>, index: u32) -> Option<ScsiModel> {
    b.def.devices.iter().find_map(|d| match d {
        Device::Controller(c) if c.kind == ControllerType::Scsi && c.index == index => {
            match c.model {
                Some(ControllerModel::Scsi(m)) => Some(m),
                _ => None,
            }
        }
        _ => None,
    })
}

fn on_off(v: OnOff) -> bool {
    v == OnOff::On
}

/// `bus`/`addr` (and friends) of a device address.
pub(super) fn address_props(
    b: &Builder<'_>,
    mut p: Props,
    disk: &Disk,
    what: &str,
) -> Result<Props, ArgvError> {
    let Some(addr) = &disk.info.address else {
        return Ok(p);
    };
    match addr {
        Address::Pci {
            addr,
            multifunction,
            ..
        } => {
            let at = format!(
                "{:04x}:{:02x}:{:02x}.{}",
                addr.domain, addr.bus, addr.slot, addr.function
            );
            let bus = crate::argv::devices::net::common::pci_bus_name(b, u32::from(addr.bus), &at)?;
            p = p.str("bus", bus);
            if let Some(m) = multifunction {
                p = p.bool("multifunction", *m);
            }
            let a = if addr.function != 0 {
                format!("0x{:x}.0x{:x}", addr.slot, addr.function)
            } else {
                format!("0x{:x}", addr.slot)
            };
            p = p.str("addr", a);
            if let Some(idx) = disk.info.acpi_index {
                p = p.uint("acpi-index", u64::from(idx));
            }
        }
        Address::Drive {
            controller,
            bus,
            target,
            unit,
        } => {
            let (c, bus, target, unit) = (
                controller.unwrap_or(0),
                bus.unwrap_or(0),
                target.unwrap_or(0),
                unit.unwrap_or(0),
            );
            match disk.target.bus {
                DiskBus::Ide => {
                    // The i440fx machine's built-in IDE controller keeps QEMU's name.
                    let a = if b.chipset == crate::argv::builder::Chipset::I440fx {
                        "ide".to_string()
                    } else {
                        controller_alias(b, ControllerType::Ide, c)
                            .unwrap_or_else(|| "ide".to_string())
                    };
                    p = p
                        .str("bus", format!("{a}.{bus}"))
                        .uint("unit", u64::from(unit));
                }
                DiskBus::Sata => {
                    // The q35 machine's built-in SATA controller keeps QEMU's name.
                    let a = if b.chipset == crate::argv::builder::Chipset::Q35 && c == 0 {
                        "ide".to_string()
                    } else {
                        controller_alias(b, ControllerType::Sata, c)
                            .unwrap_or_else(|| format!("sata{c}"))
                    };
                    p = p.str("bus", format!("{a}.{unit}"));
                }
                DiskBus::Fdc => {
                    p = p.uint("unit", u64::from(unit));
                }
                DiskBus::Scsi => {
                    let a = controller_alias(b, ControllerType::Scsi, c)
                        .unwrap_or_else(|| format!("scsi{c}"));
                    let simple = matches!(
                        scsi_model(b, c),
                        None | Some(ScsiModel::Lsilogic)
                            | Some(ScsiModel::Ncr53c90)
                            | Some(ScsiModel::Dc390)
                            | Some(ScsiModel::Am53c974)
                    );
                    if simple {
                        p = p
                            .str("bus", format!("{a}.{bus}"))
                            .uint("scsi-id", u64::from(unit));
                    } else {
                        p = p
                            .str("bus", format!("{a}.0"))
                            .uint("channel", u64::from(bus))
                            .uint("scsi-id", u64::from(target))
                            .uint("lun", u64::from(unit));
                    }
                }
                other => {
                    return Err(ArgvError::Device {
                        device: what.to_string(),
                        reason: format!("a drive address does not fit bus '{}'", other.as_str()),
                    })
                }
            }
        }
        Address::Usb { bus, port } => {
            let a = controller_alias(b, ControllerType::Usb, bus.unwrap_or(0))
                .unwrap_or_else(|| "usb".to_string());
            p = p.str("bus", format!("{a}.0"));
            if let Some(port) = port {
                p = p.str("port", port.clone());
            }
        }
        Address::Ccw { cssid, ssid, devno } => {
            p = p.str(
                "devno",
                format!(
                    "{:x}.{:x}.{:04x}",
                    cssid.unwrap_or(0),
                    ssid.unwrap_or(0),
                    devno.unwrap_or(0)
                ),
            );
        }
        _ => {}
    }
    Ok(p)
}

/// The `-device` of `disk` (alias `alias`), using `drive` as its block node.
pub(super) fn device_props(
    b: &Builder<'_>,
    disk: &Disk,
    alias: &str,
    drive: Option<&str>,
    bootindex: u32,
) -> Result<Props, ArgvError> {
    let what = format!("disk '{}'", disk.target.dev);
    let mut p = Props::new();
    let mut removable = None;
    let mut device_id = None;
    let vhost_user = matches!(disk.source.data, SourceData::Vhostuser { .. });
    match disk.target.bus {
        DiskBus::Ide | DiskBus::Sata => {
            let d = if disk.device == DiskDevice::Cdrom {
                "ide-cd"
            } else {
                "ide-hd"
            };
            p = p.str("driver", d);
        }
        DiskBus::Scsi => {
            let d = match disk.device {
                DiskDevice::Lun => "scsi-block",
                DiskDevice::Cdrom => "scsi-cd",
                _ => {
                    removable = disk.target.removable.map(on_off);
                    "scsi-hd"
                }
            };
            if disk.device != DiskDevice::Lun {
                device_id = Some(
                    disk.serial
                        .clone()
                        .unwrap_or_else(|| format!("drive-{alias}")),
                );
            }
            p = p.str("driver", d);
        }
        DiskBus::Virtio => {
            let transport = match disk.info.address {
                Some(Address::Ccw { .. }) => "ccw",
                _ => "pci",
            };
            let base = if vhost_user {
                "vhost-user-blk"
            } else {
                "virtio-blk"
            };
            let name = match disk.model {
                Some(DiskModel::VirtioTransitional) if transport == "pci" => {
                    format!("{base}-pci-transitional")
                }
                Some(DiskModel::VirtioNonTransitional) if transport == "pci" => {
                    format!("{base}-pci-non-transitional")
                }
                _ => format!("{base}-{transport}"),
            };
            let dr = &disk.driver;
            p = p.str("driver", name);
            for (key, v) in [
                ("iommu_platform", dr.iommu),
                ("ats", dr.ats),
                ("packed", dr.packed),
                ("page-per-vq", dr.page_per_vq),
            ] {
                if let Some(v) = v {
                    p = p.bool(key, on_off(v));
                }
            }
            if let Some(t) = dr.iothread {
                p = p.str("iothread", format!("iothread{t}"));
            }
            if let Some(v) = dr.ioeventfd {
                p = p.bool("ioeventfd", on_off(v));
            }
            if let Some(v) = dr.event_idx {
                p = p.bool("event_idx", on_off(v));
            }
            // SCSI passthrough of virtio-blk: on for a LUN, off for anything else where QEMU has
            // the switch and would otherwise turn it on.
            if !vhost_user && b.caps.has_flag("virtio-blk-pci.scsi") {
                if disk.device == DiskDevice::Lun {
                    p = p.bool("scsi", true);
                } else if !b.caps.has_flag("virtio-blk-pci.scsi.default.disabled") {
                    p = p.bool("scsi", false);
                }
            }
            if let Some(q) = dr.queues {
                p = p.uint("num-queues", u64::from(q));
            }
            if let Some(q) = dr.queue_size {
                p = p.uint("queue-size", u64::from(q));
            }
        }
        DiskBus::Usb => {
            removable = Some(disk.target.removable.map(on_off).unwrap_or(false));
            p = p.str("driver", "usb-storage");
        }
        DiskBus::Fdc => {
            p = p.str("driver", "floppy");
        }
        other => {
            return Err(ArgvError::Device {
                device: what,
                reason: format!(
                    "unsupported disk bus '{}' with device setup",
                    other.as_str()
                ),
            })
        }
    }
    p = address_props(b, p, disk, &what)?;
    p = p.opt_str("device_id", device_id);
    if disk.shareable {
        p = p.bool("share-rw", true);
    }
    if vhost_user {
        p = p.str("chardev", format!("chr-vu-{alias}"));
    } else {
        p = p.opt_str("drive", drive);
    }
    p = p.str("id", alias);
    if bootindex > 0 && disk.device != DiskDevice::Floppy {
        p = p.uint("bootindex", u64::from(bootindex));
    }
    if let Some(bio) = disk.blockio {
        p = p
            .opt_uint("logical_block_size", bio.logical_block_size.map(u64::from))
            .opt_uint(
                "physical_block_size",
                bio.physical_block_size.map(u64::from),
            );
    }
    if let Some(w) = &disk.wwn {
        let n =
            u64::from_str_radix(w.trim_start_matches("0x"), 16).map_err(|_| ArgvError::Device {
                device: what.clone(),
                reason: format!("Failed to parse wwn '{w}' as number"),
            })?;
        p = p.uint("wwn", n);
    }
    p = p
        .opt_uint("rotation_rate", disk.target.rotation_rate.map(u64::from))
        .opt_str("vendor", disk.vendor.clone())
        .opt_str("product", disk.product.clone())
        .opt_bool("removable", removable);
    if disk.device != DiskDevice::Lun {
        if let Some(c) = super::effective_cache(disk) {
            let (wb, _, _) = cache_flags(c);
            p = p.str("write-cache", if wb { "on" } else { "off" });
        }
    }
    if let Some(g) = disk.geometry {
        p = p
            .uint("cyls", u64::from(g.cyls))
            .uint("heads", u64::from(g.heads))
            .uint("secs", u64::from(g.secs));
        if let Some(t) = g.trans {
            p = p.str("bios-chs-trans", t.as_str());
        }
    }
    if let Some(s) = &disk.serial {
        p = p.str("serial", s.replace(' ', "\\ "));
    }
    let (werror, rerror) = error_policies(disk);
    p = p.opt_str("werror", werror).opt_str("rerror", rerror);
    Ok(p)
}

/// QEMU's `werror`/`rerror` of the disk's error policies.
fn error_policies(disk: &Disk) -> (Option<&'static str>, Option<&'static str>) {
    let w = disk.driver.error_policy.map(|e| match e {
        ErrorPolicy::Stop => "stop",
        ErrorPolicy::Report => "report",
        ErrorPolicy::Ignore => "ignore",
        ErrorPolicy::Enospace => "enospc",
    });
    let r = match disk.driver.rerror_policy {
        Some(r) => Some(r.as_str()),
        // enospace has no read counterpart; otherwise reads follow writes.
        None => w.filter(|w| *w != "enospc"),
    };
    let r = r.map(|s| match s {
        "stop" => "stop",
        "report" => "report",
        _ => "ignore",
    });
    (w, r)
}
