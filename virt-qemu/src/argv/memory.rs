//! `-m`, guest RAM backends (whole-guest and per NUMA cell: RAM, hugetlbfs files, memfd, NUMA
//! policy), `-overcommit` and `-numa`.
//!
//! Every memory backend (the whole RAM, a NUMA cell's, a `<memory>` device's) is derived by one
//! set of rules, [`BackendCtx::backend_props`], from a [`BackendSpec`] (what the user of the
//! backend brings: size, guest node, own access/discard/page size/host nodes/backing file) and
//! the domain's `<memoryBacking>` and `<numatune>`; [`emit_with_thread_context`] writes it with
//! the `thread-context` its preallocation runs in.

use virt_xml::cpu::{AccessType, CacheAssociativity, CachePolicy, MemAccess, Numa};

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
    let devices: u64 = b
        .def
        .devices
        .iter()
        .filter_map(|d| match d {
            virt_xml::Device::Memory(m) => Some(m.target.size.0),
            _ => None,
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
                format!(
                    "size={initial}k,slots={slots},maxmem={}k",
                    align_mib(max.size.0)
                ),
            );
        }
        _ => b.arg("-m", (initial / 1024).to_string()),
    }
    if machine::uses_machine_memory_backend(b) {
        let id = machine::ram_id(b);
        let ctx = BackendCtx::new(b)?;
        ctx.emit(b, &BackendSpec::new(&id, &id, initial, BackendUse::System))?;
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

/// Who a memory backend serves: it decides the object's id, prealloc handling and a few
/// properties only some users get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackendUse {
    /// The guest's whole RAM (`-machine memory-backend=`).
    System,
    /// One guest NUMA cell's RAM.
    Cell,
    /// A `pc-dimm`/`nvdimm`/`virtio-pmem-pci` device.
    Device,
    /// A `virtio-mem-pci` device (its memory is plugged later: reserved lazily, never
    /// preallocated by the backend).
    VirtioMem,
}

/// What one memory backend must provide: libvirt derives every backend (system RAM, NUMA cells,
/// memory devices) from these facts plus the domain's `<memoryBacking>` and `<numatune>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BackendSpec {
    /// The QOM id (`pc.ram`, `ram-node0`, `memdimm0`).
    pub id: String,
    /// The file name under the memory backing directory when RAM is file-backed (the alias:
    /// `pc.ram`, `ram-node0`, `dimm0`).
    pub file_name: String,
    pub size_kib: u64,
    /// The guest NUMA node it belongs to.
    pub node: Option<u32>,
    /// Its own access mode (`Some(true)` shared); falls back to the cell's, then the domain's.
    pub shared: Option<bool>,
    /// Its own discard setting; falls back to the cell's, then the domain's.
    pub discard: Option<bool>,
    /// An explicit huge page size (KiB).
    pub pagesize_kib: Option<u64>,
    /// Host nodes to allocate from, overriding `<numatune>`.
    pub source_nodes: Option<Vec<u32>>,
    /// A backing file of its own (NVDIMM, virtio-pmem).
    pub path: Option<String>,
    /// The backing file is real persistent memory (`<pmem/>`).
    pub pmem: bool,
    /// Whether the device is virtio-pmem (whose file is never preallocated).
    pub virtio_pmem: bool,
    pub align_kib: Option<u64>,
    pub usage: BackendUse,
}

impl BackendSpec {
    /// A spec with only the id, file name, size and use set.
    pub(crate) fn new(id: &str, file_name: &str, size_kib: u64, usage: BackendUse) -> BackendSpec {
        BackendSpec {
            id: id.to_string(),
            file_name: file_name.to_string(),
            size_kib,
            node: None,
            shared: None,
            discard: None,
            pagesize_kib: None,
            source_nodes: None,
            path: None,
            pmem: false,
            virtio_pmem: false,
            align_kib: None,
            usage,
        }
    }
}

/// The huge page choice for one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PageChoice {
    /// The page size (KiB) when huge pages back the memory.
    pub size_kib: Option<u64>,
    /// Whether the backend is file (or memfd) backed because of huge pages.
    pub huge: bool,
}

/// What every memory backend of one guest shares.
pub(crate) struct BackendCtx {
    mb: MemoryBacking,
    nt: NumaTune,
    cells: Vec<(u32, Option<MemAccess>, Option<bool>)>,
    /// `-mem-prealloc` was written: backends then leave preallocation to it.
    mem_prealloc: bool,
}

