//! Builders for the records libvirt 9.0 writes (`src/conf/domain_audit.c`), field for field.
//!
//! Every builder takes the guest's identity and the outcome and returns the record's body (what
//! libvirt formats before libaudit appends `exe=... res=...`). Values that can hold arbitrary text
//! are encoded with [`encode_nv`] exactly where libvirt encodes them (`virAuditEncode`); the few
//! places where libvirt writes a path raw (`shmem`, `ivshmem-socket`, `evdev`) are raw here too.
//!
//! Layouts (`ENC(x)` is the encoded field, `RAW` a value written as is, `?` when unknown):
//!
//! | builder | body |
//! |---|---|
//! | [`lifecycle`], [`start`], [`stop`] | `virt=V op=OP reason=R ENC(vm) uuid=U vm-pid=PID` (VIRT_CONTROL) |
//! | [`init`] | `virt=V op=init ENC(vm) uuid=U vm-pid=P init-pid=I pid-ns=N` (VIRT_CONTROL) |
//! | [`machine_id`] | `virt=V ENC(vm) uuid=U vm-ctx=RAW img-ctx=RAW model=RAW` (VIRT_MACHINE_ID) |
//! | [`generic_dev`] and its wrappers | `virt=V resrc=K reason=R ENC(vm) uuid=U ENC(old-K) ENC(new-K)` |
//! | [`net_open`] | `virt=V resrc=net reason=open ENC(vm) uuid=U net=MAC ENC(path) rdev=MA:MI` |
//! | [`hostdev`], [`redirdev`] | `virt=V resrc=dev reason=R ENC(vm) uuid=U bus=B ENC(device)` |
//! | [`hostdev_storage`], [`hostdev_misc`] | `virt=V resrc=hostdev reason=R ENC(vm) uuid=U ENC(disk)` / `ENC(chardev)` |
//! | [`tpm`] | `virt=V resrc=tpm|tpm-emulator|tpm-external reason=R ENC(vm) uuid=U ENC(device)` |
//! | [`cgroup`] | `virt=V resrc=cgroup reason=R ENC(vm) uuid=U ENC(cgroup) class=...` |
//! | [`resource_change`], [`memory`], [`vcpu`], [`iothread`] | `virt=V resrc=K reason=R ENC(vm) uuid=U old-K=N new-K=N` |
//! | [`shmem`] | `virt=V resrc=shmem reason=R ENC(vm) uuid=U size=N path=/dev/shm/NAME` |
//! | [`ivshmem_socket`] | `virt=V resrc=ivshmem-socket reason=R ENC(vm) uuid=U path=RAW` |
//! | [`evdev`] | `virt=V resrc=evdev reason=R ENC(vm) uuid=U path=RAW` |
//!
//! At guest start libvirt writes, in this order: disks, filesystems, NICs, host devices, redirected
//! devices, serials, parallels, channels, consoles (except a first serial/none console of an HVM
//! guest, which is the first serial), smartcards, RNGs, TPMs, shmems, inputs, then `mem` and `vcpu`
//! (old value 0), `iothread` when the guest has I/O threads, and last `op=start`; every device record
//! with `reason=start`.

use std::fmt::Display;
use std::fmt::Write as _;

use crate::encode::{encode_nv, push_nv, push_value};
use crate::{DevNum, Outcome, Record, RecordType, VmIdentity};

/// What libvirt writes for a value it does not know.
const UNKNOWN: &str = "?";

/// `virt=V ` then the caller's prefix fields.
fn start_body(vm: &VmIdentity, capacity: usize) -> String {
    let mut s = String::with_capacity(capacity + vm.name.len() * 2 + 80);
    s.push_str("virt=");
    s.push_str(vm.virt.as_str());
    s
}

/// Appends ` vm="NAME" uuid=UUID`.
fn push_vm(s: &mut String, vm: &VmIdentity) {
    s.push(' ');
    push_nv(s, "vm", vm.name.as_bytes());
    s.push_str(" uuid=");
    vm.push_uuid(s);
}

