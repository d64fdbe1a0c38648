//! Top-level domain sections other than the header, `<os>`, `<features>`, `<cpu>`, `<clock>` and
//! `<devices>`, as typed values: resource tuning ([`tuning`]), vCPU and I/O thread layout and CPU
//! tuning ([`cputune`]), host information ([`sysinfo`]), security ([`security`]), the smaller
//! sections ([`misc`]) and the hypervisor-namespace extensions ([`namespaces`]).
//!
//! [`Section`] is any one of them, read from a schema-checked element by its name:
//!
//! ```
//! use virt_xml::sections::{Section, Pm};
//! let el = virt_xml::tree::parse("<pm><suspend-to-mem enabled='no'/></pm>").expect("xml");
//! let s = Section::from_element(&el).expect("typed");
//! assert_eq!(s, Section::Pm(Pm { suspend_to_mem: Some(false), suspend_to_disk: None }));
//! assert_eq!(s.element_name(), "pm");
//! let mut w = virt_xml::writer::Writer::new();
//! s.write(&mut w);
//! assert_eq!(w.finish(), "<pm>\n  <suspend-to-mem enabled='no'/>\n</pm>\n");
//! ```

pub mod cputune;
pub mod misc;
pub mod namespaces;
pub mod security;
pub mod sysinfo;
pub mod tuning;

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::domain::{invalid_text, invalid_value};
use crate::error::XmlError;
use crate::tree::Element;
use crate::values::ValueError;
use crate::writer::Writer;

pub use cputune::{
    CacheTune, CacheTuneEntry, CacheType, Cputune, DefaultIothread, Iothread, IothreadIds,
    Iothreads, MemNode, MemoryTune, MemoryTuneEntry, NumaMemory, NumaMode, NumaPlacement, Numatune,
    Resource, SchedPolicy, Scheduler, ThreadPin, ThreadSched, VcpuInfo, VcpuPin, Vcpus,
};
pub use misc::{
    Bootloader, BootloaderArgs, Genid, IdMap, IdMapEntry, LockFailureAction, Metadata,
    OnLockfailure, Perf, PerfEvent, PerfEventName, Pm,
};
pub use namespaces::{
    BhyveCommandline, DeprecationBehavior, LxcNamespace, LxcShare, LxcShareType, OverrideDevice,
    OverrideProperty, PropertyType, QemuCapabilities, QemuCommandline, QemuDeprecation, QemuEnv,
    QemuOverride, VmwareDatacenterPath, XenCommandline,
};
pub use security::{Cipher, Keywrap, LaunchSecurity, Seclabel, SeclabelType, Sev};
pub use sysinfo::{
    BaseBoard, Bios, Chassis, FwcfgEntry, FwcfgValue, SmbiosSysinfo, Sysinfo, SystemInfo,
};
pub use tuning::{
    AllocationMode, Blkiotune, BlkiotuneDevice, Hugepage, MemAccess, MemAllocation, MemSource,
    MemoryBacking, Memtune,
};

/// A set of CPU, vCPU, NUMA node or thread ids (libvirt's bitmap syntax `0-3,^2,8`), written as
/// libvirt writes it: ascending ranges (`0-1,3,8`).
///
/// ```
/// use virt_xml::sections::IdSet;
/// let s: IdSet = "1-4,^2".parse().expect("ids");
/// assert_eq!(s.to_string(), "1,3-4");
/// assert!(s.0.contains(&4));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct IdSet(pub BTreeSet<u32>);

impl IdSet {
    /// A set holding one id.
    pub fn single(id: u32) -> Self {
        IdSet(BTreeSet::from([id]))
    }
}

impl FromStr for IdSet {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match crate::normalize::parse_id_list(s) {
            Some(set) if !set.is_empty() => Ok(IdSet(set)),
            _ => Err(ValueError {
                kind: "id set",
                value: s.to_string(),
                reason: "expected a list such as '0-3,^2,8'".into(),
            }),
        }
    }
}

impl fmt::Display for IdSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::normalize::format_id_list(&self.0))
    }
}

