//! Domain definition to QEMU command line, as libvirt 9.0 writes it for QEMU 7.2.
//!
//! - [`caps`]: QEMU capabilities (libvirt's `qemuCaps` XML): flags, version, machine types, CPU
//!   models.
//! - [`host`]: the host facts the builder needs ([`HostContext`]), including how fds are numbered.
//! - [`cmdline`]: the result ([`CommandLine`]: env, program, args, planned fds) and libvirt's
//!   `.args` text layout.
//! - [`props`]: ordered property lists written as JSON or `key=value` ([`Props`]).
//! - [`builder`]: the [`Builder`] every part writes through, and [`ArgvError`].
//! - the global options in `machine`, `cpu`, `memory`, `firmware`, `misc`, `audio`;
//! - [`devices`]: one file per device family, each a hook called in libvirt's order.
//!
//! ```
//! use virt_qemu::argv::{self, HostContext, QemuCaps};
//! let xml = "<domain type='qemu'><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\
//!            <memory unit='KiB'>219136</memory><vcpu>1</vcpu>\
//!            <os><type arch='x86_64' machine='pc'>hvm</type></os></domain>";
//! let def = virt_xml::Domain::parse(xml).expect("valid");
//! let caps = QemuCaps::x86_64_7_2();
//! let host = HostContext::libvirt_test_harness(&def);
//! let cmd = argv::build(&def, &caps, &host).expect("argv");
//! assert_eq!(cmd.option("-machine"), Some("pc,usb=off,dump-guest-core=off,memory-backend=pc.ram"));
//! assert_eq!(cmd.option("-m"), Some("214"));
//! ```

mod audio;
pub mod builder;
pub mod caps;
pub mod cmdline;
pub mod conformance;
mod cpu;
pub mod devices;
pub mod firmware;
pub mod harness;
pub mod host;
mod machine;
mod memory;
mod misc;
pub mod props;
mod validate;
mod view;
pub mod volume;

pub use builder::{ArgvError, Builder, Chipset};
pub use caps::{Accel, CapsError, CpuModel, MachineType, QemuCaps};
pub use cmdline::{shell_quote, CommandLine, FdPurpose, PassFd};
pub use host::{DisplayPorts, DriverConfig, FdKind, FdNumbering, HostContext, MonitorSocket};
pub use props::{Props, Value};

use virt_xml::Domain;

use devices::{emit_all, AFTER_AUDIO, BEFORE_AUDIO, LAST};