/// `virt=V resrc=R reason=R vm=.. uuid=..` (no trailing space).
fn resource_head(vm: &VmIdentity, resrc: &str, reason: &str, capacity: usize) -> String {
    let mut s = start_body(vm, capacity + resrc.len() + reason.len());
    s.push_str(" resrc=");
    s.push_str(resrc);
    s.push_str(" reason=");
    s.push_str(reason);
    push_vm(&mut s, vm);
    s
}

fn resource_record(body: String, outcome: Outcome) -> Record {
    Record::new(RecordType::VirtResource, body, outcome)
}

/// Appends ` rdev=MA:MI`, or ` rdev=?` when the path is not a device.
fn push_rdev(s: &mut String, rdev: Option<DevNum>) {
    match rdev {
        Some(d) => {
            let _ = write!(s, " rdev={d}");
        }
        None => s.push_str(" rdev=?"),
    }
}

// ---------------------------------------------------------------------------------------------
// VIRT_CONTROL and VIRT_MACHINE_ID

/// `virt=V op=OP reason=REASON vm=.. uuid=.. vm-pid=PID` (VIRT_CONTROL).
pub fn lifecycle(vm: &VmIdentity, op: &str, reason: &str, pid: i64, outcome: Outcome) -> Record {
    let mut s = start_body(vm, 48);
    s.push_str(" op=");
    s.push_str(op);
    s.push_str(" reason=");
    s.push_str(reason);
    push_vm(&mut s, vm);
    let _ = write!(s, " vm-pid={pid}");
    Record::new(RecordType::VirtControl, s, outcome)
}

/// `op=start reason=booted|restored|from-snapshot|migrated|...`, success or not.
pub fn start(vm: &VmIdentity, reason: &str, pid: i64, outcome: Outcome) -> Record {
    lifecycle(vm, "start", reason, pid, outcome)
}

/// `op=stop reason=shutdown|destroyed|crashed|migrated|saved|failed|...`; libvirt always writes it
/// as a success.
pub fn stop(vm: &VmIdentity, reason: &str, pid: i64) -> Record {
    lifecycle(vm, "stop", reason, pid, Outcome::Success)
}

/// `virt=V op=init vm=.. uuid=.. vm-pid=P init-pid=I pid-ns=N` (VIRT_CONTROL, always success): a
/// container's init process and its pid namespace inode.
pub fn init(vm: &VmIdentity, vm_pid: i64, init_pid: i64, pid_ns: u64) -> Record {
    let mut s = start_body(vm, 64);
    s.push_str(" op=init");
    push_vm(&mut s, vm);
    // libvirt prints the inode number with %lld.
    let _ = write!(
        s,
        " vm-pid={vm_pid} init-pid={init_pid} pid-ns={}",
        pid_ns as i64
    );
    Record::new(RecordType::VirtControl, s, Outcome::Success)
}

/// `virt=V vm=.. uuid=.. vm-ctx=LABEL img-ctx=IMAGELABEL model=MODEL` (VIRT_MACHINE_ID), one per
/// security label; absent values are `?`, present ones are written raw (e.g. `+0:+0`, `dac`).
pub fn machine_id(
    vm: &VmIdentity,
    label: Option<&str>,
    image_label: Option<&str>,
    model: Option<&str>,
    outcome: Outcome,
) -> Record {
    let mut s = start_body(vm, 48);
    push_vm(&mut s, vm);
    s.push_str(" vm-ctx=");
    s.push_str(label.unwrap_or(UNKNOWN));
    s.push_str(" img-ctx=");
    s.push_str(image_label.unwrap_or(UNKNOWN));
    s.push_str(" model=");
    s.push_str(model.unwrap_or(UNKNOWN));
    Record::new(RecordType::VirtMachineId, s, outcome)
}

// ---------------------------------------------------------------------------------------------
// Generic device records: old-KIND / new-KIND

