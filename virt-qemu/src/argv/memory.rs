//! `-m`, guest RAM backends (whole-guest and per NUMA cell: RAM, hugetlbfs files, memfd, NUMA
//! policy), `-overcommit` and `-numa`.

use virt_xml::cpu::{AccessType, CacheAssociativity, CachePolicy, MemAccess, Numa};
use virt_xml::domain::DeviceKind;

use super::builder::{ArgvError, Builder};
use super::machine;
use super::props::{Props, Value};
use super::view::{self, HugePage, MemoryBacking, NumaTune};

/// Parses a libvirt node set (`0-3,^2,7`) into sorted ids.
pub(crate) fn parse_nodeset(s: &str) -> Option<Vec<u32>> {
    let mut set = std::collections::BTreeSet::new();
    let mut neg = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some(n) = part.strip_prefix('^') {
            neg.push(n.parse::<u32>().ok()?);
        } else if let Some((a, b)) = part.split_once('-') {
            let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            if a > b || b - a > 65_536 {
                return None;
            }
            set.extend(a..=b);
        } else {
            set.insert(part.parse::<u32>().ok()?);
        }
    }
    for n in neg {
        set.remove(&n);
    }
    Some(set.into_iter().collect())
}

/// The host's ordinary page size (KiB).
const SYSTEM_PAGE_KIB: u64 = 4;

/// QEMU's x86 memory granularity: sizes are rounded up to whole MiB (in KiB).
pub(crate) fn align_mib(kib: u64) -> u64 {
    kib.div_ceil(1024).saturating_mul(1024)
}

/// The memory not given by `<memory>` devices (KiB): what `-m` and the RAM backends cover.
fn initial_memory_kib(b: &Builder<'_>) -> u64 {
    if let Some(numa) = b.def.cpu.as_ref().and_then(|c| c.numa.as_ref()) {
        if !numa.cells.is_empty() {
            return numa
                .cells
                .iter()
                .fold(0u64, |acc, c| acc.saturating_add(align_mib(c.memory.0)));
        }
    }
    let total = b.def.memory.map(|m| m.size.0).unwrap_or(0);
    let devices: u64 = view::devices(b.def, DeviceKind::Memory)
        .iter()
        .filter_map(|m| {
            let size = m.child("target")?.child("size")?;
            size.text().trim().parse::<u64>().ok()
        })
        .fold(0u64, u64::saturating_add);
    align_mib(total.saturating_sub(devices))
}

pub(crate) fn emit_m(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let initial = initial_memory_kib(b);
    if initial == 0 {
        return Err(ArgvError::unsupported("Memory size must be specified"));
    }
    match b.def.max_memory {
        Some(max) if max.slots.unwrap_or(0) > 0 || max.size.0 > 0 => {
            let slots = max.slots.unwrap_or(0);
            b.arg(
                "-m",
                format!("size={initial}k,slots={slots},maxmem={}k", max.size.0),
            );
        }
        _ => b.arg("-m", (initial / 1024).to_string()),
    }
    if machine::uses_machine_memory_backend(b) {
        let id = machine::ram_id(b);
        let ctx = BackendCtx::new(b)?;
        ctx.emit_backend(b, &id, initial, None)?;
    }
    Ok(())
}

pub(crate) fn emit_overcommit(b: &mut Builder<'_>) {
    let locked = view::memory_backing(b.def).locked;
    b.arg(
        "-overcommit",
        if locked {
            "mem-lock=on"
        } else {
            "mem-lock=off"
        },
    );
}

/// What every RAM backend of one guest shares.
struct BackendCtx {
    mb: MemoryBacking,
    nt: NumaTune,
    cell_ids: Vec<u32>,
}

