//! The cgroup v2 device ACL: a `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the guest's cgroup
//! that consults a hash map of allowed devices, updated in place.
//!
//! Map key: `(TYPE << 48) | (MAJOR << 32) | MINOR` (u64), with `MINOR = 0xffffffff` for a whole
//! major; value: the allowed access bits (u32, `BPF_DEVCG_ACC_*`). An empty map denies everything.

pub mod prog;
pub mod sys;

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::acl::DeviceKind;
use crate::CgroupError;

/// The name the program and map are loaded under (visible in `bpftool prog`).
pub const PROG_NAME: &str = "virt_devacl";
pub const MAP_NAME: &str = "virt_devacl";
/// The licence string the program is loaded with: the crate's own (the program calls no GPL-only
/// helper, so the kernel needs no GPL-compatible licence for it).
pub const LICENSE: &str = "LGPL-2.1-or-later";

const WILDCARD_MINOR: u32 = u32::MAX;

/// A key of the device map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceKey(u64);

impl DeviceKey {
    fn new(kind: DeviceKind, major: u32, minor: u32) -> Result<Self, CgroupError> {
        if major > 0xffff {
            return Err(CgroupError::invalid(
                "device major",
                format!("{major} is beyond the kernel's device numbers"),
            ));
        }
        Ok(DeviceKey(
            (u64::from(kind.bpf_type()) << 48) | (u64::from(major) << 32) | u64::from(minor),
        ))
    }

    /// One device.
    pub fn device(kind: DeviceKind, major: u32, minor: u32) -> Result<Self, CgroupError> {
        if minor == WILDCARD_MINOR {
            return Err(CgroupError::invalid(
                "device minor",
                format!("{minor} is beyond the kernel's device numbers"),
            ));
        }
        Self::new(kind, major, minor)
    }

    /// Every device of a major.
    pub fn major(kind: DeviceKind, major: u32) -> Result<Self, CgroupError> {
        Self::new(kind, major, WILDCARD_MINOR)
    }

    pub fn raw(self) -> u64 {
        self.0
    }

    /// The kind, major and minor (`None`: the whole major) of a key; `None` for a key this crate
    /// never writes.
    pub fn decode(self) -> Option<(DeviceKind, u32, Option<u32>)> {
        let kind = match self.0 >> 48 {
            1 => DeviceKind::Block,
            2 => DeviceKind::Char,
            _ => return None,
        };
        let major = ((self.0 >> 32) & 0xffff) as u32;
        let minor = (self.0 & 0xffff_ffff) as u32;
        Some((kind, major, (minor != WILDCARD_MINOR).then_some(minor)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = DeviceKey::device(DeviceKind::Char, 10, 232).unwrap();
        assert_eq!(k.raw(), 0x0002_000a_0000_00e8);
        assert_eq!(k.decode(), Some((DeviceKind::Char, 10, Some(232))));
        let m = DeviceKey::major(DeviceKind::Block, 8).unwrap();
        assert_eq!(m.raw(), 0x0001_0008_ffff_ffff);
        assert_eq!(m.decode(), Some((DeviceKind::Block, 8, None)));
        assert!(DeviceKey::device(DeviceKind::Char, 1 << 16, 0).is_err());
        assert!(DeviceKey::device(DeviceKind::Char, 1, u32::MAX).is_err());
        assert_eq!(DeviceKey(0).decode(), None);
    }
}

/// The program and map of one guest cgroup, attached to it.
#[derive(Debug)]
pub struct DeviceFilter {
    cgroup: PathBuf,
    cgroup_fd: OwnedFd,
    prog: OwnedFd,
    map: OwnedFd,
    capacity: u32,
    prog_id: u32,
    map_id: u32,
}

fn bpf_err<'a>(
    op: &'static str,
    cgroup: &'a Path,
) -> impl FnOnce(std::io::Error) -> CgroupError + 'a {
    move |source| CgroupError::Bpf {
        op,
        cgroup: cgroup.to_path_buf(),
        source,
    }
}

