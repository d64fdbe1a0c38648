//! libvirt's default device aliases (`net0`, `ide0-0-0`, `virtio-disk0`, `usb`, `pci.1`,
//! `serial0`, `balloon0`, ...): what the argv names devices and the status XML records.

use std::collections::HashMap;

use super::view::Prep;
use virt_xml::address::Address;
use virt_xml::{DeviceKind, Domain};

use super::view;

/// Letters of a disk name as a number: `a` 0, `z` 25, `aa` 26.
pub(super) fn disk_index(dev: &str) -> Option<u32> {
    let letters = ["xvd", "ubd", "hd", "sd", "vd", "fd"]
        .iter()
        .find_map(|p| dev.strip_prefix(p))?;
    if letters.is_empty() || !letters.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let mut n: u32 = 0;
    for c in letters.chars() {
        n = n.checked_mul(26)?.checked_add(c as u32 - 'a' as u32 + 1)?;
    }
    Some(n - 1)
}

fn drive(d: &view::Device) -> (u32, u32, u32, u32) {
    match view::address(d) {
        Some(Address::Drive {
            controller,
            bus,
            target,
            unit,
        }) => (
            controller.unwrap_or(0),
            bus.unwrap_or(0),
            target.unwrap_or(0),
            unit.unwrap_or(0),
        ),
        _ => (0, 0, 0, 0),
    }
}

/// The default alias of every entry of `def.devices`, in the same order; an empty string for
/// entries that have none (the emulator, graphics, audio backends, leases).
pub fn aliases(def: &Domain) -> Vec<String> {
    match Prep::new(def.clone()) {
        Ok(p) => aliases_of(&p),
        Err(_) => vec![String::new(); def.devices.len()],
    }
}

pub(super) fn aliases_of(def: &Prep) -> Vec<String> {
    let mut counters: HashMap<&'static str, u32> = HashMap::new();
    let mut out = Vec::with_capacity(def.devices.len());
    for d in &def.devices {
        // A device with its own (`ua-`) alias takes no number from the count.
        let a = match view::user_alias(d) {
            Some(u) => u.to_string(),
            None => alias_of(def, d, &mut counters),
        };
        out.push(a);
    }
    out
}

