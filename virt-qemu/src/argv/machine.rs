//! `-machine` and `-accel`.

use virt_xml::clock::TimerName;
use virt_xml::domain::OnOff;
use virt_xml::features::IoapicDriver;
use virt_xml::os::LoaderType;

use super::builder::{ArgvError, Builder, Chipset};
use super::caps::Accel;
use super::view;

/// Whether guest RAM is given as one `memory-backend` object (no NUMA cells).
pub(crate) fn uses_machine_memory_backend(b: &Builder<'_>) -> bool {
    let has_cells = b
        .def
        .cpu
        .as_ref()
        .and_then(|c| c.numa.as_ref())
        .is_some_and(|n| !n.cells.is_empty());
    if has_cells {
        return false;
    }
    b.caps
        .machine(&b.machine, b.accel)
        .is_some_and(|m| m.default_ram_id.is_some())
}

/// The id of the machine's RAM backend (`pc.ram`).
pub(crate) fn ram_id(b: &Builder<'_>) -> String {
    b.caps
        .machine(&b.machine, b.accel)
        .and_then(|m| m.default_ram_id.clone())
        .unwrap_or_else(|| "pc.ram".into())
}

/// Whether the firmware is loaded as pflash.
pub(crate) fn pflash_loader(b: &Builder<'_>) -> bool {
    b.def
        .os_def
        .as_ref()
        .and_then(|o| o.loader.as_ref())
        .is_some_and(|l| l.kind == Some(LoaderType::Pflash) && l.path.is_some())
}

fn on_off(v: OnOff) -> &'static str {
    v.as_str()
}

pub(crate) fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let features = b.def.features.as_ref();
    let mut m = b.machine.clone();
    m.push_str(",usb=off");
    if let Some(v) = features.and_then(|f| f.vmport) {
        if b.is_pc() {
            m.push_str(&format!(",vmport={}", on_off(v)));
        }
    }
    if let Some(smm) = features.and_then(|f| f.smm.as_ref()) {
        m.push_str(&format!(",smm={}", on_off(smm.state)));
    }
    if let Some(ioapic) = features.and_then(|f| f.ioapic) {
        if b.chipset != Chipset::Q35 {
            return Err(ArgvError::unsupported(
                "I/O APIC tuning is not supported by this machine type",
            ));
        }
        match ioapic {
            IoapicDriver::Qemu => m.push_str(",kernel_irqchip=split"),
            IoapicDriver::Kvm => m.push_str(",kernel_irqchip=on"),
        }
    }
    let dump = b
        .def
        .memory
        .and_then(|mem| mem.dump_core)
        .map(|v| v == OnOff::On)
        .unwrap_or(b.host.config.dump_guest_core);
    m.push_str(if dump {
        ",dump-guest-core=on"
    } else {
        ",dump-guest-core=off"
    });
    let mb = view::memory_backing(b.def);
    if mb.nosharepages {
        m.push_str(",mem-merge=off");
    }
    if uses_machine_memory_backend(b) {
        m.push_str(&format!(",memory-backend={}", ram_id(b)));
    }
    if pflash_loader(b) {
        m.push_str(",pflash0=libvirt-pflash0-format");
        if super::firmware::nvram_path(b).is_some() {
            m.push_str(",pflash1=libvirt-pflash1-format");
        }
    }
    let hpet_off = b.def.clock.as_ref().is_some_and(|c| {
        c.timers
            .iter()
            .any(|t| t.name == TimerName::Hpet && t.present == Some(false))
    });
    if hpet_off {
        m.push_str(",hpet=off");
    }
    if view::has_nvdimm(b.def) {
        m.push_str(",nvdimm=on");
    }
    let hmat = b
        .def
        .cpu
        .as_ref()
        .and_then(|c| c.numa.as_ref())
        .is_some_and(|n| {
            !n.latencies.is_empty()
                || !n.bandwidths.is_empty()
                || n.cells.iter().any(|c| !c.caches.is_empty())
        });
    if hmat {
        m.push_str(",hmat=on");
    }
    if let Some(kind) = view::launch_security_type(b.def) {
        if kind == "sev" || kind == "s390-pv" {
            m.push_str(",confidential-guest-support=lsec0");
        }
    }
    b.arg("-machine", m);

    let mut accel = b.accel.as_str().to_string();
    if b.accel == Accel::Tcg {
        if let Some(tb) = tcg_tb_cache_mib(b) {
            accel.push_str(&format!(",tb-size={tb}"));
        }
    }
    b.arg("-accel", accel);
    Ok(())
}

/// `<features><tcg><tb-cache>` in MiB.
fn tcg_tb_cache_mib(b: &Builder<'_>) -> Option<u64> {
    let tcg = b
        .def
        .features
        .as_ref()?
        .other
        .iter()
        .find(|e| e.name == "tcg")?;
    let tb = tcg.child("tb-cache")?;
    let v: u64 = tb.text().trim().parse().ok()?;
    let kib = match tb.attr("unit").unwrap_or("MiB") {
        "KiB" | "K" | "k" => v,
        "MiB" | "M" => v.saturating_mul(1024),
        "GiB" | "G" => v.saturating_mul(1024 * 1024),
        _ => v.saturating_mul(1024),
    };
    Some(kib / 1024)
}

/// `-global mch.extended-tseg-mbytes=N` for an explicit SMM TSEG size on q35.
pub(crate) fn emit_tseg(b: &mut Builder<'_>) {
    let tseg = b
        .def
        .features
        .as_ref()
        .and_then(|f| f.smm.as_ref())
        .filter(|s| s.state == OnOff::On)
        .and_then(|s| s.tseg);
    if let Some(t) = tseg {
        if b.chipset == Chipset::Q35 {
            b.arg(
                "-global",
                format!("mch.extended-tseg-mbytes={}", t.0 / 1024),
            );
        }
    }
}
