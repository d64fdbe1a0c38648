//! vCPU and I/O thread layout and CPU tuning: `<vcpus>`, `<iothreads>`, `<iothreadids>`,
//! `<defaultiothread>`, `<cputune>`, `<numatune>` and `<resource>`.

use super::{
    bad_attr, child, child_text, child_value, children, local, req_attr, req_num, yes_no, yn, IdSet,
};
use crate::domain::{attr_parse, num_attr, str_enum};
use crate::error::XmlError;
use crate::tree::Element;
use crate::units::unit_bytes;
use crate::writer::{Tag, Writer};

/// One `<vcpus><vcpu>`: a vCPU's state for hotplug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VcpuInfo {
    pub id: u32,
    pub enabled: bool,
    pub hotpluggable: Option<bool>,
    /// Order in which hot-plugged vCPUs come online.
    pub order: Option<u32>,
}

/// `<vcpus>`: per-vCPU state, written in id order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vcpus {
    pub vcpus: Vec<VcpuInfo>,
}

impl Vcpus {
    /// Parses `<vcpus>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let mut vcpus = Vec::new();
        for v in children(el, "vcpu") {
            vcpus.push(VcpuInfo {
                id: req_num(v, "id")?,
                enabled: yes_no(v, "enabled")?.ok_or_else(|| super::missing_attr(v, "enabled"))?,
                hotpluggable: yes_no(v, "hotpluggable")?,
                order: num_attr(v, "order")?,
            });
        }
        vcpus.sort_by_key(|v| v.id);
        Ok(Vcpus { vcpus })
    }

    /// Writes `<vcpus>`.
    pub fn write(&self, w: &mut Writer) {
        let mut vcpus = self.vcpus.clone();
        vcpus.sort_by_key(|v| v.id);
        w.element(Tag::new("vcpus"), |w| {
            for v in &vcpus {
                w.empty(
                    Tag::new("vcpu")
                        .attr("id", v.id)
                        .attr("enabled", yn(v.enabled))
                        .opt_attr("hotpluggable", v.hotpluggable.map(yn))
                        .opt_attr("order", v.order),
                );
            }
        });
    }
}

/// `<iothreads>`: how many I/O threads the guest has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iothreads(pub u32);

impl Iothreads {
    /// Parses `<iothreads>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        super::text_value(el, "iothread count").map(Iothreads)
    }

    /// Writes `<iothreads>`.
    pub fn write(&self, w: &mut Writer) {
        w.leaf(Tag::new("iothreads"), &self.0.to_string());
    }
}

/// One `<iothreadids><iothread>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iothread {
    pub id: u32,
    pub thread_pool_min: Option<u32>,
    pub thread_pool_max: Option<u32>,
}

/// `<iothreadids>`: the ids of the guest's I/O threads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IothreadIds {
    pub iothreads: Vec<Iothread>,
}

impl IothreadIds {
    /// Parses `<iothreadids>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let mut iothreads = Vec::new();
        for t in children(el, "iothread") {
            iothreads.push(Iothread {
                id: req_num(t, "id")?,
                thread_pool_min: num_attr(t, "thread_pool_min")?,
                thread_pool_max: num_attr(t, "thread_pool_max")?,
            });
        }
        Ok(IothreadIds { iothreads })
    }

    /// Writes `<iothreadids>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("iothreadids"), |w| {
            for t in &self.iothreads {
                w.empty(
                    Tag::new("iothread")
                        .attr("id", t.id)
                        .opt_attr("thread_pool_min", t.thread_pool_min)
                        .opt_attr("thread_pool_max", t.thread_pool_max),
                );
            }
        });
    }
}

/// `<defaultiothread>`: the thread pool of the emulator's main I/O loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DefaultIothread {
    pub thread_pool_min: Option<u32>,
    pub thread_pool_max: Option<u32>,
}

impl DefaultIothread {
    /// Parses `<defaultiothread>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        Ok(DefaultIothread {
            thread_pool_min: num_attr(el, "thread_pool_min")?,
            thread_pool_max: num_attr(el, "thread_pool_max")?,
        })
    }

    /// Writes `<defaultiothread>` (nothing when neither bound is set, as libvirt does).
    pub fn write(&self, w: &mut Writer) {
        if *self == DefaultIothread::default() {
            return;
        }
        w.empty(
            Tag::new("defaultiothread")
                .opt_attr("thread_pool_min", self.thread_pool_min)
                .opt_attr("thread_pool_max", self.thread_pool_max),
        );
    }
}

