//! The smaller global options: `-name`, `-S`, the master key, `-uuid`, VM generation id,
//! `-display`, `-no-user-config`/`-nodefaults`, the monitor, `-rtc` and timer globals,
//! `-no-shutdown`, `-no-acpi`, power-management globals, `-boot`, direct kernel boot,
//! launch security, `-compat`, the `<qemu:commandline>` passthrough, `-sandbox` and `-msg`.

use virt_xml::clock::{ClockBasis, ClockOffset, TickPolicy, TimerName};
use virt_xml::domain::DeviceKind;
use virt_xml::sections::{DeprecationBehavior, OverrideProperty, PropertyType, Section};

use super::builder::{ArgvError, Builder, Chipset};
use super::caps::Accel;
use super::host::MonitorSocket;
use super::props::{escape_comma, Props, Value};
use super::view;

pub(crate) fn emit_name(b: &mut Builder<'_>) {
    let name = escape_comma(&b.def.name);
    b.arg("-name", format!("guest={name},debug-threads=on"));
    emit_compat(b);
    b.flag("-S");
}

/// `-compat`: what QEMU does with deprecated interfaces, from `<qemu:deprecation behavior>`.
/// Deprecated output is always hidden; `reject`/`crash` also set the input policy. Left out when
/// the behaviour is `none` or the emulator has no `-compat`.
fn emit_compat(b: &mut Builder<'_>) {
    let behavior = b.def.sections.iter().find_map(|s| match s {
        Section::QemuDeprecation(d) => Some(d.behavior),
        _ => None,
    });
    let Some(behavior) = behavior else { return };
    if behavior == DeprecationBehavior::None || !b.caps.has_flag("compat-deprecated") {
        return;
    }
    let input = match behavior {
        DeprecationBehavior::Reject => Some("reject"),
        DeprecationBehavior::Crash => Some("crash"),
        DeprecationBehavior::None | DeprecationBehavior::Omit => None,
    };
    let p = Props::new()
        .str("deprecated-output", "hide")
        .opt_str("deprecated-input", input);
    b.arg("-compat", p.to_json());
}

/// `<qemu:commandline>`: its arguments verbatim, and its variables added to QEMU's environment
/// (a variable without a value is set empty). libvirt writes them after launch security, just
/// before the sandbox.
fn emit_passthrough(b: &mut Builder<'_>) {
    let def = b.def;
    for s in &def.sections {
        let Section::QemuCommandline(c) = s else {
            continue;
        };
        for a in &c.args {
            b.flag(a);
        }
        for e in &c.env {
            b.env(&e.name, e.value.clone().unwrap_or_default());
        }
    }
}

pub(crate) fn emit_master_key(b: &mut Builder<'_>) {
    let p = Props::new()
        .str("qom-type", "secret")
        .str("id", "masterKey0")
        .str("format", "raw")
        .str("file", b.host.master_key_path().to_string_lossy());
    b.object(&p);
}

pub(crate) fn emit_uuid(b: &mut Builder<'_>) {
    if let Some(u) = b.def.uuid {
        b.arg("-uuid", u.to_string());
    }
}

pub(crate) fn emit_genid(b: &mut Builder<'_>) {
    let Some(genid) = view::genid(b.def) else {
        return;
    };
    let guid = if genid.is_empty() {
        b.host.generated_uuid()
    } else {
        genid
    };
    let p = Props::new()
        .str("driver", "vmgenid")
        .str("guid", guid)
        .str("id", "vmgenid0");
    b.device(&p);
}

pub(crate) fn emit_display(b: &mut Builder<'_>) {
    if view::count(b.def, DeviceKind::Graphics) == 0 {
        b.arg("-display", "none");
    }
    b.flag("-no-user-config");
    b.flag("-nodefaults");
}

