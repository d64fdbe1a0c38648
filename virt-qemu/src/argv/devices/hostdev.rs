//! Host devices given to the guest, in libvirt's order: first the PCI functions of
//! `<interface type='hostdev'>` (libvirt keeps them at the head of its host device list), then
//! every `<hostdev>` in document order:
//! - PCI: `-device vfio-pci` with the host address, boot index, failover pairing, bus placement
//!   and option ROM;
//! - USB: `-device usb-host` with `hostdevice=/dev/bus/usb/BBB/DDD` and guest reset policy;
//! - SCSI: a `-blockdev` (`host_device` on the host's SCSI generic node, or `iscsi`) and
//!   `-device scsi-generic`;
//! - SCSI host (vhost-scsi): `-device vhost-scsi-pci` with a planned vhost-scsi fd;
//! - mediated devices: `-device vfio-pci` (or `vfio-pci-nohotplug` with ramfb) by sysfs path.

use std::path::Path;

use virt_xml::address::Address;
use virt_xml::devices::disk::{BackingStore, SourceData};
use virt_xml::devices::hostdev::{GuestReset, Hostdev, HostdevModel, HostdevSource, ScsiSource};
use virt_xml::devices::info::DeviceInfo;
use virt_xml::devices::interface::{HostdevBackend, Teaming, TeamingType};
use virt_xml::domain::{InterfaceType, OnOff};
use virt_xml::{Device, PciAddr};

use super::net::common::{self, push_address, push_nonzero, push_rom};
use crate::argv::builder::{ArgvError, Builder};
use crate::argv::cmdline::FdPurpose;
use crate::argv::host::FdKind;
use crate::argv::props::{Props, Value};

fn device_name(alias: &str) -> String {
    format!("hostdev '{alias}'")
}

fn pci_host(a: &PciAddr) -> String {
    format!(
        "{:04x}:{:02x}:{:02x}.{}",
        a.domain, a.bus, a.slot, a.function
    )
}

fn failover_pair(teaming: Option<&Teaming>) -> Option<String> {
    teaming
        .filter(|t| t.teaming_type == TeamingType::Transient)
        .and_then(|t| t.persistent.clone())
}

/// `-device vfio-pci` for a PCI function at `host`.
fn pci_props(
    b: &Builder<'_>,
    alias: &str,
    host: &PciAddr,
    info: &DeviceInfo,
    boot: Option<u32>,
    teaming: Option<&Teaming>,
) -> Result<Props, ArgvError> {
    let mut p = Props::new()
        .str("driver", "vfio-pci")
        .str("host", pci_host(host))
        .str("id", alias);
    push_nonzero(&mut p, "bootindex", boot.map(u64::from));
    if let Some(f) = failover_pair(teaming) {
        p.push("failover_pair_id", Value::Str(f));
    }
    push_address(b, info, &mut p)?;
    push_rom(info, &mut p, &device_name(alias))?;
    Ok(p)
}

/// How many block node names the disks use (libvirt numbers `libvirt-N-...` over all storage
/// sources of all disks, then over SCSI host devices).
fn disk_node_names(b: &Builder<'_>) -> u32 {
    let mut n = 0;
    for d in &b.def.devices {
        let Device::Disk(disk) = d else { continue };
        let empty = match &disk.source.data {
            SourceData::File { file, fdgroup } => file.is_none() && fdgroup.is_none(),
            SourceData::Block { dev } => dev.is_none(),
            SourceData::Dir { dir } => dir.is_none(),
            SourceData::Volume { volume, .. } => volume.is_none(),
            _ => false,
        };
        if empty {
            continue;
        }
        n += 1;
        let mut next = disk.backing_store.as_ref();
        while let Some(BackingStore::Image(img)) = next {
            n += 1;
            next = img.backing_store.as_ref();
        }
    }
    n
}

/// The SCSI generic node of a host SCSI device (`sgN`).
fn scsi_generic_name(
    b: &Builder<'_>,
    adapter: &str,
    bus: u32,
    target: u32,
    unit: u64,
) -> Result<String, ArgvError> {
    if common::is_test_harness(b) {
        return Ok("sg0".into());
    }
    let host = adapter
        .strip_prefix("scsi_host")
        .and_then(|h| h.parse::<u32>().ok())
        .ok_or_else(|| ArgvError::Host(format!("invalid SCSI adapter name '{adapter}'")))?;
    let dir = Path::new("/sys/bus/scsi/devices")
        .join(format!("{host}:{bus}:{target}:{unit}"))
        .join("scsi_generic");
    let entry = std::fs::read_dir(&dir)
        .ok()
        .and_then(|mut r| r.next())
        .and_then(|e| e.ok())
        .ok_or_else(|| {
            ArgvError::Host(format!(
                "no SCSI generic device for {adapter} {bus}:{target}:{unit} ({})",
                dir.display()
            ))
        })?;
    Ok(entry.file_name().to_string_lossy().into_owned())
}

