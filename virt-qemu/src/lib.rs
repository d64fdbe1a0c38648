//! The QEMU driver's runtime foundation.
//!
//! - [`argv`]: a domain definition and QEMU's capabilities to the command line and fd plan, as
//!   libvirt 9.0 writes it for QEMU 7.2.
//! - [`hotplug`]: attach and detach of NICs and disks on a running guest (QMP, taps, audit, crash
//!   repair).
//! - [`message`]: the QMP wire format (framing and message parsing, for untrusted input).
//! - [`qmp`]: a blocking, thread-safe QMP client (commands with timeouts, an event queue, fd passing).
//! - [`process`]: launching QEMU from an argv with chosen descriptors, a cleared environment and a
//!   log file; start, graceful shutdown, destroy, death detection.
//! - [`secret`]: secrets for QEMU's command line (AES-256-CBC under the per-guest master key,
//!   base64), where their values are looked up, and the master key itself.
//! - [`status`]: a running guest's runtime state file (atomic write, read back, pid liveness).
//! - [`driver`]: the QEMU driver over a root directory: definitions, start/stop, reconnection,
//!   file locks between processes.

pub mod argv;
pub mod driver;
pub mod hotplug;
pub mod message;
pub mod prepare;
pub mod process;
pub mod qmp;
pub mod secret;
pub mod status;

pub use argv::{Accel, QemuCaps};
pub use message::{Event, Greeting, ProtocolError};
pub use process::{LaunchSpec, ProcessError, QemuProcess, ShutdownOutcome};
pub use qmp::{Qmp, QmpError};
pub use status::{RuntimeState, StatusError};
