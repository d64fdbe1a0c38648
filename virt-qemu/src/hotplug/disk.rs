//! Disk hot-plug: a pending record, the device ACL for a block-device source, `blockdev-add`
//! (storage node, then format node) and `device_add` virtio-blk-pci; and unplug (`device_del`,
//! `DEVICE_DELETED`, `blockdev-del`, the ACL entry revoked).

use std::time::Duration;

use serde_json::{json, Value};
use virt_audit::{records, Outcome};
use virt_xml::address::Address;
use virt_xml::devices::disk::{Disk, DiskBus, DiskDevice, SourceData, StorageFormat};
use virt_xml::devices::Device;
use virt_xml::DiskName;

use super::address::choose_pci_address;
use super::cgroup::{allow_disk, deny_disk};
use super::net::unplug;
use super::pending::{disk_pending_path, remove_pending, write_pending_disk, PendingDisk};
use super::{HotplugError, LiveGuest};

pub(crate) fn audit_disk(
    g: &LiveGuest<'_>,
    reason: &str,
    old: Option<&str>,
    new: Option<&str>,
    ok: bool,
) {
    let outcome = if ok {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    if let Some(r) = records::disk(g.id, reason, old, new, outcome) {
        let _ = g.auditor.emit(&r);
    }
}

pub(crate) fn source_path(d: &Disk) -> Option<(&str, &'static str)> {
    match &d.source.data {
        SourceData::File { file: Some(f), .. } => Some((f.as_str(), "file")),
        SourceData::Block { dev: Some(b) } => Some((b.as_str(), "host_device")),
        _ => None,
    }
}

/// The next free `libvirt-N-*` node-name number (one more than the highest QEMU knows).
fn next_node_index(g: &LiveGuest<'_>, what: &str) -> Result<u64, HotplugError> {
    let nodes = g
        .qmp
        .execute("query-named-block-nodes", Some(json!({"flat": true})))
        .map_err(|source| HotplugError::Qmp {
            step: "query-named-block-nodes",
            what: what.to_string(),
            source: Box::new(source),
        })?;
    let max = nodes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["node-name"].as_str())
        .filter_map(|n| {
            n.strip_prefix("libvirt-")?
                .split('-')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    Ok(max + 1)
}

/// Hot-plugs a file or block-device disk on the virtio bus (raw or qcow2). A block device is first
/// allowed in the guest's devices cgroup (`rw`, `r` when read-only; audited). On error, the nodes
/// added are deleted, the ACL entry revoked and `resrc=disk reason=attach ... res=failed` written.
pub fn attach_disk(g: &mut LiveGuest<'_>, disk: &Disk) -> Result<(), HotplugError> {
    let target = disk.target.dev.clone();
    let what = format!("disk {target}");
    let unsupported = |why: String| HotplugError::Unsupported {
        what: what.clone(),
        why,
    };
    if disk.device != DiskDevice::Disk || disk.target.bus != DiskBus::Virtio {
        return Err(unsupported(
            "only device='disk' on bus 'virtio' can be hot-plugged here".into(),
        ));
    }
    let (path, driver) =
        source_path(disk).ok_or_else(|| unsupported("only file and block sources".into()))?;
    let path = path.to_string();
    let format = disk.driver.format.unwrap_or(StorageFormat::Raw);
    if !matches!(format, StorageFormat::Raw | StorageFormat::Qcow2) {
        return Err(unsupported(format!(
            "format '{}' (only raw and qcow2)",
            format.as_str()
        )));
    }
    let name: DiskName = target
        .parse()
        .map_err(|_| unsupported(format!("target '{target}' is not a disk name")))?;
    if g.def.disks().any(|d| d.target.dev == target) {
        return Err(HotplugError::Duplicate(what));
    }
    let alias = format!("virtio-disk{}", name.index);
    let place = choose_pci_address(g.def, &what)?;
    let n = next_node_index(g, &what)?;
    let storage = format!("libvirt-{n}-storage");
    let fmt = format!("libvirt-{n}-format");

    let mut live = disk.clone();
    live.info.alias = Some(alias.clone());
    live.info.address = Some(Address::Pci {
        addr: place.addr,
        multifunction: None,
        zpci: None,
    });
    // Recorded before the ACL or QEMU changes, so a crash from here on can be repaired.
    let record = disk_pending_path(g.pending);
    let pending = PendingDisk {
        alias: alias.clone(),
        path: path.clone(),
        nodes: vec![storage.clone(), fmt.clone()],
        disk: live.clone(),
    };
    if let Err(e) = write_pending_disk(&record, &pending) {
        audit_disk(g, "attach", None, Some(&path), false);
        return Err(e);
    }
    // A block device needs its major:minor in the guest's device ACL before QEMU opens it.
    let allowed = match allow_disk(g, &what, &path, disk.readonly) {
        Ok(a) => a,
        Err(e) => {
            audit_disk(g, "attach", None, Some(&path), false);
            let _ = remove_pending(&record);
            return Err(e);
        }
    };

    let mut added: Vec<&str> = Vec::new();
    let r = (|| {
        let step = |step| {
            let what = what.clone();
            move |source| HotplugError::Qmp {
                step,
                what,
                source: Box::new(source),
            }
        };
        g.qmp
            .execute(
                "blockdev-add",
                Some(json!({
                    "driver": driver, "filename": path, "node-name": storage,
                    "auto-read-only": true, "discard": "unmap",
                })),
            )
            .map_err(step("blockdev-add (storage)"))?;
        added.push(&storage);
        g.qmp
            .execute(
                "blockdev-add",
                Some(json!({
                    "node-name": fmt, "read-only": disk.readonly,
                    "driver": format.as_str(), "file": storage,
                })),
            )
            .map_err(step("blockdev-add (format)"))?;
        added.push(&fmt);
        let mut dev = json!({
            "driver": "virtio-blk-pci", "bus": place.bus_id, "addr": place.qemu_addr(),
            "drive": fmt, "id": alias,
        });
        if let Some(s) = &disk.serial {
            dev["serial"] = Value::from(s.clone());
        }
        g.qmp
            .execute("device_add", Some(dev))
            .map_err(step("device_add"))
            .map(drop)
    })();
    if let Err(e) = r {
        for node in added.iter().rev() {
            let _ = g
                .qmp
                .execute("blockdev-del", Some(json!({"node-name": node})));
        }
        if allowed {
            let _ = deny_disk(g, &what, &path);
        }
        audit_disk(g, "attach", None, Some(&path), false);
        let _ = remove_pending(&record);
        return Err(e);
    }
    g.def.devices.push(Device::Disk(live));
    // Persisted before the record: a crash in between leaves the pending record, and the repair
    // writes the record once.
    let persisted = g.persist();
    audit_disk(g, "attach", None, Some(&path), true);
    persisted?;
    remove_pending(&record)
}

/// The format node QEMU attached to device `alias` (from `query-block`).
fn format_node(g: &LiveGuest<'_>, alias: &str) -> Option<String> {
    let blocks = g.qmp.execute("query-block", None).ok()?;
    blocks.as_array()?.iter().find_map(|b| {
        let qdev = b["qdev"].as_str()?;
        let ours = qdev == alias || qdev.starts_with(&format!("/machine/peripheral/{alias}/"));
        ours.then(|| b["inserted"]["node-name"].as_str().map(str::to_string))
            .flatten()
    })
}

/// Unplugs the disk with this target (`vdb`): `device_del`, waits up to `timeout` for
/// `DEVICE_DELETED` (on timeout [`HotplugError::DetachTimeout`], the disk stays), deletes its
/// block nodes, audits `resrc=disk reason=detach old-disk=PATH new-disk="?"`, persists.
pub fn detach_disk(
    g: &mut LiveGuest<'_>,
    target: &str,
    timeout: Duration,
) -> Result<(), HotplugError> {
    let what = format!("disk {target}");
    let idx = g
        .def
        .devices
        .iter()
        .position(|d| matches!(d, Device::Disk(x) if x.target.dev == target))
        .ok_or_else(|| HotplugError::NotFound(what.clone()))?;
    let Device::Disk(disk) = &g.def.devices[idx] else {
        return Err(HotplugError::NotFound(what));
    };
    let path = source_path(disk).map(|(p, _)| p.to_string());
    let alias = disk
        .info
        .alias
        .clone()
        .ok_or_else(|| HotplugError::Unsupported {
            what: what.clone(),
            why: "it has no alias (device id) in the live definition".into(),
        })?;
    let fmt = format_node(g, &alias);
    if let Err(e) = unplug(g, &alias, &what, timeout) {
        if matches!(e, HotplugError::Qmp { .. }) {
            audit_disk(g, "detach", path.as_deref(), None, false);
        }
        return Err(e);
    }
    if let Some(fmt) = fmt {
        let _ = g
            .qmp
            .execute("blockdev-del", Some(json!({"node-name": fmt})));
        if let Some(storage) = fmt.strip_suffix("-format") {
            let _ = g.qmp.execute(
                "blockdev-del",
                Some(json!({"node-name": format!("{storage}-storage")})),
            );
        }
    }
    g.def.devices.remove(idx);
    audit_disk(g, "detach", path.as_deref(), None, true);
    // The device node leaves the ACL unless another disk of the guest still uses it.
    let mut acl = Ok(());
    if let Some(p) = &path {
        let in_use = g
            .def
            .disks()
            .any(|d| source_path(d).map(|(s, _)| s) == Some(p.as_str()));
        if !in_use {
            acl = deny_disk(g, &what, p);
        }
    }
    g.persist()?;
    acl
}