pub(crate) fn emit_monitor(b: &mut Builder<'_>) {
    let chardev = match &b.host.monitor {
        MonitorSocket::Fd(fd) => format!("socket,id=charmonitor,fd={fd},server=on,wait=off"),
        MonitorSocket::Path(p) => format!(
            "socket,id=charmonitor,path={},server=on,wait=off",
            escape_comma(&p.to_string_lossy())
        ),
    };
    if let MonitorSocket::Fd(fd) = b.host.monitor {
        b.note_fd(fd, super::cmdline::FdPurpose::Monitor);
    }
    b.arg("-chardev", chardev);
    b.arg("-mon", "chardev=charmonitor,id=monitor,mode=control");
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    // Clamp to years QEMU can represent anyway (0000..9999) so the arithmetic cannot overflow.
    let z = z.clamp(-719_468, 2_932_896) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DDTHH:MM:SS` of a UNIX time (UTC).
pub(crate) fn rtc_datetime(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

pub(crate) fn emit_clock(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let clock = b.def.clock.clone();
    let mut rtc = match clock.as_ref().map(|c| &c.offset) {
        None | Some(ClockOffset::Utc { .. }) => "base=utc".to_string(),
        Some(ClockOffset::Localtime { .. }) => "base=localtime".to_string(),
        Some(ClockOffset::Timezone(_)) => "base=localtime".to_string(),
        Some(ClockOffset::Variable { adjustment, basis }) => {
            let now = b.host.now;
            // The harness and this builder keep the host clock in UTC.
            let base = match basis {
                ClockBasis::Utc | ClockBasis::Localtime => now.saturating_add(*adjustment),
            };
            format!("base={}", rtc_datetime(base))
        }
        Some(ClockOffset::Absolute { start }) => {
            format!("base={}", rtc_datetime(i64::try_from(*start).unwrap_or(0)))
        }
    };
    let mut pit_policy = None;
    if let Some(c) = clock.as_ref() {
        for t in &c.timers {
            match t.name {
                TimerName::Rtc => {
                    match t.tickpolicy {
                        Some(TickPolicy::Catchup) => rtc.push_str(",driftfix=slew"),
                        Some(TickPolicy::Delay) | None => {}
                        Some(other) => {
                            return Err(ArgvError::unsupported(format!(
                                "unsupported rtc timer tickpolicy '{}'",
                                other.as_str()
                            )))
                        }
                    }
                    if let Some(track) = t.track {
                        match track.as_str() {
                            "guest" => rtc.push_str(",clock=vm"),
                            "wall" | "boot" => rtc.push_str(",clock=host"),
                            "realtime" => rtc.push_str(",clock=rt"),
                            _ => {}
                        }
                    }
                }
                TimerName::Pit => {
                    pit_policy = match t.tickpolicy {
                        Some(TickPolicy::Delay) => Some("delay"),
                        Some(TickPolicy::Catchup) => Some("slew"),
                        Some(TickPolicy::Discard) => Some("discard"),
                        Some(TickPolicy::Merge) => {
                            return Err(ArgvError::unsupported(
                                "unsupported pit tickpolicy 'merge'",
                            ))
                        }
                        None => None,
                    };
                }
                _ => {}
            }
        }
    }
    b.arg("-rtc", rtc);
    if let Some(p) = pit_policy {
        if b.accel == Accel::Kvm || b.caps.has_flag("kvm-pit-lost-tick-policy") {
            b.arg("-global", format!("kvm-pit.lost_tick_policy={p}"));
        }
    }
    Ok(())
}

pub(crate) fn emit_lifecycle(b: &mut Builder<'_>) {
    b.flag("-no-shutdown");
    let acpi = b.def.features.as_ref().is_some_and(|f| f.acpi);
    if !acpi && b.is_pc() {
        b.flag("-no-acpi");
    }
    let (s3, s4) = view::pm(b.def);
    let dev = match b.chipset {
        Chipset::Q35 => "ICH9-LPC",
        _ => "PIIX4_PM",
    };
    if let Some(enabled) = s3 {
        b.arg(
            "-global",
            format!("{dev}.disable_s3={}", if enabled { 0 } else { 1 }),
        );
    }
    if let Some(enabled) = s4 {
        b.arg(
            "-global",
            format!("{dev}.disable_s4={}", if enabled { 0 } else { 1 }),
        );
    }
}

pub(crate) fn emit_boot(b: &mut Builder<'_>) {
    let os = b.def.os_def.clone();
    let mut parts = Vec::new();
    if let Some(menu) = os.as_ref().and_then(|o| o.bootmenu) {
        parts.push(format!("menu={}", if menu.enable { "on" } else { "off" }));
        if menu.enable {
            if let Some(t) = menu.timeout {
                parts.push(format!("splash-time={t}"));
            }
        }
    }
    parts.push("strict=on".into());
    if let Some(t) = os
        .as_ref()
        .and_then(|o| o.bios.as_ref())
        .and_then(|bios| bios.reboot_timeout)
    {
        parts.push(format!("reboot-timeout={t}"));
    }
    b.arg("-boot", parts.join(","));
    if let Some(os) = os {
        if let Some(k) = os.kernel {
            b.arg("-kernel", k);
        }
        if let Some(i) = os.initrd {
            b.arg("-initrd", i);
        }
        if let Some(c) = os.cmdline {
            b.arg("-append", c);
        }
        if let Some(d) = os.dtb {
            b.arg("-dtb", d);
        }
    }
}

pub(crate) fn emit_launch_security(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let Some(kind) = view::launch_security_type(b.def) else {
        return Ok(());
    };
    if kind != "sev" {
        return Err(ArgvError::unsupported(format!(
            "launch security type '{kind}' is not supported on x86_64"
        )));
    }
    let Some(ls) = view::section(b.def, "launchSecurity") else {
        return Ok(());
    };
    let num = |name: &str| -> Option<u64> {
        let t = ls.child(name)?.text();
        let t = t.trim();
        match t.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => t.parse().ok(),
        }
    };
    let mut p = Props::new().str("qom-type", "sev-guest").str("id", "lsec0");
    p = p.opt_uint("cbitpos", num("cbitpos"));
    p = p.opt_uint("reduced-phys-bits", num("reducedPhysBits"));
    p = p.opt_uint("policy", num("policy"));
    if ls.child("dhCert").is_some() {
        p = p.str(
            "dh-cert-file",
            b.host.state_dir.join("dh_cert.base64").to_string_lossy(),
        );
    }
    if ls.child("session").is_some() {
        p = p.str(
            "session-file",
            b.host.state_dir.join("session.base64").to_string_lossy(),
        );
    }
    match ls.attr("kernelHashes") {
        Some("yes") => p = p.bool("kernel-hashes", true),
        Some("no") => p = p.bool("kernel-hashes", false),
        _ => {}
    }
    b.object(&p);
    Ok(())
}

/// The typed value of one `<qemu:property>` (`None` for `remove` or a value of the wrong form,
/// which [`super::validate`] refuses before the build).
pub(crate) fn override_value(p: &OverrideProperty) -> Option<Value> {
    let v = p.value.as_deref();
    match p.kind {
        PropertyType::Remove => None,
        PropertyType::String => v.map(|v| Value::Str(v.to_string())),
        PropertyType::Signed => v.and_then(|v| v.parse().ok()).map(Value::Int),
        PropertyType::Unsigned => v.and_then(|v| v.parse().ok()).map(Value::UInt),
        PropertyType::Bool => match v {
            Some("true") => Some(Value::Bool(true)),
            Some("false") => Some(Value::Bool(false)),
            _ => None,
        },
    }
}

/// `<qemu:override>` applied to a `-device` whose `id` has overrides: every overridden property
/// leaves its place, and those that are not `remove`d are added at the end in document order
/// (a later override of the same name wins). `None` when nothing applies.
pub(crate) fn with_overrides(def: &virt_xml::Domain, props: &Props) -> Option<Props> {
    let Some(Value::Str(id)) = props.get("id") else {
        return None;
    };
    let overrides: Vec<&OverrideProperty> = def
        .sections
        .iter()
        .filter_map(|s| match s {
            Section::QemuOverride(o) => Some(o),
            _ => None,
        })
        .flat_map(|o| o.devices.iter())
        .filter(|d| &d.alias == id)
        .filter_map(|d| d.frontend.as_ref())
        .flatten()
        .collect();
    if overrides.is_empty() {
        return None;
    }
    let mut items: Vec<(String, Value)> = props
        .iter()
        .filter(|(k, _)| !overrides.iter().any(|o| o.name == *k))
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    for o in overrides {
        items.retain(|(k, _)| *k != o.name);
        if let Some(v) = override_value(o) {
            items.push((o.name.clone(), v));
        }
    }
    Some(
        items
            .into_iter()
            .fold(Props::new(), |p, (k, v)| p.add(&k, v)),
    )
}

/// The `<qemu:commandline>` passthrough, then `-sandbox` (seccomp) where enabled and supported.
pub(crate) fn emit_sandbox(b: &mut Builder<'_>) {
    emit_passthrough(b);
    if b.host.config.seccomp_sandbox && b.caps.has_flag("seccomp-sandbox") {
        b.arg(
            "-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
        );
    }
}

/// `-msg timestamp=on`, the very last option libvirt writes.
pub(crate) fn emit_msg(b: &mut Builder<'_>) {
    if b.host.config.log_timestamp {
        b.arg("-msg", "timestamp=on");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        assert_eq!(rtc_datetime(0), "1970-01-01T00:00:00");
        assert_eq!(rtc_datetime(1_234_567_890), "2009-02-13T23:31:30");
        assert_eq!(rtc_datetime(951_782_400), "2000-02-29T00:00:00");
    }
}