/// A thread scheduler: `scheduler` and, for the real-time ones, `priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    Batch,
    Idle,
    Fifo(u16),
    Rr(u16),
}

str_enum!(
    /// `scheduler` names.
    SchedPolicy { Batch = "batch", Idle = "idle", Fifo = "fifo", Rr = "rr" }
);

impl Scheduler {
    fn from_element(el: &Element) -> Result<Self, XmlError> {
        let policy: SchedPolicy = req_attr(el, "scheduler")?;
        let prio = || -> Result<u16, XmlError> { req_num(el, "priority") };
        Ok(match policy {
            SchedPolicy::Batch => Scheduler::Batch,
            SchedPolicy::Idle => Scheduler::Idle,
            SchedPolicy::Fifo => Scheduler::Fifo(prio()?),
            SchedPolicy::Rr => Scheduler::Rr(prio()?),
        })
    }

    /// The policy without its priority.
    pub fn policy(&self) -> SchedPolicy {
        match self {
            Scheduler::Batch => SchedPolicy::Batch,
            Scheduler::Idle => SchedPolicy::Idle,
            Scheduler::Fifo(_) => SchedPolicy::Fifo,
            Scheduler::Rr(_) => SchedPolicy::Rr,
        }
    }

    /// The real-time priority, if any.
    pub fn priority(&self) -> Option<u16> {
        match self {
            Scheduler::Fifo(p) | Scheduler::Rr(p) => Some(*p),
            _ => None,
        }
    }

    fn push(&self, tag: Tag) -> Tag {
        tag.attr("scheduler", self.policy())
            .opt_attr("priority", self.priority())
    }
}

/// `<vcpupin>`: host CPUs a vCPU may run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcpuPin {
    pub vcpu: u32,
    pub cpuset: IdSet,
}

/// `<iothreadpin>`: host CPUs an I/O thread may run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadPin {
    pub iothread: u32,
    pub cpuset: IdSet,
}

/// `<vcpusched>` / `<iothreadsched>`: the scheduler of some vCPUs or I/O threads (libvirt
/// splits a list into one entry per id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadSched {
    /// `vcpus` / `iothreads`.
    pub ids: IdSet,
    pub scheduler: Scheduler,
}

str_enum!(
    /// `<cache type>`.
    CacheType { Both = "both", Code = "code", Data = "data" }
);

/// `<cachetune>` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheTuneEntry {
    /// `<cache>`: an allocation of `size` bytes of the cache `id` at `level`.
    Cache {
        id: u32,
        level: u32,
        kind: CacheType,
        /// In bytes; written in the largest binary unit that holds it exactly.
        size: u64,
    },
    /// `<monitor>`: a cache occupancy monitor for some of the tune's vCPUs.
    Monitor { level: u32, vcpus: IdSet },
}

/// `<cachetune>`: a cache allocation (resctrl) for some vCPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheTune {
    pub vcpus: IdSet,
    /// The resctrl group id (live definitions only).
    pub id: Option<String>,
    /// Allocations, then monitors (libvirt's order: allocations by level, type and cache id).
    pub entries: Vec<CacheTuneEntry>,
}

/// `<memorytune>` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryTuneEntry {
    /// `<node>`: memory bandwidth (percent) on a host NUMA node.
    Node { id: u32, bandwidth: u32 },
    /// `<monitor>`.
    Monitor { vcpus: IdSet },
}

/// `<memorytune>`: a memory bandwidth allocation for some vCPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryTune {
    pub vcpus: IdSet,
    /// Node allocations (by node id), then monitors.
    pub entries: Vec<MemoryTuneEntry>,
}

/// `<cputune>`: CPU shares, bandwidth, pinning, schedulers and resctrl allocations.
///
/// ```
/// use virt_xml::sections::{Cputune, VcpuPin, IdSet};
/// let c = Cputune {
///     shares: Some(2048),
///     period: Some(1000000),
///     quota: Some(-1),
///     vcpupin: vec![VcpuPin { vcpu: 0, cpuset: "0-1,^1,3".parse().expect("set") }],
///     emulatorpin: Some(IdSet::single(1)),
///     ..Default::default()
/// };
/// let mut w = virt_xml::writer::Writer::new();
/// c.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<cputune>\n  <shares>2048</shares>\n  <period>1000000</period>\n  <quota>-1</quota>\n  <vcpupin vcpu='0' cpuset='0,3'/>\n  <emulatorpin cpuset='1'/>\n</cputune>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cputune {
    pub shares: Option<u64>,
    pub period: Option<u64>,
    pub quota: Option<i64>,
    pub global_period: Option<u64>,
    pub global_quota: Option<i64>,
    pub emulator_period: Option<u64>,
    pub emulator_quota: Option<i64>,
    pub iothread_period: Option<u64>,
    pub iothread_quota: Option<i64>,
    pub vcpupin: Vec<VcpuPin>,
    pub emulatorpin: Option<IdSet>,
    pub iothreadpin: Vec<ThreadPin>,
    pub emulatorsched: Option<Scheduler>,
    pub vcpusched: Vec<ThreadSched>,
    pub iothreadsched: Vec<ThreadSched>,
    pub cachetune: Vec<CacheTune>,
    pub memorytune: Vec<MemoryTune>,
}

