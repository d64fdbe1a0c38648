//! `-cpu` (model, features, Hyper-V and KVM enlightenments) and `-smp`.

use virt_xml::cpu::{CacheMode, CpuMode, FeaturePolicy, PhysAddrMode};
use virt_xml::domain::OnOff;
use virt_xml::features::HypervMode;

use super::builder::{ArgvError, Builder};
use super::caps::Accel;

/// QEMU's spelling of a libvirt CPU feature name.
fn qemu_feature_name(name: &str) -> String {
    match name {
        "pclmuldq" => "pclmulqdq".to_string(),
        "sse4.1" => "sse4-1".to_string(),
        "sse4.2" => "sse4-2".to_string(),
        other => other.replace('_', "-"),
    }
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
        for f in &c.features {
            let on = matches!(
                f.policy,
                FeaturePolicy::Force | FeaturePolicy::Require | FeaturePolicy::Optional
            );
            parts.push(format!(
                "{}={}",
                qemu_feature_name(&f.name),
                if on { "on" } else { "off" }
            ));
        }
    }
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