impl BackendCtx {
    pub(crate) fn new(b: &Builder<'_>) -> Result<BackendCtx, ArgvError> {
        let mb = view::memory_backing(b.def);
        let nt = view::numatune(b.def);
        let cells = b
            .def
            .cpu
            .as_ref()
            .and_then(|c| c.numa.as_ref())
            .map(|n| {
                n.cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.id.unwrap_or(i as u32), c.mem_access, c.discard))
                    .collect()
            })
            .unwrap_or_default();
        let mem_prealloc = b.args().iter().any(|a| a == "-mem-prealloc");
        let ctx = BackendCtx {
            mb,
            nt,
            cells,
            mem_prealloc,
        };
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
                        if !self.cells.iter().any(|c| c.0 == n) {
                            return Err(ArgvError::Prepare(format!(
                                "hugepages: node {n} not found"
                            )));
                        }
                    }
                }
                if p.size_kib != Some(SYSTEM_PAGE_KIB)
                    && b.host.hugetlbfs_mount(p.size_kib).is_none()
                {
                    return Err(no_mount(p.size_kib));
                }
            }
        }
        Ok(())
    }

    /// Whether `<memoryBacking>` asks for huge pages other than the system page size.
    fn has_huge_pages(&self) -> bool {
        self.mb
            .hugepages
            .as_ref()
            .is_some_and(|p| p.is_empty() || p.iter().any(|p| p.size_kib != Some(SYSTEM_PAGE_KIB)))
    }

    /// The huge page backing memory of guest node `node` (or of no node) with an explicit
    /// `pagesize`: the explicit size, else the `<page>` whose nodeset holds the node, else the
    /// `<page>` without a nodeset. A page of the system page size means ordinary memory.
    pub(crate) fn page_for(
        &self,
        b: &Builder<'_>,
        node: Option<u32>,
        pagesize: Option<u64>,
    ) -> PageChoice {
        let mut size = pagesize.filter(|s| *s != 0);
        let mut huge = size.is_some();
        if size.is_none() {
            let pages = self.mb.hugepages.as_deref().unwrap_or_default();
            let mut chosen: Option<&HugePage> = None;
            let mut master: Option<&HugePage> = None;
            if self.mb.hugepages.as_ref().is_some_and(|p| p.is_empty()) {
                // A bare `<hugepages/>`: the default huge page size for all memory.
                return PageChoice {
                    size_kib: default_page(b),
                    huge: true,
                };
            }
            for p in pages {
                let Some(ns) = p.nodeset.as_deref() else {
                    master = Some(p);
                    continue;
                };
                if let Some(n) = node {
                    if parse_nodeset(ns).is_some_and(|set| set.contains(&n)) {
                        chosen = Some(p);
                        break;
                    }
                }
            }
            if let Some(p) = chosen.or(master) {
                size = p.size_kib;
                huge = true;
            }
        }
        if size == Some(SYSTEM_PAGE_KIB) {
            return PageChoice::default();
        }
        if huge && size.is_none() {
            size = default_page(b);
        }
        PageChoice {
            size_kib: size,
            huge,
        }
    }

    /// (policy, host nodes) of guest node `node` (or the whole guest): the `<memnode>` of the
    /// node, else `<numatune><memory>`; nothing for `restrictive` (cgroups only).
    fn policy_for(&self, node: Option<u32>, source: Option<&[u32]>) -> Option<(String, Vec<u32>)> {
        let memnode = node.and_then(|c| self.nt.memnodes.iter().find(|m| m.0 == c));
        let mode = match memnode {
            Some((_, mode, _)) => mode.clone(),
            None => self.nt.mode.clone(),
        };
        let nodes = match source {
            Some(s) => s.to_vec(),
            None => {
                let nodeset = match memnode {
                    Some((_, _, nodeset)) => nodeset.clone(),
                    None => self.nt.nodeset.clone(),
                };
                parse_nodeset(nodeset.as_deref()?)?
            }
        };
        let policy = match mode.as_deref().unwrap_or("strict") {
            "strict" => "bind",
            "preferred" => "preferred",
            "interleave" => "interleave",
            _ => return None,
        };
        Some((policy.to_string(), nodes))
    }

    /// The `-object memory-backend-*` properties for `spec` (without a thread context).
    pub(crate) fn backend_props(
        &self,
        b: &Builder<'_>,
        spec: &BackendSpec,
    ) -> Result<Props, ArgvError> {
        let cell = spec
            .node
            .and_then(|n| self.cells.iter().find(|c| c.0 == n).copied());
        let shared = spec
            .shared
            .or(cell.and_then(|c| c.1).map(|a| a == MemAccess::Shared))
            .or(self.mb.access.as_deref().map(|a| a == "shared"));
        let discard = spec
            .discard
            .or(cell.and_then(|c| c.2))
            .or(if self.mb.discard { Some(true) } else { None });
        let page = self.page_for(b, spec.node, spec.pagesize_kib);
        let memfd = self.mb.source.as_deref() == Some("memfd");
        let file_source = self.mb.source.as_deref() == Some("file");
        let mut prealloc = self.mb.allocation.as_deref() == Some("immediate");
        if spec.path.is_some() {
            if !spec.pmem && !spec.virtio_pmem {
                prealloc = true;
            }
        } else if page.huge {
            prealloc = true;
        }
        let system = spec.usage == BackendUse::System;
        let mut p = Props::new();
        let is_ram;
        if spec.path.is_none() && memfd {
            p = p
                .str("qom-type", "memory-backend-memfd")
                .str("id", &spec.id);
            if page.huge {
                let kib = page.size_kib.unwrap_or(0);
                p = p
                    .bool("hugetlb", true)
                    .uint("hugetlbsize", kib.saturating_mul(1024));
            }
            p = p.opt_bool("share", shared);
            is_ram = false;
        } else if page.huge || spec.path.is_some() || shared.is_some() || file_source {
            let path = match &spec.path {
                Some(path) => path.clone(),
                None if page.huge => {
                    let mount = b
                        .host
                        .hugetlbfs_mount(page.size_kib)
                        .ok_or_else(|| no_mount(page.size_kib))?;
                    b.host.hugepage_dir(mount).to_string_lossy().into_owned()
                }
                None => b
                    .host
                    .memory_backing_dir()
                    .join(&spec.file_name)
                    .to_string_lossy()
                    .into_owned(),
            };
            p = p
                .str("qom-type", "memory-backend-file")
                .str("id", &spec.id)
                .str("mem-path", path);
            if spec.path.is_none() {
                p = p.opt_bool("discard-data", discard);
            }
            p = p.opt_bool("share", shared);
            is_ram = false;
        } else {
            p = p.str("qom-type", "memory-backend-ram").str("id", &spec.id);
            is_ram = true;
        }
        if system
            && !is_ram
            && b.caps
                .has_flag("memory-backend-file.x-use-canonical-path-for-ramblock-id")
        {
            p = p.bool("x-use-canonical-path-for-ramblock-id", false);
        }
        if spec.usage == BackendUse::VirtioMem {
            if !b.caps.has_flag("virtio-mem-pci.prealloc") && self.mem_prealloc {
                p = p.bool("prealloc", false);
            }
            if b.caps.has_flag("memory-backend-file.reserve") {
                p = p.bool("reserve", false);
            }
        } else if !self.mem_prealloc {
            if prealloc {
                p = p.bool("prealloc", true);
            }
            if let Some(t) = self.mb.allocation_threads.filter(|t| *t > 0) {
                p = p.uint("prealloc-threads", t);
            }
        }
        p = p.uint("size", spec.size_kib.saturating_mul(1024));
        if let Some(a) = spec.align_kib.filter(|a| *a > 0) {
            p = p.uint("align", a.saturating_mul(1024));
        }
        if spec.pmem {
            if !b.caps.has_flag("memory-backend-file.pmem") {
                return Err(ArgvError::unsupported(
                    "nvdimm pmem property is not available with this QEMU binary",
                ));
            }
            p = p.bool("pmem", true);
        }
        if let Some(nodes) = &spec.source_nodes {
            if let Some(n) = nodes.iter().find(|n| !b.host.numa_node_exists(**n)) {
                return Err(ArgvError::unsupported(format!(
                    "NUMA node {n} is unavailable"
                )));
            }
        }
        if let Some((policy, nodes)) = self.policy_for(spec.node, spec.source_nodes.as_deref()) {
            p = p
                .add("host-nodes", node_array(&nodes))
                .str("policy", policy);
        }
        Ok(p)
    }

    /// Writes the backend of `spec`, preceded by the `thread-context` object its
    /// preallocation runs in when it is bound to host nodes.
    pub(crate) fn emit(&self, b: &mut Builder<'_>, spec: &BackendSpec) -> Result<(), ArgvError> {
        let p = self.backend_props(b, spec)?;
        emit_with_thread_context(b, p);
        Ok(())
    }
}

