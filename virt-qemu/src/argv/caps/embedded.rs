//! The embedded QEMU 7.2 x86_64 probe as static tables, written by `build.rs` into
//! `$OUT_DIR/caps_7_2_x86_64.rs`, and the [`QemuCaps`] made from them.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use super::parse::{CpuModel, HostCpuProperty, MachineType, Part, PerAccel, QemuCaps};

/// A [`MachineType`] in static form.
struct Machine {
    name: &'static str,
    alias: Option<&'static str>,
    default: bool,
    max_cpus: u32,
    hotplug_cpus: bool,
    default_cpu: Option<&'static str>,
    default_ram_id: Option<&'static str>,
    numa_mem_supported: bool,
    deprecated: bool,
}

/// A [`CpuModel`] in static form.
struct Cpu {
    name: &'static str,
    typename: Option<&'static str>,
    usable: bool,
    blockers: &'static [&'static str],
}

/// A [`HostCpuProperty`] in static form.
struct Prop {
    name: &'static str,
    kind: &'static str,
    value: &'static str,
    migratable: bool,
}

/// What the probe holds for one accelerator.
struct Accel {
    machines: &'static [Machine],
    cpus: &'static [Cpu],
    host_cpu_model: Option<&'static str>,
    host_cpu_props: &'static [Prop],
}

/// The whole probe.
struct Caps {
    emulator: &'static str,
    version: u32,
    kvm_version: u32,
    package: &'static str,
    arch: &'static str,
    microcode_version: u64,
    /// Sorted and unique, as a `BTreeSet` iterates.
    flags: &'static [&'static str],
    kvm: Accel,
    tcg: Accel,
    gic_versions: &'static [u32],
}

// Defines `static CAPS_7_2_X86_64: Caps`.
include!(concat!(env!("OUT_DIR"), "/caps_7_2_x86_64.rs"));

fn owned(s: Option<&'static str>) -> Option<String> {
    s.map(str::to_string)
}

fn machines(ms: &[Machine]) -> Vec<MachineType> {
    ms.iter()
        .map(|m| MachineType {
            name: m.name.to_string(),
            alias: owned(m.alias),
            default: m.default,
            max_cpus: m.max_cpus,
            hotplug_cpus: m.hotplug_cpus,
            default_cpu: owned(m.default_cpu),
            default_ram_id: owned(m.default_ram_id),
            numa_mem_supported: m.numa_mem_supported,
            deprecated: m.deprecated,
        })
        .collect()
}

fn cpus(cs: &[Cpu]) -> Vec<CpuModel> {
    cs.iter()
        .map(|c| CpuModel {
            name: c.name.to_string(),
            typename: owned(c.typename),
            usable: c.usable,
            blockers: c.blockers.iter().map(|b| b.to_string()).collect(),
        })
        .collect()
}

fn props(ps: &[Prop]) -> Vec<HostCpuProperty> {
    ps.iter()
        .map(|p| HostCpuProperty {
            name: p.name.to_string(),
            kind: p.kind.to_string(),
            value: p.value.to_string(),
            migratable: p.migratable,
        })
        .collect()
}

// Each table becomes owned values once per process, when first read; every `QemuCaps` made by
// `x86_64_7_2` shares them.
type Shared<T> = LazyLock<T>;
static FLAGS: Shared<BTreeSet<String>> = LazyLock::new(|| {
    CAPS_7_2_X86_64
        .flags
        .iter()
        .map(|f| f.to_string())
        .collect()
});
static KVM_MACHINES: Shared<Vec<MachineType>> =
    LazyLock::new(|| machines(CAPS_7_2_X86_64.kvm.machines));
static TCG_MACHINES: Shared<Vec<MachineType>> =
    LazyLock::new(|| machines(CAPS_7_2_X86_64.tcg.machines));
static KVM_CPUS: Shared<Vec<CpuModel>> = LazyLock::new(|| cpus(CAPS_7_2_X86_64.kvm.cpus));
static TCG_CPUS: Shared<Vec<CpuModel>> = LazyLock::new(|| cpus(CAPS_7_2_X86_64.tcg.cpus));
static KVM_PROPS: Shared<Vec<HostCpuProperty>> =
    LazyLock::new(|| props(CAPS_7_2_X86_64.kvm.host_cpu_props));
static TCG_PROPS: Shared<Vec<HostCpuProperty>> =
    LazyLock::new(|| props(CAPS_7_2_X86_64.tcg.host_cpu_props));

fn per_accel(
    a: &Accel,
    machines: &'static Shared<Vec<MachineType>>,
    cpus: &'static Shared<Vec<CpuModel>>,
    props: &'static Shared<Vec<HostCpuProperty>>,
) -> PerAccel {
    PerAccel {
        machines: Part::Shared(machines),
        cpus: Part::Shared(cpus),
        host_cpu_model: owned(a.host_cpu_model),
        host_cpu_props: Part::Shared(props),
    }
}

/// The embedded probe as a [`QemuCaps`]; its tables are shared, not copied.
pub(super) fn x86_64_7_2() -> QemuCaps {
    let c = &CAPS_7_2_X86_64;
    QemuCaps {
        emulator: c.emulator.to_string(),
        version: c.version,
        kvm_version: c.kvm_version,
        package: c.package.to_string(),
        arch: c.arch.to_string(),
        microcode_version: c.microcode_version,
        flags: Part::Shared(&FLAGS),
        kvm: per_accel(&c.kvm, &KVM_MACHINES, &KVM_CPUS, &KVM_PROPS),
        tcg: per_accel(&c.tcg, &TCG_MACHINES, &TCG_CPUS, &TCG_PROPS),
        gic_versions: c.gic_versions.to_vec(),
    }
}