impl BackendCtx {
    fn new(b: &Builder<'_>) -> Result<BackendCtx, ArgvError> {
        let mut mb = view::memory_backing(b.def);
        // Pages of the system page size are ordinary memory, not huge pages.
        if let Some(pages) = mb.hugepages.as_mut() {
            if !pages.is_empty() {
                pages.retain(|p| p.size_kib != Some(SYSTEM_PAGE_KIB));
                if pages.is_empty() {
                    mb.hugepages = None;
                }
            }
        }
        let nt = view::numatune(b.def);
        let cell_ids: Vec<u32> = b
            .def
            .cpu
            .as_ref()
            .and_then(|c| c.numa.as_ref())
            .map(|n| {
                n.cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c.id.unwrap_or(i as u32))
                    .collect()
            })
            .unwrap_or_default();
        let ctx = BackendCtx { mb, nt, cell_ids };
        ctx.validate(b)?;
        Ok(ctx)
    }

    fn validate(&self, b: &Builder<'_>) -> Result<(), ArgvError> {
        if let Some(pages) = &self.mb.hugepages {
            for p in pages {
                if let Some(ns) = &p.nodeset {
                    let nodes = parse_nodeset(ns).ok_or_else(|| {
                        ArgvError::unsupported(format!("hugepages: invalid nodeset '{ns}'"))
                    })?;
                    for n in nodes {
                        if !self.cell_ids.contains(&n) {
                            return Err(ArgvError::Prepare(format!(
                                "hugepages: node {n} not found"
                            )));
                        }
                    }
                }
                if b.host.hugetlbfs_mount(p.size_kib).is_none() {
                    return Err(ArgvError::Host(format!(
                        "Unable to find any usable hugetlbfs mount for {} KiB",
                        p.size_kib.unwrap_or(0)
                    )));
                }
            }
        }
        Ok(())
    }

    /// The huge page that backs `cell` (or the whole guest when `None`).
    fn page_for(&self, cell: Option<u32>) -> Option<HugePage> {
        let pages = self.mb.hugepages.as_ref()?;
        if pages.is_empty() {
            return Some(HugePage {
                size_kib: None,
                nodeset: None,
            });
        }
        if let Some(c) = cell {
            if let Some(p) = pages.iter().find(|p| {
                p.nodeset
                    .as_deref()
                    .and_then(parse_nodeset)
                    .is_some_and(|n| n.contains(&c))
            }) {
                return Some(p.clone());
            }
        }
        pages.iter().find(|p| p.nodeset.is_none()).cloned()
    }

    /// (policy, host nodes) for a cell or the whole guest.
    fn policy_for(&self, cell: Option<u32>) -> Option<(String, Vec<u32>)> {
        let (mode, nodeset) = match cell.and_then(|c| self.nt.memnodes.iter().find(|m| m.0 == c)) {
            Some((_, mode, nodeset)) => (mode.clone(), nodeset.clone()),
            None => (self.nt.mode.clone(), self.nt.nodeset.clone()),
        };
        let nodes = parse_nodeset(nodeset.as_deref()?)?;
        let policy = match mode.as_deref().unwrap_or("strict") {
            "strict" => "bind",
            "preferred" => "preferred",
            "interleave" => "interleave",
            _ => return None,
        };
        Some((policy.to_string(), nodes))
    }

    fn emit_backend(
        &self,
        b: &mut Builder<'_>,
        id: &str,
        size_kib: u64,
        cell: Option<(u32, Option<MemAccess>, Option<bool>)>,
    ) -> Result<(), ArgvError> {
        let cell_id = cell.map(|c| c.0);
        let page = self.page_for(cell_id);
        let memfd = self.mb.source.as_deref() == Some("memfd");
        let file_source = self.mb.source.as_deref() == Some("file");
        let access = match cell.and_then(|c| c.1) {
            Some(MemAccess::Shared) => Some(true),
            Some(MemAccess::Private) => Some(false),
            None => self.mb.access.as_deref().map(|a| a == "shared"),
        };
        let cell_access_given = cell.and_then(|c| c.1).is_some();
        let discard = cell
            .and_then(|c| c.2)
            .or(if self.mb.discard { Some(true) } else { None });
        let policy = self.policy_for(cell_id);
        let mut p = Props::new();
        let mut prealloc = self.mb.allocation.as_deref() == Some("immediate");
        if memfd {
            p = p.str("qom-type", "memory-backend-memfd").str("id", id);
            if let Some(page) = &page {
                let kib = page
                    .size_kib
                    .or_else(|| b.host.config.hugetlbfs.first().map(|h| h.0))
                    .unwrap_or(2048);
                p = p
                    .bool("hugetlb", true)
                    .uint("hugetlbsize", kib.saturating_mul(1024));
                prealloc = true;
            }
        } else if let Some(page) = &page {
            let mount = b.host.hugetlbfs_mount(page.size_kib).ok_or_else(|| {
                ArgvError::Host(format!(
                    "Unable to find any usable hugetlbfs mount for {} KiB",
                    page.size_kib.unwrap_or(0)
                ))
            })?;
            let dir = b.host.hugepage_dir(mount);
            p = p
                .str("qom-type", "memory-backend-file")
                .str("id", id)
                .str("mem-path", dir.to_string_lossy());
            prealloc = true;
        } else if file_source || cell_access_given {
            let dir = b.host.memory_backing_dir().join(id);
            p = p
                .str("qom-type", "memory-backend-file")
                .str("id", id)
                .str("mem-path", dir.to_string_lossy());
        } else {
            p = p.str("qom-type", "memory-backend-ram").str("id", id);
        }
        if let Some(d) = discard {
            if p.get("mem-path").is_some() {
                p = p.bool("discard-data", d);
            }
        }
        let is_ram = matches!(p.get("qom-type"), Some(Value::Str(s)) if s == "memory-backend-ram");
        if let Some(shared) = access {
            if !is_ram {
                p = p.bool("share", shared);
            }
        }
        if cell.is_none() && !is_ram {
            p = p.bool("x-use-canonical-path-for-ramblock-id", false);
        }
        if prealloc {
            p = p.bool("prealloc", true);
        }
        p = p.uint("size", size_kib.saturating_mul(1024));
        let mut context = None;
        if let Some((policy, nodes)) = &policy {
            p = p
                .add(
                    "host-nodes",
                    Value::Arr(nodes.iter().map(|n| Value::UInt(u64::from(*n))).collect()),
                )
                .str("policy", policy.clone());
            if prealloc && b.caps.has_flag("thread-context") {
                let tc = format!("tc-{id}");
                let obj = Props::new()
                    .str("qom-type", "thread-context")
                    .str("id", tc.clone())
                    .add(
                        "node-affinity",
                        Value::Arr(nodes.iter().map(|n| Value::UInt(u64::from(*n))).collect()),
                    );
                b.object(&obj);
                context = Some(tc);
            }
        }
        if let Some(tc) = context {
            p = p.str("prealloc-context", tc);
        }
        b.object(&p);
        Ok(())
    }
}