/// The `<cache>` allocations of a tune in libvirt's order, then its monitors.
fn order_cache_entries(entries: &mut [CacheTuneEntry]) {
    entries.sort_by_key(|e| match e {
        CacheTuneEntry::Cache {
            id, level, kind, ..
        } => (0, *level, *kind as u32, *id),
        CacheTuneEntry::Monitor { .. } => (1, 0, 0, 0),
    });
}

fn order_memory_entries(entries: &mut [MemoryTuneEntry]) {
    entries.sort_by_key(|e| match e {
        MemoryTuneEntry::Node { id, .. } => (0, *id),
        MemoryTuneEntry::Monitor { .. } => (1, 0),
    });
}

/// `size` with `unit` (KiB when absent) in bytes.
fn cache_size(el: &Element) -> Result<u64, XmlError> {
    let size: u64 = req_num(el, "size")?;
    let scale = match el.attr("unit") {
        None => 1024,
        Some(u) => unit_bytes(u).ok_or_else(|| bad_attr(el, "unit", "unit", "unknown unit"))?,
    };
    size.checked_mul(scale)
        .ok_or_else(|| bad_attr(el, "size", "size", "too large"))
}

/// A byte count in the largest binary unit that holds it exactly (libvirt's "pretty" sizes).
fn pretty_bytes(mut v: u64) -> (u64, &'static str) {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut i = 0;
    while i + 1 < UNITS.len() && v != 0 && v % 1024 == 0 {
        v /= 1024;
        i += 1;
    }
    (v, UNITS[i])
}

