//! Resource tuning: `<blkiotune>`, `<memtune>` and `<memoryBacking>`.

use super::{child, child_text, child_value, children, req_num, IdSet};
use crate::domain::{attr_parse, num_attr, str_enum};
use crate::error::XmlError;
use crate::tree::Element;
use crate::units::KiB;
use crate::writer::{Tag, Writer};

/// One `<blkiotune><device>`: per-host-device I/O weight and throttles. Zero means unset, as
/// in libvirt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlkiotuneDevice {
    /// Host block device path.
    pub path: String,
    pub weight: Option<u32>,
    pub read_iops_sec: Option<u32>,
    pub write_iops_sec: Option<u32>,
    pub read_bytes_sec: Option<u64>,
    pub write_bytes_sec: Option<u64>,
}

/// `<blkiotune>`: block I/O weight of the whole guest and of single host devices.
///
/// ```
/// use virt_xml::sections::{Blkiotune, BlkiotuneDevice};
/// let b = Blkiotune {
///     weight: Some(800),
///     devices: vec![BlkiotuneDevice {
///         path: "/dev/sda".into(),
///         read_iops_sec: Some(10000),
///         ..Default::default()
///     }],
/// };
/// let mut w = virt_xml::writer::Writer::new();
/// b.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<blkiotune>\n  <weight>800</weight>\n  <device>\n    <path>/dev/sda</path>\n    <read_iops_sec>10000</read_iops_sec>\n  </device>\n</blkiotune>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blkiotune {
    pub weight: Option<u32>,
    pub devices: Vec<BlkiotuneDevice>,
}

fn nonzero<T: PartialEq + Default>(v: Option<T>) -> Option<T> {
    v.filter(|x| *x != T::default())
}

impl BlkiotuneDevice {
    /// Whether no weight or throttle is set.
    pub fn is_unset(&self) -> bool {
        nonzero(self.weight).is_none()
            && nonzero(self.read_iops_sec).is_none()
            && nonzero(self.write_iops_sec).is_none()
            && nonzero(self.read_bytes_sec).is_none()
            && nonzero(self.write_bytes_sec).is_none()
    }
}

impl Blkiotune {
    /// Parses `<blkiotune>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let mut devices = Vec::new();
        for d in children(el, "device") {
            devices.push(BlkiotuneDevice {
                path: child_text(d, "path")
                    .map(|p| p.trim().to_string())
                    .ok_or_else(|| super::missing_child(d, "path"))?,
                weight: nonzero(child_value(d, "weight", "weight")?),
                read_iops_sec: nonzero(child_value(d, "read_iops_sec", "I/O rate")?),
                write_iops_sec: nonzero(child_value(d, "write_iops_sec", "I/O rate")?),
                read_bytes_sec: nonzero(child_value(d, "read_bytes_sec", "byte rate")?),
                write_bytes_sec: nonzero(child_value(d, "write_bytes_sec", "byte rate")?),
            });
        }
        // A device with no value set means nothing (libvirt does not write it back).
        devices.retain(|d| !d.is_unset());
        Ok(Blkiotune {
            weight: nonzero(child_value(el, "weight", "weight")?),
            devices,
        })
    }

    /// Writes `<blkiotune>`; a device with no value set is left out, as libvirt does.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("blkiotune"), |w| {
            if let Some(v) = nonzero(self.weight) {
                w.leaf(Tag::new("weight"), &v.to_string());
            }
            for d in &self.devices {
                let values: [(&str, Option<u64>); 5] = [
                    ("weight", nonzero(d.weight).map(u64::from)),
                    ("read_iops_sec", nonzero(d.read_iops_sec).map(u64::from)),
                    ("write_iops_sec", nonzero(d.write_iops_sec).map(u64::from)),
                    ("read_bytes_sec", nonzero(d.read_bytes_sec)),
                    ("write_bytes_sec", nonzero(d.write_bytes_sec)),
                ];
                if d.is_unset() {
                    continue;
                }
                w.element(Tag::new("device"), |w| {
                    w.leaf(Tag::new("path"), &d.path);
                    for (name, v) in values {
                        if let Some(v) = v {
                            w.leaf(Tag::new(name), &v.to_string());
                        }
                    }
                });
            }
        });
    }
}

/// `<memtune>`: memory limits of the guest's cgroup, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memtune {
    pub hard_limit: Option<KiB>,
    pub soft_limit: Option<KiB>,
    pub min_guarantee: Option<KiB>,
    pub swap_hard_limit: Option<KiB>,
}

/// A size element with an optional `unit`.
fn size_child(el: &Element, name: &str) -> Result<Option<KiB>, XmlError> {
    let Some(c) = child(el, name) else {
        return Ok(None);
    };
    KiB::from_scaled(&c.text(), c.attr("unit"))
        .map(Some)
        .map_err(|e| {
            if e.kind == "unit" {
                crate::domain::invalid_value(c, "unit", e)
            } else {
                crate::domain::invalid_text(c, e)
            }
        })
}