fn push_cpus(out: &mut String, cpus: &str) {
    for part in cpus.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        out.push_str(",cpus=");
        out.push_str(part);
    }
}

fn size_suffix_kib(kib: u64) -> String {
    format!("{kib}K")
}

fn unit_to_bytes(value: u64, unit: Option<&str>) -> u64 {
    let mul = match unit.unwrap_or("B") {
        "b" | "B" | "bytes" => 1,
        "k" | "K" | "KiB" => 1024,
        "KB" => 1000,
        "M" | "MiB" => 1 << 20,
        "MB" => 1_000_000,
        "G" | "GiB" => 1 << 30,
        "GB" => 1_000_000_000,
        _ => 1,
    };
    value.saturating_mul(mul)
}

pub(crate) fn emit_numa(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let Some(numa) = b.def.cpu.as_ref().and_then(|c| c.numa.clone()) else {
        return Ok(());
    };
    if numa.cells.is_empty() {
        return Ok(());
    }
    let ctx = BackendCtx::new(b)?;
    if legacy_numa(b, &ctx, &numa) {
        if ctx.mb.allocation.as_deref() == Some("immediate") {
            b.flag("-mem-prealloc");
        }
        for (i, cell) in numa.cells.iter().enumerate() {
            let id = cell.id.unwrap_or(i as u32);
            let mut s = format!("node,nodeid={id}");
            if let Some(cpus) = cell.cpus.as_deref() {
                push_cpus(&mut s, cpus);
            }
            s.push_str(&format!(",mem={}", align_mib(cell.memory.0) / 1024));
            b.arg("-numa", s);
        }
        emit_distances(b, &numa);
        return Ok(());
    }
    let hmat = !numa.latencies.is_empty()
        || !numa.bandwidths.is_empty()
        || numa.cells.iter().any(|c| !c.caches.is_empty());
    for (i, cell) in numa.cells.iter().enumerate() {
        let id = cell.id.unwrap_or(i as u32);
        let memdev = format!("ram-node{id}");
        ctx.emit_backend(
            b,
            &memdev,
            align_mib(cell.memory.0),
            Some((id, cell.mem_access, cell.discard)),
        )?;
        let mut s = format!("node,nodeid={id}");
        if let Some(cpus) = cell.cpus.as_deref() {
            push_cpus(&mut s, cpus);
        }
        if hmat {
            s.push_str(&format!(",initiator={}", initiator_of(&numa, i)));
        }
        s.push_str(&format!(",memdev={memdev}"));
        b.arg("-numa", s);
    }
    emit_distances(b, &numa);
    for lat in &numa.latencies {
        b.arg("-numa", hmat_lb(lat, "latency"));
    }
    for bw in &numa.bandwidths {
        b.arg("-numa", hmat_lb(bw, "bandwidth"));
    }
    for (i, cell) in numa.cells.iter().enumerate() {
        let id = cell.id.unwrap_or(i as u32);
        for c in &cell.caches {
            let size = unit_to_bytes(c.size.value, c.size.unit.as_deref().or(Some("KiB")));
            let line = unit_to_bytes(c.line.value, c.line.unit.as_deref());
            let assoc = match c.associativity {
                CacheAssociativity::None => "none",
                CacheAssociativity::Direct => "direct",
                CacheAssociativity::Full => "complex",
            };
            let policy = match c.policy {
                CachePolicy::None => "none",
                CachePolicy::Writeback => "write-back",
                CachePolicy::Writethrough => "write-through",
            };
            b.arg(
                "-numa",
                format!(
                    "hmat-cache,node-id={id},size={},level={},associativity={assoc},policy={policy},line={line}",
                    size_suffix_kib(size / 1024),
                    c.level
                ),
            );
        }
    }
    Ok(())
}