/// `resrc=KIND reason=REASON ... old-KIND=ENC new-KIND=ENC`, an absent side as `"?"`. libvirt writes
/// nothing when both sides are absent; so does this (`None`).
pub fn generic_dev(
    vm: &VmIdentity,
    kind: &str,
    reason: &str,
    old: Option<&str>,
    new: Option<&str>,
    outcome: Outcome,
) -> Option<Record> {
    if old.is_none() && new.is_none() {
        return None;
    }
    Some(device_change(vm, kind, reason, old, new, outcome))
}

/// A generic device change: `resrc=KIND reason=REASON ... old-KIND="OLD" new-KIND="NEW"`, `"?"` for an
/// absent side (net, disk, fs, chardev, rng, smartcard). Prefer [`generic_dev`] or the typed
/// wrappers, which write nothing when both sides are absent, as libvirt does.
pub fn device_change(
    vm: &VmIdentity,
    kind: &str,
    reason: &str,
    old: Option<&str>,
    new: Option<&str>,
    outcome: Outcome,
) -> Record {
    let old = old.unwrap_or(UNKNOWN).as_bytes();
    let new = new.unwrap_or(UNKNOWN).as_bytes();
    let mut s = resource_head(
        vm,
        kind,
        reason,
        2 * kind.len() + 2 * (old.len() + new.len()),
    );
    s.push_str(" old-");
    s.push_str(kind);
    s.push('=');
    push_value(&mut s, old);
    s.push_str(" new-");
    s.push_str(kind);
    s.push('=');
    push_value(&mut s, new);
    resource_record(s, outcome)
}

/// A disk's host path (`resrc=disk`); network disks have none (pass `None`).
pub fn disk(
    vm: &VmIdentity,
    reason: &str,
    old: Option<&str>,
    new: Option<&str>,
    outcome: Outcome,
) -> Option<Record> {
    generic_dev(vm, "disk", reason, old, new, outcome)
}

/// A filesystem passthrough's source path (`resrc=fs`).
pub fn fs(
    vm: &VmIdentity,
    reason: &str,
    old: Option<&str>,
    new: Option<&str>,
    outcome: Outcome,
) -> Option<Record> {
    generic_dev(vm, "fs", reason, old, new, outcome)
}

/// A character device's host path (`resrc=chardev`): the path of a pty, dev, file, pipe or unix
/// source; other source types have none.
pub fn chardev(
    vm: &VmIdentity,
    reason: &str,
    old: Option<&str>,
    new: Option<&str>,
    outcome: Outcome,
) -> Option<Record> {
    generic_dev(vm, "chardev", reason, old, new, outcome)
}

/// An RNG backend's source (`resrc=rng`): the random backend's file or the egd chardev's path;
/// the builtin backend has none.
pub fn rng(
    vm: &VmIdentity,
    reason: &str,
    old: Option<&str>,
    new: Option<&str>,
    outcome: Outcome,
) -> Option<Record> {
    generic_dev(vm, "rng", reason, old, new, outcome)
}

/// A guest NIC given or taken (`resrc=net reason=start|attach|detach ... old-net="?"
/// new-net="52:54:00:..."`), by MAC address.
pub fn net(
    vm: &VmIdentity,
    reason: &str,
    old_mac: Option<&dyn Display>,
    new_mac: Option<&dyn Display>,
    outcome: Outcome,
) -> Option<Record> {
    let old = old_mac.map(|m| m.to_string());
    let new = new_mac.map(|m| m.to_string());
    generic_dev(vm, "net", reason, old.as_deref(), new.as_deref(), outcome)
}

/// libvirt's default NSS database for host-certificates smartcards.
pub const SMARTCARD_DEFAULT_DATABASE: &str = "/etc/pki/nssdb";

