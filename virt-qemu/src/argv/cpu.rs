//! `-cpu` (model, features, Hyper-V and KVM enlightenments) and `-smp`.

use virt_xml::clock::{TickPolicy, TimerName};
use virt_xml::cpu::{CacheMode, CpuMode, FeaturePolicy, PhysAddrMode};
use virt_xml::devices::panic::PanicModel;
use virt_xml::domain::OnOff;
use virt_xml::features::HypervMode;

use super::builder::{ArgvError, Builder};
use super::caps::Accel;

/// libvirt's x86 CPU feature names that QEMU spells differently (libvirt, QEMU); every other
/// name is passed as it is.
const FEATURE_SPELLINGS: &[(&str, &str)] = &[
    ("cmp_legacy", "cmp-legacy"),
    ("ds_cpl", "ds-cpl"),
    ("fxsr_opt", "fxsr-opt"),
    ("kvm_pv_eoi", "kvm-pv-eoi"),
    ("kvm_pv_unhalt", "kvm-pv-unhalt"),
    ("lahf_lm", "lahf-lm"),
    ("nodeid_msr", "nodeid-msr"),
    ("pclmuldq", "pclmulqdq"),
    ("perfctr_core", "perfctr-core"),
    ("perfctr_nb", "perfctr-nb"),
    ("tsc_adjust", "tsc-adjust"),
];

/// QEMU's spelling of a libvirt CPU feature name.
fn qemu_feature_name(name: &str) -> String {
    FEATURE_SPELLINGS
        .iter()
        .find(|(l, _)| *l == name)
        .map(|(_, q)| (*q).to_string())
        .unwrap_or_else(|| name.to_string())
}

/// libvirt's spelling of a QEMU CPU property name.
fn libvirt_feature_name(name: &str) -> &str {
    FEATURE_SPELLINGS
        .iter()
        .find(|(_, q)| *q == name)
        .map(|(l, _)| *l)
        .unwrap_or(name)
}

/// Features libvirt's CPU map once listed for a model and QEMU's model no longer has (the map's
/// `removed='yes'` features): a guest naming the model gets them disabled explicitly unless it
/// says otherwise, so the guest CPU stays the same on every QEMU.
const REMOVED_FEATURES: &[(&str, &[&str])] = &[
    ("Dhyana", &["monitor"]),
    ("EPYC", &["monitor"]),
    ("EPYC-IBPB", &["monitor"]),
    ("Icelake-Client", &["intel-pt"]),
    ("Icelake-Client-noTSX", &["intel-pt"]),
    ("Icelake-Server", &["intel-pt"]),
    ("Icelake-Server-noTSX", &["intel-pt"]),
    ("Opteron_G3", &["monitor"]),
];

/// Features never given to QEMU on x86: it never had them, or they did nothing.
const NEVER_PASSED: &[&str] = &["cmt", "mbm_total", "mbm_local", "osxsave", "ospke"];

/// The guest CPU's features as libvirt starts the guest: a named model's removed features added
/// as disabled, features QEMU never takes dropped, and disabled features QEMU does not know (not
/// a property of its host CPU model) dropped, since unknown features are off anyway.
fn start_features(b: &Builder<'_>, cpu: &virt_xml::cpu::Cpu) -> Vec<(String, bool)> {
    let mut list: Vec<(String, FeaturePolicy)> = cpu
        .features
        .iter()
        .map(|f| (f.name.clone(), f.policy))
        .collect();
    let named = cpu.model.as_ref().and_then(|m| m.name.as_deref());
    let custom = matches!(cpu.mode, None | Some(CpuMode::Custom));
    if custom {
        if let Some((_, removed)) =
            named.and_then(|n| REMOVED_FEATURES.iter().find(|(m, _)| *m == n))
        {
            for r in *removed {
                if !list.iter().any(|(n, _)| n == r) {
                    list.push((r.to_string(), FeaturePolicy::Disable));
                }
            }
        }
    }
    let known: Vec<&str> = b
        .caps
        .host_cpu_properties(b.accel)
        .iter()
        .map(|p| libvirt_feature_name(&p.name))
        .collect();
    let host_has = |name: &str| {
        let q = qemu_feature_name(name);
        b.caps
            .host_cpu_properties(b.accel)
            .iter()
            .any(|p| p.name == q && p.value == "true")
    };
    let x86 = matches!(b.caps.arch(), "x86_64" | "i686");
    list.into_iter()
        .filter(|(n, _)| !(x86 && NEVER_PASSED.contains(&n.as_str())))
        .filter(|(n, p)| {
            !x86 || known.is_empty()
                || !matches!(p, FeaturePolicy::Disable | FeaturePolicy::Forbid)
                || known.contains(&n.as_str())
        })
        .map(|(n, p)| {
            let on = match p {
                FeaturePolicy::Force | FeaturePolicy::Require => true,
                FeaturePolicy::Disable | FeaturePolicy::Forbid => false,
                // An optional feature is on when the host CPU model has it.
                FeaturePolicy::Optional => host_has(&n),
            };
            (n, on)
        })
        .collect()
}

