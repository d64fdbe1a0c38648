//! The cgroup hierarchies mounted on a host, found from its mount table (never hard-coded).
//!
//! A host can be pure v1 (one hierarchy per controller or group of controllers), pure v2 (one
//! unified hierarchy), or hybrid (v1 controllers beside a v2 hierarchy, often at
//! `/sys/fs/cgroup/unified`). [`CgroupHost`] records them all; [`Controller`] lookups say where each
//! controller this crate drives lives.

use std::path::{Path, PathBuf};

use crate::procfs::{parse_mountinfo, MountEntry};
use crate::CgroupError;

/// Controller names a cgroup v1 mount can carry in its super options.
pub const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "debug",
];

/// Which cgroup version a hierarchy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V1,
    V2,
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub version: Version,
    /// Where it is mounted in this mount namespace.
    pub mount_point: PathBuf,
    /// The hierarchy's directory shown at the mount point (`/` unless a container or bind mount).
    pub root: PathBuf,
    /// v1: the controllers bound to it. v2: the controllers listed in its root `cgroup.controllers`.
    pub controllers: Vec<String>,
    /// v1 named hierarchy (`name=systemd` gives `systemd`).
    pub name: Option<String>,
}

impl Hierarchy {
    pub fn has_controller(&self, c: &str) -> bool {
        self.controllers.iter().any(|x| x == c)
    }
}

/// The controllers this crate drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Controller {
    Cpu,
    Memory,
    Pids,
    Devices,
}

impl Controller {
    pub const ALL: [Controller; 4] = [
        Controller::Cpu,
        Controller::Memory,
        Controller::Pids,
        Controller::Devices,
    ];

    /// The controller's name (the same in v1 and v2).
    pub fn name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Devices => "devices",
        }
    }
}

/// The cgroup hierarchies of a host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupHost {
    /// In mount order; with duplicate mounts of one hierarchy the last one is used, as the mount
    /// table lists mounts in the order they were made.
    pub hierarchies: Vec<Hierarchy>,
}

impl CgroupHost {
    /// Reads `/proc/self/mountinfo` and each v2 hierarchy's root `cgroup.controllers`.
    pub fn discover() -> Result<Self, CgroupError> {
        let path = "/proc/self/mountinfo";
        let text = std::fs::read_to_string(path).map_err(|e| CgroupError::io("read", path, e))?;
        let host = Self::from_mounts(&parse_mountinfo(&text)?, |p| {
            std::fs::read_to_string(p.join("cgroup.controllers")).ok()
        });
        if host.hierarchies.is_empty() {
            return Err(CgroupError::NoCgroups(path.into()));
        }
        Ok(host)
    }

    /// Builds the host view from mount entries; `v2_controllers` returns the text of a v2 mount's
    /// root `cgroup.controllers` (a seam: tests give made text).
    pub fn from_mounts(
        mounts: &[MountEntry],
        v2_controllers: impl Fn(&Path) -> Option<String>,
    ) -> Self {
        let mut hierarchies = Vec::new();
        for m in mounts {
            match m.fstype.as_str() {
                "cgroup" => {
                    let controllers = m
                        .super_options
                        .iter()
                        .filter(|o| V1_CONTROLLERS.contains(&o.as_str()))
                        .cloned()
                        .collect();
                    let name = m
                        .super_options
                        .iter()
                        .find_map(|o| o.strip_prefix("name="))
                        .map(str::to_string);
                    hierarchies.push(Hierarchy {
                        version: Version::V1,
                        mount_point: m.mount_point.clone(),
                        root: m.root.clone(),
                        controllers,
                        name,
                    });
                }
                "cgroup2" => {
                    let controllers = v2_controllers(&m.mount_point)
                        .map(|t| t.split_whitespace().map(str::to_string).collect())
                        .unwrap_or_default();
                    hierarchies.push(Hierarchy {
                        version: Version::V2,
                        mount_point: m.mount_point.clone(),
                        root: m.root.clone(),
                        controllers,
                        name: None,
                    });
                }
                _ => {}
            }
        }
        CgroupHost { hierarchies }
    }

    /// The v1 hierarchy carrying `controller` (the last mount of it).
    pub fn v1(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .rev()
            .find(|h| h.version == Version::V1 && h.has_controller(controller))
    }

    /// The named v1 hierarchy (`name=NAME`).
    pub fn named(&self, name: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .rev()
            .find(|h| h.version == Version::V1 && h.name.as_deref() == Some(name))
    }