/// `-object iothread` for each I/O thread: the listed `<iothreadids>` in document order (with their
/// thread pool sizes), then the ids `<iothreads>` counts but does not list (the lowest unused
/// ones); then the main loop's pool from `<defaultiothread>`.
fn emit_iothreads(b: &mut Builder<'_>) {
    use virt_xml::sections::Section;
    let count = b.def.sections.iter().find_map(|s| match s {
        Section::Iothreads(n) => Some(n.0),
        _ => None,
    });
    let listed: Vec<virt_xml::sections::Iothread> = b
        .def
        .sections
        .iter()
        .find_map(|s| match s {
            Section::IothreadIds(ids) => Some(ids.iothreads.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let pool = |p: Props, min: Option<u32>, max: Option<u32>| {
        let p = match min {
            Some(v) => p.uint("thread-pool-min", u64::from(v)),
            None => p,
        };
        match max {
            Some(v) => p.uint("thread-pool-max", u64::from(v)),
            None => p,
        }
    };
    for t in &listed {
        let p = Props::new()
            .str("qom-type", "iothread")
            .str("id", format!("iothread{}", t.id));
        b.object(&pool(p, t.thread_pool_min, t.thread_pool_max));
    }
    let total = count.unwrap_or(0).max(listed.len() as u32);
    let mut next = 1u32;
    for _ in listed.len() as u32..total {
        while listed.iter().any(|t| t.id == next) {
            next += 1;
        }
        let p = Props::new()
            .str("qom-type", "iothread")
            .str("id", format!("iothread{next}"));
        b.object(&p);
        next += 1;
    }
    let main_loop = b.def.sections.iter().find_map(|s| match s {
        Section::DefaultIothread(d) => Some(*d),
        _ => None,
    });
    if let Some(d) = main_loop {
        if d.thread_pool_min.is_some() || d.thread_pool_max.is_some() {
            let p = Props::new()
                .str("qom-type", "main-loop")
                .str("id", "main-loop");
            b.object(&pool(p, d.thread_pool_min, d.thread_pool_max));
        }
    }
}

/// The command line for `def` on an emulator with `caps`, on the host `host`, in libvirt's order.
/// The domain should have gone through address assignment and defaults first.
pub fn build(def: &Domain, caps: &QemuCaps, host: &HostContext) -> Result<CommandLine, ArgvError> {
    validate::domain(def, caps, host)?;
    let mut b = Builder::new(def, caps, host)?;
    firmware::validate(&b)?;
    misc::emit_name(&mut b);
    misc::emit_master_key(&mut b);
    devices::disk::emit_managed_pr_helper(&mut b);
    firmware::emit_pflash(&mut b)?;
    machine::emit(&mut b)?;
    machine::emit_tseg(&mut b);
    cpu::emit_cpu(&mut b)?;
    firmware::emit_secure_global(&mut b);
    firmware::emit_bios(&mut b);
    memory::emit_m(&mut b)?;
    memory::emit_overcommit(&mut b);
    cpu::emit_smp(&mut b)?;
    emit_iothreads(&mut b);
    memory::emit_numa(&mut b)?;
    misc::emit_uuid(&mut b);
    misc::emit_genid(&mut b);
    misc::emit_display(&mut b);
    misc::emit_monitor(&mut b);
    misc::emit_clock(&mut b)?;
    misc::emit_lifecycle(&mut b);
    misc::emit_boot(&mut b);
    emit_all(&mut b, BEFORE_AUDIO)?;
    audio::emit(&mut b)?;
    emit_all(&mut b, AFTER_AUDIO)?;
    misc::emit_launch_security(&mut b)?;
    // libvirt writes the seccomp sandbox before pvpanic, shmem and vsock, and `-msg` last.
    misc::emit_sandbox(&mut b);
    emit_all(&mut b, LAST)?;
    misc::emit_msg(&mut b);
    Ok(b.finish())
}

/// Runs address assignment, implicit devices and defaults ([`crate::prepare::prepare`]) on `def`,
/// then [`build`]: the whole pipeline from a parsed definition to a command line.
pub fn prepare_and_build(
    def: &mut Domain,
    caps: &QemuCaps,
    host: &HostContext,
) -> Result<CommandLine, ArgvError> {
    crate::prepare::prepare_with(def, caps, &host.config.prepare_options())
        .map_err(|e| ArgvError::Prepare(e.to_string()))?;
    // USB ports are given out at start time only (libvirt keeps them out of the saved XML).
    crate::prepare::assign_usb_ports(def).map_err(|e| ArgvError::Prepare(e.to_string()))?;
    select_firmware(def, host)?;
    build(def, caps, host)
}

/// Firmware autoselection for `<os firmware='efi|bios'>`: fills in the loader from the host's
/// firmware descriptors ([`DriverConfig::firmware_descriptors`], else the JSON files of
/// [`DriverConfig::firmware_dirs`]).
pub fn select_firmware(def: &mut Domain, host: &HostContext) -> Result<(), ArgvError> {
    if def.os_def.as_ref().and_then(|o| o.firmware).is_none() {
        return Ok(());
    }
    let descriptors = match host.config.firmware_descriptors.as_ref() {
        Some(d) => d.clone(),
        None => firmware::FirmwareDescriptor::load(&host.config.firmware_dirs),
    };
    firmware::autoselect(def, &descriptors)
}
