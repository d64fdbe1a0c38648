//! A guest's cgroup: made in every hierarchy it needs, a process placed in it, its device ACL set
//! (each change audited at the point of action), and removed once empty.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use virt_audit::records::{self, CgroupClass};
use virt_audit::{Auditor, Outcome, VmIdentity};

use crate::acl::{stat_device, Access, AclEntry, DeviceKind, DeviceNode, MajorClass};
use crate::bpf::{DeviceFilter, DeviceKey};
use crate::hierarchy::{CgroupHost, Controller, Hierarchy, Version};
use crate::names::{guest_dir_name, machine_name, partition_path};
use crate::CgroupError;

/// How the device ACL is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceAclMode {
    /// BPF on cgroup v2 when a v2 hierarchy is mounted, else v1 `devices.allow`/`devices.deny`.
    #[default]
    Auto,
    /// The v1 devices controller.
    V1,
    /// A BPF device program on the v2 hierarchy.
    V2,
    /// No device ACL (device operations fail with [`CgroupError::NoDeviceAcl`]).
    Off,
}

/// What to make: libvirt's layout `PARTITION/DRIVER-ID-NAME.libvirt-DRIVER`.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// `/machine` by default.
    pub partition: String,
    /// `qemu` or `lxc`.
    pub driver: String,
    /// The domain id.
    pub id: u32,
    /// The domain name (cleaned into the machine name).
    pub name: String,
    /// The resource controllers to place the guest under (devices is governed by `device_acl`).
    pub controllers: Vec<Controller>,
    pub device_acl: DeviceAclMode,
    /// Entries the v2 device map can hold.
    pub acl_capacity: u32,
}

impl GuestSpec {
    pub fn new(driver: &str, id: u32, name: &str) -> Self {
        GuestSpec {
            partition: "/machine".into(),
            driver: driver.into(),
            id,
            name: name.into(),
            controllers: vec![Controller::Cpu, Controller::Memory, Controller::Pids],
            device_acl: DeviceAclMode::Auto,
            acl_capacity: 1024,
        }
    }

    pub fn partition(mut self, partition: &str) -> Self {
        self.partition = partition.into();
        self
    }

    pub fn device_acl(mut self, mode: DeviceAclMode) -> Self {
        self.device_acl = mode;
        self
    }

    pub fn controllers(mut self, controllers: &[Controller]) -> Self {
        self.controllers = controllers.to_vec();
        self
    }

    /// The partition, canonical (`/machine`).
    pub fn partition_path(&self) -> Result<String, CgroupError> {
        partition_path(&self.partition)
    }

    /// The guest's path inside each hierarchy, e.g. `/machine/qemu-1-demo.libvirt-qemu`.
    pub fn placement(&self) -> Result<String, CgroupError> {
        if self.driver.is_empty() || !self.driver.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CgroupError::invalid(
                "driver name",
                format!("{:?} must be letters and digits", self.driver),
            ));
        }
        let machine = machine_name(&self.driver, self.id, &self.name);
        Ok(format!(
            "{}/{}",
            self.partition_path()?,
            guest_dir_name(&machine, &self.driver)?
        ))
    }
}

/// The guest cgroup's directory in one hierarchy.
#[derive(Debug, Clone)]
struct Dir {
    mount: PathBuf,
    path: PathBuf,
}

#[derive(Debug)]
enum Devices {
    Off,
    V1 {
        dir: PathBuf,
    },
    V2 {
        dir: PathBuf,
        capacity: u32,
        filter: Mutex<Option<DeviceFilter>>,
    },
}

/// A guest's cgroup. Dropping it leaves the cgroup and its device ACL in place (a running guest
/// keeps them); [`GuestCgroup::remove`] takes them away.
#[derive(Debug)]
pub struct GuestCgroup {
    vm: VmIdentity,
    auditor: Auditor,
    placement: String,
    dirs: Vec<Dir>,
    knobs: HashMap<Controller, (Version, PathBuf)>,
    devices: Devices,
    removed: bool,
}

fn join_placement(mount: &Path, placement: &str) -> PathBuf {
    mount.join(placement.trim_start_matches('/'))
}

