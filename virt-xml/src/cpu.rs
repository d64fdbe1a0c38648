//! `<cpu>`: the guest CPU (mode, model, vendor, topology, cache, physical address bits, features
//! with their policy, NUMA cells and interconnects) as a typed value ([`Cpu`]) with its own parser
//! (from the schema-checked, normalised element) and its canonical formatter.
//!
//! Attributes are kept as given (libvirt's driver-level defaults such as `check` are not filled in
//! here); children are written in libvirt's order. NUMA cell memory is in KiB (the normaliser
//! converts it).

use crate::domain::{attr_parse, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::units::KiB;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<cpu mode>`.
    CpuMode {
        Custom = "custom", HostModel = "host-model", HostPassthrough = "host-passthrough",
        Maximum = "maximum",
    }
);

str_enum!(
    /// `<cpu match>`.
    CpuMatch { Minimum = "minimum", Exact = "exact", Strict = "strict" }
);

str_enum!(
    /// `<cpu check>`.
    CpuCheck { None = "none", Partial = "partial", Full = "full" }
);

str_enum!(
    /// `<model fallback>`.
    ModelFallback { Allow = "allow", Forbid = "forbid" }
);

str_enum!(
    /// `<feature policy>`.
    FeaturePolicy {
        Force = "force", Require = "require", Optional = "optional", Disable = "disable",
        Forbid = "forbid",
    }
);

str_enum!(
    /// `<cache mode>`.
    CacheMode { Emulate = "emulate", Passthrough = "passthrough", Disable = "disable" }
);

str_enum!(
    /// `<maxphysaddr mode>`.
    PhysAddrMode { Emulate = "emulate", Passthrough = "passthrough" }
);

str_enum!(
    /// `<cell memAccess>`.
    MemAccess { Shared = "shared", Private = "private" }
);

str_enum!(
    /// `<cell><cache associativity>`.
    CacheAssociativity { None = "none", Direct = "direct", Full = "full" }
);

str_enum!(
    /// `<cell><cache policy>`.
    CachePolicy { None = "none", Writeback = "writeback", Writethrough = "writethrough" }
);

str_enum!(
    /// `<latency type>` / `<bandwidth type>`.
    AccessType { Access = "access", Read = "read", Write = "write" }
);

/// `<model>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuModel {
    pub name: Option<String>,
    pub fallback: Option<ModelFallback>,
    pub vendor_id: Option<String>,
}

/// `<topology>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    pub sockets: u32,
    /// 1 when not given (libvirt always writes it).
    pub dies: u32,
    pub cores: u32,
    pub threads: u32,
}

/// `<cache>` (of the CPU, not of a NUMA cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuCache {
    pub level: Option<u8>,
    pub mode: CacheMode,
}

/// `<maxphysaddr>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPhysAddr {
    pub mode: PhysAddrMode,
    pub bits: Option<u32>,
}

/// `<feature policy name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuFeature {
    pub policy: FeaturePolicy,
    pub name: String,
}

/// A size written as `value` and `unit` (NUMA cache sizes and lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sized {
    pub value: u64,
    pub unit: Option<String>,
}

/// `<cell><cache>`: a memory-side cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumaCache {
    pub level: u32,
    pub associativity: CacheAssociativity,
    pub policy: CachePolicy,
    pub size: Sized,
    pub line: Sized,
}

/// `<sibling id value>`: the distance to another cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sibling {
    pub id: u32,
    pub value: u32,
}

/// `<numa><cell>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumaCell {
    pub id: Option<u32>,
    /// The cell's vCPUs (a cpuset list such as `0-3,8`).
    pub cpus: Option<String>,
    /// KiB.
    pub memory: KiB,
    pub mem_access: Option<MemAccess>,
    pub discard: Option<bool>,
    pub distances: Vec<Sibling>,
    pub caches: Vec<NumaCache>,
}

/// `<interconnects><latency|bandwidth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interconnect {
    pub initiator: u32,
    pub target: u32,
    pub cache: Option<u32>,
    pub kind: AccessType,
    pub value: u64,
    /// Bandwidth only.
    pub unit: Option<String>,
}

/// `<numa>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Numa {
    pub cells: Vec<NumaCell>,
    pub latencies: Vec<Interconnect>,
    pub bandwidths: Vec<Interconnect>,
}

