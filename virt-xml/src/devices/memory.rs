//! `<memory>` inside `<devices>`: a hot-pluggable memory device (DIMM, NVDIMM, virtio-pmem,
//! virtio-mem, SGX EPC), as a typed value ([`MemoryDevice`]). (The top-level `<memory>` is the
//! domain's memory size, typed elsewhere.)
//!
//! Sizes libvirt keeps in KiB (`target/size`, `requested`, `block`, `source/pagesize`,
//! `alignsize`) are [`KiB`]; the others keep the unit they were written in ([`ScaledSize`]).

use crate::devices::controller::text_num;
use crate::devices::controller::{kib_text, missing, required_attr, write_kib, ScaledSize};
use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, invalid_text, str_enum};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::units::KiB;
use crate::values::Uuid;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<memory model>`.
    MemoryModel {
        Dimm = "dimm", Nvdimm = "nvdimm", VirtioPmem = "virtio-pmem", VirtioMem = "virtio-mem",
        SgxEpc = "sgx-epc",
    }
);

str_enum!(
    /// `<memory access>`: whether the backing memory is shared with other processes.
    MemoryAccess { Shared = "shared", Private = "private" }
);

/// `<source>`: where the device's memory comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemorySource {
    /// Huge page size backing the device.
    pub pagesize: Option<KiB>,
    /// Host NUMA nodes to allocate from (a libvirt node set such as `1-3`).
    pub nodemask: Option<String>,
    /// Backing file or device (NVDIMM, virtio-pmem).
    pub path: Option<String>,
    /// NVDIMM alignment.
    pub alignsize: Option<KiB>,
    /// `<pmem/>`: the backing file is real persistent memory.
    pub pmem: bool,
}

/// `<target>`: the device as the guest sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryTarget {
    pub size: KiB,
    /// Guest NUMA node.
    pub node: Option<u32>,
    /// `<label><size>`: the NVDIMM label area.
    pub label_size: Option<ScaledSize>,
    /// `<readonly/>` (NVDIMM).
    pub readonly: bool,
    /// virtio-mem block size.
    pub block: Option<KiB>,
    /// virtio-mem requested size.
    pub requested: Option<KiB>,
    /// virtio-mem size currently plugged (live XML only).
    pub current: Option<ScaledSize>,
}

impl MemoryTarget {
    /// A target of the given size.
    pub fn new(size: KiB) -> Self {
        MemoryTarget {
            size,
            node: None,
            label_size: None,
            readonly: false,
            block: None,
            requested: None,
            current: None,
        }
    }
}

/// A memory device.
///
/// ```
/// use virt_xml::devices::memory::{MemoryDevice, MemoryModel, MemoryTarget};
/// use virt_xml::writer::Writer;
/// use virt_xml::KiB;
/// let mut t = MemoryTarget::new(KiB(524288));
/// t.node = Some(0);
/// let m = MemoryDevice::new(MemoryModel::Dimm, t);
/// let mut w = Writer::new();
/// m.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<memory model='dimm'>\n  <target>\n    <size unit='KiB'>524288</size>\n    \
///      <node>0</node>\n  </target>\n</memory>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryDevice {
    pub model: MemoryModel,
    pub access: Option<MemoryAccess>,
    pub discard: Option<YesNo>,
    /// NVDIMM UUID.
    pub uuid: Option<Uuid>,
    pub source: Option<MemorySource>,
    pub target: MemoryTarget,
    /// Alias, ACPI index, address (`dimm` slot and base).
    pub info: DeviceInfo,
}

impl MemoryDevice {
    /// A device of the given model and target, nothing else set.
    pub fn new(model: MemoryModel, target: MemoryTarget) -> Self {
        MemoryDevice {
            model,
            access: None,
            discard: None,
            uuid: None,
            source: None,
            target,
            info: DeviceInfo::default(),
        }
    }

    /// Parses a schema-checked, normalised device `<memory>` element.
    pub fn from_element(el: &Element) -> Result<MemoryDevice, XmlError> {
        let uuid = match el.child("uuid") {
            None => None,
            Some(u) => Some(
                u.text()
                    .trim()
                    .parse::<Uuid>()
                    .map_err(|e| invalid_text(u, e))?,
            ),
        };
        let source = match el.child("source") {
            None => None,
            Some(s) => Some(MemorySource {
                pagesize: s.child("pagesize").map(kib_text).transpose()?,
                nodemask: s.child("nodemask").map(|n| n.text().trim().to_string()),
                path: s.child("path").map(|p| p.text().trim().to_string()),
                alignsize: s.child("alignsize").map(kib_text).transpose()?,
                pmem: s.child("pmem").is_some(),
            }),
        };
        let t = el
            .child("target")
            .ok_or_else(|| missing(el, "element <target>"))?;
        let target = MemoryTarget {
            size: kib_text(
                t.child("size")
                    .ok_or_else(|| missing(t, "element <size>"))?,
            )?,
            node: t.child("node").map(text_num).transpose()?,
            label_size: t
                .child("label")
                .and_then(|l| l.child("size"))
                .map(|s| ScaledSize::read(s, None, "unit"))
                .transpose()?,
            readonly: t.child("readonly").is_some(),
            block: t.child("block").map(kib_text).transpose()?,
            requested: t.child("requested").map(kib_text).transpose()?,
            current: t
                .child("current")
                .map(|s| ScaledSize::read(s, None, "unit"))
                .transpose()?,
        };
        Ok(MemoryDevice {
            model: required_attr(el, "model")?,
            access: attr_parse(el, "access")?,
            discard: attr_parse(el, "discard")?,
            uuid,
            source,
            target,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes the device `<memory>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("memory")
            .attr("model", self.model)
            .opt_attr("access", self.access)
            .opt_attr("discard", self.discard);
        w.element(tag, |w| {
            if let Some(u) = &self.uuid {
                w.leaf(Tag::new("uuid"), &u.to_string());
            }
            if let Some(s) = &self.source {
                w.element(Tag::new("source"), |w| {
                    if let Some(n) = &s.nodemask {
                        w.leaf(Tag::new("nodemask"), n);
                    }
                    if let Some(p) = s.pagesize {
                        write_kib(w, "pagesize", p);
                    }
                    if let Some(p) = &s.path {
                        w.leaf(Tag::new("path"), p);
                    }
                    if let Some(a) = s.alignsize {
                        write_kib(w, "alignsize", a);
                    }
                    if s.pmem {
                        w.empty(Tag::new("pmem"));
                    }
                });
            }
            let t = &self.target;
            w.element(Tag::new("target"), |w| {
                write_kib(w, "size", t.size);
                if let Some(n) = t.node {
                    w.leaf(Tag::new("node"), &n.to_string());
                }
                if let Some(l) = &t.label_size {
                    w.element(Tag::new("label"), |w| l.write_leaf(w, "size"));
                }
                if t.readonly {
                    w.empty(Tag::new("readonly"));
                }
                if let Some(b) = t.block {
                    write_kib(w, "block", b);
                }
                if let Some(r) = t.requested {
                    write_kib(w, "requested", r);
                }
                if let Some(c) = &t.current {
                    c.write_leaf(w, "current");
                }
            });
            self.info.write(w);
        });
    }
}