impl Memtune {
    /// Parses `<memtune>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        Ok(Memtune {
            hard_limit: size_child(el, "hard_limit")?,
            soft_limit: size_child(el, "soft_limit")?,
            min_guarantee: size_child(el, "min_guarantee")?,
            swap_hard_limit: size_child(el, "swap_hard_limit")?,
        })
    }

    /// Writes `<memtune>` with every limit in KiB.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("memtune"), |w| {
            for (name, v) in [
                ("hard_limit", self.hard_limit),
                ("soft_limit", self.soft_limit),
                ("min_guarantee", self.min_guarantee),
                ("swap_hard_limit", self.swap_hard_limit),
            ] {
                if let Some(v) = v {
                    w.leaf(Tag::new(name).attr("unit", "KiB"), &v.to_string());
                }
            }
        });
    }
}

/// One `<hugepages><page>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hugepage {
    /// Page size.
    pub size: KiB,
    /// Guest NUMA nodes backed by this page size (all when absent).
    pub nodeset: Option<IdSet>,
}

str_enum!(
    /// `<memoryBacking><source type>`.
    MemSource { File = "file", Anonymous = "anonymous", Memfd = "memfd" }
);

str_enum!(
    /// `<memoryBacking><access mode>`.
    MemAccess { Shared = "shared", Private = "private" }
);

str_enum!(
    /// `<memoryBacking><allocation mode>`.
    AllocationMode { Immediate = "immediate", Ondemand = "ondemand" }
);

/// `<memoryBacking><allocation>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemAllocation {
    pub mode: Option<AllocationMode>,
    /// Threads used to preallocate memory.
    pub threads: Option<u32>,
}

/// `<memoryBacking>`: how guest memory is backed on the host.
///
/// ```
/// use virt_xml::sections::{MemoryBacking, MemSource, MemAccess};
/// let m = MemoryBacking {
///     source: Some(MemSource::Memfd),
///     access: Some(MemAccess::Shared),
///     ..Default::default()
/// };
/// let mut w = virt_xml::writer::Writer::new();
/// m.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<memoryBacking>\n  <source type='memfd'/>\n  <access mode='shared'/>\n</memoryBacking>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemoryBacking {
    /// `<hugepages>`: `Some(vec![])` is `<hugepages/>` (default huge page size everywhere).
    pub hugepages: Option<Vec<Hugepage>>,
    pub nosharepages: bool,
    pub locked: bool,
    pub source: Option<MemSource>,
    pub access: Option<MemAccess>,
    pub allocation: Option<MemAllocation>,
    pub discard: bool,
}

impl MemoryBacking {
    /// Parses `<memoryBacking>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let hugepages = match child(el, "hugepages") {
            None => None,
            Some(h) => {
                let mut pages = Vec::new();
                for p in children(h, "page") {
                    let size: u64 = req_num(p, "size")?;
                    let size = KiB::from_scaled(&size.to_string(), p.attr("unit"))
                        .map_err(|e| crate::domain::invalid_value(p, "unit", e))?;
                    pages.push(Hugepage {
                        size,
                        nodeset: attr_parse(p, "nodeset")?,
                    });
                }
                Some(pages)
            }
        };
        let allocation = match child(el, "allocation") {
            None => None,
            Some(a) => Some(MemAllocation {
                mode: attr_parse(a, "mode")?,
                threads: num_attr(a, "threads")?,
            }),
        };
        Ok(MemoryBacking {
            hugepages,
            nosharepages: child(el, "nosharepages").is_some(),
            locked: child(el, "locked").is_some(),
            source: child(el, "source")
                .map(|s| super::req_attr(s, "type"))
                .transpose()?,
            access: child(el, "access")
                .map(|s| super::req_attr(s, "mode"))
                .transpose()?,
            allocation,
            discard: child(el, "discard").is_some(),
        })
    }

    /// Writes `<memoryBacking>` in libvirt's child order.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("memoryBacking"), |w| {
            if let Some(pages) = &self.hugepages {
                w.element(Tag::new("hugepages"), |w| {
                    for p in pages {
                        w.empty(
                            Tag::new("page")
                                .attr("size", p.size)
                                .attr("unit", "KiB")
                                .opt_attr("nodeset", p.nodeset.as_ref()),
                        );
                    }
                });
            }
            if self.nosharepages {
                w.empty(Tag::new("nosharepages"));
            }
            if self.locked {
                w.empty(Tag::new("locked"));
            }
            if let Some(s) = self.source {
                w.empty(Tag::new("source").attr("type", s));
            }
            if let Some(a) = self.access {
                w.empty(Tag::new("access").attr("mode", a));
            }
            if let Some(a) = self.allocation {
                w.empty(
                    Tag::new("allocation")
                        .opt_attr("mode", a.mode)
                        .opt_attr("threads", a.threads),
                );
            }
            if self.discard {
                w.empty(Tag::new("discard"));
            }
        });
    }
}