/// The `secret` object with the CHAP password of an iSCSI hostdev (`NODE-secret0`); its id.
fn iscsi_secret(
    b: &mut Builder<'_>,
    auth: &virt_xml::devices::hostdev::IscsiAuth,
    alias: &str,
    node: &str,
) -> Result<String, ArgvError> {
    use virt_xml::devices::disk::SecretLookup;
    let device = device_name(alias);
    let lookup = match (&auth.secret_uuid, &auth.secret_usage) {
        (Some(u), _) => SecretLookup::Uuid(*u),
        (None, Some(n)) => SecretLookup::Usage(n.clone()),
        (None, None) => {
            return Err(ArgvError::Device {
                device,
                reason: "iSCSI <auth> names no secret".into(),
            })
        }
    };
    let usage = crate::secret::SecretUsage::Iscsi;
    let value = super::disk::lookup_secret(b, &lookup, usage, &device)?;
    let id = format!("{node}-secret0");
    super::disk::secret_object(b, &id, &value, &device)?;
    Ok(id)
}

/// `-blockdev` + `-device scsi-generic` of a SCSI hostdev.
fn emit_scsi(
    b: &mut Builder<'_>,
    dev: &Hostdev,
    src: &ScsiSource,
    alias: &str,
    node_index: u32,
) -> Result<(), ArgvError> {
    let node = format!("libvirt-{node_index}-backend");
    let backend = match src {
        ScsiSource::Adapter {
            adapter,
            bus,
            target,
            unit,
        } => {
            let sg = scsi_generic_name(b, adapter, *bus, *target, *unit)?;
            Props::new()
                .str("driver", "host_device")
                .str("filename", format!("/dev/{sg}"))
        }
        ScsiSource::Iscsi {
            name,
            hosts,
            auth,
            initiator_iqn,
        } => {
            let login = match auth {
                Some(a) => Some((a.username.clone(), iscsi_secret(b, a, alias, &node)?)),
                None => None,
            };
            let h = hosts.first().ok_or_else(|| ArgvError::Device {
                device: device_name(alias),
                reason: "iSCSI source needs a host".into(),
            })?;
            let (target, lun) = match name.rsplit_once('/') {
                Some((t, l)) => (t.to_string(), l.parse::<u64>().unwrap_or(0)),
                None => (name.clone(), 0),
            };
            let mut p = Props::new()
                .str("driver", "iscsi")
                .str("portal", format!("{}:{}", h.name, h.port.unwrap_or(3260)))
                .str("target", target)
                .uint("lun", lun)
                .str("transport", "tcp");
            if let Some((user, id)) = login {
                p = p.str("user", user).str("password-secret", id);
            }
            if let Some(i) = initiator_iqn {
                p.push("initiator-name", Value::Str(i.clone()));
            }
            p
        }
    };
    let backend = backend
        .str("node-name", node.clone())
        .bool("read-only", dev.readonly);
    b.blockdev(&backend);
    let mut p = Props::new()
        .str("driver", "scsi-generic")
        .str("drive", node)
        .str("id", alias);
    push_nonzero(
        &mut p,
        "bootindex",
        dev.info.boot.as_ref().map(|o| u64::from(o.order)),
    );
    push_address(b, &dev.info, &mut p)?;
    b.device(&p);
    Ok(())
}

/// Refusals libvirt makes for the mediated devices as a set.
fn validate_mdevs(b: &Builder<'_>) -> Result<(), ArgvError> {
    let mut ramfb = 0;
    for d in &b.def.devices {
        let Device::Hostdev(h) = d else { continue };
        if !matches!(h.source, HostdevSource::Mdev { .. }) {
            continue;
        }
        if h.ramfb == Some(OnOff::On) {
            ramfb += 1;
        }
        if h.display == Some(OnOff::On)
            && !b
                .def
                .devices
                .iter()
                .any(|d| matches!(d, Device::Graphics(_)))
        {
            return Err(ArgvError::unsupported(
                "graphics device is needed for attribute value 'display=on' in <hostdev>",
            ));
        }
    }
    if ramfb > 1 {
        return Err(ArgvError::unsupported(
            "Only one vgpu device can have 'ramfb' enabled",
        ));
    }
    Ok(())
}