/// A smartcard's host side, as its records name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmartcardSource<'a> {
    /// `mode='host'`: one record, `new-smartcard="nss-smartcard-device"`.
    Host,
    /// `mode='host-certificates'`: a record per certificate, then one for the database
    /// ([`SMARTCARD_DEFAULT_DATABASE`] when `None`).
    HostCertificates {
        certificates: [&'a str; 3],
        database: Option<&'a str>,
    },
    /// `mode='passthrough'`: the chardev's path, if its type has one.
    Passthrough { path: Option<&'a str> },
}

/// The `resrc=smartcard` records (`old-smartcard="?"`) for one smartcard, in libvirt's order.
pub fn smartcard(
    vm: &VmIdentity,
    reason: &str,
    source: &SmartcardSource<'_>,
    outcome: Outcome,
) -> Vec<Record> {
    let one = |path: Option<&str>| generic_dev(vm, "smartcard", reason, None, path, outcome);
    match source {
        SmartcardSource::Host => one(Some("nss-smartcard-device")).into_iter().collect(),
        SmartcardSource::HostCertificates {
            certificates,
            database,
        } => certificates
            .iter()
            .map(|c| Some(*c))
            .chain(std::iter::once(Some(
                database.unwrap_or(SMARTCARD_DEFAULT_DATABASE),
            )))
            .filter_map(one)
            .collect(),
        SmartcardSource::Passthrough { path } => one(*path).into_iter().collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Net device opens

/// `resrc=net reason=open ... net=MAC path="PATH" rdev=MA:MI`: a host device opened for a guest NIC
/// (`/dev/net/tun`, `/dev/vhost-net`, `/dev/tapN`); `rdev=?` when the path is not a device.
pub fn net_open(
    vm: &VmIdentity,
    mac: &dyn Display,
    path: &str,
    rdev: Option<DevNum>,
    outcome: Outcome,
) -> Record {
    let mut s = resource_head(vm, "net", "open", 2 * path.len() + 40);
    let _ = write!(s, " net={mac} ");
    push_nv(&mut s, "path", path.as_bytes());
    push_rdev(&mut s, rdev);
    resource_record(s, outcome)
}

// ---------------------------------------------------------------------------------------------
// cgroup device ACL

/// What a cgroup device ACL change names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupClass<'a> {
    /// `class=all`: every device (the initial deny-all).
    All,
    /// `class=path path="P" rdev=MA:MI acl=ACL` ([`DevNum::of_path`] gives `rdev`). libvirt writes
    /// no record when the path is a regular file rather than a device.
    Path {
        path: &'a str,
        rdev: Option<DevNum>,
        acl: &'a str,
    },
    /// `class=major category=NAME maj=MA acl=ACL` (the major in two-digit uppercase hex).
    Major {
        category: &'a str,
        major: u32,
        acl: &'a str,
    },
}

/// `resrc=cgroup reason=allow|deny ... cgroup="PATH" class=...`. `cgroup_path` is the guest's
/// devices-controller directory; libvirt writes `cgroup="?"` when it has none, which passing `"?"`
/// gives.
pub fn cgroup(
    vm: &VmIdentity,
    cgroup_path: &str,
    reason: &str,
    class: CgroupClass<'_>,
    outcome: Outcome,
) -> Record {
    let mut s = resource_head(vm, "cgroup", reason, 2 * cgroup_path.len() + 80);
    s.push(' ');
    push_nv(&mut s, "cgroup", cgroup_path.as_bytes());
    match class {
        CgroupClass::All => s.push_str(" class=all"),
        CgroupClass::Path { path, rdev, acl } => {
            s.push_str(" class=path ");
            push_nv(&mut s, "path", path.as_bytes());
            push_rdev(&mut s, rdev);
            s.push_str(" acl=");
            s.push_str(acl);
        }
        CgroupClass::Major {
            category,
            major,
            acl,
        } => {
            let _ = write!(
                s,
                " class=major category={category} maj={major:02X} acl={acl}"
            );
        }
    }
    resource_record(s, outcome)
}

// ---------------------------------------------------------------------------------------------
// Host devices

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
    /// `bus=scsi device="ADAPTER:BUS:TARGET:UNIT"` (a host adapter; libvirt writes no record for
    /// an iSCSI source).
    Scsi {
        adapter: String,
        bus: u32,
        target: u32,
        unit: u64,
    },
    /// `bus=mdev device="UUID"` (mediated device).
    Mdev { uuid: String },
    /// `bus=scsi_host device="WWPN"` (vhost-scsi).
    ScsiHost { wwpn: String },
}

impl HostdevAddr {
    /// The `bus=` value.
    pub fn bus(&self) -> &'static str {
        match self {
            HostdevAddr::Pci { .. } => "pci",
            HostdevAddr::Usb { .. } => "usb",
            HostdevAddr::Scsi { .. } => "scsi",
            HostdevAddr::Mdev { .. } => "mdev",
            HostdevAddr::ScsiHost { .. } => "scsi_host",
        }
    }

    /// The `device=` value before encoding.
    pub fn device(&self) -> String {
        match self {
            HostdevAddr::Pci {
                domain,
                bus,
                slot,
                function,
            } => format!("{domain:04x}:{bus:02x}:{slot:02x}.{function:x}"),
            HostdevAddr::Usb { bus, device } => format!("{bus:03}.{device:03}"),
            HostdevAddr::Scsi {
                adapter,
                bus,
                target,
                unit,
            } => format!("{adapter}:{bus}:{target}:{unit}"),
            HostdevAddr::Mdev { uuid } => uuid.clone(),
            HostdevAddr::ScsiHost { wwpn } => wwpn.clone(),
        }
    }
}