impl Cputune {
    /// Parses `<cputune>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let mut c = Cputune {
            shares: child_value(el, "shares", "CPU shares")?,
            period: child_value(el, "period", "CPU period")?,
            quota: child_value(el, "quota", "CPU quota")?,
            global_period: child_value(el, "global_period", "CPU period")?,
            global_quota: child_value(el, "global_quota", "CPU quota")?,
            emulator_period: child_value(el, "emulator_period", "CPU period")?,
            emulator_quota: child_value(el, "emulator_quota", "CPU quota")?,
            iothread_period: child_value(el, "iothread_period", "CPU period")?,
            iothread_quota: child_value(el, "iothread_quota", "CPU quota")?,
            emulatorpin: child(el, "emulatorpin")
                .map(|e| req_attr(e, "cpuset"))
                .transpose()?,
            emulatorsched: child(el, "emulatorsched")
                .map(Scheduler::from_element)
                .transpose()?,
            ..Default::default()
        };
        for e in el.elements() {
            match local(&e.name) {
                "vcpupin" => c.vcpupin.push(VcpuPin {
                    vcpu: req_num(e, "vcpu")?,
                    cpuset: req_attr(e, "cpuset")?,
                }),
                "iothreadpin" => c.iothreadpin.push(ThreadPin {
                    iothread: req_num(e, "iothread")?,
                    cpuset: req_attr(e, "cpuset")?,
                }),
                "vcpusched" => c.vcpusched.push(ThreadSched {
                    ids: req_attr(e, "vcpus")?,
                    scheduler: Scheduler::from_element(e)?,
                }),
                "iothreadsched" => c.iothreadsched.push(ThreadSched {
                    ids: req_attr(e, "iothreads")?,
                    scheduler: Scheduler::from_element(e)?,
                }),
                "cachetune" => {
                    let mut entries = Vec::new();
                    for x in e.elements() {
                        match local(&x.name) {
                            "cache" => entries.push(CacheTuneEntry::Cache {
                                id: req_num(x, "id")?,
                                level: req_num(x, "level")?,
                                kind: req_attr(x, "type")?,
                                size: cache_size(x)?,
                            }),
                            "monitor" => entries.push(CacheTuneEntry::Monitor {
                                level: req_num(x, "level")?,
                                vcpus: req_attr(x, "vcpus")?,
                            }),
                            _ => {}
                        }
                    }
                    order_cache_entries(&mut entries);
                    c.cachetune.push(CacheTune {
                        vcpus: req_attr(e, "vcpus")?,
                        id: e.attr("id").map(str::to_string),
                        entries,
                    });
                }
                "memorytune" => {
                    let mut entries = Vec::new();
                    for x in e.elements() {
                        match local(&x.name) {
                            "node" => entries.push(MemoryTuneEntry::Node {
                                id: req_num(x, "id")?,
                                bandwidth: req_num(x, "bandwidth")?,
                            }),
                            "monitor" => entries.push(MemoryTuneEntry::Monitor {
                                vcpus: req_attr(x, "vcpus")?,
                            }),
                            _ => {}
                        }
                    }
                    order_memory_entries(&mut entries);
                    c.memorytune.push(MemoryTune {
                        vcpus: req_attr(e, "vcpus")?,
                        entries,
                    });
                }
                _ => {}
            }
        }
        Ok(c)
    }

    /// Writes `<cputune>` in libvirt's child order.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("cputune"), |w| {
            if let Some(v) = self.shares {
                w.leaf(Tag::new("shares"), &v.to_string());
            }
            let bw: [(&str, Option<i128>); 8] = [
                ("period", self.period.map(i128::from)),
                ("quota", self.quota.map(i128::from)),
                ("global_period", self.global_period.map(i128::from)),
                ("global_quota", self.global_quota.map(i128::from)),
                ("emulator_period", self.emulator_period.map(i128::from)),
                ("emulator_quota", self.emulator_quota.map(i128::from)),
                ("iothread_period", self.iothread_period.map(i128::from)),
                ("iothread_quota", self.iothread_quota.map(i128::from)),
            ];
            for (name, v) in bw {
                if let Some(v) = v {
                    w.leaf(Tag::new(name), &v.to_string());
                }
            }
            for p in &self.vcpupin {
                w.empty(
                    Tag::new("vcpupin")
                        .attr("vcpu", p.vcpu)
                        .attr("cpuset", &p.cpuset),
                );
            }
            if let Some(s) = &self.emulatorpin {
                w.empty(Tag::new("emulatorpin").attr("cpuset", s));
            }
            for p in &self.iothreadpin {
                w.empty(
                    Tag::new("iothreadpin")
                        .attr("iothread", p.iothread)
                        .attr("cpuset", &p.cpuset),
                );
            }
            if let Some(s) = &self.emulatorsched {
                w.empty(s.push(Tag::new("emulatorsched")));
            }
            for s in &self.vcpusched {
                w.empty(
                    s.scheduler
                        .push(Tag::new("vcpusched").attr("vcpus", &s.ids)),
                );
            }
            for s in &self.iothreadsched {
                w.empty(
                    s.scheduler
                        .push(Tag::new("iothreadsched").attr("iothreads", &s.ids)),
                );
            }
            for t in &self.cachetune {
                let mut entries = t.entries.clone();
                order_cache_entries(&mut entries);
                let tag = Tag::new("cachetune")
                    .attr("vcpus", &t.vcpus)
                    .opt_attr("id", t.id.as_deref());
                w.element(tag, |w| {
                    for e in &entries {
                        match e {
                            CacheTuneEntry::Cache {
                                id,
                                level,
                                kind,
                                size,
                            } => {
                                let (v, unit) = pretty_bytes(*size);
                                w.empty(
                                    Tag::new("cache")
                                        .attr("id", id)
                                        .attr("level", level)
                                        .attr("type", kind)
                                        .attr("size", v)
                                        .attr("unit", unit),
                                );
                            }
                            CacheTuneEntry::Monitor { level, vcpus } => w.empty(
                                Tag::new("monitor")
                                    .attr("level", level)
                                    .attr("vcpus", vcpus),
                            ),
                        }
                    }
                });
            }
            for t in &self.memorytune {
                let mut entries = t.entries.clone();
                order_memory_entries(&mut entries);
                w.element(Tag::new("memorytune").attr("vcpus", &t.vcpus), |w| {
                    for e in &entries {
                        match e {
                            MemoryTuneEntry::Node { id, bandwidth } => w.empty(
                                Tag::new("node").attr("id", id).attr("bandwidth", bandwidth),
                            ),
                            MemoryTuneEntry::Monitor { vcpus } => {
                                w.empty(Tag::new("monitor").attr("vcpus", vcpus))
                            }
                        }
                    }
                });
            }
        });
    }
}

