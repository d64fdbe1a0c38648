//! The record of an attach in progress, and the repair of one a crash interrupted.
//!
//! Before a NIC's fds are handed to QEMU, the attach writes (atomically) a small JSON file naming
//! the interface (its XML, with alias and address), the netdev id, the fd names and the host
//! interface, and records the NIC's host side in the runtime state. A crash from there on leaves
//! the file; [`repair_pending`] then asks QEMU whether the device exists and finishes the attach's
//! bookkeeping or removes what QEMU holds (netdev, fds) and the tap.
//!
//! A disk attach does the same with its own file ([`disk_pending_path`]): written before the
//! device ACL is widened or any block node is added, it names the disk (XML with alias and
//! address), its source path and the node names; the repair completes the attach (device present)
//! or deletes the nodes and takes the device node out of the guest's ACL again.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};
use virt_audit::{records, Outcome};
use virt_xml::devices::disk::Disk;
use virt_xml::devices::interface::Interface;
use virt_xml::devices::Device;
use virt_xml::writer::Writer;
use virt_xml::MacAddr;

use super::{HotplugError, LiveGuest};

/// An interface attach that has handed (or is about to hand) fds to QEMU.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAttach {
    pub mac: MacAddr,
    /// The device id (`net1`).
    pub alias: String,
    /// The netdev id (`hostnet1`).
    pub netdev: String,
    /// The names the fds were given with `getfd`.
    pub fd_names: Vec<String>,
    /// The host interface (tap).
    pub ifname: Option<String>,
    /// The interface as it goes into the live definition.
    pub iface: Interface,
}

fn perr(path: &Path, what: impl Into<String>) -> HotplugError {
    HotplugError::Pending {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

impl PendingAttach {
    fn to_json(&self) -> Value {
        let mut w = Writer::new();
        self.iface.write(&mut w);
        json!({
            "kind": "interface-attach",
            "mac": self.mac.to_string(),
            "alias": self.alias,
            "netdev": self.netdev,
            "fd_names": self.fd_names,
            "ifname": self.ifname,
            "xml": w.finish(),
        })
    }

    fn from_json(v: &Value, path: &Path) -> Result<PendingAttach, HotplugError> {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| perr(path, format!("'{k}' missing or not a string")))
        };
        if s("kind")? != "interface-attach" {
            return Err(perr(path, "unknown 'kind'"));
        }
        let mac: MacAddr = s("mac")?
            .parse()
            .map_err(|_| perr(path, "'mac' is not a MAC address"))?;
        let fd_names = v
            .get("fd_names")
            .and_then(Value::as_array)
            .ok_or_else(|| perr(path, "'fd_names' missing"))?
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| perr(path, "'fd_names' holds a non-string"))?;
        let iface = match virt_xml::domain::parse_device(s("xml")?) {
            Ok(Device::Interface(i)) => i,
            Ok(_) => return Err(perr(path, "'xml' is not an interface")),
            Err(e) => return Err(perr(path, format!("'xml': {e}"))),
        };
        Ok(PendingAttach {
            mac,
            alias: s("alias")?.to_string(),
            netdev: s("netdev")?.to_string(),
            fd_names,
            ifname: v.get("ifname").and_then(Value::as_str).map(str::to_string),
            iface,
        })
    }
}

/// A disk attach that is about to widen the device ACL or add block nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingDisk {
    /// The device id (`virtio-disk1`).
    pub alias: String,
    /// The source path (file or block device).
    pub path: String,
    /// The block node names, storage node first.
    pub nodes: Vec<String>,
    /// The disk as it goes into the live definition.
    pub disk: Disk,
}

impl PendingDisk {
    fn to_json(&self) -> Value {
        let mut w = Writer::new();
        self.disk.write(&mut w);
        json!({
            "kind": "disk-attach",
            "alias": self.alias,
            "path": self.path,
            "nodes": self.nodes,
            "xml": w.finish(),
        })
    }

