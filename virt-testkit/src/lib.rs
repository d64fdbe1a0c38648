//! Helpers shared by the workspace's tests; never a dependency of library code.
//!
//! - [`conformance`]: where libvirt's test data lives.
//! - [`system`]: the system-test rule (skip with a reason, or fail under `VIRT_SYSTEM_TESTS=require`).
//! - [`netns`]: network namespaces that are always removed.
//! - [`auditd`]: a private `auditd` writing to a log file of the test's own.
//! - [`guest`]: a tiny busybox guest (host kernel + initramfs) for end-to-end tests.
//! - [`lock`]: host-wide locks for tests that share one kernel facility.

pub mod auditd;
pub mod conformance;
pub mod guest;
pub mod lock;
pub mod netns;
pub mod system;
pub mod tmp;

pub use conformance::{conformance_dir, libvirt_data};
pub use netns::NetNs;
pub use system::{system_test, Facility, SystemTest};
pub use tmp::TempDir;
