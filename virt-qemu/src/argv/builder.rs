//! The state every part of the command line is written through: the domain, caps, host facts,
//! the growing argument list and the fd plan.

use std::os::fd::RawFd;

use thiserror::Error;
use virt_xml::Domain;

use super::caps::{Accel, QemuCaps};
use super::cmdline::{CommandLine, FdPurpose, PassFd};
use super::host::{FdAllocator, FdKind, HostContext};
use super::props::Props;

/// Why a domain cannot be turned into a command line. Messages follow libvirt's wording where a
/// libvirt user would recognise them, and name the element or device concerned.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ArgvError {
    /// The configuration is valid XML but QEMU (or this builder) cannot run it.
    #[error("unsupported configuration: {0}")]
    Unsupported(String),
    /// A device cannot be expressed: `device` names it (`disk 'vda'`, `interface net0`, ...).
    #[error("{device}: {reason}")]
    Device { device: String, reason: String },
    /// A host resource the configuration needs is missing (hugetlbfs mount, NUMA node, ...).
    #[error("internal error: {0}")]
    Host(String),
    /// The domain was refused before argv generation (address assignment, defaults).
    #[error("{0}")]
    Prepare(String),
}

impl ArgvError {
    pub(crate) fn unsupported(msg: impl Into<String>) -> ArgvError {
        ArgvError::Unsupported(msg.into())
    }
}

/// The chipset family of the machine type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chipset {
    I440fx,
    Q35,
    Microvm,
    Isapc,
    Other,
}

/// Writes the command line. Device families get a `&mut Builder` and add their options with
/// [`Builder::arg`], [`Builder::device`], [`Builder::object`], ... and plan fds with
/// [`Builder::pass_fd`].
pub struct Builder<'a> {
    pub def: &'a Domain,
    pub caps: &'a QemuCaps,
    pub host: &'a HostContext,
    /// The accelerator the guest runs on (`kvm` for `<domain type='kvm'>`, else `tcg`).
    pub accel: Accel,
    /// The machine type as written in the domain (libvirt passes aliases such as `pc` through).
    pub machine: String,
    /// The chipset of the machine type (aliases resolved).
    pub chipset: Chipset,
    /// libvirt's alias of every device (`net0`, `virtio-disk0`, ...), by index in `def.devices`
    /// (an empty string for devices that have none).
    pub aliases: Vec<String>,
    cmd: CommandLine,
    fds: FdAllocator,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(
        def: &'a Domain,
        caps: &'a QemuCaps,
        host: &'a HostContext,
    ) -> Result<Builder<'a>, ArgvError> {
        let accel = match def.domain_type {
            virt_xml::DomainType::Kvm => Accel::Kvm,
            virt_xml::DomainType::Qemu => Accel::Tcg,
            other => {
                return Err(ArgvError::unsupported(format!(
                    "Emulator '{}' does not support virt type '{}'",
                    host.emulator.display(),
                    other.as_str()
                )))
            }
        };
        let machine = match def.os_def.as_ref().and_then(|o| o.machine.clone()) {
            Some(m) => m,
            None => caps
                .default_machine(accel)
                .map(|m| m.name.clone())
                .ok_or_else(|| {
                    ArgvError::unsupported("no machine type given and QEMU has no default")
                })?,
        };
        let canonical = caps
            .canonical_machine(&machine, accel)
            .unwrap_or_else(|| machine.clone());
        let chipset = chipset_of(&canonical);
        Ok(Builder {
            def,
            caps,
            host,
            accel,
            machine,
            chipset,
            aliases: crate::prepare::aliases(def),
            cmd: CommandLine {
                env: host.environment(),
                program: host.emulator.clone(),
                args: Vec::new(),
                fds: Vec::new(),
            },
            fds: FdAllocator::new(host.fd_numbering.clone()),
        })
    }

    /// The alias of device `index` of `def.devices`.
    pub fn alias(&self, index: usize) -> &str {
        self.aliases.get(index).map(String::as_str).unwrap_or("")
    }

    /// Whether the machine is a PC (i440fx or q35).
    pub fn is_pc(&self) -> bool {
        matches!(self.chipset, Chipset::I440fx | Chipset::Q35)
    }

    /// An option with a value (`-rtc base=utc`).
    pub fn arg(&mut self, option: &str, value: impl Into<String>) {
        self.cmd.args.push(option.to_string());
        self.cmd.args.push(value.into());
    }

    /// Adds an environment variable for QEMU (after the standard ones, e.g. `SASL_CONF_PATH`).
    pub fn env(&mut self, key: &str, value: impl Into<String>) {
        self.cmd.env.push((key.to_string(), value.into()));
    }

    /// An option without a value (`-S`).
    pub fn flag(&mut self, option: &str) {
        self.cmd.args.push(option.to_string());
    }

    /// `-device JSON`.
    pub fn device(&mut self, props: &Props) {
        // `<qemu:override>` properties of the device with this id, if any.
        match super::misc::with_overrides(self.def, props) {
            Some(p) => self.arg("-device", p.to_json()),
            None => self.arg("-device", props.to_json()),
        }
    }

    /// `-object JSON`.
    pub fn object(&mut self, props: &Props) {
        self.arg("-object", props.to_json());
    }

    /// `-blockdev JSON`.
    pub fn blockdev(&mut self, props: &Props) {
        self.arg("-blockdev", props.to_json());
    }

    /// `-netdev JSON`.
    pub fn netdev(&mut self, props: &Props) {
        self.arg("-netdev", props.to_json());
    }

    /// `-chardev key=value,...` (QEMU 7.2 takes no JSON here).
    pub fn chardev(&mut self, props: &Props) {
        self.arg("-chardev", props.to_keyval());
    }

    /// Plans an fd: returns the number QEMU will see and records what the runtime must open.
    pub fn pass_fd(&mut self, kind: FdKind, purpose: FdPurpose) -> RawFd {
        let number = self.fds.number(kind);
        self.cmd.fds.push(PassFd { number, purpose });
        number
    }

    /// Records an fd whose number was fixed elsewhere (the monitor's).
    pub fn note_fd(&mut self, number: RawFd, purpose: FdPurpose) {
        self.cmd.fds.push(PassFd { number, purpose });
    }

    /// Plans an fd handed over through `-add-fd set=N,fd=M,opaque=...`; returns the fdset path
    /// (`/dev/fdset/N`) to put where QEMU expects a file name.
    pub fn add_fd(&mut self, kind: FdKind, purpose: FdPurpose, opaque: &str) -> String {
        let number = self.pass_fd(kind, purpose);
        let set = self.fds.next_fdset();
        self.arg("-add-fd", format!("set={set},fd={number},opaque={opaque}"));
        format!("/dev/fdset/{set}")
    }

    /// The arguments written so far.
    pub fn args(&self) -> &[String] {
        &self.cmd.args
    }

    pub(crate) fn finish(self) -> CommandLine {
        self.cmd
    }
}

/// The chipset of a canonical machine type name.
pub fn chipset_of(machine: &str) -> Chipset {
    if machine == "q35" || machine.starts_with("pc-q35-") {
        Chipset::Q35
    } else if machine == "pc" || machine.starts_with("pc-i440fx-") || machine.starts_with("pc-") {
        Chipset::I440fx
    } else if machine == "microvm" {
        Chipset::Microvm
    } else if machine == "isapc" {
        Chipset::Isapc
    } else {
        Chipset::Other
    }
}