str_enum!(
    /// NUMA memory policy.
    NumaMode {
        Strict = "strict", Preferred = "preferred", Interleave = "interleave",
        Restrictive = "restrictive",
    }
);

/// Where the guest's memory may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumaPlacement {
    /// Fixed host NUMA nodes (`nodeset`).
    Static(IdSet),
    /// Chosen by numad (`placement='auto'`); also what a `<memory>` with no nodeset means.
    Auto,
}

/// `<numatune><memory>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumaMemory {
    /// Policy (libvirt's default: strict).
    pub mode: NumaMode,
    pub placement: NumaPlacement,
}

/// `<numatune><memnode>`: the policy of one guest NUMA cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemNode {
    pub cellid: u32,
    pub mode: NumaMode,
    pub nodeset: IdSet,
}

/// `<numatune>`: host NUMA policy of guest memory.
///
/// ```
/// use virt_xml::sections::{Numatune, NumaMemory, NumaMode, NumaPlacement};
/// let n = Numatune {
///     memory: Some(NumaMemory { mode: NumaMode::Strict, placement: NumaPlacement::Auto }),
///     memnodes: vec![],
/// };
/// let mut w = virt_xml::writer::Writer::new();
/// n.write(&mut w);
/// assert_eq!(w.finish(), "<numatune>\n  <memory mode='strict' placement='auto'/>\n</numatune>\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Numatune {
    pub memory: Option<NumaMemory>,
    /// Per-cell policies, written by cell id.
    pub memnodes: Vec<MemNode>,
}

impl Numatune {
    /// Parses `<numatune>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let memory = match child(el, "memory") {
            None => None,
            Some(m) => {
                let nodeset: Option<IdSet> = attr_parse(m, "nodeset")?;
                let placement = match (m.attr("placement"), nodeset) {
                    (Some("auto"), _) | (_, None) => NumaPlacement::Auto,
                    (Some("static") | None, Some(ns)) => NumaPlacement::Static(ns),
                    (Some(_), _) => {
                        return Err(bad_attr(
                            m,
                            "placement",
                            "placement",
                            "expected static or auto",
                        ))
                    }
                };
                Some(NumaMemory {
                    mode: attr_parse(m, "mode")?.unwrap_or(NumaMode::Strict),
                    placement,
                })
            }
        };
        let mut memnodes = Vec::new();
        for n in children(el, "memnode") {
            memnodes.push(MemNode {
                cellid: req_num(n, "cellid")?,
                mode: req_attr(n, "mode")?,
                nodeset: req_attr(n, "nodeset")?,
            });
        }
        memnodes.sort_by_key(|n| n.cellid);
        Ok(Numatune { memory, memnodes })
    }

    /// Writes `<numatune>`.
    pub fn write(&self, w: &mut Writer) {
        let mut memnodes = self.memnodes.clone();
        memnodes.sort_by_key(|n| n.cellid);
        w.element(Tag::new("numatune"), |w| {
            if let Some(m) = &self.memory {
                let tag = Tag::new("memory").attr("mode", m.mode);
                let tag = match &m.placement {
                    NumaPlacement::Auto => tag.attr("placement", "auto"),
                    NumaPlacement::Static(ns) => tag.attr("nodeset", ns),
                };
                w.empty(tag);
            }
            for n in &memnodes {
                w.empty(
                    Tag::new("memnode")
                        .attr("cellid", n.cellid)
                        .attr("mode", n.mode)
                        .attr("nodeset", &n.nodeset),
                );
            }
        });
    }
}

/// `<resource>`: the guest's resource partition (cgroup path) and Fibre Channel app id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resource {
    /// `<partition>`, e.g. `/machine`.
    pub partition: Option<String>,
    /// `<fibrechannel appid>`.
    pub fibrechannel_appid: Option<String>,
}

impl Resource {
    /// Parses `<resource>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        Ok(Resource {
            partition: child_text(el, "partition").map(|p| p.trim().to_string()),
            fibrechannel_appid: child(el, "fibrechannel")
                .map(|f| super::req_str(f, "appid"))
                .transpose()?,
        })
    }

    /// Writes `<resource>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("resource"), |w| {
            if let Some(p) = &self.partition {
                w.leaf(Tag::new("partition"), p);
            }
            if let Some(a) = &self.fibrechannel_appid {
                w.empty(Tag::new("fibrechannel").attr("appid", a));
            }
        });
    }
}
