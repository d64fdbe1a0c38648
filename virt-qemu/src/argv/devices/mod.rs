//! Device families, one file each. Each has the same hook,
//! `pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError>`, which walks the domain's devices of
//! its kind and writes their options through the [`Builder`](crate::argv::Builder). [`emit_all`]
//! calls them in libvirt's order of sections.

pub mod chardev;
pub mod controller;
pub mod disk;
pub mod filesystem;
pub mod graphics;
pub mod hostdev;
pub mod hub;
pub mod input;
pub mod iommu;
pub mod memballoon;
pub mod memory;
pub mod net;
pub mod panic;
pub mod redirdev;
pub mod rng;
pub mod shmem;
pub mod smartcard;
pub mod sound;
pub mod tpm;
pub mod video;
pub mod vsock;
pub mod watchdog;

use super::builder::{ArgvError, Builder};

/// A device family's hook.
pub type Hook = fn(&mut Builder<'_>) -> Result<(), ArgvError>;

/// The families that come before `-audiodev`, in libvirt's order.
pub const BEFORE_AUDIO: &[(&str, Hook)] = &[
    ("iommu", iommu::emit),
    ("controller", controller::emit),
    ("memory", memory::emit),
    ("hub", hub::emit),
    ("disk", disk::emit),
    ("filesystem", filesystem::emit),
    ("net", net::emit),
    ("smartcard", smartcard::emit),
    ("chardev", chardev::emit),
    ("tpm", tpm::emit),
    ("input", input::emit),
];

/// The families that come after `-audiodev`, in libvirt's order (launch security, `-sandbox` and
/// `-msg` follow `rng`; `panic`, `shmem` and `vsock` come after launch security).
pub const AFTER_AUDIO: &[(&str, Hook)] = &[
    ("graphics", graphics::emit),
    ("video", video::emit),
    ("sound", sound::emit),
    ("watchdog", watchdog::emit),
    ("redirdev", redirdev::emit),
    ("hostdev", hostdev::emit),
    ("memballoon", memballoon::emit),
    ("rng", rng::emit),
];

/// The families written after launch security.
pub const LAST: &[(&str, Hook)] = &[
    ("panic", panic::emit),
    ("shmem", shmem::emit),
    ("vsock", vsock::emit),
];

/// Runs a list of hooks in order.
pub fn emit_all(b: &mut Builder<'_>, hooks: &[(&str, Hook)]) -> Result<(), ArgvError> {
    for (_, hook) in hooks {
        hook(b)?;
    }
    Ok(())
}