    /// The unified (v2) hierarchy.
    pub fn v2(&self) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .rev()
            .find(|h| h.version == Version::V2)
    }

    /// Where a resource controller lives: in v2 when the unified root offers it, else in the v1
    /// hierarchy that carries it. (`devices` is special: see [`CgroupHost::device_acl_default`].)
    pub fn controller(&self, c: Controller) -> Option<&Hierarchy> {
        if c == Controller::Devices {
            return match self.device_acl_default() {
                Some(Version::V2) => self.v2(),
                Some(Version::V1) => self.v1("devices"),
                None => None,
            };
        }
        self.v2()
            .filter(|h| h.has_controller(c.name()))
            .or_else(|| self.v1(c.name()))
    }

    /// How device ACLs are enforced by default: a BPF device program on the v2 hierarchy whenever
    /// one is mounted (as libvirt does, also on hybrid hosts), else the v1 devices controller.
    pub fn device_acl_default(&self) -> Option<Version> {
        if self.v2().is_some() {
            Some(Version::V2)
        } else if self.v1("devices").is_some() {
            Some(Version::V1)
        } else {
            None
        }
    }

    /// Removes a partition's directory (the last component of it) from every hierarchy where it
    /// exists. Fails (naming the directory) while guest cgroups remain under it.
    pub fn remove_partition(&self, partition: &str) -> Result<(), CgroupError> {
        let part = crate::names::partition_path(partition)?;
        for h in &self.hierarchies {
            let dir = h.mount_point.join(part.trim_start_matches('/'));
            match std::fs::remove_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(CgroupError::io("remove", &dir, e)),
            }
        }
        Ok(())
    }

    /// The mount point libvirt 9.0 reports for each of its controllers (the rows of its
    /// `vircgroupdata/*.parsed` files): v1 controllers by their last mount, `devices` absent when a
    /// v2 hierarchy takes the device ACL, `name=systemd`, and `unified`.
    pub fn libvirt_view(&self) -> Vec<(&'static str, Option<&Path>)> {
        let v1 = |c: &str| self.v1(c).map(|h| h.mount_point.as_path());
        let mut rows = Vec::new();
        for c in [
            "cpu",
            "cpuacct",
            "cpuset",
            "memory",
            "devices",
            "freezer",
            "blkio",
            "net_cls",
            "perf_event",
        ] {
            let mp = if c == "devices" && self.v2().is_some() {
                None
            } else {
                v1(c)
            };
            rows.push((c, mp));
        }
        rows.push((
            "name=systemd",
            self.named("systemd").map(|h| h.mount_point.as_path()),
        ));
        rows.push(("unified", self.v2().map(|h| h.mount_point.as_path())));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procfs::parse_mountinfo;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_host() {
        let host = CgroupHost::from_mounts(&parse_mountinfo(HYBRID).unwrap(), |_| {
            Some("hugetlb\n".into())
        });
        assert_eq!(host.hierarchies.len(), 6);
        assert_eq!(
            host.controller(Controller::Memory).unwrap().mount_point,
            PathBuf::from("/sys/fs/cgroup/memory")
        );
        assert_eq!(
            host.controller(Controller::Devices).unwrap().mount_point,
            PathBuf::from("/sys/fs/cgroup/unified")
        );
        assert_eq!(host.device_acl_default(), Some(Version::V2));
        assert_eq!(
            host.named("systemd").unwrap().mount_point,
            PathBuf::from("/sys/fs/cgroup/systemd")
        );
        assert!(host.v1("cpuset").is_none());
    }

    #[test]
    fn pure_v2_host_takes_controllers_from_cgroup_controllers() {
        let mi = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let host = CgroupHost::from_mounts(&parse_mountinfo(mi).unwrap(), |p| {
            assert_eq!(p, Path::new("/sys/fs/cgroup"));
            Some("cpuset cpu io memory pids\n".into())
        });
        for c in [
            Controller::Cpu,
            Controller::Memory,
            Controller::Pids,
            Controller::Devices,
        ] {
            assert_eq!(host.controller(c).unwrap().version, Version::V2, "{c:?}");
        }
    }

    #[test]
    fn v2_without_the_controller_falls_back_to_nothing() {
        let mi = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let host = CgroupHost::from_mounts(&parse_mountinfo(mi).unwrap(), |_| Some("pids".into()));
        assert!(host.controller(Controller::Memory).is_none());
        assert!(host.controller(Controller::Pids).is_some());
    }
}
