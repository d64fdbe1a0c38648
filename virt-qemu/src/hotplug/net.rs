//! Interface hot-plug: a tap through virt-net, `getfd` + `netdev_add` + `device_add`; and unplug.

use std::fmt::Display;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use virt_audit::{records, Outcome};
use virt_net::{IfName, NicFds, TapConfig, VhostPolicy};
use virt_xml::address::Address;
use virt_xml::devices::interface::{Interface, Mac, NetBackend, Target};
use virt_xml::devices::Device;
use virt_xml::domain::InterfaceType;
use virt_xml::{DomainType, MacAddr};

use super::address::{choose_pci_address, next_alias};
use super::pending::{remove_pending, write_pending, PendingAttach};
use super::{HotplugError, LiveGuest};
use crate::qmp::QmpError;

fn qmp_err<'w>(step: &'static str, what: &'w str) -> impl FnOnce(QmpError) -> HotplugError + 'w {
    move |source| HotplugError::Qmp {
        step,
        what: what.to_string(),
        source: Box::new(source),
    }
}

fn audit_net(
    g: &LiveGuest<'_>,
    reason: &str,
    old: Option<MacAddr>,
    new: Option<MacAddr>,
    ok: bool,
) {
    let old_d = old.as_ref().map(|m| m as &dyn Display);
    let new_d = new.as_ref().map(|m| m as &dyn Display);
    let outcome = if ok {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    if let Some(r) = records::net(g.id, reason, old_d, new_d, outcome) {
        let _ = g.auditor.emit(&r);
    }
}

fn unsupported(mac: MacAddr, why: impl Into<String>) -> HotplugError {
    HotplugError::Unsupported {
        what: format!("interface {mac}"),
        why: why.into(),
    }
}

/// A locally administered MAC in QEMU's `52:54:00` range (libvirt's default prefix).
fn generate_mac() -> Result<MacAddr, HotplugError> {
    let mut b = [0u8; 3];
    let mut f = std::fs::File::open("/dev/urandom").map_err(|e| HotplugError::Unsupported {
        what: "interface".into(),
        why: format!("no MAC given and /dev/urandom: {e}"),
    })?;
    std::io::Read::read_exact(&mut f, &mut b).map_err(|e| HotplugError::Unsupported {
        what: "interface".into(),
        why: format!("no MAC given and /dev/urandom: {e}"),
    })?;
    format!("52:54:00:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
        .parse()
        .map_err(|_| HotplugError::Unsupported {
            what: "interface".into(),
            why: "cannot make a MAC".into(),
        })
}

/// Hot-plugs an `ethernet` or `bridge` interface with the virtio model (see the module text of
/// [`crate::hotplug`]). On error nothing stays: QEMU objects removed, fds closed, tap deleted, the
/// record `resrc=net reason=attach ... res=failed` written (once fds were opened).
pub fn attach_interface(g: &mut LiveGuest<'_>, iface: &Interface) -> Result<(), HotplugError> {
    let mac = match &iface.mac {
        Some(m) => m.address,
        None => generate_mac()?,
    };
    let what = format!("interface {mac}");
    let bridge = match iface.iface_type {
        InterfaceType::Ethernet => None,
        InterfaceType::Bridge => Some(
            iface
                .source
                .as_ref()
                .and_then(|s| s.bridge.clone())
                .ok_or_else(|| unsupported(mac, "type 'bridge' without <source bridge=...>"))?,
        ),
        t => {
            return Err(unsupported(
                mac,
                format!("type '{}' (only 'ethernet' and 'bridge')", t.as_str()),
            ))
        }
    };
    match iface.model.as_deref() {
        None | Some("virtio") => {}
        Some(m) => return Err(unsupported(mac, format!("model '{m}' (only 'virtio')"))),
    }
    if g.def
        .interfaces()
        .any(|i| i.mac.as_ref().map(|m| m.address) == Some(mac))
        || g.state.nics.iter().any(|n| n.mac == mac)
    {
        return Err(HotplugError::Duplicate(what));
    }
    let place = choose_pci_address(g.def, &what)?;
    let alias = next_alias(g.def, "net");
    let netdev = format!("host{alias}");

    let name = match iface.target.as_ref().map(|t| t.dev.as_str()) {
        Some(dev) => IfName::parse(dev).map_err(|source| HotplugError::Net {
            what: what.clone(),
            source: Box::new(source),
        })?,
        None => IfName::tap_default(),
    };
    let queues = iface
        .driver
        .as_ref()
        .and_then(|d| d.queues)
        .unwrap_or(1)
        .max(1);
    let vhost = match (
        g.def.domain_type,
        iface.driver.as_ref().and_then(|d| d.name),
    ) {
        (DomainType::Kvm, Some(NetBackend::Vhost)) => VhostPolicy::Vhost,
        (DomainType::Kvm, None) => VhostPolicy::Auto,
        _ => VhostPolicy::Qemu,
    };
    let mut cfg = TapConfig::new(mac);
    cfg.name = name;
    cfg.queues = queues;
    cfg.vnet_hdr = true;
    cfg.mtu = iface.mtu;
    cfg.bridge = bridge;
    let nic = match g.net.open_tap(g.id, &cfg, vhost) {
        Ok(n) => n,
        Err(source) => {
            audit_net(g, "attach", None, Some(mac), false);
            return Err(HotplugError::Net {
                what,
                source: Box::new(source),
            });
        }
    };

    let fd_names: Vec<String> = (0..nic.tap.len())
        .map(|i| format!("{alias}-fd{i}"))
        .collect();
    let vhost_names: Vec<String> = (0..nic.vhost.len())
        .map(|i| format!("{alias}-vhostfd{i}"))
        .collect();
    let mut live = iface.clone();
    live.mac = Some(Mac {
        address: mac,
        mac_type: None,
        check: None,
    });
    live.model = Some("virtio".into());
    live.target = Some(Target {
        dev: nic.ifname.clone(),
        managed: iface.target.as_ref().and_then(|t| t.managed),
    });
    live.info.alias = Some(alias.clone());
    live.info.address = Some(Address::Pci {
        addr: place.addr,
        multifunction: None,
        zpci: None,
    });
    let pending = PendingAttach {
        mac,
        alias: alias.clone(),
        netdev: netdev.clone(),
        fd_names: fd_names.iter().chain(&vhost_names).cloned().collect(),
        ifname: Some(nic.ifname.clone()),
        iface: live.clone(),
    };

    // Record before QEMU gets anything, so a crash from here on can be repaired.
    let recorded = write_pending(g.pending, &pending).and_then(|()| {
        g.state.nics.push(nic.state.clone());
        g.persist()
    });
    if let Err(e) = recorded {
        undo(g, nic, &pending, false);
        return Err(e);
    }

    let mut netdev_added = false;
    let plugged = (|| {
        for (n, fd) in fd_names.iter().zip(&nic.tap) {
            g.qmp
                .getfd(n, fd.as_fd())
                .map_err(qmp_err("getfd", &what))?;
        }
        for (n, fd) in vhost_names.iter().zip(&nic.vhost) {
            g.qmp
                .getfd(n, fd.as_fd())
                .map_err(qmp_err("getfd", &what))?;
        }
        let mut args = Map::new();
        args.insert("type".into(), "tap".into());
        args.insert("id".into(), netdev.clone().into());
        if fd_names.len() == 1 {
            args.insert("fd".into(), fd_names[0].clone().into());
        } else {
            args.insert("fds".into(), fd_names.join(":").into());
        }
        if !vhost_names.is_empty() {
            args.insert("vhost".into(), true.into());
            if vhost_names.len() == 1 {
                args.insert("vhostfd".into(), vhost_names[0].clone().into());
            } else {
                args.insert("vhostfds".into(), vhost_names.join(":").into());
            }
        }
        g.qmp
            .execute("netdev_add", Some(Value::Object(args)))
            .map_err(qmp_err("netdev_add", &what))?;
        netdev_added = true;
        let mut dev = json!({
            "driver": "virtio-net-pci",
            "netdev": netdev,
            "id": alias,
            "mac": mac.to_string(),
            "bus": place.bus_id,
            "addr": place.qemu_addr(),
        });
        if queues > 1 {
            dev["mq"] = true.into();
            dev["vectors"] = (2 * queues + 2).into();
        }
        g.qmp
            .execute("device_add", Some(dev))
            .map_err(qmp_err("device_add", &what))
    })();
    if let Err(e) = plugged {
        undo(g, nic, &pending, netdev_added);
        return Err(e);
    }

    // QEMU holds its own copies; ours close here (the tap lives while QEMU holds it).
    drop(nic);
    g.def.devices.push(Device::Interface(live));
    // Persisted before the record: a crash in between leaves the pending record, and the repair
    // writes the record once.
    let persisted = g.persist();
    audit_net(g, "attach", None, Some(mac), true);
    persisted?;
    remove_pending(g.pending)
}

/// Undoes a partial attach: QEMU's netdev and unconsumed fds, our fds, the tap, the state entry,
/// the pending record; audits the failure.
fn undo(g: &mut LiveGuest<'_>, nic: NicFds, p: &PendingAttach, netdev_added: bool) {
    if netdev_added {
        let _ = g.qmp.execute("netdev_del", Some(json!({"id": p.netdev})));
    } else {
        for n in &p.fd_names {
            let _ = g.qmp.closefd(n);
        }
    }
    let _ = g.net.release(nic);
    let before = g.state.nics.len();
    g.state.nics.retain(|n| n.mac != p.mac);
    if g.state.nics.len() != before {
        let _ = g.persist();
    }
    let _ = remove_pending(g.pending);
    audit_net(g, "attach", None, Some(p.mac), false);
}

/// Drops stale `DEVICE_DELETED` events for `alias` (from an earlier unplug that timed out).
pub(crate) fn drain_deleted(g: &LiveGuest<'_>, alias: &str) {
    while g
        .qmp
        .wait_event_named("DEVICE_DELETED", &json!({"device": alias}), Duration::ZERO)
        .is_ok()
    {}
}

/// Asks QEMU to unplug device `alias` and waits up to `timeout` for the guest to release it.
pub(crate) fn unplug(
    g: &LiveGuest<'_>,
    alias: &str,
    what: &str,
    timeout: Duration,
) -> Result<(), HotplugError> {
    drain_deleted(g, alias);
    let deadline = Instant::now() + timeout;
    // Right after a plug the guest may still be powering the slot on ("guest is busy (power
    // indicator blinking)"): ask again until it accepts or the time is up.
    loop {
        match g.qmp.execute("device_del", Some(json!({"id": alias}))) {
            Ok(_) => break,
            Err(QmpError::Command { desc, .. })
                if desc.contains("guest is busy") && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(qmp_err("device_del", what)(e)),
        }
    }
    let remaining = deadline.saturating_duration_since(Instant::now());
    match g
        .qmp
        .wait_event_named("DEVICE_DELETED", &json!({"device": alias}), remaining)
    {
        Ok(_) => Ok(()),
        Err(QmpError::EventTimeout { .. }) => {
            // The event may have been missed while the device is in fact gone.
            if super::pending::device_present(g, alias)? {
                Err(HotplugError::DetachTimeout {
                    alias: alias.to_string(),
                    timeout,
                })
            } else {
                Ok(())
            }
        }
        Err(e) => Err(qmp_err("DEVICE_DELETED", what)(e)),
    }
}

/// Unplugs the interface with this MAC: `device_del`, waits up to `timeout` for
/// `DEVICE_DELETED` (on timeout [`HotplugError::DetachTimeout`], the NIC stays attached and
/// recorded), then `netdev_del`, deletes the tap, audits `reason=detach`, persists.
pub fn detach_interface(
    g: &mut LiveGuest<'_>,
    mac: MacAddr,
    timeout: Duration,
) -> Result<(), HotplugError> {
    let what = format!("interface {mac}");
    let idx = g
        .def
        .devices
        .iter()
        .position(
            |d| matches!(d, Device::Interface(i) if i.mac.as_ref().map(|m| m.address) == Some(mac)),
        )
        .ok_or_else(|| HotplugError::NotFound(what.clone()))?;
    let alias = g.def.devices[idx]
        .info()
        .and_then(|i| i.alias.clone())
        .ok_or_else(|| HotplugError::Unsupported {
            what: what.clone(),
            why: "it has no alias (device id) in the live definition".into(),
        })?;
    if let Err(e) = unplug(g, &alias, &what, timeout) {
        // A refused request is a failed detach; a guest that has not yet let go is not (the
        // device stays, as libvirt leaves it).
        if matches!(e, HotplugError::Qmp { .. }) {
            audit_net(g, "detach", Some(mac), None, false);
        }
        return Err(e);
    }
    // The frontend is gone; the backend goes now (QEMU closes its tap fds).
    let _ = g
        .qmp
        .execute("netdev_del", Some(json!({"id": format!("host{alias}")})));
    g.def.devices.remove(idx);
    let mut net_err = None;
    if let Some(i) = g.state.nics.iter().position(|n| n.mac == mac) {
        let st = g.state.nics.remove(i);
        if let Err(source) = g.net.delete(&st) {
            net_err = Some(HotplugError::Net {
                what: what.clone(),
                source: Box::new(source),
            });
        }
    }
    audit_net(g, "detach", Some(mac), None, true);
    g.persist()?;
    match net_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