    fn from_json(v: &Value, path: &Path) -> Result<PendingDisk, HotplugError> {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| perr(path, format!("'{k}' missing or not a string")))
        };
        if s("kind")? != "disk-attach" {
            return Err(perr(path, "unknown 'kind'"));
        }
        let nodes = v
            .get("nodes")
            .and_then(Value::as_array)
            .ok_or_else(|| perr(path, "'nodes' missing"))?
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| perr(path, "'nodes' holds a non-string"))?;
        let disk = match virt_xml::domain::parse_device(s("xml")?) {
            Ok(Device::Disk(d)) => d,
            Ok(_) => return Err(perr(path, "'xml' is not a disk")),
            Err(e) => return Err(perr(path, format!("'xml': {e}"))),
        };
        Ok(PendingDisk {
            alias: s("alias")?.to_string(),
            path: s("path")?.to_string(),
            nodes,
            disk,
        })
    }
}

/// Where a disk attach in progress is recorded, next to the interface record `pending`
/// (`NAME.hotplug.json` gives `NAME.hotplug.disk.json`).
pub fn disk_pending_path(pending: &Path) -> std::path::PathBuf {
    pending.with_extension("disk.json")
}

/// Writes the disk record atomically.
pub(crate) fn write_pending_disk(path: &Path, p: &PendingDisk) -> Result<(), HotplugError> {
    write_json(path, &p.to_json())
}

/// Reads the disk-attach record at `path`, if there is one.
pub fn read_pending_disk(path: &Path) -> Result<Option<PendingDisk>, HotplugError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(perr(path, format!("read: {e}"))),
    };
    parse_pending_disk(&text, path).map(Some)
}

/// Parses the text of a disk-attach record; `path` names it in errors.
pub fn parse_pending_disk(text: &[u8], path: &Path) -> Result<PendingDisk, HotplugError> {
    let v: Value = serde_json::from_slice(text).map_err(|e| perr(path, e.to_string()))?;
    PendingDisk::from_json(&v, path)
}

/// Writes the record atomically (temporary file, fsync, rename).
pub(crate) fn write_pending(path: &Path, p: &PendingAttach) -> Result<(), HotplugError> {
    write_json(path, &p.to_json())
}

fn write_json(path: &Path, v: &Value) -> Result<(), HotplugError> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let text = v.to_string();
    let r = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    r.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        perr(path, format!("write: {e}"))
    })
}

pub(crate) fn remove_pending(path: &Path) -> Result<(), HotplugError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(perr(path, format!("remove: {e}"))),
    }
}

/// Reads the pending-attach record, if there is one.
pub fn read_pending(path: &Path) -> Result<Option<PendingAttach>, HotplugError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(perr(path, format!("read: {e}"))),
    };
    parse_pending(&text, path).map(Some)
}

/// Parses the text of a pending-attach record; `path` names it in errors.
pub fn parse_pending(text: &[u8], path: &Path) -> Result<PendingAttach, HotplugError> {
    let v: Value = serde_json::from_slice(text).map_err(|e| perr(path, e.to_string()))?;
    PendingAttach::from_json(&v, path)
}

/// What [`repair_pending`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepairOutcome {
    /// No attach was pending.
    Nothing,
    /// QEMU has the device: the attach was completed (audited, added to the definition).
    Completed(MacAddr),
    /// QEMU lacks the device: netdev, fds and tap were removed (audited as a failed attach).
    RolledBack(MacAddr),
    /// QEMU has the disk (by target): the attach was completed.
    DiskCompleted(String),
    /// QEMU lacks the disk (by target): its block nodes and device ACL entry were removed.
    DiskRolledBack(String),
}

/// Whether QEMU has a device with this id (`/machine/peripheral/ID` in the QOM tree).
pub(crate) fn device_present(g: &LiveGuest<'_>, id: &str) -> Result<bool, HotplugError> {
    let list = g
        .qmp
        .execute("qom-list", Some(json!({"path": "/machine/peripheral"})))
        .map_err(|source| HotplugError::Qmp {
            step: "qom-list",
            what: id.to_string(),
            source: Box::new(source),
        })?;
    Ok(list
        .as_array()
        .is_some_and(|a| a.iter().any(|p| p["name"].as_str() == Some(id))))
}

