//! The only place the argv builder reads parts of the domain that it needs as element trees
//! (devices and the smaller top-level sections). `virt_xml` keeps them as typed values; this
//! file reads them back through their canonical XML so the readers below stay small, and is the
//! one file to change when the builder reads the typed values directly.

use virt_xml::domain::DeviceKind;
use virt_xml::tree::{self, Element};
use virt_xml::writer::Writer;
use virt_xml::Domain;

/// The canonical element of each device of one kind, in document order.
pub(crate) fn devices(def: &Domain, kind: DeviceKind) -> Vec<Element> {
    def.devices
        .iter()
        .filter(|d| d.kind() == kind)
        .filter_map(|d| tree::parse(&d.to_xml()).ok())
        .collect()
}

/// The canonical element of a top-level section (`memoryBacking`, `numatune`, ...).
pub(crate) fn section(def: &Domain, name: &str) -> Option<Element> {
    let s = def.section(name)?;
    let mut w = Writer::new();
    s.write(&mut w);
    tree::parse(&w.finish()).ok()
}

/// `<devices><emulator>`.
pub(crate) fn emulator(def: &Domain) -> Option<String> {
    devices(def, DeviceKind::Emulator)
        .first()
        .map(|e| e.text().trim().to_string())
        .filter(|s| !s.is_empty())
}

/// How many devices of a kind the domain has.
pub(crate) fn count(def: &Domain, kind: DeviceKind) -> usize {
    def.devices.iter().filter(|d| d.kind() == kind).count()
}

/// The `type` attribute of each `<graphics>`.
pub(crate) fn graphics_types(def: &Domain) -> Vec<String> {
    devices(def, DeviceKind::Graphics)
        .iter()
        .filter_map(|g| g.attr("type").map(str::to_string))
        .collect()
}

/// Whether any device carries a per-device `<boot order=...>`.
pub(crate) fn any_device_boot_order(def: &Domain) -> bool {
    def.devices
        .iter()
        .any(|d| d.info().is_some_and(|i| i.boot.is_some()))
}

/// Whether a `<memory model='nvdimm'>` device exists.
pub(crate) fn has_nvdimm(def: &Domain) -> bool {
    devices(def, DeviceKind::Memory)
        .iter()
        .any(|m| m.attr("model") == Some("nvdimm"))
}

/// One `<memoryBacking><hugepages><page>` (or the bare `<hugepages/>` as `size: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HugePage {
    /// Page size in KiB.
    pub size_kib: Option<u64>,
    pub nodeset: Option<String>,
}

/// `<memoryBacking>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MemoryBacking {
    pub hugepages: Option<Vec<HugePage>>,
    pub nosharepages: bool,
    pub locked: bool,
    pub source: Option<String>,
    pub access: Option<String>,
    pub allocation: Option<String>,
    pub allocation_threads: Option<u64>,
    pub discard: bool,
}

fn size_to_kib(value: &str, unit: Option<&str>) -> Option<u64> {
    let v: u64 = value.trim().parse().ok()?;
    let mul: u64 = match unit.unwrap_or("KiB") {
        "b" | "bytes" => return Some(v / 1024),
        "k" | "K" | "KiB" => 1,
        "KB" => return Some(v.saturating_mul(1000) / 1024),
        "M" | "MiB" => 1024,
        "MB" => return Some(v.saturating_mul(1_000_000) / 1024),
        "G" | "GiB" => 1024 * 1024,
        "GB" => return Some(v.saturating_mul(1_000_000_000) / 1024),
        "T" | "TiB" => 1024 * 1024 * 1024,
        _ => return None,
    };
    v.checked_mul(mul)
}

pub(crate) fn memory_backing(def: &Domain) -> MemoryBacking {
    let Some(mb) = section(def, "memoryBacking") else {
        return MemoryBacking::default();
    };
    let hugepages = mb.child("hugepages").map(|h| {
        let pages: Vec<HugePage> = h
            .children_named("page")
            .map(|p| HugePage {
                size_kib: p.attr("size").and_then(|s| size_to_kib(s, p.attr("unit"))),
                nodeset: p.attr("nodeset").map(str::to_string),
            })
            .collect();
        pages
    });
    MemoryBacking {
        hugepages,
        nosharepages: mb.child("nosharepages").is_some(),
        locked: mb.child("locked").is_some(),
        source: mb
            .child("source")
            .and_then(|s| s.attr("type"))
            .map(str::to_string),
        access: mb
            .child("access")
            .and_then(|s| s.attr("mode"))
            .map(str::to_string),
        allocation: mb
            .child("allocation")
            .and_then(|s| s.attr("mode"))
            .map(str::to_string),
        allocation_threads: mb
            .child("allocation")
            .and_then(|s| s.attr("threads"))
            .and_then(|t| t.parse().ok()),
        discard: mb.child("discard").is_some(),
    }
}

/// `<numatune>`: the global memory policy and per-cell overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NumaTune {
    pub mode: Option<String>,
    pub nodeset: Option<String>,
    pub placement: Option<String>,
    /// (cellid, mode, nodeset)
    pub memnodes: Vec<(u32, Option<String>, Option<String>)>,
}

pub(crate) fn numatune(def: &Domain) -> NumaTune {
    let Some(nt) = section(def, "numatune") else {
        return NumaTune::default();
    };
    let mem = nt.child("memory");
    NumaTune {
        mode: mem.and_then(|m| m.attr("mode")).map(str::to_string),
        nodeset: mem.and_then(|m| m.attr("nodeset")).map(str::to_string),
        placement: mem.and_then(|m| m.attr("placement")).map(str::to_string),
        memnodes: nt
            .children_named("memnode")
            .filter_map(|m| {
                Some((
                    m.attr("cellid")?.parse().ok()?,
                    m.attr("mode").map(str::to_string),
                    m.attr("nodeset").map(str::to_string),
                ))
            })
            .collect(),
    }
}

/// `<pm>`: (suspend-to-mem, suspend-to-disk) enabled flags.
pub(crate) fn pm(def: &Domain) -> (Option<bool>, Option<bool>) {
    let Some(pm) = section(def, "pm") else {
        return (None, None);
    };
    let flag = |name: &str| {
        pm.child(name)
            .and_then(|e| e.attr("enabled"))
            .map(|v| v == "yes")
    };
    (flag("suspend-to-mem"), flag("suspend-to-disk"))
}

/// `<genid>`: the VM generation id, or `Some("")` when libvirt is to generate one.
pub(crate) fn genid(def: &Domain) -> Option<String> {
    section(def, "genid").map(|g| g.text().trim().to_string())
}

/// `<launchSecurity type=...>`.
pub(crate) fn launch_security_type(def: &Domain) -> Option<String> {
    section(def, "launchSecurity").and_then(|e| e.attr("type").map(str::to_string))
}