fn open_dir(path: &Path) -> Result<OwnedFd, CgroupError> {
    std::fs::File::open(path)
        .map(OwnedFd::from)
        .map_err(|e| CgroupError::io("open", path, e))
}

impl DeviceFilter {
    /// Creates an empty map (so: deny all), loads the program for it and attaches it to the cgroup
    /// directory. On any failure nothing stays behind (the fds made so far are closed).
    pub fn attach(cgroup: &Path, capacity: u32) -> Result<Self, CgroupError> {
        if capacity == 0 {
            return Err(CgroupError::invalid(
                "device ACL capacity",
                "must be at least 1",
            ));
        }
        let cgroup_fd = open_dir(cgroup)?;
        let map =
            sys::map_create(8, 4, capacity, MAP_NAME).map_err(bpf_err("map create", cgroup))?;
        let insns = prog::device_program(map.as_raw_fd());
        let prog = sys::prog_load(sys::PROG_TYPE_CGROUP_DEVICE, &insns, LICENSE, PROG_NAME)
            .map_err(|(source, log)| CgroupError::Verifier { source, log })?;
        sys::prog_attach(
            cgroup_fd.as_fd(),
            prog.as_fd(),
            sys::ATTACH_CGROUP_DEVICE,
            sys::F_ALLOW_MULTI,
        )
        .map_err(bpf_err("prog attach", cgroup))?;
        let mut me = DeviceFilter {
            cgroup: cgroup.to_path_buf(),
            cgroup_fd,
            prog,
            map,
            capacity,
            prog_id: 0,
            map_id: 0,
        };
        match me.read_ids() {
            Ok(()) => Ok(me),
            Err(e) => {
                let _ = sys::prog_detach(
                    me.cgroup_fd.as_fd(),
                    me.prog.as_fd(),
                    sys::ATTACH_CGROUP_DEVICE,
                );
                Err(e)
            }
        }
    }

    /// Takes over the program this crate attached to `cgroup` earlier (after a daemon restart):
    /// `None` when the cgroup has none.
    pub fn adopt(cgroup: &Path) -> Result<Option<Self>, CgroupError> {
        let cgroup_fd = open_dir(cgroup)?;
        let ids = sys::prog_query(cgroup_fd.as_fd(), sys::ATTACH_CGROUP_DEVICE)
            .map_err(bpf_err("prog query", cgroup))?;
        for id in ids {
            let Some(prog) =
                sys::prog_fd_by_id(id).map_err(bpf_err("prog get fd by id", cgroup))?
            else {
                continue;
            };
            let (info, maps) =
                sys::prog_info(prog.as_fd(), 4).map_err(bpf_err("prog info", cgroup))?;
            if sys::name_of(&info.name) != PROG_NAME || maps.len() != 1 {
                continue;
            }
            let Some(map) =
                sys::map_fd_by_id(maps[0]).map_err(bpf_err("map get fd by id", cgroup))?
            else {
                continue;
            };
            let minfo = sys::map_info(map.as_fd()).map_err(bpf_err("map info", cgroup))?;
            return Ok(Some(DeviceFilter {
                cgroup: cgroup.to_path_buf(),
                cgroup_fd,
                prog,
                map,
                capacity: minfo.max_entries,
                prog_id: info.id,
                map_id: minfo.id,
            }));
        }
        Ok(None)
    }

    fn read_ids(&mut self) -> Result<(), CgroupError> {
        let (info, _) =
            sys::prog_info(self.prog.as_fd(), 0).map_err(bpf_err("prog info", &self.cgroup))?;
        let minfo = sys::map_info(self.map.as_fd()).map_err(bpf_err("map info", &self.cgroup))?;
        self.prog_id = info.id;
        self.map_id = minfo.id;
        Ok(())
    }