fn dev_record(vm: &VmIdentity, reason: &str, bus: &str, device: &str, outcome: Outcome) -> Record {
    let mut s = resource_head(vm, "dev", reason, 2 * device.len() + 24);
    s.push_str(" bus=");
    s.push_str(bus);
    s.push(' ');
    push_nv(&mut s, "device", device.as_bytes());
    resource_record(s, outcome)
}

/// `resrc=dev reason=start|attach|detach ... bus=... device="..."`.
pub fn hostdev(vm: &VmIdentity, reason: &str, addr: &HostdevAddr, outcome: Outcome) -> Record {
    dev_record(vm, reason, addr.bus(), &addr.device(), outcome)
}

/// A USB redirection (`resrc=dev ... bus=usb device=USB redirdev`, hex-encoded as libvirt does).
pub fn redirdev(vm: &VmIdentity, reason: &str, outcome: Outcome) -> Record {
    dev_record(vm, reason, "usb", "USB redirdev", outcome)
}

/// A capabilities-mode storage hostdev (LXC): `resrc=hostdev ... disk="BLOCK"`.
pub fn hostdev_storage(
    vm: &VmIdentity,
    reason: &str,
    block: Option<&str>,
    outcome: Outcome,
) -> Record {
    let v = block.unwrap_or(UNKNOWN);
    let mut s = resource_head(vm, "hostdev", reason, 2 * v.len() + 8);
    s.push(' ');
    push_nv(&mut s, "disk", v.as_bytes());
    resource_record(s, outcome)
}

/// A capabilities-mode misc hostdev (LXC): `resrc=hostdev ... chardev="PATH"`.
pub fn hostdev_misc(
    vm: &VmIdentity,
    reason: &str,
    chardev: Option<&str>,
    outcome: Outcome,
) -> Record {
    let v = chardev.unwrap_or(UNKNOWN);
    let mut s = resource_head(vm, "hostdev", reason, 2 * v.len() + 12);
    s.push(' ');
    push_nv(&mut s, "chardev", v.as_bytes());
    resource_record(s, outcome)
}