/// `<cpu>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cpu {
    pub mode: Option<CpuMode>,
    pub match_: Option<CpuMatch>,
    pub check: Option<CpuCheck>,
    pub migratable: Option<OnOff>,
    pub model: Option<CpuModel>,
    pub vendor: Option<String>,
    pub topology: Option<Topology>,
    pub cache: Option<CpuCache>,
    pub maxphysaddr: Option<MaxPhysAddr>,
    pub features: Vec<CpuFeature>,
    pub numa: Option<Numa>,
}

fn required<T: std::str::FromStr<Err = ValueError>>(
    el: &Element,
    name: &str,
) -> Result<T, XmlError> {
    attr_parse(el, name)?.ok_or_else(|| missing(el, name))
}

fn required_num<T: std::str::FromStr>(el: &Element, name: &str) -> Result<T, XmlError> {
    num_attr(el, name)?.ok_or_else(|| missing(el, name))
}

fn missing(el: &Element, name: &str) -> XmlError {
    XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: format!("attribute '{name}'"),
    }
}

fn sized(el: &Element) -> Result<Sized, XmlError> {
    Ok(Sized {
        value: required_num(el, "value")?,
        unit: el.attr("unit").map(str::to_string),
    })
}

fn sized_child(el: &Element, name: &str) -> Result<Sized, XmlError> {
    let c = el.child(name).ok_or_else(|| XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: format!("element <{name}>"),
    })?;
    sized(c)
}

fn interconnect(el: &Element) -> Result<Interconnect, XmlError> {
    Ok(Interconnect {
        initiator: required_num(el, "initiator")?,
        target: required_num(el, "target")?,
        cache: num_attr(el, "cache")?,
        kind: required(el, "type")?,
        value: required_num(el, "value")?,
        unit: el.attr("unit").map(str::to_string),
    })
}

impl Cpu {
    /// Parses a schema-checked `<cpu>` element.
    pub fn from_element(el: &Element) -> Result<Cpu, XmlError> {
        let mut c = Cpu {
            mode: attr_parse(el, "mode")?,
            match_: attr_parse(el, "match")?,
            check: attr_parse(el, "check")?,
            migratable: attr_parse(el, "migratable")?,
            ..Cpu::default()
        };
        if let Some(m) = el.child("model") {
            c.model = Some(CpuModel {
                name: Some(m.text()).filter(|t| !t.trim().is_empty()),
                fallback: attr_parse(m, "fallback")?,
                vendor_id: m.attr("vendor_id").map(str::to_string),
            });
        }
        c.vendor = el.child("vendor").map(Element::text);
        if let Some(t) = el.child("topology") {
            c.topology = Some(Topology {
                sockets: required_num(t, "sockets")?,
                dies: num_attr(t, "dies")?.unwrap_or(1),
                cores: required_num(t, "cores")?,
                threads: required_num(t, "threads")?,
            });
        }
        if let Some(k) = el.child("cache") {
            c.cache = Some(CpuCache {
                level: num_attr(k, "level")?,
                mode: required(k, "mode")?,
            });
        }
        if let Some(p) = el.child("maxphysaddr") {
            c.maxphysaddr = Some(MaxPhysAddr {
                mode: required(p, "mode")?,
                bits: num_attr(p, "bits")?,
            });
        }
        for f in el.children_named("feature") {
            c.features.push(CpuFeature {
                policy: required(f, "policy")?,
                name: f
                    .attr("name")
                    .ok_or_else(|| missing(f, "name"))?
                    .to_string(),
            });
        }
        if let Some(n) = el.child("numa") {
            let mut numa = Numa::default();
            for cell in n.children_named("cell") {
                let mut nc = NumaCell {
                    id: num_attr(cell, "id")?,
                    cpus: cell.attr("cpus").map(str::to_string),
                    memory: KiB(required_num(cell, "memory")?),
                    mem_access: attr_parse(cell, "memAccess")?,
                    discard: attr_parse::<YesNo>(cell, "discard")?.map(bool::from),
                    distances: Vec::new(),
                    caches: Vec::new(),
                };
                if let Some(d) = cell.child("distances") {
                    for s in d.children_named("sibling") {
                        nc.distances.push(Sibling {
                            id: required_num(s, "id")?,
                            value: required_num(s, "value")?,
                        });
                    }
                }
                for k in cell.children_named("cache") {
                    nc.caches.push(NumaCache {
                        level: required_num(k, "level")?,
                        associativity: required(k, "associativity")?,
                        policy: required(k, "policy")?,
                        size: sized_child(k, "size")?,
                        line: sized_child(k, "line")?,
                    });
                }
                numa.cells.push(nc);
            }
            if let Some(ic) = n.child("interconnects") {
                for l in ic.children_named("latency") {
                    numa.latencies.push(interconnect(l)?);
                }
                for b in ic.children_named("bandwidth") {
                    numa.bandwidths.push(interconnect(b)?);
                }
            }
            c.numa = Some(numa);
        }
        Ok(c)
    }

