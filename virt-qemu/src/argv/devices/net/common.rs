//! What the NIC, hostdev, redirdev and smartcard families share: where a device sits on the
//! guest's buses (`bus`/`addr`/`port`/SCSI ids), option ROM tuning, boot order, virtio transport
//! names and the few `-chardev` backends these devices use. The one place these families read
//! device placement, so a switch of the domain model touches only this file.

use std::path::PathBuf;

use virt_xml::address::Address;
use virt_xml::devices::controller::{ControllerModel, ControllerType, PciModel, ScsiModel};
use virt_xml::devices::info::DeviceInfo;
use virt_xml::devices::redirdev::{ChrBackend, ChrProtocol, ChrSourceMode, ChrType};
use virt_xml::domain::OnOff;
use virt_xml::os::{BootDev, YesNo};
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::cmdline::FdPurpose;
use crate::argv::host::{FdKind, FdNumbering};
use crate::argv::props::{Props, Value};

/// `on`/`off` as a JSON boolean.
pub(crate) fn on(v: Option<OnOff>) -> Option<bool> {
    v.map(|v| v == OnOff::On)
}

/// Adds `key: bool` when the switch is set.
pub(crate) fn push_switch(p: &mut Props, key: &str, v: Option<OnOff>) {
    if let Some(b) = on(v) {
        p.push(key, Value::Bool(b));
    }
}

/// Adds `key: n` when `n` is set and not zero (libvirt leaves zero out).
pub(crate) fn push_nonzero(p: &mut Props, key: &str, v: Option<u64>) {
    if let Some(n) = v.filter(|n| *n != 0) {
        p.push(key, Value::UInt(n));
    }
}

/// The controller of `kind` with `index`: its position in `def.devices` and model.
fn controller(
    b: &Builder<'_>,
    kind: ControllerType,
    index: u32,
) -> Option<(usize, Option<ControllerModel>)> {
    b.def.devices.iter().enumerate().find_map(|(i, d)| match d {
        Device::Controller(c) if c.kind == kind && c.index == index => Some((i, c.model)),
        _ => None,
    })
}

/// The alias of the controller of `kind` with `index`, or an error naming what is missing.
pub(crate) fn controller_alias(
    b: &Builder<'_>,
    kind: ControllerType,
    index: u32,
) -> Result<String, ArgvError> {
    match controller(b, kind, index) {
        Some((i, _)) if !b.alias(i).is_empty() => Ok(b.alias(i).to_string()),
        _ => Err(ArgvError::Host(format!(
            "Could not find {} controller with index {index} required for device",
            kind.as_str()
        ))),
    }
}

/// The QEMU bus name of PCI bus `bus`: the alias of the PCI controller with that index (the
/// built-in root buses keep QEMU's own names even when the user named the controller).
pub(crate) fn pci_bus_name(b: &Builder<'_>, bus: u32, what: &str) -> Result<String, ArgvError> {
    let Some((i, model)) = controller(b, ControllerType::Pci, bus) else {
        return Err(ArgvError::Host(format!(
            "Could not find PCI controller with index '{bus}' required for device at address '{what}'"
        )));
    };
    let alias = b.alias(i);
    if alias.is_empty() {
        return Err(ArgvError::Host(format!(
            "Device alias was not set for PCI controller with index '{bus}' required for device at address '{what}'"
        )));
    }
    if alias.starts_with("ua-") {
        match model {
            Some(ControllerModel::Pci(PciModel::PciRoot)) => return Ok("pci.0".into()),
            Some(ControllerModel::Pci(PciModel::PcieRoot)) => return Ok("pcie.0".into()),
            _ => {}
        }
    }
    Ok(alias.to_string())
}

