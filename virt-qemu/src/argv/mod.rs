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
mod firmware;
pub mod host;
mod machine;
mod memory;
mod misc;
pub mod props;
mod validate;
mod view;

pub use builder::{ArgvError, Builder, Chipset};
pub use caps::{Accel, CapsError, CpuModel, MachineType, QemuCaps};
pub use cmdline::{shell_quote, CommandLine, FdPurpose, PassFd};
pub use host::{DriverConfig, FdKind, FdNumbering, HostContext, MonitorSocket};
pub use props::{Props, Value};

use virt_xml::Domain;

use devices::{emit_all, AFTER_AUDIO, BEFORE_AUDIO, LAST};

/// `-object iothread` for each I/O thread.
fn emit_iothreads(b: &mut Builder<'_>) {
    for i in 1..=view::iothreads(b.def) {
        let p = Props::new()
            .str("qom-type", "iothread")
            .str("id", format!("iothread{i}"));
        b.object(&p);
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
    emit_all(&mut b, LAST)?;
    misc::emit_tail(&mut b);
    Ok(b.finish())
}

/// Runs address assignment, implicit devices and defaults ([`crate::prepare::prepare`]) on `def`,
/// then [`build`]: the whole pipeline from a parsed definition to a command line.
pub fn prepare_and_build(
    def: &mut Domain,
    caps: &QemuCaps,
    host: &HostContext,
) -> Result<CommandLine, ArgvError> {
    crate::prepare::prepare(def, caps).map_err(|e| ArgvError::Prepare(e.to_string()))?;
    build(def, caps, host)
}