/// Finishes or undoes an interface attach and a disk attach a crash interrupted (see the module
/// text). Returns what was done to the interface, or else to the disk.
pub fn repair_pending(g: &mut LiveGuest<'_>) -> Result<RepairOutcome, HotplugError> {
    let nic = repair_interface(g)?;
    let disk = repair_disk(g)?;
    Ok(if nic == RepairOutcome::Nothing {
        disk
    } else {
        nic
    })
}

fn repair_disk(g: &mut LiveGuest<'_>) -> Result<RepairOutcome, HotplugError> {
    let file = disk_pending_path(g.pending);
    let Some(p) = read_pending_disk(&file)? else {
        return Ok(RepairOutcome::Nothing);
    };
    let target = p.disk.target.dev.clone();
    if device_present(g, &p.alias)? {
        if !g.def.disks().any(|d| d.target.dev == target) {
            g.def.devices.push(Device::Disk(p.disk.clone()));
            g.persist()?;
            super::disk::audit_disk(g, "attach", None, Some(&p.path), true);
        }
        remove_pending(&file)?;
        return Ok(RepairOutcome::DiskCompleted(target));
    }
    for node in p.nodes.iter().rev() {
        let _ = g
            .qmp
            .execute("blockdev-del", Some(json!({"node-name": node})));
    }
    let what = format!("disk {target}");
    let in_use = g
        .def
        .disks()
        .any(|d| super::disk::source_path(d).map(|(s, _)| s) == Some(p.path.as_str()));
    if !in_use {
        super::cgroup::deny_disk(g, &what, &p.path)?;
    }
    super::disk::audit_disk(g, "attach", None, Some(&p.path), false);
    remove_pending(&file)?;
    Ok(RepairOutcome::DiskRolledBack(target))
}

