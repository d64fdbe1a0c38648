//! Per-guest cgroups and device ACLs on cgroup v1 and v2, every ACL change audited with the
//! device's major:minor.
//!
//! - [`CgroupHost::discover`] finds the mounted hierarchies from `/proc/self/mountinfo` (pure v1,
//!   pure v2, or hybrid v1 + v2).
//! - [`GuestCgroup::create`] makes `PARTITION/DRIVER-ID-NAME.libvirt-DRIVER` (libvirt's layout) in
//!   every hierarchy the guest needs; [`GuestCgroup::place`] moves a process in;
//!   [`GuestCgroup::remove`] waits (bounded) for it to empty and removes it.
//! - Device ACL: [`GuestCgroup::deny_all`], [`GuestCgroup::allow_path`] /
//!   [`GuestCgroup::deny_path`] (a device node, symlinks followed), [`GuestCgroup::allow_major`] /
//!   [`GuestCgroup::deny_major`] (a whole major such as [`MajorClass::PTY`]). On v1 they write
//!   `devices.allow`/`devices.deny`; on v2 they update the map of a BPF device program attached to
//!   the guest's cgroup ([`bpf`]). Each one emits a `resrc=cgroup` audit record, success or failure.
//! - Knobs: memory limit, CPU shares, pids limit ([`knobs`]).
//!
//! ```no_run
//! use std::path::Path;
//! use virt_audit::{Auditor, VirtType, VmIdentity};
//! use virt_cgroup::{Access, CgroupHost, GuestCgroup, GuestSpec, MajorClass};
//!
//! let host = CgroupHost::discover()?;
//! let vm = VmIdentity::new(VirtType::Kvm, "demo", [0; 16]);
//! let (auditor, _records) = Auditor::memory();
//! let mut cg = GuestCgroup::create(&host, &GuestSpec::new("qemu", 1, "demo"), &vm, &auditor)?;
//! cg.deny_all()?;
//! cg.allow_path(Path::new("/dev/kvm"), Access::RW)?;
//! cg.allow_major(MajorClass::PTY, Access::RW)?;
//! cg.set_memory_limit(Some(1 << 30))?;
//! cg.place(std::process::id())?;
//! // ... the guest runs, then exits ...
//! cg.remove(std::time::Duration::from_secs(5))?;
//! # Ok::<(), virt_cgroup::CgroupError>(())
//! ```

pub mod acl;
pub mod bpf;
pub mod error;
pub mod guest;
pub mod hierarchy;
pub mod knobs;
pub mod names;
pub mod procfs;

pub use acl::{stat_device, Access, AclEntry, DeviceKind, DeviceNode, MajorClass};
pub use error::CgroupError;
pub use guest::{DeviceAclMode, GuestCgroup, GuestSpec};
pub use hierarchy::{CgroupHost, Controller, Hierarchy, Version};
pub use procfs::{
    parse_mountinfo, parse_mounts, parse_proc_cgroup, parse_proc_cgroups, MountEntry,
    ProcCgroupLine, Subsystem,
};
