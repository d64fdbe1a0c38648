//! The caps data model and its reading from a parsed `qemuCaps` tree.
//!
//! Shared with `virt-qemu/build.rs` (included there by `#[path]`), which reads the embedded probe
//! at build time with this same code and writes it out as Rust statics. The including module must
//! have `tree` (virt-xml's element tree) and `XmlError` in scope.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Deref;
use std::sync::LazyLock;

use thiserror::Error;

use super::tree::{self, Element};
use super::XmlError;

/// The accelerator a machine type or CPU model list belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    /// The name in caps XML and on the command line (`kvm`, `tcg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }

    fn parse(s: &str) -> Option<Accel> {
        match s {
            "kvm" => Some(Accel::Kvm),
            "tcg" | "qemu" => Some(Accel::Tcg),
            _ => None,
        }
    }
}

/// One machine type QEMU offers under one accelerator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineType {
    pub name: String,
    /// Short alias such as `pc` or `q35`.
    pub alias: Option<String>,
    pub default: bool,
    pub max_cpus: u32,
    pub hotplug_cpus: bool,
    /// QOM type of the default CPU (`qemu64-x86_64-cpu`).
    pub default_cpu: Option<String>,
    /// Id of the default RAM backend (`pc.ram`).
    pub default_ram_id: Option<String>,
    pub numa_mem_supported: bool,
    pub deprecated: bool,
}

/// One CPU model QEMU offers under one accelerator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuModel {
    pub name: String,
    pub typename: Option<String>,
    pub usable: bool,
    /// Features that keep the model from being usable on this host.
    pub blockers: Vec<String>,
}

/// A property of the host CPU model as probed (`<hostCPU><property .../>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCpuProperty {
    pub name: String,
    pub kind: String,
    pub value: String,
    pub migratable: bool,
}

/// A part of the caps that is either owned (read from a document at run time) or shared by every
/// copy of the embedded probe (built once per process, on first use, from static tables), so
/// making and cloning the embedded caps copies no tables.
pub(super) enum Part<T: 'static> {
    Owned(T),
    Shared(&'static LazyLock<T>),
}

impl<T> Deref for Part<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Part::Owned(t) => t,
            Part::Shared(l) => LazyLock::force(l),
        }
    }
}

impl<T: Clone> Part<T> {
    /// The value, to change; a shared part is first copied into an owned one.
    pub(super) fn make_mut(&mut self) -> &mut T {
        if let Part::Shared(l) = *self {
            *self = Part::Owned(LazyLock::force(l).clone());
        }
        match self {
            Part::Owned(t) => t,
            Part::Shared(_) => unreachable!("made owned just above"),
        }
    }
}

impl<T: Clone> Clone for Part<T> {
    fn clone(&self) -> Self {
        match self {
            Part::Owned(t) => Part::Owned(t.clone()),
            Part::Shared(l) => Part::Shared(l),
        }
    }
}

impl<T: Default> Default for Part<T> {
    fn default() -> Self {
        Part::Owned(T::default())
    }
}

impl<T: PartialEq> PartialEq for Part<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for Part<T> {}

impl<T: fmt::Debug> fmt::Debug for Part<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct PerAccel {
    pub(super) machines: Part<Vec<MachineType>>,
    pub(super) cpus: Part<Vec<CpuModel>>,
    pub(super) host_cpu_model: Option<String>,
    pub(super) host_cpu_props: Part<Vec<HostCpuProperty>>,
}

/// A QEMU binary's capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuCaps {
    pub(super) emulator: String,
    pub(super) version: u32,
    pub(super) kvm_version: u32,
    pub(super) package: String,
    pub(super) arch: String,
    pub(super) microcode_version: u64,
    pub(super) flags: Part<BTreeSet<String>>,
    pub(super) kvm: PerAccel,
    pub(super) tcg: PerAccel,
    pub(super) gic_versions: Vec<u32>,
}