fn alias_of(def: &Prep, d: &view::Device, counters: &mut HashMap<&'static str, u32>) -> String {
    let mut next = |key: &'static str| {
        let c = counters.entry(key).or_insert(0);
        let v = *c;
        *c += 1;
        v
    };
    let scsi_model = |idx: u32| {
        def.devices
            .iter()
            .find(|c| {
                view::kind(c) == DeviceKind::Controller
                    && view::attr(c, "type") == Some("scsi")
                    && view::attr(c, "index").and_then(|i| i.parse().ok()) == Some(idx)
            })
            .and_then(|c| view::attr(c, "model"))
    };
    {
        let a = match view::kind(d) {
            DeviceKind::Disk => {
                let (c, b, t, u) = drive(d);
                let name = view::sub_attr(d, "target", "dev").unwrap_or("");
                let idx = disk_index(name).unwrap_or(0);
                match view::sub_attr(d, "target", "bus") {
                    Some("ide") => format!("ide{c}-{b}-{u}"),
                    Some("sata") => format!("sata{c}-{b}-{u}"),
                    Some("fdc") => format!("fdc{c}-{b}-{u}"),
                    Some("scsi") => {
                        if scsi_model(c) == Some("lsilogic") {
                            format!("scsi{c}-{b}-{u}")
                        } else {
                            format!("scsi{c}-{b}-{t}-{u}")
                        }
                    }
                    Some("virtio") => format!("virtio-disk{idx}"),
                    Some("usb") => format!("usb-disk{idx}"),
                    Some("sd") => format!("sd-disk{idx}"),
                    Some(other) => format!("{other}-disk{idx}"),
                    None => String::new(),
                }
            }
            DeviceKind::Controller => {
                let ty = view::attr(d, "type").unwrap_or("");
                let idx: u32 = view::attr(d, "index")
                    .and_then(|i| i.parse().ok())
                    .unwrap_or(0);
                match (ty, idx) {
                    ("pci", 0) if view::attr(d, "model") == Some("pcie-root") => "pcie.0".into(),
                    ("pci", i) => format!("pci.{i}"),
                    ("usb", 0) => "usb".into(),
                    ("ide", 0) => "ide".into(),
                    // Only q35's first SATA controller is built in and keeps QEMU's name.
                    ("sata", 0) if machine_is_q35(def) => "ide".into(),
                    (t, i) => format!("{t}{i}"),
                }
            }
            DeviceKind::Interface => {
                if view::attr(d, "type") == Some("hostdev") {
                    format!("hostdev{}", next("hostdev"))
                } else {
                    format!("net{}", next("net"))
                }
            }
            DeviceKind::Hostdev => format!("hostdev{}", next("hostdev")),
            DeviceKind::Filesystem => format!("fs{}", next("fs")),
            DeviceKind::Smartcard => format!("smartcard{}", next("smartcard")),
            DeviceKind::Serial => format!("serial{}", next("serial")),
            DeviceKind::Parallel => format!("parallel{}", next("parallel")),
            DeviceKind::Channel => format!("channel{}", next("channel")),
            DeviceKind::Console => {
                let n = next("console");
                if n == 0 && view::sub_attr(d, "target", "type") == Some("serial") {
                    "serial0".into()
                } else {
                    format!("console{n}")
                }
            }
            DeviceKind::Input => format!("input{}", next("input")),
            DeviceKind::Tpm => format!("tpm{}", next("tpm")),
            DeviceKind::Sound => format!("sound{}", next("sound")),
            DeviceKind::Video => format!("video{}", next("video")),
            DeviceKind::Redirdev => format!("redir{}", next("redir")),
            DeviceKind::Hub => format!("hub{}", next("hub")),
            DeviceKind::Watchdog => format!("watchdog{}", next("watchdog")),
            DeviceKind::Memballoon => "balloon0".into(),
            DeviceKind::Rng => format!("rng{}", next("rng")),
            DeviceKind::Shmem => format!("shmem{}", next("shmem")),
            DeviceKind::Memory => memory_alias(d, &mut next),
            DeviceKind::Vsock => "vsock0".into(),
            DeviceKind::Iommu => "iommu0".into(),
            DeviceKind::Crypto => format!("crypto{}", next("crypto")),
            DeviceKind::Panic => format!("panic{}", next("panic")),
            _ => String::new(),
        };
        a
    }
}

/// A memory device's alias: DIMMs and NVDIMMs are named after their slot (`dimm1`,
/// `nvdimm0`); the PCI models are counted per model (`virtiomem0`, `virtiopmem0`), as is SGX
/// EPC (`epc0`).
/// Whether the domain's machine is a q35 one (its built-in AHCI controller is QEMU's `ide`).
fn machine_is_q35(def: &Prep) -> bool {
    def.os_def
        .as_ref()
        .and_then(|o| o.machine.as_deref())
        .is_some_and(|m| m == "q35" || m.starts_with("pc-q35"))
}

fn memory_alias(d: &view::Device, next: &mut impl FnMut(&'static str) -> u32) -> String {
    let slot = match view::address(d) {
        Some(Address::Dimm { slot, .. }) => slot,
        _ => None,
    };
    match view::attr(d, "model") {
        Some("nvdimm") => format!("nvdimm{}", slot.unwrap_or_else(|| next("nvdimm"))),
        Some("virtio-pmem") => format!("virtiopmem{}", next("virtiopmem")),
        Some("virtio-mem") => format!("virtiomem{}", next("virtiomem")),
        Some("sgx-epc") => format!("epc{}", next("epc")),
        _ => format!("dimm{}", slot.unwrap_or_else(|| next("dimm"))),
    }
}
