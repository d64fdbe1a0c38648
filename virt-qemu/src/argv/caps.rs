//! QEMU capabilities as libvirt records them (`qemuCaps` XML): feature flags, version, machine
//! types per accelerator (with aliases and the default), CPU models and the host CPU's properties.

use std::collections::BTreeSet;

use thiserror::Error;
use virt_xml::tree::{self, Element};

/// The embedded probe of QEMU 7.2 for x86_64 (libvirt 9.0's `caps_7.2.0.x86_64.xml`).
const CAPS_7_2_X86_64: &str = include_str!("../../data/caps_7.2.0.x86_64.xml");

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

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PerAccel {
    machines: Vec<MachineType>,
    cpus: Vec<CpuModel>,
    host_cpu_model: Option<String>,
    host_cpu_props: Vec<HostCpuProperty>,
}

/// A QEMU binary's capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuCaps {
    emulator: String,
    version: u32,
    kvm_version: u32,
    package: String,
    arch: String,
    microcode_version: u64,
    flags: BTreeSet<String>,
    kvm: PerAccel,
    tcg: PerAccel,
    gic_versions: Vec<u32>,
}

/// Why a caps document was refused.
#[derive(Debug, Error)]
pub enum CapsError {
    #[error("qemu caps XML: {0}")]
    Xml(#[from] virt_xml::XmlError),
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
            flags: BTreeSet::new(),
            kvm: PerAccel::default(),
            tcg: PerAccel::default(),
            gic_versions: Vec::new(),
        };
        for e in root.elements() {
            match e.name.as_str() {
                "flag" => {
                    caps.flags.insert(req(e, "flag", "name")?.to_string());
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
                    caps.per_accel_mut(accel).machines.push(m);
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
                    caps.per_accel_mut(accel).cpus.push(c);
                }
                "hostCPU" => {
                    let accel = accel_of(e, "hostCPU")?;
                    let pa = caps.per_accel_mut(accel);
                    pa.host_cpu_model = e.attr("model").map(str::to_string);
                    for p in e.children_named("property") {
                        pa.host_cpu_props.push(HostCpuProperty {
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

    /// QEMU 7.2 on x86_64, as libvirt 9.0's test suite probed it ("x86_64-latest").
    pub fn x86_64_7_2() -> QemuCaps {
        static PARSED: std::sync::OnceLock<QemuCaps> = std::sync::OnceLock::new();
        PARSED
            .get_or_init(|| {
                // The embedded document is fixed and covered by a unit test.
                Self::from_xml(CAPS_7_2_X86_64)
                    .unwrap_or_else(|e| panic!("embedded caps invalid: {e}"))
            })
            .clone()
    }

    fn per_accel(&self, accel: Accel) -> &PerAccel {
        match accel {
            Accel::Kvm => &self.kvm,
            Accel::Tcg => &self.tcg,
        }
    }

    fn per_accel_mut(&mut self, accel: Accel) -> &mut PerAccel {
        match accel {
            Accel::Kvm => &mut self.kvm,
            Accel::Tcg => &mut self.tcg,
        }
    }

    /// Whether libvirt's capability flag `name` (e.g. `blockdev`, `device.json`) is set.
    pub fn has_flag(&self, name: &str) -> bool {
        self.flags.contains(name)
    }

    /// All flags, sorted.
    pub fn flags(&self) -> impl Iterator<Item = &str> {
        self.flags.iter().map(String::as_str)
    }

    /// QEMU version as libvirt encodes it: major*1_000_000 + minor*1_000 + micro (7.2.0 = 7002000).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The KVM version field (0 for upstream kernels).
    pub fn kvm_version(&self) -> u32 {
        self.kvm_version
    }

    /// The package string (`v7.2.0`).
    pub fn package(&self) -> &str {
        &self.package
    }

    /// The microcode version probed on the host.
    pub fn microcode_version(&self) -> u64 {
        self.microcode_version
    }

    /// Guest architecture (`x86_64`).
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// The emulator binary path the probe was taken from.
    pub fn emulator(&self) -> &str {
        &self.emulator
    }

    /// Machine types for an accelerator, in the probe's order.
    pub fn machines(&self, accel: Accel) -> &[MachineType] {
        &self.per_accel(accel).machines
    }

    /// The machine type QEMU picks when none is named.
    pub fn default_machine(&self, accel: Accel) -> Option<&MachineType> {
        self.machines(accel).iter().find(|m| m.default)
    }

    /// The machine type `name` (a canonical name or an alias such as `pc`).
    pub fn machine(&self, name: &str, accel: Accel) -> Option<&MachineType> {
        let ms = self.machines(accel);
        ms.iter()
            .find(|m| m.name == name)
            .or_else(|| ms.iter().find(|m| m.alias.as_deref() == Some(name)))
    }

    /// The canonical machine name for `name` (an alias such as `pc` gives `pc-i440fx-7.2`); `None`
    /// when QEMU does not know it.
    pub fn canonical_machine(&self, name: &str, accel: Accel) -> Option<String> {
        self.machine(name, accel).map(|m| m.name.clone())
    }

    /// CPU models for an accelerator, in the probe's order.
    pub fn cpu_models(&self, accel: Accel) -> &[CpuModel] {
        &self.per_accel(accel).cpus
    }

    /// The CPU model `name`.
    pub fn cpu_model(&self, name: &str, accel: Accel) -> Option<&CpuModel> {
        self.cpu_models(accel).iter().find(|c| c.name == name)
    }

    /// The host CPU's probed properties under an accelerator.
    pub fn host_cpu_properties(&self, accel: Accel) -> &[HostCpuProperty] {
        &self.per_accel(accel).host_cpu_props
    }

    /// GIC versions offered (ARM only; empty on x86).
    pub fn gic_versions(&self) -> &[u32] {
        &self.gic_versions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_7_2() {
        let c = QemuCaps::x86_64_7_2();
        assert_eq!(c.version(), 7_002_000);
        assert_eq!(c.arch(), "x86_64");
        assert!(c.has_flag("query-cpu-model-expansion"));
        assert!(c.has_flag("kvm-pit-lost-tick-policy"));
        assert!(!c.has_flag("no-such-flag"));
        assert_eq!(
            c.default_machine(Accel::Kvm).map(|m| m.name.as_str()),
            Some("pc-i440fx-7.2")
        );
        assert_eq!(
            c.canonical_machine("q35", Accel::Tcg).as_deref(),
            Some("pc-q35-7.2")
        );
        assert_eq!(
            c.canonical_machine("pc-q35-5.2", Accel::Kvm).as_deref(),
            Some("pc-q35-5.2")
        );
        assert_eq!(c.canonical_machine("nope", Accel::Kvm), None);
        assert!(c.cpu_model("qemu64", Accel::Kvm).is_some_and(|m| m.usable));
        assert!(!c.host_cpu_properties(Accel::Kvm).is_empty());
    }

    #[test]
    fn refuses_bad_documents() {
        assert!(matches!(
            QemuCaps::from_xml("<x/>"),
            Err(CapsError::Root(_))
        ));
        assert!(matches!(
            QemuCaps::from_xml("<qemuCaps><arch>x86_64</arch></qemuCaps>"),
            Err(CapsError::Missing("version"))
        ));
        assert!(matches!(
            QemuCaps::from_xml(
                "<qemuCaps><version>1</version><arch>x</arch><machine name='a'/></qemuCaps>"
            ),
            Err(CapsError::Attr { attr: "type", .. })
        ));
    }
}