    /// The kernel ids of the program and the map.
    pub fn ids(&self) -> (u32, u32) {
        (self.prog_id, self.map_id)
    }

    /// The allowed access bits stored under `key` (0 when none).
    pub fn get(&self, key: DeviceKey) -> Result<u32, CgroupError> {
        Ok(sys::map_lookup(self.map.as_fd(), key.raw())
            .map_err(bpf_err("map lookup", &self.cgroup))?
            .unwrap_or(0))
    }

    /// Stores `bits` under `key`, or deletes the key when `bits` is 0.
    pub fn set(&self, key: DeviceKey, bits: u32) -> Result<(), CgroupError> {
        if bits == 0 {
            sys::map_delete(self.map.as_fd(), key.raw())
                .map_err(bpf_err("map delete", &self.cgroup))?;
            return Ok(());
        }
        sys::map_update(self.map.as_fd(), key.raw(), bits).map_err(|e| {
            if e.raw_os_error() == Some(libc::E2BIG) {
                CgroupError::AclFull {
                    cgroup: self.cgroup.clone(),
                    capacity: self.capacity,
                }
            } else {
                bpf_err("map update", &self.cgroup)(e)
            }
        })
    }

    /// Every entry of the map.
    pub fn entries(&self) -> Result<Vec<(DeviceKey, u32)>, CgroupError> {
        let keys = sys::map_keys(self.map.as_fd()).map_err(bpf_err("map keys", &self.cgroup))?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(v) =
                sys::map_lookup(self.map.as_fd(), k).map_err(bpf_err("map lookup", &self.cgroup))?
            {
                out.push((DeviceKey(k), v));
            }
        }
        Ok(out)
    }

    /// Empties the map: everything is denied.
    pub fn clear(&self) -> Result<(), CgroupError> {
        for k in sys::map_keys(self.map.as_fd()).map_err(bpf_err("map keys", &self.cgroup))? {
            sys::map_delete(self.map.as_fd(), k).map_err(bpf_err("map delete", &self.cgroup))?;
        }
        Ok(())
    }

    /// Detaches the program from the cgroup, checks that the cgroup has no program of ours left,
    /// and closes the program and map (the kernel frees them once nothing else holds them).
    pub fn detach(self) -> Result<(), CgroupError> {
        match sys::prog_detach(
            self.cgroup_fd.as_fd(),
            self.prog.as_fd(),
            sys::ATTACH_CGROUP_DEVICE,
        ) {
            Ok(()) => {}
            // Already gone (the cgroup was detached by someone else).
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(bpf_err("prog detach", &self.cgroup)(e)),
        }
        let left = sys::prog_query(self.cgroup_fd.as_fd(), sys::ATTACH_CGROUP_DEVICE)
            .map_err(bpf_err("prog query", &self.cgroup))?;
        if left.contains(&self.prog_id) {
            return Err(CgroupError::Bpf {
                op: "prog detach",
                cgroup: self.cgroup.clone(),
                source: std::io::Error::other(format!(
                    "program {} is still attached after detaching it",
                    self.prog_id
                )),
            });
        }
        Ok(())
    }
}

/// Whether a BPF program with this id exists.
pub fn prog_exists(id: u32) -> std::io::Result<bool> {
    sys::prog_fd_by_id(id).map(|fd| fd.is_some())
}

/// Whether a BPF map with this id exists.
pub fn map_exists(id: u32) -> std::io::Result<bool> {
    sys::map_fd_by_id(id).map(|fd| fd.is_some())
}

/// The ids of the device programs attached directly to a cgroup directory.
pub fn attached_device_programs(cgroup: &Path) -> Result<Vec<u32>, CgroupError> {
    let fd = open_dir(cgroup)?;
    sys::prog_query(fd.as_fd(), sys::ATTACH_CGROUP_DEVICE).map_err(bpf_err("prog query", cgroup))
}