/// The hierarchies the guest needs, and where each knob and the device ACL live.
struct Plan {
    hierarchies: Vec<Hierarchy>,
    knobs: Vec<(Controller, Version, PathBuf)>,
    devices: Option<(Version, PathBuf)>,
}

fn plan(host: &CgroupHost, spec: &GuestSpec) -> Result<Plan, CgroupError> {
    let mut hierarchies: Vec<Hierarchy> = Vec::new();
    let mut add = |h: &Hierarchy| {
        if !hierarchies.iter().any(|x| x.mount_point == h.mount_point) {
            hierarchies.push(h.clone());
        }
    };
    let mut knobs = Vec::new();
    for &c in spec
        .controllers
        .iter()
        .filter(|c| **c != Controller::Devices)
    {
        if let Some(h) = host.controller(c) {
            add(h);
            knobs.push((c, h.version, h.mount_point.clone()));
        }
    }
    let devices_h = match spec.device_acl {
        DeviceAclMode::Off => None,
        DeviceAclMode::Auto => host.controller(Controller::Devices),
        DeviceAclMode::V1 => {
            Some(
                host.v1("devices")
                    .ok_or_else(|| CgroupError::ControllerUnavailable {
                        controller: "devices (cgroup v1)",
                        path: PathBuf::from(spec.placement().unwrap_or_default()),
                    })?,
            )
        }
        DeviceAclMode::V2 => Some(
            host.v2()
                .ok_or_else(|| CgroupError::ControllerUnavailable {
                    controller: "devices (cgroup v2 BPF)",
                    path: PathBuf::from(spec.placement().unwrap_or_default()),
                })?,
        ),
    };
    let devices = devices_h.map(|h| {
        add(h);
        (h.version, h.mount_point.clone())
    });
    if let Some(v2) = host.v2() {
        add(v2);
    }
    if hierarchies.is_empty() {
        return Err(CgroupError::NoCgroups(
            "the host's cgroup hierarchies".into(),
        ));
    }
    Ok(Plan {
        hierarchies,
        knobs,
        devices,
    })
}

fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| CgroupError::io("open", path, e))?;
    f.write_all(value.as_bytes()).map_err(|e| CgroupError::Io {
        op: "write",
        path: path.to_path_buf(),
        source: std::io::Error::new(e.kind(), format!("{value:?}: {e}")),
    })
}

fn read_pids(dir: &Path) -> Result<Vec<u32>, CgroupError> {
    let p = dir.join("cgroup.procs");
    let text = std::fs::read_to_string(&p).map_err(|e| CgroupError::io("read", &p, e))?;
    Ok(text
        .split_whitespace()
        .filter_map(|s| s.parse::<u32>().ok())
        .collect())
}

/// Turns on `controllers` for the children of every directory from the v2 mount down to `parent`.
fn enable_v2_controllers(
    mount: &Path,
    partition: &str,
    controllers: &[&str],
) -> Result<(), CgroupError> {
    if controllers.is_empty() {
        return Ok(());
    }
    let mut dir = mount.to_path_buf();
    let comps: Vec<&str> = partition.split('/').filter(|c| !c.is_empty()).collect();
    for i in 0..=comps.len() {
        if i > 0 {
            dir.push(comps[i - 1]);
        }
        let available = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
        let enabled =
            std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
        let missing: Vec<String> = controllers
            .iter()
            .filter(|c| available.split_whitespace().any(|x| x == **c))
            .filter(|c| !enabled.split_whitespace().any(|x| x == **c))
            .map(|c| format!("+{c}"))
            .collect();
        if !missing.is_empty() {
            write_file(&dir.join("cgroup.subtree_control"), &missing.join(" "))?;
        }
    }
    Ok(())
}

impl GuestCgroup {
    /// Makes the guest's cgroup in every hierarchy it needs (the partition is made when missing).
    /// An existing guest cgroup is an error (use [`GuestCgroup::open`] to take one over). On failure
    /// every directory made for the guest is removed again.
    pub fn create(
        host: &CgroupHost,
        spec: &GuestSpec,
        vm: &VmIdentity,
        auditor: &Auditor,
    ) -> Result<Self, CgroupError> {
        Self::build(host, spec, vm, auditor, true)
    }