    /// Writes `<cpu>` in libvirt's child order.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("cpu")
            .opt_attr("mode", self.mode)
            .opt_attr("match", self.match_)
            .opt_attr("check", self.check)
            .opt_attr("migratable", self.migratable);
        w.element(tag, |w| {
            if let Some(m) = &self.model {
                let tag = Tag::new("model")
                    .opt_attr("fallback", m.fallback)
                    .opt_attr("vendor_id", m.vendor_id.as_deref());
                match &m.name {
                    Some(n) => w.leaf(tag, n),
                    None => w.empty(tag),
                }
            }
            if let Some(v) = &self.vendor {
                w.leaf(Tag::new("vendor"), v);
            }
            if let Some(t) = self.topology {
                w.empty(
                    Tag::new("topology")
                        .attr("sockets", t.sockets)
                        .attr("dies", t.dies)
                        .attr("cores", t.cores)
                        .attr("threads", t.threads),
                );
            }
            if let Some(k) = self.cache {
                w.empty(
                    Tag::new("cache")
                        .opt_attr("level", k.level)
                        .attr("mode", k.mode),
                );
            }
            if let Some(p) = self.maxphysaddr {
                w.empty(
                    Tag::new("maxphysaddr")
                        .attr("mode", p.mode)
                        .opt_attr("bits", p.bits),
                );
            }
            for f in &self.features {
                w.empty(
                    Tag::new("feature")
                        .attr("policy", f.policy)
                        .attr("name", &f.name),
                );
            }
            if let Some(n) = &self.numa {
                write_numa(w, n);
            }
        });
    }
}

fn write_numa(w: &mut Writer, n: &Numa) {
    w.element(Tag::new("numa"), |w| {
        for c in &n.cells {
            let tag = Tag::new("cell")
                .opt_attr("id", c.id)
                .opt_attr("cpus", c.cpus.as_deref())
                .attr("memory", c.memory.0)
                .attr("unit", "KiB")
                .opt_attr("memAccess", c.mem_access)
                .opt_attr("discard", c.discard.map(YesNo::from));
            w.element(tag, |w| {
                if !c.distances.is_empty() {
                    w.element(Tag::new("distances"), |w| {
                        for s in &c.distances {
                            w.empty(Tag::new("sibling").attr("id", s.id).attr("value", s.value));
                        }
                    });
                }
                for k in &c.caches {
                    let tag = Tag::new("cache")
                        .attr("level", k.level)
                        .attr("associativity", k.associativity)
                        .attr("policy", k.policy);
                    w.element(tag, |w| {
                        for (name, s) in [("size", &k.size), ("line", &k.line)] {
                            w.empty(
                                Tag::new(name)
                                    .attr("value", s.value)
                                    .opt_attr("unit", s.unit.as_deref()),
                            );
                        }
                    });
                }
            });
        }
        if !n.latencies.is_empty() || !n.bandwidths.is_empty() {
            w.element(Tag::new("interconnects"), |w| {
                for (name, list) in [("latency", &n.latencies), ("bandwidth", &n.bandwidths)] {
                    for i in list {
                        w.empty(
                            Tag::new(name)
                                .attr("initiator", i.initiator)
                                .attr("target", i.target)
                                .opt_attr("cache", i.cache)
                                .attr("type", i.kind)
                                .attr("value", i.value)
                                .opt_attr("unit", i.unit.as_deref()),
                        );
                    }
                }
            });
        }
    });
}
