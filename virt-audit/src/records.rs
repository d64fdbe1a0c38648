//! Builders for the records libvirt 9.0 writes (`src/conf/domain_audit.c`), field for field.
//!
//! Every builder takes the guest's identity and the outcome; values that can hold arbitrary text are
//! encoded with [`encode_nv`], as libvirt does through `virAuditEncode`.

use std::fmt::Display;

use crate::encode::encode_nv;
use crate::{DevNum, Outcome, Record, RecordType, VmIdentity};

/// `vm="NAME" uuid=UUID`.
fn vm_fields(vm: &VmIdentity) -> String {
    format!(
        "{} uuid={}",
        encode_nv("vm", vm.name.as_bytes()),
        vm.uuid_string()
    )
}

fn rdev_str(rdev: Option<DevNum>) -> String {
    rdev.map(|d| d.to_string()).unwrap_or_else(|| "?".into())
}

fn resource(vm: &VmIdentity, resrc: &str, reason: &str, rest: &str, outcome: Outcome) -> Record {
    Record::new(
        RecordType::VirtResource,
        format!(
            "virt={} resrc={resrc} reason={reason} {} {rest}",
            vm.virt,
            vm_fields(vm)
        ),
        outcome,
    )
}

/// `resrc=net reason=open ... net=MAC path="PATH" rdev=MA:MI`: a host device opened for a guest NIC.
pub fn net_open(
    vm: &VmIdentity,
    mac: &dyn Display,
    path: &str,
    rdev: Option<DevNum>,
    outcome: Outcome,
) -> Record {
    let rest = format!(
        "net={mac} {} rdev={}",
        encode_nv("path", path.as_bytes()),
        rdev_str(rdev)
    );
    resource(vm, "net", "open", &rest, outcome)
}

/// A generic device change: `resrc=KIND reason=REASON ... old-KIND="OLD" new-KIND="NEW"`, `"?"` for an
/// absent side (net, disk, fs, chardev, redirdev, rng, tpm, shmem, smartcard, input...).
pub fn device_change(
    vm: &VmIdentity,
    kind: &str,
    reason: &str,
    old: Option<&str>,
    new: Option<&str>,
    outcome: Outcome,
) -> Record {
    let rest = format!(
        "{} {}",
        encode_nv(&format!("old-{kind}"), old.unwrap_or("?").as_bytes()),
        encode_nv(&format!("new-{kind}"), new.unwrap_or("?").as_bytes())
    );
    resource(vm, kind, reason, &rest, outcome)
}

/// What a cgroup device ACL change names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupClass<'a> {
    /// `class=all`: every device (the initial deny-all).
    All,
    /// `class=path path="P" rdev=MA:MI acl=ACL`.
    Path {
        path: &'a str,
        rdev: Option<DevNum>,
        acl: &'a str,
    },
    /// `class=major category=NAME maj=MA acl=ACL`.
    Major {
        category: &'a str,
        major: u32,
        acl: &'a str,
    },
}

/// `resrc=cgroup reason=allow|deny ... cgroup="PATH" class=...`.
pub fn cgroup(
    vm: &VmIdentity,
    cgroup_path: &str,
    reason: &str,
    class: CgroupClass<'_>,
    outcome: Outcome,
) -> Record {
    let class_fields = match class {
        CgroupClass::All => "class=all".to_string(),
        CgroupClass::Path { path, rdev, acl } => format!(
            "class=path {} rdev={} acl={acl}",
            encode_nv("path", path.as_bytes()),
            rdev_str(rdev)
        ),
        CgroupClass::Major {
            category,
            major,
            acl,
        } => format!("class=major category={category} maj={major:02X} acl={acl}"),
    };
    let rest = format!(
        "{} {class_fields}",
        encode_nv("cgroup", cgroup_path.as_bytes())
    );
    resource(vm, "cgroup", reason, &rest, outcome)
}

/// The bus of a passed-through host device and its address as libvirt writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostdevAddr {
    /// `bus=pci device="dddd:bb:ss.f"`.
    Pci {
        domain: u32,
        bus: u8,
        slot: u8,
        function: u8,
    },
    /// `bus=usb device="BBB.DDD"`.
    Usb { bus: u32, device: u32 },
    /// `bus=scsi device="ADAPTER:BUS:TARGET:UNIT"` (libvirt's scsi host form).
    Scsi {
        adapter: String,
        bus: u32,
        target: u32,
        unit: u64,
    },
    /// `bus=mdev device="UUID"` (mediated device).
    Mdev { uuid: String },
}

/// `resrc=dev reason=start|attach|detach ... bus=... device="..."`.
pub fn hostdev(vm: &VmIdentity, reason: &str, addr: &HostdevAddr, outcome: Outcome) -> Record {
    let (bus, device) = match addr {
        HostdevAddr::Pci {
            domain,
            bus,
            slot,
            function,
        } => (
            "pci",
            format!("{domain:04x}:{bus:02x}:{slot:02x}.{function:x}"),
        ),
        HostdevAddr::Usb { bus, device } => ("usb", format!("{bus:03}.{device:03}")),
        HostdevAddr::Scsi {
            adapter,
            bus,
            target,
            unit,
        } => ("scsi", format!("{adapter}:{bus}:{target}:{unit}")),
        HostdevAddr::Mdev { uuid } => ("mdev", uuid.clone()),
    };
    let rest = format!("bus={bus} {}", encode_nv("device", device.as_bytes()));
    resource(vm, "dev", reason, &rest, outcome)
}