/// A TPM backend and its host path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TpmBackend<'a> {
    /// `resrc=tpm device="/dev/tpm0"`.
    Passthrough { path: Option<&'a str> },
    /// `resrc=tpm-emulator device="SOCKET"` (swtpm's socket).
    Emulator { socket: Option<&'a str> },
    /// `resrc=tpm-external device="SOCKET"`.
    External { socket: Option<&'a str> },
}

/// `resrc=tpm|tpm-emulator|tpm-external reason=... device=ENC`.
pub fn tpm(vm: &VmIdentity, reason: &str, backend: TpmBackend<'_>, outcome: Outcome) -> Record {
    let (resrc, path) = match backend {
        TpmBackend::Passthrough { path } => ("tpm", path),
        TpmBackend::Emulator { socket } => ("tpm-emulator", socket),
        TpmBackend::External { socket } => ("tpm-external", socket),
    };
    let v = path.unwrap_or(UNKNOWN);
    let mut s = resource_head(vm, resrc, reason, 2 * v.len() + 8);
    s.push(' ');
    push_nv(&mut s, "device", v.as_bytes());
    resource_record(s, outcome)
}

/// A shared-memory region without a server: `resrc=shmem ... size=BYTES path=/dev/shm/NAME`
/// (the path is written raw, as libvirt does).
pub fn shmem(vm: &VmIdentity, reason: &str, name: &str, size: u64, outcome: Outcome) -> Record {
    let mut s = resource_head(vm, "shmem", reason, name.len() + 40);
    let _ = write!(s, " size={size} path=/dev/shm/{name}");
    resource_record(s, outcome)
}

/// An ivshmem device with a server: `resrc=ivshmem-socket ... path=SOCKET` (raw, `?` if none).
pub fn ivshmem_socket(
    vm: &VmIdentity,
    reason: &str,
    socket: Option<&str>,
    outcome: Outcome,
) -> Record {
    let v = socket.unwrap_or(UNKNOWN);
    let mut s = resource_head(vm, "ivshmem-socket", reason, v.len() + 8);
    s.push_str(" path=");
    s.push_str(v);
    resource_record(s, outcome)
}

/// A passthrough or evdev input device: `resrc=evdev ... path=/dev/input/...` (raw, `?` if none).
/// Mouse, tablet and keyboard inputs have no record.
pub fn evdev(vm: &VmIdentity, reason: &str, path: Option<&str>, outcome: Outcome) -> Record {
    let v = path.unwrap_or(UNKNOWN);
    let mut s = resource_head(vm, "evdev", reason, v.len() + 8);
    s.push_str(" path=");
    s.push_str(v);
    resource_record(s, outcome)
}

// ---------------------------------------------------------------------------------------------
// Integer resources

/// `resrc=KIND reason=start|update ... old-KIND=N new-KIND=N`.
pub fn resource_change(
    vm: &VmIdentity,
    kind: &str,
    reason: &str,
    old: u64,
    new: u64,
    outcome: Outcome,
) -> Record {
    let mut s = resource_head(vm, kind, reason, 2 * kind.len() + 48);
    // libvirt prints these unsigned values with %lld.
    let _ = write!(s, " old-{kind}={} new-{kind}={}", old as i64, new as i64);
    resource_record(s, outcome)
}

/// Guest memory in KiB: `resrc=mem ... old-mem=0 new-mem=262144`.
pub fn memory(
    vm: &VmIdentity,
    reason: &str,
    old_kib: u64,
    new_kib: u64,
    outcome: Outcome,
) -> Record {
    resource_change(vm, "mem", reason, old_kib, new_kib, outcome)
}

/// vCPU count: `resrc=vcpu ... old-vcpu=0 new-vcpu=2`.
pub fn vcpu(vm: &VmIdentity, reason: &str, old: u32, new: u32, outcome: Outcome) -> Record {
    resource_change(vm, "vcpu", reason, old.into(), new.into(), outcome)
}

/// I/O thread count: `resrc=iothread ... old-iothread=0 new-iothread=2`.
pub fn iothread(vm: &VmIdentity, reason: &str, old: u32, new: u32, outcome: Outcome) -> Record {
    resource_change(vm, "iothread", reason, old.into(), new.into(), outcome)
}

/// `name=ENC` for a caller composing a record this module has no builder for.
pub fn field(name: &str, value: &str) -> String {
    encode_nv(name, value.as_bytes())
}

#[cfg(test)]
mod tests;