/// Any top-level section this module types. The domain keeps them as `Vec<Section>`;
/// [`Section::Seclabel`] and [`Section::Sysinfo`] may occur more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Section {
    Genid(Genid),
    Metadata(Metadata),
    Blkiotune(Blkiotune),
    Memtune(Memtune),
    MemoryBacking(MemoryBacking),
    Vcpus(Vcpus),
    Iothreads(Iothreads),
    IothreadIds(IothreadIds),
    DefaultIothread(DefaultIothread),
    /// Boxed: it is much larger than the other sections.
    Cputune(Box<Cputune>),
    Numatune(Numatune),
    Resource(Resource),
    Sysinfo(Sysinfo),
    Bootloader(Bootloader),
    BootloaderArgs(BootloaderArgs),
    IdMap(IdMap),
    OnLockfailure(OnLockfailure),
    Pm(Pm),
    Perf(Perf),
    Seclabel(Seclabel),
    Keywrap(Keywrap),
    LaunchSecurity(LaunchSecurity),
    QemuCommandline(QemuCommandline),
    QemuCapabilities(QemuCapabilities),
    QemuOverride(QemuOverride),
    QemuDeprecation(QemuDeprecation),
    LxcNamespace(LxcNamespace),
    BhyveCommandline(BhyveCommandline),
    XenCommandline(XenCommandline),
    VmwareDatacenterPath(VmwareDatacenterPath),
}

impl Section {
    /// Types a schema-checked top-level element by its name. Namespaced sections are told apart
    /// by their local name (and, for `commandline`, by the `bhyve:`/`xen:` prefix, or the
    /// libvirt namespace URI of an unprefixed element; anything else is QEMU's). An element this
    /// module does not know is [`XmlError::UnknownElement`].
    pub fn from_element(el: &Element) -> Result<Section, XmlError> {
        let (prefix, local) = match el.name.split_once(':') {
            Some((p, l)) => (Some(p), l),
            None => (None, el.name.as_str()),
        };
        // An extension element in a default namespace (`<commandline xmlns='...'>`): tell it
        // by its namespace URI.
        let prefix = match (prefix, el.attr("xmlns")) {
            (None, Some(ns)) if ns.starts_with("http://libvirt.org/schemas/domain/") => ns
                .trim_start_matches("http://libvirt.org/schemas/domain/")
                .split('/')
                .next(),
            (p, _) => p,
        };
        Ok(match (prefix, local) {
            (None, "genid") => Section::Genid(Genid::from_element(el)?),
            (None, "metadata") => Section::Metadata(Metadata::from_element(el)?),
            (None, "blkiotune") => Section::Blkiotune(Blkiotune::from_element(el)?),
            (None, "memtune") => Section::Memtune(Memtune::from_element(el)?),
            (None, "memoryBacking") => Section::MemoryBacking(MemoryBacking::from_element(el)?),
            (None, "vcpus") => Section::Vcpus(Vcpus::from_element(el)?),
            (None, "iothreads") => Section::Iothreads(Iothreads::from_element(el)?),
            (None, "iothreadids") => Section::IothreadIds(IothreadIds::from_element(el)?),
            (None, "defaultiothread") => {
                Section::DefaultIothread(DefaultIothread::from_element(el)?)
            }
            (None, "cputune") => Section::Cputune(Box::new(Cputune::from_element(el)?)),
            (None, "numatune") => Section::Numatune(Numatune::from_element(el)?),
            (None, "resource") => Section::Resource(Resource::from_element(el)?),
            (None, "sysinfo") => Section::Sysinfo(Sysinfo::from_element(el)?),
            (None, "bootloader") => Section::Bootloader(Bootloader::from_element(el)?),
            (None, "bootloader_args") => Section::BootloaderArgs(BootloaderArgs::from_element(el)?),
            (None, "idmap") => Section::IdMap(IdMap::from_element(el)?),
            (None, "on_lockfailure") => Section::OnLockfailure(OnLockfailure::from_element(el)?),
            (None, "pm") => Section::Pm(Pm::from_element(el)?),
            (None, "perf") => Section::Perf(Perf::from_element(el)?),
            (None, "seclabel") => Section::Seclabel(Seclabel::from_element(el)?),
            (None, "keywrap") => Section::Keywrap(Keywrap::from_element(el)?),
            (None, "launchSecurity") => Section::LaunchSecurity(LaunchSecurity::from_element(el)?),
            (Some("bhyve"), "commandline") => {
                Section::BhyveCommandline(BhyveCommandline::from_element(el)?)
            }
            (Some("xen"), "commandline") => {
                Section::XenCommandline(XenCommandline::from_element(el)?)
            }
            (Some(_), "commandline") => {
                Section::QemuCommandline(QemuCommandline::from_element(el)?)
            }
            (Some(_), "capabilities") => {
                Section::QemuCapabilities(QemuCapabilities::from_element(el)?)
            }
            (Some(_), "override") => Section::QemuOverride(QemuOverride::from_element(el)?),
            (Some(_), "deprecation") => {
                Section::QemuDeprecation(QemuDeprecation::from_element(el)?)
            }
            (Some(_), "namespace") => Section::LxcNamespace(LxcNamespace::from_element(el)?),
            (Some(_), "datacenterpath") => {
                Section::VmwareDatacenterPath(VmwareDatacenterPath::from_element(el)?)
            }
            _ => {
                return Err(XmlError::UnknownElement {
                    pos: el.pos,
                    parent: "domain".into(),
                    element: el.name.clone(),
                })
            }
        })
    }