fn emit_distances(b: &mut Builder<'_>, numa: &Numa) {
    for (i, cell) in numa.cells.iter().enumerate() {
        let src = cell.id.unwrap_or(i as u32);
        for d in &cell.distances {
            b.arg(
                "-numa",
                format!("dist,src={src},dst={},val={}", d.id, d.value),
            );
        }
    }
}

/// Whether NUMA cells are given as `mem=` sizes (machine types that still allow it, when no
/// cell needs its own memory backend) rather than `memdev=` backends.
fn legacy_numa(b: &Builder<'_>, ctx: &BackendCtx, numa: &Numa) -> bool {
    let allowed = b
        .caps
        .machine(&b.machine, b.accel)
        .is_some_and(|m| m.numa_mem_supported);
    allowed
        && ctx.mb.hugepages.is_none()
        && ctx.mb.source.is_none()
        && ctx.mb.access.is_none()
        && ctx.nt.memnodes.is_empty()
        && numa.cells.iter().all(|c| c.mem_access.is_none())
        && numa.latencies.is_empty()
        && numa.bandwidths.is_empty()
}

fn hmat_lb(ic: &virt_xml::cpu::Interconnect, what: &str) -> String {
    let hierarchy = match ic.cache {
        None => "memory".to_string(),
        Some(1) => "first-level".to_string(),
        Some(2) => "second-level".to_string(),
        Some(3) => "third-level".to_string(),
        Some(n) => format!("level-{n}"),
    };
    let kind = match ic.kind {
        AccessType::Access => "access",
        AccessType::Read => "read",
        AccessType::Write => "write",
    };
    let value = if what == "bandwidth" {
        let bytes = unit_to_bytes(ic.value, ic.unit.as_deref().or(Some("KiB")));
        size_suffix_kib(bytes / 1024)
    } else {
        ic.value.to_string()
    };
    format!(
        "hmat-lb,initiator={},target={},hierarchy={hierarchy},data-type={kind}-{what},{what}={value}",
        ic.initiator, ic.target
    )
}

/// The initiator of cell `i`: itself when it has vCPUs, else the closest cell with vCPUs.
fn initiator_of(numa: &Numa, i: usize) -> u32 {
    let cell = &numa.cells[i];
    let own = cell.id.unwrap_or(i as u32);
    if cell.cpus.as_deref().is_some_and(|c| !c.is_empty()) {
        return own;
    }
    let with_cpus = |id: u32| {
        numa.cells
            .iter()
            .enumerate()
            .any(|(j, c)| c.id.unwrap_or(j as u32) == id && c.cpus.is_some())
    };
    cell.distances
        .iter()
        .filter(|d| d.id != own && with_cpus(d.id))
        .min_by_key(|d| d.value)
        .map(|d| d.id)
        .unwrap_or_else(|| {
            numa.cells
                .iter()
                .enumerate()
                .find(|(_, c)| c.cpus.is_some())
                .map(|(j, c)| c.id.unwrap_or(j as u32))
                .unwrap_or(0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodesets() {
        assert_eq!(parse_nodeset("0-3,^2,7"), Some(vec![0, 1, 3, 7]));
        assert_eq!(parse_nodeset("x"), None);
        assert_eq!(parse_nodeset("3-1"), None);
    }
}