fn repair_interface(g: &mut LiveGuest<'_>) -> Result<RepairOutcome, HotplugError> {
    let Some(p) = read_pending(g.pending)? else {
        return Ok(RepairOutcome::Nothing);
    };
    let mac_d: &dyn std::fmt::Display = &p.mac;
    if device_present(g, &p.alias)? {
        if !g.state.nics.iter().any(|n| n.mac == p.mac) {
            g.state.nics.push(virt_xml::status::NicHostState {
                mac: p.mac,
                ifname: p.ifname.clone(),
                devices: Vec::new(),
            });
        }
        let in_def = g
            .def
            .interfaces()
            .any(|i| i.mac.as_ref().map(|m| m.address) == Some(p.mac));
        if !in_def {
            if let Some(r) = records::net(g.id, "attach", None, Some(mac_d), Outcome::Success) {
                let _ = g.auditor.emit(&r);
            }
            g.def.devices.push(Device::Interface(p.iface.clone()));
        }
        g.persist()?;
        remove_pending(g.pending)?;
        return Ok(RepairOutcome::Completed(p.mac));
    }
    // The device never made it (or its addition was lost): drop what QEMU may hold.
    let _ = g.qmp.execute("netdev_del", Some(json!({"id": p.netdev})));
    for n in &p.fd_names {
        let _ = g.qmp.closefd(n);
    }
    let nic = g.state.nics.iter().position(|n| n.mac == p.mac);
    if let Some(i) = nic {
        let st = g.state.nics.remove(i);
        g.net.delete(&st).map_err(|source| HotplugError::Net {
            what: format!("interface {}", p.mac),
            source: Box::new(source),
        })?;
    } else if let Some(n) = &p.ifname {
        let st = virt_xml::status::NicHostState {
            mac: p.mac,
            ifname: Some(n.clone()),
            devices: Vec::new(),
        };
        let _ = g.net.delete(&st);
    }
    if let Some(r) = records::net(g.id, "attach", None, Some(mac_d), Outcome::Failed) {
        let _ = g.auditor.emit(&r);
    }
    g.persist()?;
    remove_pending(g.pending)?;
    Ok(RepairOutcome::RolledBack(p.mac))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use virt_xml::domain::InterfaceType;

    fn sample() -> PendingAttach {
        let mut iface = Interface::new(InterfaceType::Ethernet);
        let mac: MacAddr = "52:54:00:12:34:56".parse().unwrap();
        iface.mac = Some(virt_xml::devices::interface::Mac {
            address: mac,
            mac_type: None,
            check: None,
        });
        iface.model = Some("virtio".into());
        iface.info.alias = Some("net1".into());
        PendingAttach {
            mac,
            alias: "net1".into(),
            netdev: "hostnet1".into(),
            fd_names: vec!["net1-fd0".into()],
            ifname: Some("vnet7".into()),
            iface,
        }
    }

    #[test]
    fn round_trip_through_the_file() {
        let dir = std::env::temp_dir().join(format!("qhot-pending-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.json");
        assert_eq!(read_pending(&path).unwrap(), None);
        write_pending(&path, &sample()).unwrap();
        assert_eq!(read_pending(&path).unwrap(), Some(sample()));
        remove_pending(&path).unwrap();
        remove_pending(&path).unwrap();
        assert_eq!(read_pending(&path).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_records_name_what_is_wrong() {
        let p = Path::new("/run/x.json");
        let e = parse_pending(br#"{"kind":"interface-attach","mac":"zz"}"#, p).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pending attach record /run/x.json: 'mac' is not a MAC address"
        );
        let e = parse_pending(b"[]", p).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pending attach record /run/x.json: 'kind' missing or not a string"
        );
    }

    fn sample_disk() -> PendingDisk {
        let disk = match virt_xml::domain::parse_device(
            "<disk type='block' device='disk'><driver name='qemu' type='raw'/>\
             <source dev='/dev/loop7'/><target dev='vdb' bus='virtio'/>\
             <alias name='virtio-disk1'/></disk>",
        ) {
            Ok(Device::Disk(d)) => d,
            other => panic!("{other:?}"),
        };
        PendingDisk {
            alias: "virtio-disk1".into(),
            path: "/dev/loop7".into(),
            nodes: vec!["libvirt-2-storage".into(), "libvirt-2-format".into()],
            disk,
        }
    }

    #[test]
    fn disk_record_round_trips_next_to_the_interface_record() {
        let dir = std::env::temp_dir().join(format!("qhot-pending-d-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let nic = dir.join("g.hotplug.json");
        let path = disk_pending_path(&nic);
        assert_eq!(path, dir.join("g.hotplug.disk.json"));
        assert_eq!(read_pending_disk(&path).unwrap(), None);
        write_pending_disk(&path, &sample_disk()).unwrap();
        assert_eq!(read_pending_disk(&path).unwrap(), Some(sample_disk()));
        // Each reader refuses the other's record.
        let text = std::fs::read(&path).unwrap();
        assert_eq!(
            parse_pending(&text, &path).unwrap_err().to_string(),
            format!("pending attach record {}: unknown 'kind'", path.display())
        );
        remove_pending(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    proptest! {
        #[test]
        fn arbitrary_disk_records_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_pending_disk(&data, Path::new("p"));
        }

        #[test]
        fn mutated_disk_records_never_panic(cut in 0usize..400, byte in any::<u8>()) {
            let mut text = sample_disk().to_json().to_string().into_bytes();
            let i = cut % text.len();
            text[i] = byte;
            let _ = parse_pending_disk(&text, Path::new("p"));
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_pending(&data, Path::new("p"));
        }

        #[test]
        fn mutated_records_never_panic(cut in 0usize..400, byte in any::<u8>()) {
            let mut text = sample().to_json().to_string().into_bytes();
            let i = cut % text.len();
            text[i] = byte;
            let _ = parse_pending(&text, Path::new("p"));
        }
    }
}