/// Writes where the device sits (`bus`, `addr`, `port`, SCSI ids, ...) as libvirt does for
/// its address type.
pub(crate) fn push_address(
    b: &Builder<'_>,
    info: &DeviceInfo,
    p: &mut Props,
) -> Result<(), ArgvError> {
    match &info.address {
        Some(Address::Pci {
            addr,
            multifunction,
            ..
        }) => {
            let what = format!(
                "{:04x}:{:02x}:{:02x}.{}",
                addr.domain, addr.bus, addr.slot, addr.function
            );
            p.push(
                "bus",
                Value::Str(pci_bus_name(b, u32::from(addr.bus), &what)?),
            );
            if let Some(m) = multifunction {
                p.push("multifunction", Value::Bool(*m));
            }
            let a = if addr.function != 0 {
                format!("{:#x}.{:#x}", addr.slot, addr.function)
            } else {
                format!("{:#x}", addr.slot)
            };
            p.push("addr", Value::Str(a));
            push_nonzero(p, "acpi-index", info.acpi_index.map(u64::from));
        }
        Some(Address::Usb { bus, port }) => {
            let alias = controller_alias(b, ControllerType::Usb, bus.unwrap_or(0))?;
            p.push("bus", Value::Str(format!("{alias}.0")));
            if let Some(port) = port.as_ref().filter(|s| !s.is_empty()) {
                p.push("port", Value::Str(port.clone()));
            }
        }
        Some(Address::Drive {
            controller: c,
            bus,
            target,
            unit,
        }) => {
            let c = c.unwrap_or(0);
            let Some((i, model)) = controller(b, ControllerType::Scsi, c) else {
                return Err(ArgvError::Host(format!(
                    "unable to find a SCSI controller for idx={c}"
                )));
            };
            let alias = b.alias(i);
            let (bus, target, unit) = (bus.unwrap_or(0), target.unwrap_or(0), unit.unwrap_or(0));
            let single_bus = matches!(
                model,
                None | Some(ControllerModel::Scsi(
                    ScsiModel::Lsilogic
                        | ScsiModel::Ncr53c90
                        | ScsiModel::Dc390
                        | ScsiModel::Am53c974
                ))
            );
            if single_bus {
                p.push("bus", Value::Str(format!("{alias}.{bus}")));
                p.push("scsi-id", Value::UInt(u64::from(unit)));
            } else {
                p.push("bus", Value::Str(format!("{alias}.0")));
                p.push("channel", Value::UInt(u64::from(bus)));
                p.push("scsi-id", Value::UInt(u64::from(target)));
                p.push("lun", Value::UInt(u64::from(unit)));
            }
        }
        Some(Address::Ccw { cssid, ssid, devno }) => {
            p.push(
                "devno",
                Value::Str(format!(
                    "{:x}.{:x}.{:04x}",
                    cssid.unwrap_or(0),
                    ssid.unwrap_or(0),
                    devno.unwrap_or(0)
                )),
            );
        }
        _ => {}
    }
    Ok(())
}

/// `rombar`/`romfile` from `<rom>` (PCI devices only).
pub(crate) fn push_rom(info: &DeviceInfo, p: &mut Props, device: &str) -> Result<(), ArgvError> {
    let Some(rom) = &info.rom else { return Ok(()) };
    if rom.enabled.is_none() && rom.bar.is_none() && rom.file.is_none() {
        return Ok(());
    }
    if !matches!(info.address, Some(Address::Pci { .. })) {
        return Err(ArgvError::Device {
            device: device.to_string(),
            reason: "ROM tuning is only supported for PCI devices".into(),
        });
    }
    if rom.enabled == Some(YesNo::No) {
        p.push("romfile", Value::Str(String::new()));
        return Ok(());
    }
    if let Some(bar) = rom.bar {
        p.push("rombar", Value::Int(i64::from(bar == OnOff::On)));
    }
    if let Some(f) = &rom.file {
        p.push("romfile", Value::Str(f.clone()));
    }
    Ok(())
}

/// The transport suffix of a virtio device at this address (`pci`, `ccw`, `device`).
pub(crate) fn virtio_transport(info: &DeviceInfo) -> &'static str {
    match info.address {
        Some(Address::Ccw { .. }) => "ccw",
        Some(Address::VirtioMmio) => "device",
        _ => "pci",
    }
}

/// Whether the libvirt test harness is the host (its mocks differ from a real host in a few
/// documented places: vhost-net is "opened" for every virtio NIC, SCSI generic devices are
/// `sg0`, the passt socket directory is fixed).
pub(crate) fn is_test_harness(b: &Builder<'_>) -> bool {
    b.host.fd_numbering == FdNumbering::LibvirtTestHarness
}

/// The directory holding passt's sockets.
pub(crate) fn passt_dir(b: &Builder<'_>) -> PathBuf {
    if is_test_harness(b) {
        return PathBuf::from("/bad-test-used-env-xdg-runtime-dir/libvirt/qemu/run/passt");
    }
    b.host
        .runtime_dir
        .parent()
        .map(|p| p.join("passt"))
        .unwrap_or_else(|| PathBuf::from("/run/libvirt/qemu/passt"))
}

/// Whether any device carries its own `<boot order>` (then `<os><boot dev>` is not used).
fn per_device_boot(b: &Builder<'_>) -> bool {
    b.def
        .devices
        .iter()
        .any(|d| d.info().is_some_and(|i| i.boot.is_some()))
}

