//! QEMU capabilities as libvirt records them (`qemuCaps` XML): feature flags, version, machine
//! types per accelerator (with aliases and the default), CPU models and the host CPU's properties.
//!
//! The embedded probe (`data/caps_7.2.0.x86_64.xml`) is read at build time by `build.rs`, with
//! the same code as [`QemuCaps::from_xml`] (`caps/parse.rs`), and compiled in as static tables
//! (`caps/embedded.rs`). [`QemuCaps::x86_64_7_2`] parses nothing: its flag set, machine types, CPU
//! models and host CPU properties are made from those tables once per process, on first read,
//! and shared by every copy.

mod embedded;
mod parse;

use virt_xml::tree;
use virt_xml::XmlError;

use parse::PerAccel;
pub use parse::{Accel, CapsError, CpuModel, HostCpuProperty, MachineType, QemuCaps};

impl QemuCaps {
    /// QEMU 7.2 on x86_64, as libvirt 9.0's test suite probed it ("x86_64-latest").
    pub fn x86_64_7_2() -> QemuCaps {
        embedded::x86_64_7_2()
    }

    fn per_accel(&self, accel: Accel) -> &PerAccel {
        match accel {
            Accel::Kvm => &self.kvm,
            Accel::Tcg => &self.tcg,
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
    fn embedded_tables_equal_runtime_parse() {
        let text = include_str!("../../data/caps_7.2.0.x86_64.xml");
        let parsed = QemuCaps::from_xml(text).expect("embedded caps parse");
        let built = QemuCaps::x86_64_7_2();
        // Field by field first, for a readable failure, then the whole value.
        assert_eq!(parsed.flags, built.flags);
        assert_eq!(parsed.kvm.machines, built.kvm.machines);
        assert_eq!(parsed.tcg.machines, built.tcg.machines);
        assert_eq!(parsed.kvm.cpus, built.kvm.cpus);
        assert_eq!(parsed.tcg.cpus, built.tcg.cpus);
        assert_eq!(parsed.kvm.host_cpu_props, built.kvm.host_cpu_props);
        assert_eq!(parsed.tcg.host_cpu_props, built.tcg.host_cpu_props);
        assert_eq!(parsed, built);
        assert!(parsed.flags.len() > 100 && parsed.kvm.machines.len() > 10);
        assert!(!parsed.kvm.cpus.is_empty() && !parsed.tcg.cpus.is_empty());
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