fn push_on(out: &mut Vec<String>, name: &str, v: Option<OnOff>) {
    if v == Some(OnOff::On) {
        out.push(format!("{name}=on"));
    }
}

/// The CPU model name QEMU uses when none is given (the machine's default CPU type).
fn default_model(b: &Builder<'_>) -> String {
    b.caps
        .machine(&b.machine, b.accel)
        .and_then(|m| m.default_cpu.clone())
        .map(|t| {
            t.strip_suffix(&format!("-{}-cpu", b.caps.arch()))
                .map(str::to_string)
                .unwrap_or(t)
        })
        .unwrap_or_else(|| "qemu64".into())
}

pub(crate) fn emit_cpu(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let mut parts: Vec<String> = Vec::new();
    let cpu = b.def.cpu.as_ref();
    match cpu.and_then(|c| c.mode) {
        Some(CpuMode::HostPassthrough) => {
            if b.accel != Accel::Kvm {
                return Err(ArgvError::unsupported(
                    "CPU mode 'host-passthrough' is only supported with KVM",
                ));
            }
            parts.push("host".into());
        }
        Some(CpuMode::Maximum) => parts.push("max".into()),
        Some(CpuMode::HostModel) if b.accel == Accel::Kvm => parts.push("host".into()),
        _ => {
            let model = cpu
                .and_then(|c| c.model.as_ref())
                .and_then(|m| m.name.clone())
                .unwrap_or_else(|| default_model(b));
            if b.caps.cpu_model(&model, b.accel).is_none() {
                return Err(ArgvError::unsupported(format!(
                    "CPU model '{model}' is not supported by QEMU"
                )));
            }
            parts.push(model);
        }
    }
    if let Some(c) = cpu {
        for (name, on) in start_features(b, c) {
            parts.push(format!(
                "{}={}",
                qemu_feature_name(&name),
                if on { "on" } else { "off" }
            ));
        }
    }
    for t in b.def.clock.iter().flat_map(|c| c.timers.iter()) {
        match t.name {
            TimerName::Kvmclock => {
                if let Some(p) = t.present {
                    parts.push(format!("kvmclock={}", if p { "on" } else { "off" }));
                }
            }
            TimerName::Hypervclock if t.present == Some(true) => parts.push("hv-time=on".into()),
            TimerName::Tsc => {
                if let Some(f) = t.frequency.filter(|f| *f > 0) {
                    parts.push(format!("tsc-frequency={f}"));
                }
            }
            TimerName::Armvtimer => match t.tickpolicy {
                Some(TickPolicy::Delay) => parts.push("kvm-no-adjvtime=off".into()),
                Some(TickPolicy::Discard) => parts.push("kvm-no-adjvtime=on".into()),
                _ => {}
            },
            _ => {}
        }
    }
    let hyperv_panic =
        b.def.devices.iter().any(
            |d| matches!(d, virt_xml::Device::Panic(p) if p.model == Some(PanicModel::Hyperv)),
        );
    if let Some(f) = b.def.features.as_ref() {
        if let Some(eoi) = f.apic.and_then(|a| a.eoi) {
            parts.push(format!("kvm-pv-eoi={}", eoi.as_str()));
        }
        if let Some(pv) = f.pvspinlock {
            parts.push(format!("kvm-pv-unhalt={}", pv.as_str()));
        }
        if let Some(h) = f.hyperv.as_ref() {
            if h.mode == Some(HypervMode::Passthrough) {
                parts.push("hv-passthrough=on".into());
            }
            push_on(&mut parts, "hv-relaxed", h.relaxed);
            push_on(&mut parts, "hv-vapic", h.vapic);
            if let Some(s) = h.spinlocks.as_ref().filter(|s| s.state == OnOff::On) {
                parts.push(format!("hv-spinlocks=0x{:x}", s.retries.unwrap_or(0x1fff)));
            }
            push_on(&mut parts, "hv-vpindex", h.vpindex);
            push_on(&mut parts, "hv-runtime", h.runtime);
            push_on(&mut parts, "hv-synic", h.synic);
            if let Some(st) = h.stimer.as_ref().filter(|s| s.state == OnOff::On) {
                parts.push("hv-stimer=on".into());
                push_on(&mut parts, "hv-stimer-direct", st.direct);
            }
            push_on(&mut parts, "hv-reset", h.reset);
            if let Some(v) = h.vendor_id.as_ref().filter(|v| v.state == OnOff::On) {
                if let Some(val) = &v.value {
                    parts.push(format!("hv-vendor-id={val}"));
                }
            }
            push_on(&mut parts, "hv-frequencies", h.frequencies);
            push_on(&mut parts, "hv-reenlightenment", h.reenlightenment);
            push_on(&mut parts, "hv-tlbflush", h.tlbflush);
            push_on(&mut parts, "hv-ipi", h.ipi);
            push_on(&mut parts, "hv-evmcs", h.evmcs);
            push_on(&mut parts, "hv-avic", h.avic);
        }
    }
    if hyperv_panic {
        parts.push("hv-crash".into());
    }
    if let Some(f) = b.def.features.as_ref() {
        if let Some(k) = f.kvm.as_ref() {
            if k.hidden == Some(OnOff::On) {
                parts.push("kvm=off".into());
            }
            push_on(&mut parts, "kvm-hint-dedicated", k.hint_dedicated);
            push_on(&mut parts, "kvm-poll-control", k.poll_control);
            if let Some(v) = k.pv_ipi {
                if v == OnOff::Off {
                    parts.push("kvm-pv-ipi=off".into());
                }
            }
        }
        if let Some(p) = f.pmu {
            parts.push(format!("pmu={}", p.as_str()));
        }
    }
    if let Some(c) = cpu {
        if let Some(cache) = c.cache.as_ref() {
            match (cache.mode, cache.level) {
                (CacheMode::Passthrough, _) => parts.push("host-cache-info=on".into()),
                (CacheMode::Emulate, Some(3)) => parts.push("l3-cache=on".into()),
                (CacheMode::Disable, _) => {
                    parts.push("host-cache-info=off".into());
                    parts.push("l3-cache=off".into());
                }
                _ => {}
            }
        }
        if let Some(mpa) = c.maxphysaddr.as_ref() {
            match mpa.mode {
                PhysAddrMode::Passthrough => {
                    parts.push("host-phys-bits=on".into());
                    if let Some(bits) = mpa.bits {
                        parts.push(format!("host-phys-bits-limit={bits}"));
                    }
                }
                PhysAddrMode::Emulate => {
                    if let Some(bits) = mpa.bits {
                        parts.push(format!("phys-bits={bits}"));
                    }
                }
            }
        }
    }
    b.arg("-cpu", parts.join(","));
    Ok(())
}