/// The boot index of the first NIC that `<os><boot dev='network'/>` gives (its position in
/// the boot device list, counted from 1).
pub(crate) fn legacy_network_boot_index(b: &Builder<'_>) -> Option<u32> {
    if per_device_boot(b) {
        return None;
    }
    let os = b.def.os_def.as_ref()?;
    os.boot
        .iter()
        .position(|d| *d == BootDev::Network)
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// Options of a `-chardev` for `chr_type`/`backend`, named `id`. Listening UNIX sockets are
/// created ahead and passed as an fd (`listener_fd`), as libvirt does for every chardev but
/// vhost-user ones.
pub(crate) fn chardev_props(
    b: &mut Builder<'_>,
    id: &str,
    chr_type: ChrType,
    backend: &ChrBackend,
    spice_name: &str,
    listener_fd: bool,
) -> Result<Props, ArgvError> {
    let src = backend.sources.first().cloned().unwrap_or_default();
    let listen = src.mode == Some(ChrSourceMode::Bind);
    let need = |v: Option<String>, what: &str| {
        v.ok_or_else(|| ArgvError::Device {
            device: format!("chardev '{id}'"),
            reason: format!("missing source {what}"),
        })
    };
    let mut p = Props::new();
    let reconnect = |p: &mut Props| {
        if let Some(r) = &src.reconnect {
            match r.enabled {
                YesNo::Yes => p.push("reconnect", Value::UInt(u64::from(r.timeout.unwrap_or(0)))),
                YesNo::No => p.push("reconnect", Value::UInt(0)),
            }
        }
    };
    match chr_type {
        ChrType::Null | ChrType::Vc | ChrType::Pty | ChrType::Stdio => {
            p = Props::new().str("backend", chr_type.as_str()).str("id", id);
        }
        ChrType::Dev => {
            p = p
                .str("backend", "serial")
                .str("id", id)
                .str("path", need(src.path.clone(), "path")?);
        }
        ChrType::File => {
            p = p
                .str("backend", "file")
                .str("id", id)
                .str("path", need(src.path.clone(), "path")?);
            if let Some(a) = src.append {
                p.push("append", Value::Bool(a == OnOff::On));
            }
        }
        ChrType::Pipe => {
            p = p
                .str("backend", "pipe")
                .str("id", id)
                .str("path", need(src.path.clone(), "path")?);
        }
        ChrType::Udp => {
            let connect = backend
                .sources
                .iter()
                .find(|s| s.mode != Some(ChrSourceMode::Bind))
                .cloned()
                .unwrap_or_default();
            let bind = backend
                .sources
                .iter()
                .find(|s| s.mode == Some(ChrSourceMode::Bind))
                .cloned()
                .unwrap_or_default();
            p = p
                .str("backend", "udp")
                .str("id", id)
                .str("host", connect.host.unwrap_or_default())
                .str("port", connect.service.unwrap_or_default())
                .str("localaddr", bind.host.unwrap_or_default())
                .str("localport", bind.service.unwrap_or_else(|| "0".into()));
        }
        ChrType::Tcp => {
            p = p
                .str("backend", "socket")
                .str("id", id)
                .str("host", need(src.host.clone(), "host")?)
                .str("port", need(src.service.clone(), "service")?);
            if backend.protocol == Some(ChrProtocol::Telnet) {
                p.push("telnet", Value::Bool(true));
            }
            if listen {
                p.push("server", Value::Bool(true));
                p.push("wait", Value::Bool(false));
            }
            reconnect(&mut p);
        }
        ChrType::Unix => {
            p = p.str("backend", "socket").str("id", id);
            let path = need(src.path.clone(), "path")?;
            if listen && listener_fd {
                let fd = b.pass_fd(
                    FdKind::UnixListener,
                    FdPurpose::Chardev {
                        alias: id.to_string(),
                    },
                );
                p.push("fd", Value::Str(fd.to_string()));
                p.push("server", Value::Bool(true));
                p.push("wait", Value::Bool(false));
            } else {
                p.push("path", Value::Str(path));
                if listen {
                    p.push("server", Value::Bool(true));
                }
            }
            reconnect(&mut p);
        }
        ChrType::Spicevmc => {
            p = p
                .str("backend", "spicevmc")
                .str("id", id)
                .str("name", spice_name);
        }
        ChrType::Spiceport => {
            p = p
                .str("backend", "spiceport")
                .str("id", id)
                .str("name", need(src.channel.clone(), "channel")?);
        }
        other => {
            return Err(ArgvError::Device {
                device: format!("chardev '{id}'"),
                reason: format!(
                    "character device type '{}' is not supported here",
                    other.as_str()
                ),
            })
        }
    }
    Ok(p)
}

/// Writes `-chardev` from [`chardev_props`]: the backend name leads, then `key=value`s.
pub(crate) fn emit_chardev(b: &mut Builder<'_>, props: &Props) {
    let mut out = String::new();
    let mut rest = Props::new();
    for (k, v) in props.iter() {
        if k == "backend" {
            if let Value::Str(s) = v {
                out.push_str(s);
            }
        } else {
            rest.push(k, v.clone());
        }
    }
    let kv = rest.to_keyval();
    if !kv.is_empty() {
        out.push(',');
        out.push_str(&kv);
    }
    b.arg("-chardev", out);
}