    /// Writes the section in libvirt 9.0's canonical form.
    pub fn write(&self, w: &mut Writer) {
        match self {
            Section::Genid(s) => s.write(w),
            Section::Metadata(s) => s.write(w),
            Section::Blkiotune(s) => s.write(w),
            Section::Memtune(s) => s.write(w),
            Section::MemoryBacking(s) => s.write(w),
            Section::Vcpus(s) => s.write(w),
            Section::Iothreads(s) => s.write(w),
            Section::IothreadIds(s) => s.write(w),
            Section::DefaultIothread(s) => s.write(w),
            Section::Cputune(s) => s.write(w),
            Section::Numatune(s) => s.write(w),
            Section::Resource(s) => s.write(w),
            Section::Sysinfo(s) => s.write(w),
            Section::Bootloader(s) => s.write(w),
            Section::BootloaderArgs(s) => s.write(w),
            Section::IdMap(s) => s.write(w),
            Section::OnLockfailure(s) => s.write(w),
            Section::Pm(s) => s.write(w),
            Section::Perf(s) => s.write(w),
            Section::Seclabel(s) => s.write(w),
            Section::Keywrap(s) => s.write(w),
            Section::LaunchSecurity(s) => s.write(w),
            Section::QemuCommandline(s) => s.write(w),
            Section::QemuCapabilities(s) => s.write(w),
            Section::QemuOverride(s) => s.write(w),
            Section::QemuDeprecation(s) => s.write(w),
            Section::LxcNamespace(s) => s.write(w),
            Section::BhyveCommandline(s) => s.write(w),
            Section::XenCommandline(s) => s.write(w),
            Section::VmwareDatacenterPath(s) => s.write(w),
        }
    }

    /// The element name as written (namespaced sections with libvirt's prefix, e.g.
    /// `qemu:commandline`). Its local part (after `:`) is the key of libvirt's section order.
    pub fn element_name(&self) -> &str {
        match self {
            Section::Genid(_) => "genid",
            Section::Metadata(_) => "metadata",
            Section::Blkiotune(_) => "blkiotune",
            Section::Memtune(_) => "memtune",
            Section::MemoryBacking(_) => "memoryBacking",
            Section::Vcpus(_) => "vcpus",
            Section::Iothreads(_) => "iothreads",
            Section::IothreadIds(_) => "iothreadids",
            Section::DefaultIothread(_) => "defaultiothread",
            Section::Cputune(_) => "cputune",
            Section::Numatune(_) => "numatune",
            Section::Resource(_) => "resource",
            Section::Sysinfo(_) => "sysinfo",
            Section::Bootloader(_) => "bootloader",
            Section::BootloaderArgs(_) => "bootloader_args",
            Section::IdMap(_) => "idmap",
            Section::OnLockfailure(_) => "on_lockfailure",
            Section::Pm(_) => "pm",
            Section::Perf(_) => "perf",
            Section::Seclabel(_) => "seclabel",
            Section::Keywrap(_) => "keywrap",
            Section::LaunchSecurity(_) => "launchSecurity",
            Section::QemuCommandline(_) => "qemu:commandline",
            Section::QemuCapabilities(_) => "qemu:capabilities",
            Section::QemuOverride(_) => "qemu:override",
            Section::QemuDeprecation(_) => "qemu:deprecation",
            Section::LxcNamespace(_) => "lxc:namespace",
            Section::BhyveCommandline(_) => "bhyve:commandline",
            Section::XenCommandline(_) => "xen:commandline",
            Section::VmwareDatacenterPath(_) => "vmware:datacenterpath",
        }
    }
}

