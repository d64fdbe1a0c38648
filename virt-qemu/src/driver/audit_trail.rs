//! The records a successful start writes once QEMU holds every device, in libvirt 9.0's order:
//! disks, NICs, character devices, then memory (KiB) and vCPUs. The `VIRT_CONTROL op=start` record
//! follows (written by the caller once the CPUs run).

use virt_audit::{records, Outcome, Record, VmIdentity};
use virt_xml::devices::chardev::source::ChrType;
use virt_xml::devices::disk::source::SourceData;
use virt_xml::devices::Device;
use virt_xml::Domain;

/// A disk's host path as its record names it (`None` for network and empty sources).
pub fn disk_path(d: &virt_xml::devices::disk::Disk) -> Option<&str> {
    match &d.source.data {
        SourceData::File { file, .. } => file.as_deref(),
        SourceData::Block { dev } => dev.as_deref(),
        SourceData::Dir { dir } => dir.as_deref(),
        _ => None,
    }
}

/// A character device's host path: the source path of a pty, dev, file, pipe or unix chardev.
pub fn chardev_path(c: &virt_xml::devices::chardev::Chardev) -> Option<&str> {
    match c.source.chr_type() {
        ChrType::Pty | ChrType::Dev | ChrType::File | ChrType::Pipe | ChrType::Unix => c
            .source
            .sources
            .iter()
            .find_map(|s| s.path.as_deref())
            .or(c.tty.as_deref()),
        _ => None,
    }
}

/// The `reason=start` device and resource records for `def` (the live definition).
pub fn start_records(vm: &VmIdentity, def: &Domain, outcome: Outcome) -> Vec<Record> {
    let mut out = Vec::new();
    for d in &def.devices {
        if let Device::Disk(disk) = d {
            out.extend(records::disk(vm, "start", None, disk_path(disk), outcome));
        }
    }
    for nic in def.interfaces() {
        if let Some(m) = &nic.mac {
            let mac: &dyn std::fmt::Display = &m.address;
            out.extend(records::net(vm, "start", None, Some(mac), outcome));
        }
    }
    // Serials, parallels and channels, then consoles except a first console that is the serial
    // port's alias (libvirt writes no record for it).
    let mut consoles = 0;
    for pass in 0..4 {
        for d in &def.devices {
            let c = match (pass, d) {
                (0, Device::Serial(c)) | (1, Device::Parallel(c)) | (2, Device::Channel(c)) => c,
                (3, Device::Console(c)) => {
                    consoles += 1;
                    let is_serial_alias = consoles == 1
                        && matches!(
                            c.target.as_ref().and_then(|t| t.kind),
                            None | Some(virt_xml::devices::chardev::TargetType::Serial)
                        );
                    if is_serial_alias {
                        continue;
                    }
                    c
                }
                _ => continue,
            };
            out.extend(records::chardev(
                vm,
                "start",
                None,
                chardev_path(c),
                outcome,
            ));
        }
    }
    let mem = def.memory.as_ref().map(|m| m.size.0).unwrap_or(0);
    out.push(records::memory(vm, "start", 0, mem, outcome));
    let vcpus = def
        .vcpu
        .as_ref()
        .map(|v| v.current.unwrap_or(v.count))
        .unwrap_or(1);
    out.push(records::vcpu(vm, "start", 0, vcpus, outcome));
    out
}
