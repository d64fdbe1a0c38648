//! The `<devices>` children as typed values, one module per device family. Each type reads itself
//! from its schema-checked, normalised element (`from_element`) and writes libvirt's canonical form
//! (`write`).

pub mod device;
pub mod info;

pub mod disk;

pub mod hostdev;
pub mod interface;
pub mod redirdev;
pub mod smartcard;

pub mod chardev;
pub mod rng;

pub mod audio;
pub mod graphics;
pub mod input;
pub mod sound;
pub mod video;

pub mod controller;
pub mod crypto;
pub mod filesystem;
pub mod hub;
pub mod iommu;
pub mod lease;
pub mod memballoon;
pub mod memory;
pub mod panic;
pub mod shmem;
pub mod tpm;
pub mod vsock;
pub mod watchdog;

pub use device::Device;
pub use info::{BootOrder, DeviceInfo, Rom};