    /// Takes over an existing guest cgroup (after a daemon restart), including the BPF device
    /// program attached to it earlier.
    pub fn open(
        host: &CgroupHost,
        spec: &GuestSpec,
        vm: &VmIdentity,
        auditor: &Auditor,
    ) -> Result<Self, CgroupError> {
        Self::build(host, spec, vm, auditor, false)
    }

    fn build(
        host: &CgroupHost,
        spec: &GuestSpec,
        vm: &VmIdentity,
        auditor: &Auditor,
        create: bool,
    ) -> Result<Self, CgroupError> {
        let placement = spec.placement()?;
        let partition = spec.partition_path()?;
        let plan = plan(host, spec)?;
        let mut made: Vec<PathBuf> = Vec::new();
        let mut dirs = Vec::new();
        let result = (|| {
            for h in &plan.hierarchies {
                let path = join_placement(&h.mount_point, &placement);
                if create {
                    let part = join_placement(&h.mount_point, &partition);
                    std::fs::create_dir_all(&part)
                        .map_err(|e| CgroupError::io("create", &part, e))?;
                    if h.version == Version::V2 {
                        let v2c: Vec<&str> = plan
                            .knobs
                            .iter()
                            .filter(|(_, v, mp)| *v == Version::V2 && *mp == h.mount_point)
                            .map(|(c, _, _)| c.name())
                            .collect();
                        enable_v2_controllers(&h.mount_point, &partition, &v2c)?;
                    }
                    std::fs::create_dir(&path).map_err(|e| CgroupError::io("create", &path, e))?;
                    made.push(path.clone());
                } else if !path.is_dir() {
                    return Err(CgroupError::io(
                        "open",
                        &path,
                        std::io::Error::from_raw_os_error(libc::ENOENT),
                    ));
                }
                dirs.push(Dir {
                    mount: h.mount_point.clone(),
                    path,
                });
            }
            let devices = match &plan.devices {
                None => Devices::Off,
                Some((Version::V1, mp)) => Devices::V1 {
                    dir: join_placement(mp, &placement),
                },
                Some((Version::V2, mp)) => {
                    let dir = join_placement(mp, &placement);
                    let filter = if create {
                        None
                    } else {
                        DeviceFilter::adopt(&dir)?
                    };
                    Devices::V2 {
                        dir,
                        capacity: spec.acl_capacity,
                        filter: Mutex::new(filter),
                    }
                }
            };
            Ok(devices)
        })();
        match result {
            Ok(devices) => Ok(GuestCgroup {
                vm: vm.clone(),
                auditor: auditor.clone(),
                knobs: plan
                    .knobs
                    .iter()
                    .map(|(c, v, mp)| (*c, (*v, join_placement(mp, &placement))))
                    .collect(),
                placement,
                dirs,
                devices,
                removed: false,
            }),
            Err(e) => {
                for p in made.iter().rev() {
                    let _ = std::fs::remove_dir(p);
                }
                Err(e)
            }
        }
    }

    /// The guest's path inside each hierarchy (`/machine/qemu-1-demo.libvirt-qemu`).
    pub fn placement(&self) -> &str {
        &self.placement
    }

    /// The guest's directory in each hierarchy it uses.
    pub fn paths(&self) -> Vec<&Path> {
        self.dirs.iter().map(|d| d.path.as_path()).collect()
    }