pub(crate) fn emit_smp(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let max = b.def.vcpu.as_ref().map(|v| v.count).unwrap_or(1);
    if max == 0 {
        return Err(ArgvError::unsupported("Domain requires at least 1 vCPU"));
    }
    let current = b.def.vcpu.as_ref().and_then(|v| v.current).unwrap_or(max);
    let mut s = current.to_string();
    if current != max {
        s.push_str(&format!(",maxcpus={max}"));
    }
    match b.def.cpu.as_ref().and_then(|c| c.topology.as_ref()) {
        Some(t) => {
            let product = u64::from(t.sockets)
                .saturating_mul(u64::from(t.dies.max(1)))
                .saturating_mul(u64::from(t.cores))
                .saturating_mul(u64::from(t.threads));
            if product != u64::from(max) {
                return Err(ArgvError::unsupported(format!(
                    "CPU topology doesn't match maximum vcpu count ({max})"
                )));
            }
            s.push_str(&format!(
                ",sockets={},dies={},cores={},threads={}",
                t.sockets,
                t.dies.max(1),
                t.cores,
                t.threads
            ));
        }
        None => s.push_str(&format!(",sockets={max},cores=1,threads=1")),
    }
    if let Some(m) = b.caps.machine(&b.machine, b.accel) {
        if max > m.max_cpus {
            return Err(ArgvError::unsupported(format!(
                "Maximum CPUs greater than specified machine type limit {}",
                m.max_cpus
            )));
        }
    }
    b.arg("-smp", s);
    Ok(())
}
