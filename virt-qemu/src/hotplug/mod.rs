//! Hot-plug and hot-unplug of NICs and disks on a running QEMU guest, over QMP.
//!
//! Every operation takes a [`LiveGuest`]: the guest's monitor, audit identity, NIC opener, live
//! definition and runtime state, and a callback that persists both after every change. The driver
//! builds one per call (holding the guest's lock) and hands it in.
//!
//! - Interface attach ([`attach_interface`]): the tap is opened through virt-net (one audited open
//!   per fd; no vhost-net for a TCG guest), a *pending attach* record is written and the runtime
//!   state persisted with the NIC, then the fds go to QEMU with `getfd`, `netdev_add` (type tap)
//!   and `device_add` (virtio-net-pci on a free hot-pluggable PCIe root port on q35, or a free slot
//!   of bus 0 on pc), then `resrc=net reason=attach old-net="?" new-net="MAC"` is audited and the
//!   definition updated and persisted, and the pending record removed.
//! - Interface detach ([`detach_interface`]): `device_del`, a bounded wait for `DEVICE_DELETED`
//!   (on timeout a clear error, the NIC stays attached and recorded), `netdev_del`, the tap is
//!   deleted, `reason=detach old-net="MAC" new-net="?"` audited, state persisted.
//! - Disk attach/detach ([`attach_disk`], [`detach_disk`]): a pending record, then for a
//!   block-device source its major:minor allowed in the guest's devices cgroup (`resrc=cgroup
//!   reason=allow class=path`), `blockdev-add` (storage then format node), `device_add`
//!   virtio-blk-pci; `resrc=disk` records with the source path; detach deletes the nodes, audits,
//!   then revokes the ACL entry (`reason=deny`, `rwm`).
//! - [`repair_pending`]: after a crash in the middle of an interface or disk attach, completes the
//!   bookkeeping (device present in QEMU) or removes the netdev and tap, or the block nodes and
//!   ACL entry (device absent), audited as a failed attach.
//!
//! A failure midway undoes what was done (QEMU objects removed, fds closed, tap deleted) and is
//! audited `res=failed`.

mod address;
mod cgroup;
mod disk;
mod error;
mod net;
mod pending;

use std::path::Path;

use virt_audit::{Auditor, VmIdentity};
use virt_net::NetHost;
use virt_xml::Domain;

use crate::qmp::Qmp;
use crate::status::{RuntimeState, StatusError};

pub use address::{choose_pci_address, next_alias, PciPlacement};
pub use disk::{attach_disk, detach_disk};
pub use error::HotplugError;
pub use net::{attach_interface, detach_interface};
pub use pending::{
    disk_pending_path, parse_pending, parse_pending_disk, read_pending, read_pending_disk,
    repair_pending, PendingAttach, PendingDisk, RepairOutcome,
};

/// Persists the runtime state and the live definition (e.g. the state file and the status XML).
pub type PersistFn<'a> = dyn FnMut(&RuntimeState, &Domain) -> Result<(), StatusError> + 'a;

/// A running guest as hot-plug sees it. Everything is borrowed for one operation.
pub struct LiveGuest<'a> {
    /// The guest's monitor.
    pub qmp: &'a Qmp,
    /// The guest's audit identity (`virt=qemu` for TCG, `virt=kvm`).
    pub id: &'a VmIdentity,
    /// Where attach/detach records go.
    pub auditor: &'a Auditor,
    /// Opens taps (auditing each open). Must act in the guest's network namespace.
    pub net: &'a NetHost,
    /// The live definition: devices are added and removed here (with their alias and address).
    pub def: &'a mut Domain,
    /// The runtime state: a NIC's host side is recorded before its fds go to QEMU.
    pub state: &'a mut RuntimeState,
    /// Called after every change of `state` or `def`.
    pub persist: &'a mut PersistFn<'a>,
    /// The file holding an interrupted interface attach (see [`PendingAttach`]), e.g.
    /// `<statedir>/<name>.hotplug.json`. Written before fds are handed to QEMU, removed after.
    pub pending: &'a Path,
}

impl LiveGuest<'_> {
    fn persist(&mut self) -> Result<(), HotplugError> {
        (self.persist)(self.state, self.def).map_err(HotplugError::Status)
    }
}