fn node_array(nodes: &[u32]) -> Value {
    Value::Arr(nodes.iter().map(|n| Value::UInt(u64::from(*n))).collect())
}

fn no_mount(size: Option<u64>) -> ArgvError {
    ArgvError::Host(format!(
        "Unable to find any usable hugetlbfs mount for {} KiB",
        size.unwrap_or(0)
    ))
}

/// The default huge page size: the first configured hugetlbfs mount's.
fn default_page(b: &Builder<'_>) -> Option<u64> {
    b.host.config.hugetlbfs.first().map(|h| h.0)
}

/// Writes a memory backend object; when it preallocates memory bound to host nodes (and QEMU
/// has thread contexts), a `thread-context` pinned to those nodes comes first and the backend
/// names it as its `prealloc-context`.
pub(crate) fn emit_with_thread_context(b: &mut Builder<'_>, mut p: Props) {
    let prealloc = matches!(p.get("prealloc"), Some(Value::Bool(true)));
    let nodes = p.get("host-nodes").cloned();
    let id = match p.get("id") {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    };
    if let (true, Some(nodes), Some(id)) = (prealloc, nodes, id) {
        if b.caps.has_flag("thread-context") {
            let tc = format!("tc-{id}");
            b.object(
                &Props::new()
                    .str("qom-type", "thread-context")
                    .str("id", tc.clone())
                    .add("node-affinity", nodes),
            );
            p = p.str("prealloc-context", tc);
        }
    }
    b.object(&p);
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
        let mut spec =
            BackendSpec::new(&memdev, &memdev, align_mib(cell.memory.0), BackendUse::Cell);
        spec.node = Some(id);
        ctx.emit(b, &spec)?;
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
        && !ctx.has_huge_pages()
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