/// An element's local name (without a namespace prefix).
pub(crate) fn local(name: &str) -> &str {
    name.rsplit_once(':').map(|(_, l)| l).unwrap_or(name)
}

/// The children of `el` whose local name is `name`.
pub(crate) fn children<'a>(el: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> {
    el.elements().filter(move |c| local(&c.name) == name)
}

/// The first child of `el` whose local name is `name`.
pub(crate) fn child<'a>(el: &'a Element, name: &str) -> Option<&'a Element> {
    el.elements().find(|c| local(&c.name) == name)
}

/// The trimmed text of `el` parsed as `T`; an error names the element and its place.
pub(crate) fn text_value<T: FromStr>(el: &Element, kind: &'static str) -> Result<T, XmlError> {
    let text = el.text();
    text.trim().parse().map_err(|_| {
        invalid_text(
            el,
            ValueError {
                kind,
                value: text.trim().to_string(),
                reason: "not a valid number".into(),
            },
        )
    })
}

/// The text of child `name`, parsed as `T`, if the child is present.
pub(crate) fn child_value<T: FromStr>(
    el: &Element,
    name: &str,
    kind: &'static str,
) -> Result<Option<T>, XmlError> {
    child(el, name).map(|c| text_value(c, kind)).transpose()
}

/// The text of child `name`, if present.
pub(crate) fn child_text(el: &Element, name: &str) -> Option<String> {
    child(el, name).map(Element::text)
}

/// A required attribute, parsed with `FromStr<Err = ValueError>`.
pub(crate) fn req_attr<T: FromStr<Err = ValueError>>(
    el: &Element,
    name: &str,
) -> Result<T, XmlError> {
    crate::domain::attr_parse(el, name)?.ok_or_else(|| missing_attr(el, name))
}

/// A required numeric attribute.
pub(crate) fn req_num<T: FromStr>(el: &Element, name: &str) -> Result<T, XmlError> {
    crate::domain::num_attr(el, name)?.ok_or_else(|| missing_attr(el, name))
}

/// A required string attribute.
pub(crate) fn req_str(el: &Element, name: &str) -> Result<String, XmlError> {
    el.attr(name)
        .map(str::to_string)
        .ok_or_else(|| missing_attr(el, name))
}

pub(crate) fn missing_attr(el: &Element, name: &str) -> XmlError {
    XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: format!("attribute '{name}'"),
    }
}

pub(crate) fn missing_child(el: &Element, name: &str) -> XmlError {
    XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: format!("element <{name}>"),
    }
}

/// An attribute value that is not acceptable.
pub(crate) fn bad_attr(el: &Element, attr: &str, kind: &'static str, reason: &str) -> XmlError {
    invalid_value(
        el,
        attr,
        ValueError {
            kind,
            value: el.attr(attr).unwrap_or_default().to_string(),
            reason: reason.to_string(),
        },
    )
}

/// `yes`/`no` attribute as a bool.
pub(crate) fn yes_no(el: &Element, name: &str) -> Result<Option<bool>, XmlError> {
    Ok(crate::domain::attr_parse::<crate::os::YesNo>(el, name)?.map(bool::from))
}

/// Writes `bool` as `yes`/`no`.
pub(crate) fn yn(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