    /// The directory in the hierarchy mounted at `mount`, if the guest uses it.
    pub fn path_in(&self, mount: &Path) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.mount == mount)
            .map(|d| d.path.as_path())
    }

    /// Where the device ACL lives: its version and directory.
    pub fn device_acl(&self) -> Option<(Version, &Path)> {
        match &self.devices {
            Devices::Off => None,
            Devices::V1 { dir } => Some((Version::V1, dir)),
            Devices::V2 { dir, .. } => Some((Version::V2, dir)),
        }
    }

    /// The kernel ids of the v2 device program and map, once the ACL is set.
    pub fn bpf_ids(&self) -> Option<(u32, u32)> {
        match &self.devices {
            Devices::V2 { filter, .. } => lock(filter).as_ref().map(DeviceFilter::ids),
            _ => None,
        }
    }

    pub(crate) fn knob_dir(&self, c: Controller) -> Result<(Version, &Path), CgroupError> {
        self.knobs
            .get(&c)
            .map(|(v, p)| (*v, p.as_path()))
            .ok_or_else(|| CgroupError::ControllerUnavailable {
                controller: c.name(),
                path: PathBuf::from(&self.placement),
            })
    }

    /// Moves a process (all its threads) into the guest's cgroup in every hierarchy.
    pub fn place(&self, pid: u32) -> Result<(), CgroupError> {
        for d in &self.dirs {
            write_file(&d.path.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// The processes in the guest's cgroup (in any of its hierarchies), sorted.
    pub fn pids(&self) -> Result<Vec<u32>, CgroupError> {
        let mut all = Vec::new();
        for d in &self.dirs {
            all.extend(read_pids(&d.path)?);
        }
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// Removes the guest's cgroup: waits at most `wait` for its processes to leave (it never kills
    /// them), then detaches and frees the BPF device program and map, then removes the directory in
    /// every hierarchy. If processes remain, nothing is changed and [`CgroupError::Busy`] names them.
    pub fn remove(&mut self, wait: Duration) -> Result<(), CgroupError> {
        if self.removed {
            return Ok(());
        }
        let start = Instant::now();
        loop {
            let mut busy = None;
            for d in &self.dirs {
                let pids = match read_pids(&d.path) {
                    Err(CgroupError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound && !d.path.exists() =>
                    {
                        Vec::new()
                    }
                    other => other?,
                };
                if !pids.is_empty() {
                    busy = Some((d.path.clone(), pids));
                    break;
                }
            }
            let Some((path, pids)) = busy else { break };
            if start.elapsed() >= wait {
                return Err(CgroupError::Busy {
                    path,
                    pids,
                    waited: wait,
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Devices::V2 { filter, .. } = &self.devices {
            if let Some(f) = lock(filter).take() {
                f.detach()?;
            }
        }
        for d in &self.dirs {
            loop {
                match std::fs::remove_dir(&d.path) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    // A process that just exited can keep the cgroup busy for a moment.
                    Err(e)
                        if e.raw_os_error() == Some(libc::EBUSY)
                            && start.elapsed() < wait + Duration::from_secs(1) =>
                    {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(e) => return Err(CgroupError::io("remove", &d.path, e)),
                }
            }
        }
        self.removed = true;
        Ok(())
    }

    // ----- device ACL -----

    /// The `cgroup=` value of the audit records: the device ACL's directory with a trailing `/`.
    fn audit_cgroup(&self) -> String {
        match self.device_acl() {
            Some((_, dir)) => format!("{}/", dir.display()),
            None => "?".into(),
        }
    }

    /// Emits the record of one ACL change and returns the change's result (or the audit failure
    /// when the change succeeded but `audit_level` strict could not record it).
    fn audited<T>(
        &self,
        reason: &str,
        class: CgroupClass<'_>,
        result: Result<T, CgroupError>,
    ) -> Result<T, CgroupError> {
        let rec = records::cgroup(
            &self.vm,
            &self.audit_cgroup(),
            reason,
            class,
            Outcome::from(result.is_ok()),
        );
        let sent = self.auditor.emit(&rec);
        let value = result?;
        sent?;
        Ok(value)
    }

    fn v2_filter<'a>(
        &self,
        dir: &Path,
        capacity: u32,
        filter: &'a Mutex<Option<DeviceFilter>>,
    ) -> Result<MutexGuard<'a, Option<DeviceFilter>>, CgroupError> {
        let mut g = lock(filter);
        if g.is_none() {
            *g = Some(DeviceFilter::attach(dir, capacity)?);
        }
        Ok(g)
    }

    fn deny_all_inner(&self) -> Result<(), CgroupError> {
        match &self.devices {
            Devices::Off => Err(self.no_acl()),
            Devices::V1 { dir } => write_file(&dir.join("devices.deny"), "a"),
            Devices::V2 {
                dir,
                capacity,
                filter,
            } => {
                let g = self.v2_filter(dir, *capacity, filter)?;
                g.as_ref().map_or(Ok(()), DeviceFilter::clear)
            }
        }
    }

    fn no_acl(&self) -> CgroupError {
        CgroupError::NoDeviceAcl {
            path: PathBuf::from(&self.placement),
        }
    }

    /// Changes one entry: `minor` `None` means the whole major.
    fn change(
        &self,
        allow: bool,
        kind: DeviceKind,
        major: u32,
        minor: Option<u32>,
        access: Access,
    ) -> Result<(), CgroupError> {
        match &self.devices {
            Devices::Off => Err(self.no_acl()),
            Devices::V1 { dir } => {
                let file = if allow {
                    "devices.allow"
                } else {
                    "devices.deny"
                };
                let minor = minor.map_or("*".to_string(), |m| m.to_string());
                write_file(
                    &dir.join(file),
                    &format!("{} {major}:{minor} {access}", kind.letter()),
                )
            }
            Devices::V2 {
                dir,
                capacity,
                filter,
            } => {
                let key = match minor {
                    Some(m) => DeviceKey::device(kind, major, m)?,
                    None => DeviceKey::major(kind, major)?,
                };
                let g = self.v2_filter(dir, *capacity, filter)?;
                let Some(f) = g.as_ref() else {
                    return Err(self.no_acl());
                };
                let old = Access::from_bits(f.get(key)? as u8);
                let new = if allow {
                    old.union(access)
                } else {
                    old.without(access)
                };
                f.set(key, u32::from(new.bits()))
            }
        }
    }

    /// Denies every device (the first step of a guest's ACL), audited `reason=deny class=all`.
    pub fn deny_all(&self) -> Result<(), CgroupError> {
        let r = self.deny_all_inner();
        self.audited("deny", CgroupClass::All, r)
    }

    fn path_change(
        &self,
        allow: bool,
        path: &Path,
        access: Access,
    ) -> Result<DeviceNode, CgroupError> {
        let node = stat_device(path);
        let rdev = node.as_ref().ok().map(|n| n.rdev);
        let result = node.and_then(|n| {
            self.change(allow, n.kind, n.rdev.major, Some(n.rdev.minor), access)
                .map(|()| n)
        });
        let acl = access.to_string();
        let path_s = path.to_string_lossy();
        self.audited(
            if allow { "allow" } else { "deny" },
            CgroupClass::Path {
                path: &path_s,
                rdev,
                acl: &acl,
            },
            result,
        )
    }

    /// Allows `access` to the device node at `path` (symlinks followed; the ACL and the audit record
    /// name the real major:minor). A missing path or a non-device is an error, audited as failed.
    pub fn allow_path(&self, path: &Path, access: Access) -> Result<DeviceNode, CgroupError> {
        self.path_change(true, path, access)
    }

    /// Revokes `access` to the device node at `path`.
    pub fn deny_path(&self, path: &Path, access: Access) -> Result<DeviceNode, CgroupError> {
        self.path_change(false, path, access)
    }

    fn major_change(
        &self,
        allow: bool,
        class: MajorClass<'_>,
        access: Access,
    ) -> Result<(), CgroupError> {
        let valid = class.validate();
        // An invalid category is never written into the record (it is unquoted there).
        let category = if valid.is_ok() { class.category } else { "?" };
        let result = valid.and_then(|()| self.change(allow, class.kind, class.major, None, access));
        let acl = access.to_string();
        self.audited(
            if allow { "allow" } else { "deny" },
            CgroupClass::Major {
                category,
                major: class.major,
                acl: &acl,
            },
            result,
        )
    }

    /// Allows `access` to every device of a major (`MajorClass::PTY`...).
    pub fn allow_major(&self, class: MajorClass<'_>, access: Access) -> Result<(), CgroupError> {
        self.major_change(true, class, access)
    }

    /// Revokes `access` to every device of a major.
    pub fn deny_major(&self, class: MajorClass<'_>, access: Access) -> Result<(), CgroupError> {
        self.major_change(false, class, access)
    }

    /// The v2 device map's entries; empty when the ACL is v1 or not set yet.
    pub fn v2_entries(&self) -> Result<Vec<AclEntry>, CgroupError> {
        match &self.devices {
            Devices::V2 { filter, .. } => match lock(filter).as_ref() {
                Some(f) => Ok(f
                    .entries()?
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let (kind, major, minor) = k.decode()?;
                        Some(AclEntry {
                            kind,
                            major,
                            minor,
                            access: Access::from_bits(v as u8),
                        })
                    })
                    .collect()),
                None => Ok(Vec::new()),
            },
            _ => Ok(Vec::new()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