/// Why a caps document was refused.
#[derive(Debug, Error)]
pub enum CapsError {
    #[error("qemu caps XML: {0}")]
    Xml(#[from] XmlError),
    #[error("qemu caps XML: root element is <{0}>, expected <qemuCaps>")]
    Root(String),
    #[error("qemu caps XML: {line}:{col}: <{element}> has bad or missing '{attr}'")]
    Attr {
        element: &'static str,
        attr: &'static str,
        line: u32,
        col: u32,
    },
    #[error("qemu caps XML: <{0}> has a value that is not a number")]
    Number(&'static str),
    #[error("qemu caps XML: <{0}> is missing")]
    Missing(&'static str),
}

fn bool_attr(e: &Element, name: &str) -> bool {
    e.attr(name) == Some("yes")
}

fn req<'a>(
    e: &'a Element,
    element: &'static str,
    attr: &'static str,
) -> Result<&'a str, CapsError> {
    e.attr(attr).ok_or(CapsError::Attr {
        element,
        attr,
        line: e.pos.line,
        col: e.pos.col,
    })
}

fn accel_of(e: &Element, element: &'static str) -> Result<Accel, CapsError> {
    let s = req(e, element, "type")?;
    Accel::parse(s).ok_or(CapsError::Attr {
        element,
        attr: "type",
        line: e.pos.line,
        col: e.pos.col,
    })
}

fn num<T: std::str::FromStr>(
    e: Option<&Element>,
    name: &'static str,
) -> Result<Option<T>, CapsError> {
    match e {
        None => Ok(None),
        Some(e) => e
            .text()
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| CapsError::Number(name)),
    }
}

impl QemuCaps {
    /// Parses libvirt's `qemuCaps` XML.
    pub fn from_xml(xml: &str) -> Result<QemuCaps, CapsError> {
        let root = tree::parse(xml)?;
        if root.name != "qemuCaps" {
            return Err(CapsError::Root(root.name));
        }
        let mut caps = QemuCaps {
            emulator: root.child("emulator").map(|e| e.text()).unwrap_or_default(),
            version: num(root.child("version"), "version")?.ok_or(CapsError::Missing("version"))?,
            kvm_version: num(root.child("kvmVersion"), "kvmVersion")?.unwrap_or(0),
            package: root.child("package").map(|e| e.text()).unwrap_or_default(),
            arch: root
                .child("arch")
                .map(|e| e.text().trim().to_string())
                .ok_or(CapsError::Missing("arch"))?,
            microcode_version: num(root.child("microcodeVersion"), "microcodeVersion")?
                .unwrap_or(0),
            flags: Part::default(),
            kvm: PerAccel::default(),
            tcg: PerAccel::default(),
            gic_versions: Vec::new(),
        };
        for e in root.elements() {
            match e.name.as_str() {
                "flag" => {
                    caps.flags
                        .make_mut()
                        .insert(req(e, "flag", "name")?.to_string());
                }
                "machine" => {
                    let accel = accel_of(e, "machine")?;
                    let m = MachineType {
                        name: req(e, "machine", "name")?.to_string(),
                        alias: e.attr("alias").map(str::to_string),
                        default: bool_attr(e, "default"),
                        max_cpus: e.attr("maxCpus").and_then(|v| v.parse().ok()).unwrap_or(1),
                        hotplug_cpus: bool_attr(e, "hotplugCpus"),
                        default_cpu: e.attr("defaultCPU").map(str::to_string),
                        default_ram_id: e.attr("defaultRAMid").map(str::to_string),
                        numa_mem_supported: bool_attr(e, "numaMemSupported"),
                        deprecated: bool_attr(e, "deprecated"),
                    };
                    caps.per_accel_mut(accel).machines.make_mut().push(m);
                }
                "cpu" => {
                    let accel = accel_of(e, "cpu")?;
                    let c = CpuModel {
                        name: req(e, "cpu", "name")?.to_string(),
                        typename: e.attr("typename").map(str::to_string),
                        usable: e.attr("usable") != Some("no"),
                        blockers: e
                            .children_named("blocker")
                            .filter_map(|b| b.attr("name").map(str::to_string))
                            .collect(),
                    };
                    caps.per_accel_mut(accel).cpus.make_mut().push(c);
                }
                "hostCPU" => {
                    let accel = accel_of(e, "hostCPU")?;
                    let pa = caps.per_accel_mut(accel);
                    pa.host_cpu_model = e.attr("model").map(str::to_string);
                    for p in e.children_named("property") {
                        pa.host_cpu_props.make_mut().push(HostCpuProperty {
                            name: req(p, "property", "name")?.to_string(),
                            kind: p.attr("type").unwrap_or("boolean").to_string(),
                            value: p.attr("value").unwrap_or_default().to_string(),
                            migratable: bool_attr(p, "migratable"),
                        });
                    }
                }
                "gic" => {
                    if let Some(v) = e.attr("version").and_then(|v| v.parse().ok()) {
                        caps.gic_versions.push(v);
                    }
                }
                _ => {}
            }
        }
        Ok(caps)
    }

    pub(super) fn per_accel_mut(&mut self, accel: Accel) -> &mut PerAccel {
        match accel {
            Accel::Kvm => &mut self.kvm,
            Accel::Tcg => &mut self.tcg,
        }
    }
}
