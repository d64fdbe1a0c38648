//! The device ACL of a hot-plugged disk: a disk whose source is a block (or character) device
//! needs its major:minor in the guest's devices cgroup while it is attached, as libvirt does.
//!
//! Attach allows `rw` (`r` for a read-only disk) before QEMU opens the device, audited
//! `resrc=cgroup reason=allow class=path path=... rdev=...`; detach (and the roll-back of a failed
//! or interrupted attach) denies `rwm` after QEMU has let it go, audited `reason=deny`. A source
//! that is a regular file needs no ACL and writes no record; a guest run without a cgroup is left
//! alone.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use virt_cgroup::{Access, CgroupHost, GuestCgroup, GuestSpec};

use super::{HotplugError, LiveGuest};

/// Whether `path` is a device node (block or character), symlinks followed.
pub(crate) fn is_device(path: &str) -> bool {
    std::fs::metadata(path)
        .map(|m| m.file_type().is_block_device() || m.file_type().is_char_device())
        .unwrap_or(false)
}

fn cg_err(what: &str, source: virt_cgroup::CgroupError) -> HotplugError {
    HotplugError::Cgroup {
        what: what.to_string(),
        source: Box::new(source),
    }
}

/// The running guest's cgroup (from the placement its runtime state records), if it has one.
fn open(g: &LiveGuest<'_>, what: &str) -> Result<Option<GuestCgroup>, HotplugError> {
    let Some(placement) = g.state.cgroup.as_deref() else {
        return Ok(None);
    };
    let bad = |why: String| HotplugError::Unsupported {
        what: what.to_string(),
        why,
    };
    let id = g
        .def
        .id
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| bad("the live definition has no domain id for its cgroup".into()))?;
    let partition = match placement.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((p, _)) => p,
        None => {
            return Err(bad(format!(
                "cgroup placement {placement:?} has no partition"
            )))
        }
    };
    let spec = GuestSpec::new("qemu", id, &g.def.name).partition(partition);
    match spec.placement() {
        Ok(p) if p == placement => {}
        _ => {
            return Err(bad(format!(
                "cgroup placement {placement:?} does not match domain id {id} and name {:?}",
                g.def.name
            )))
        }
    }
    let host = CgroupHost::discover().map_err(|e| cg_err(what, e))?;
    GuestCgroup::open(&host, &spec, g.id, g.auditor)
        .map(Some)
        .map_err(|e| cg_err(what, e))
}

/// Allows the guest to use the device node `path` (`rw`, or `r` when `readonly`). Returns whether
/// an entry was added (false for a regular file or a guest without a cgroup).
pub(crate) fn allow_disk(
    g: &LiveGuest<'_>,
    what: &str,
    path: &str,
    readonly: bool,
) -> Result<bool, HotplugError> {
    if !is_device(path) {
        return Ok(false);
    }
    let Some(cg) = open(g, what)? else {
        return Ok(false);
    };
    let access = if readonly { Access::READ } else { Access::RW };
    cg.allow_path(Path::new(path), access)
        .map(|_| true)
        .map_err(|e| cg_err(what, e))
}

/// Takes the device node `path` out of the guest's ACL again (`rwm`), audited `reason=deny`.
pub(crate) fn deny_disk(g: &LiveGuest<'_>, what: &str, path: &str) -> Result<(), HotplugError> {
    if !is_device(path) {
        return Ok(());
    }
    let Some(cg) = open(g, what)? else {
        return Ok(());
    };
    cg.deny_path(Path::new(path), Access::RWM)
        .map(drop)
        .map_err(|e| cg_err(what, e))
}