fn emit_hostdev(
    b: &mut Builder<'_>,
    dev: &Hostdev,
    alias: &str,
    scsi_index: &mut u32,
) -> Result<(), ArgvError> {
    match &dev.source {
        HostdevSource::Pci {
            driver, address, ..
        } => {
            if matches!(dev.info.address, Some(Address::Unassigned)) {
                return Ok(());
            }
            if matches!(driver, Some(HostdevBackend::Kvm | HostdevBackend::Xen)) {
                return Err(ArgvError::Device {
                    device: device_name(alias),
                    reason: format!(
                        "invalid PCI passthrough type '{}'",
                        driver.map(|d| d.as_str()).unwrap_or("default")
                    ),
                });
            }
            let boot = dev.info.boot.as_ref().map(|o| o.order);
            let p = pci_props(b, alias, address, &dev.info, boot, dev.teaming.as_ref())?;
            b.device(&p);
        }
        HostdevSource::Usb {
            guest_reset,
            address,
            ..
        } => {
            let a = address.ok_or_else(|| {
                ArgvError::Host("USB host device is missing bus/device information".into())
            })?;
            let mut p = Props::new().str("driver", "usb-host");
            if b.caps.has_flag("usb-host.hostdevice") {
                p.push(
                    "hostdevice",
                    Value::Str(format!("/dev/bus/usb/{:03}/{:03}", a.bus, a.device)),
                );
            } else {
                p.push("hostbus", Value::UInt(u64::from(a.bus)));
                p.push("hostaddr", Value::UInt(u64::from(a.device)));
            }
            p.push("id", Value::Str(alias.to_string()));
            push_nonzero(
                &mut p,
                "bootindex",
                dev.info.boot.as_ref().map(|o| u64::from(o.order)),
            );
            match guest_reset {
                Some(GuestReset::Off) => p.push("guest-reset", Value::Bool(false)),
                Some(GuestReset::Uninitialized) => {
                    p.push("guest-reset", Value::Bool(true));
                    p.push("guest-resets-all", Value::Bool(false));
                }
                Some(GuestReset::On) => {
                    p.push("guest-reset", Value::Bool(true));
                    p.push("guest-resets-all", Value::Bool(true));
                }
                None => {}
            }
            push_address(b, &dev.info, &mut p)?;
            b.device(&p);
        }
        HostdevSource::Scsi(src) => {
            *scsi_index += 1;
            emit_scsi(b, dev, src, alias, *scsi_index)?;
        }
        HostdevSource::ScsiHost { wwpn, .. } => {
            // vhost-scsi has no boot index of its own: the guest's firmware can't boot from it.
            if dev.info.boot.is_some() {
                return Err(ArgvError::unsupported(format!(
                    "hostdev '{alias}': booting from a vhost-scsi host device is not supported"
                )));
            }
            let base = format!("vhost-scsi-{}", common::virtio_transport(&dev.info));
            let name = match dev.model {
                Some(HostdevModel::VirtioTransitional) => format!("{base}-transitional"),
                Some(HostdevModel::VirtioNonTransitional) => format!("{base}-non-transitional"),
                _ => base,
            };
            let fd = b.pass_fd(
                FdKind::VhostScsi,
                FdPurpose::Other {
                    alias: alias.to_string(),
                    what: "vhost-scsi".into(),
                },
            );
            let mut p = Props::new()
                .str("driver", name)
                .str("wwpn", wwpn.clone())
                .str("vhostfd", fd.to_string())
                .str("id", alias);
            push_address(b, &dev.info, &mut p)?;
            b.device(&p);
        }
        HostdevSource::Mdev { uuid } => {
            let model = dev.model.unwrap_or(HostdevModel::VfioPci);
            let driver = match model {
                HostdevModel::VfioPci if dev.ramfb == Some(OnOff::On) => "vfio-pci-nohotplug",
                HostdevModel::VfioPci => "vfio-pci",
                HostdevModel::VfioCcw => "vfio-ccw",
                HostdevModel::VfioAp => "vfio-ap",
                other => {
                    return Err(ArgvError::Device {
                        device: device_name(alias),
                        reason: format!("unsupported mediated device model '{}'", other.as_str()),
                    })
                }
            };
            let mut p = Props::new()
                .str("driver", driver)
                .str("id", alias)
                .str("sysfsdev", format!("/sys/bus/mdev/devices/{uuid}"));
            if let Some(d) = dev.display {
                p.push("display", Value::Str(d.as_str().into()));
            }
            if dev.ramfb == Some(OnOff::On) {
                p.push("ramfb", Value::Bool(true));
            }
            push_nonzero(
                &mut p,
                "bootindex",
                dev.info.boot.as_ref().map(|o| u64::from(o.order)),
            );
            push_address(b, &dev.info, &mut p)?;
            b.device(&p);
        }
        HostdevSource::Storage { .. } | HostdevSource::Misc { .. } | HostdevSource::Net { .. } => {}
    }
    Ok(())
}

/// Writes this family's options: hostdev interfaces, then every `<hostdev>`.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    validate_mdevs(b)?;
    let def = b.def;
    for (pos, (index, nic)) in super::net::interfaces(b).into_iter().enumerate() {
        if nic.iface_type != InterfaceType::Hostdev {
            continue;
        }
        let alias = b.alias(index).to_string();
        let host = match nic.source.as_ref().and_then(|s| s.host_address.as_ref()) {
            Some(Address::Pci { addr, .. }) => *addr,
            _ => {
                return Err(ArgvError::Device {
                    device: format!("interface '{alias}'"),
                    reason: "only PCI host devices can back an interface of type 'hostdev'".into(),
                })
            }
        };
        let boot = super::net::effective_boot_index(b, nic, pos);
        let p = pci_props(b, &alias, &host, &nic.info, boot, nic.teaming.as_ref())?;
        b.device(&p);
    }
    let mut scsi_index = disk_node_names(b);
    for (index, d) in def.devices.iter().enumerate() {
        let Device::Hostdev(h) = d else { continue };
        let alias = b.alias(index).to_string();
        emit_hostdev(b, h, &alias, &mut scsi_index)?;
    }
    Ok(())
}
