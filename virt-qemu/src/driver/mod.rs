//! The QEMU driver: persistent definitions, start/stop of real QEMU guests, runtime state that
//! survives the process, and reconnection, over one root directory shared by every process that
//! opens it (`qemu:///embed?root=DIR` or `qemu:///system`).
//!
//! - [`paths`]: the directory layout; [`lock`]: `flock` locks (driver-wide and per domain);
//!   [`store`]: atomic files (definitions, status records, the id counter).
//! - [`host`]: the runtime [`crate::argv::HostContext`] (monitor socket path, sequential fds).
//! - [`start`]: prepare, argv, machine id, taps, cgroup ACL, launch paused, QMP, pty paths, start
//!   records, `cont`; a failure undoes everything and audits `res=failed`.
//! - [`stop`]: destroy, graceful shutdown, and the cleanup shared with reconnection.
//! - [`reconnect`]: at open, every status file is checked: a live QEMU that answers QMP stays
//!   running; anything else (including a start left half-done by a killed process) is cleaned up.
//! - [`devices`]: attach/detach on a running guest through [`crate::hotplug`].
//! - [`audit_trail`]: the `reason=start` records in libvirt's order.
//!
//! Locking: a per-domain lock is held across start, shutdown, destroy and device changes, and the
//! driver lock is taken (after it, never before) around definition changes and id allocation.

pub mod audit_trail;
pub mod devices;
pub mod host;
pub mod lock;
pub mod paths;
pub mod reconnect;
pub mod start;
pub mod stop;
pub mod store;

use std::path::{Path, PathBuf};
use std::time::Duration;

use virt_audit::{Auditor, VirtType, VmIdentity};
use virt_xml::{Domain, Uuid};

use crate::argv::{ArgvError, QemuCaps};
use lock::FileLock;
use paths::DriverPaths;
use store::StatusRecord;

/// What a driver call can fail with; each names the domain, file or device concerned.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("domain not found: no domain with matching name '{0}'")]
    NoDomain(String),
    #[error("operation failed: domain '{name}' already exists with uuid {uuid}")]
    Exists { name: String, uuid: String },
    #[error("operation failed: domain '{name}' {what}")]
    BadState { name: String, what: String },
    #[error("XML error: {0}")]
    Xml(#[from] virt_xml::XmlError),
    #[error("domain '{name}': {source}")]
    Prepare {
        name: String,
        #[source]
        source: Box<crate::prepare::PrepareError>,
    },
    #[error("domain '{name}': {source}")]
    Argv {
        name: String,
        #[source]
        source: Box<ArgvError>,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {what}")]
    Corrupt { path: PathBuf, what: String },
    #[error("{path}: still locked by another process after {waited:?}")]
    Locked { path: PathBuf, waited: Duration },
    #[error("domain '{name}': {what}: {source}")]
    Net {
        name: String,
        what: String,
        #[source]
        source: Box<virt_net::NetError>,
    },
    #[error("domain '{name}': cgroup: {source}")]
    Cgroup {
        name: String,
        #[source]
        source: Box<virt_cgroup::CgroupError>,
    },
    #[error("domain '{name}': {source}")]
    Process {
        name: String,
        #[source]
        source: Box<crate::process::ProcessError>,
    },
    #[error("domain '{name}': monitor: {source}")]
    Qmp {
        name: String,
        #[source]
        source: Box<crate::qmp::QmpError>,
    },
    #[error("domain '{name}': {what}")]
    Start { name: String, what: String },
    #[error("domain '{name}': {source}")]
    Hotplug {
        name: String,
        #[source]
        source: Box<crate::hotplug::HotplugError>,
    },
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl DriverError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> DriverError {
        DriverError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Whether a domain runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestState {
    Running,
    Shutoff,
}

/// Why a domain is in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateReason {
    Unknown,
    Booted,
    Shutdown,
    Destroyed,
    Crashed,
    Failed,
}

impl std::fmt::Display for StateReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl StateReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StateReason::Unknown => "unknown",
            StateReason::Booted => "booted",
            StateReason::Shutdown => "shutdown",
            StateReason::Destroyed => "destroyed",
            StateReason::Crashed => "crashed",
            StateReason::Failed => "failed",
        }
    }

    fn parse(s: &str) -> StateReason {
        match s.trim() {
            "booted" => StateReason::Booted,
            "shutdown" => StateReason::Shutdown,
            "destroyed" => StateReason::Destroyed,
            "crashed" => StateReason::Crashed,
            "failed" => StateReason::Failed,
            _ => StateReason::Unknown,
        }
    }
}

/// One domain as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainInfo {
    pub id: Option<i32>,
    pub name: String,
    pub uuid: Uuid,
    pub state: GuestState,
    pub persistent: bool,
}

/// Settings of a driver beyond its paths.
#[derive(Debug, Clone)]
pub struct DriverOptions {
    /// QEMU's capabilities (the emulator is taken from the domain's `<emulator>` or these).
    pub caps: QemuCaps,
    /// How long to wait for another process holding a lock.
    pub lock_timeout: Duration,
    /// How long QEMU may take to open its monitor and answer.
    pub monitor_timeout: Duration,
    /// How long a graceful shutdown waits for the guest to power off.
    pub shutdown_timeout: Duration,
    /// How long a hot-unplug waits for the guest to release the device.
    pub unplug_timeout: Duration,
    /// The cgroup partition guests go under (`/machine`); `None` runs guests without a cgroup.
    pub cgroup_partition: Option<String>,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            caps: QemuCaps::x86_64_7_2(),
            lock_timeout: Duration::from_secs(120),
            monitor_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(60),
            unplug_timeout: devices::DEFAULT_UNPLUG_TIMEOUT,
            cgroup_partition: Some("/machine".into()),
        }
    }
}

/// The QEMU driver over one root.
#[derive(Debug)]
pub struct QemuDriver {
    paths: DriverPaths,
    uri: String,
    auditor: Auditor,
    opts: DriverOptions,
}

/// The audit identity of a guest: `virt=kvm` for `<domain type='kvm'>`, `virt=qemu` otherwise.
pub fn identity(def: &Domain) -> VmIdentity {
    let virt = match def.domain_type {
        virt_xml::domain::DomainType::Kvm => VirtType::Kvm,
        _ => VirtType::Qemu,
    };
    VmIdentity::new(
        virt,
        def.name.clone(),
        def.uuid.map(|u| *u.as_bytes()).unwrap_or([0; 16]),
    )
}

fn fresh_uuid() -> Result<Uuid, DriverError> {
    let p = Path::new("/proc/sys/kernel/random/uuid");
    let s = std::fs::read_to_string(p).map_err(|e| DriverError::io(p, e))?;
    s.trim().parse().map_err(|_| DriverError::Corrupt {
        path: p.to_path_buf(),
        what: format!("{:?} is not a UUID", s.trim()),
    })
}

fn check_name(name: &str) -> Result<(), DriverError> {
    if name.is_empty() || name.starts_with('.') || name.contains('/') || name.contains('\0') {
        return Err(DriverError::Unsupported(format!(
            "domain name {name:?}: must be non-empty, without '/', not starting with '.'"
        )));
    }
    Ok(())
}

impl QemuDriver {
    /// Opens the driver on `paths` (made when missing), then reconnects to every guest a status
    /// file names, cleaning up those whose QEMU is gone (see [`reconnect`]).
    pub fn open(
        paths: DriverPaths,
        uri: impl Into<String>,
        auditor: Auditor,
        opts: DriverOptions,
    ) -> Result<QemuDriver, DriverError> {
        paths
            .create()
            .map_err(|e| DriverError::io(&paths.state_dir, e))?;
        let d = QemuDriver {
            paths,
            uri: uri.into(),
            auditor,
            opts,
        };
        d.reconnect_all()?;
        Ok(d)
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub fn paths(&self) -> &DriverPaths {
        &self.paths
    }

    pub fn auditor(&self) -> &Auditor {
        &self.auditor
    }

    pub fn options(&self) -> &DriverOptions {
        &self.opts
    }

    pub(crate) fn lock_driver(&self) -> Result<FileLock, DriverError> {
        FileLock::acquire(&self.paths.driver_lock(), self.opts.lock_timeout)
    }

    pub(crate) fn lock_domain(&self, name: &str) -> Result<FileLock, DriverError> {
        check_name(name)?;
        FileLock::acquire(&self.paths.domain_lock(name), self.opts.lock_timeout)
    }

    fn read_config(&self, name: &str) -> Result<Option<Domain>, DriverError> {
        match store::read_opt(&self.paths.config_file(name))? {
            Some(x) => Ok(Some(Domain::parse(&x)?)),
            None => Ok(None),
        }
    }

    fn read_status(&self, name: &str) -> Result<Option<StatusRecord>, DriverError> {
        StatusRecord::read(&self.paths.status_file(name))
    }

    /// Parses, checks and completes a definition (addresses, aliases, defaults) as it is stored.
    pub fn prepare(&self, xml: &str) -> Result<Domain, DriverError> {
        let mut def = Domain::parse(xml)?;
        check_name(&def.name)?;
        if def.uuid.is_none() {
            def.uuid = Some(fresh_uuid()?);
        }
        def.id = None;
        crate::prepare::prepare_with(
            &mut def,
            &self.opts.caps,
            &host::runtime_config(&self.paths).prepare_options(),
        )
        .map_err(|source| DriverError::Prepare {
            name: def.name.clone(),
            source: Box::new(source),
        })?;
        Ok(def)
    }

    /// Defines (or redefines) a persistent domain; the stored XML is the prepared, canonical form.
    pub fn define(&self, xml: &str) -> Result<DomainInfo, DriverError> {
        let def = self.prepare(xml)?;
        let uuid = def.uuid.unwrap_or_default();
        let _g = self.lock_driver()?;
        for other in store::config_names(&self.paths)? {
            if let Some(o) = self.read_config(&other)? {
                let same_name = o.name == def.name;
                let same_uuid = o.uuid == def.uuid;
                if same_name && !same_uuid {
                    return Err(DriverError::Exists {
                        name: def.name.clone(),
                        uuid: o.uuid.map(|u| u.to_string()).unwrap_or_default(),
                    });
                }
                if same_uuid && !same_name {
                    return Err(DriverError::Exists {
                        name: o.name.clone(),
                        uuid: uuid.to_string(),
                    });
                }
            }
        }
        store::write_atomic(&self.paths.config_file(&def.name), def.to_xml().as_bytes())?;
        let status = self.read_status(&def.name)?;
        Ok(DomainInfo {
            id: status.as_ref().map(|s| s.id),
            name: def.name,
            uuid,
            state: if status.is_some() {
                GuestState::Running
            } else {
                GuestState::Shutoff
            },
            persistent: true,
        })
    }

    /// Removes a persistent definition (a running guest keeps running, transient).
    pub fn undefine(&self, name: &str) -> Result<(), DriverError> {
        let _d = self.lock_domain(name)?;
        let _g = self.lock_driver()?;
        let p = self.paths.config_file(name);
        if !p.exists() {
            return Err(DriverError::NoDomain(name.to_string()));
        }
        store::remove_opt(&p)?;
        store::remove_opt(&self.paths.stop_reason_file(name))?;
        Ok(())
    }

    /// Every domain: the defined ones and those with a status file (running or transient).
    pub fn list(&self) -> Result<Vec<DomainInfo>, DriverError> {
        let _g = self.lock_driver()?;
        let mut out = Vec::new();
        let configs = store::config_names(&self.paths)?;
        for n in &configs {
            let Some(def) = self.read_config(n)? else {
                continue;
            };
            let st = self.read_status(n)?;
            out.push(DomainInfo {
                id: st.as_ref().map(|s| s.id),
                name: def.name,
                uuid: def.uuid.unwrap_or_default(),
                state: if st.is_some() {
                    GuestState::Running
                } else {
                    GuestState::Shutoff
                },
                persistent: true,
            });
        }
        for n in store::status_names(&self.paths)? {
            if configs.contains(&n) {
                continue;
            }
            if let Some(st) = self.read_status(&n)? {
                let def = Domain::parse(&st.live_xml)?;
                out.push(DomainInfo {
                    id: Some(st.id),
                    name: def.name,
                    uuid: def.uuid.unwrap_or_default(),
                    state: GuestState::Running,
                    persistent: false,
                });
            }
        }
        Ok(out)
    }

    /// The domain's XML: the live definition while it runs (unless `inactive`), else the stored
    /// one.
    pub fn xml(&self, name: &str, inactive: bool) -> Result<String, DriverError> {
        check_name(name)?;
        if !inactive {
            if let Some(st) = self.read_status(name)? {
                return Ok(st.live_xml);
            }
        }
        match store::read_opt(&self.paths.config_file(name))? {
            Some(x) => Ok(x),
            None => match self.read_status(name)? {
                Some(st) => Ok(st.live_xml),
                None => Err(DriverError::NoDomain(name.to_string())),
            },
        }
    }

    /// The domain's state and why.
    pub fn state(&self, name: &str) -> Result<(GuestState, StateReason), DriverError> {
        check_name(name)?;
        if self.read_status(name)?.is_some() {
            return Ok((GuestState::Running, StateReason::Booted));
        }
        if !self.paths.config_file(name).exists() {
            return Err(DriverError::NoDomain(name.to_string()));
        }
        let reason = store::read_opt(&self.paths.stop_reason_file(name))?
            .map(|s| StateReason::parse(&s))
            .unwrap_or(StateReason::Unknown);
        Ok((GuestState::Shutoff, reason))
    }

    /// `domxml-to-native qemu-argv`: the command line a start would run, with the runtime host
    /// context of this driver (id -1, this root's directories and monitor socket path, fds numbered
    /// from 3) instead of libvirt's test harness.
    pub fn to_native(&self, format: &str, xml: &str) -> Result<String, DriverError> {
        if format != "qemu-argv" {
            return Err(DriverError::Unsupported(format!(
                "native format '{format}' (only qemu-argv)"
            )));
        }
        let mut def = Domain::parse(xml)?;
        let host = host::runtime_host(&self.paths, &def, -1, &self.opts.caps)?;
        let cmd =
            crate::argv::prepare_and_build(&mut def, &self.opts.caps, &host).map_err(|source| {
                DriverError::Argv {
                    name: def.name.clone(),
                    source: Box::new(source),
                }
            })?;
        Ok(cmd.to_args_text())
    }

    fn write_stop_reason(&self, name: &str, reason: StateReason) -> Result<(), DriverError> {
        if self.paths.config_file(name).exists() {
            store::write_runtime(
                &self.paths.stop_reason_file(name),
                format!("{}\n", reason.as_str()).as_bytes(),
            )?;
        }
        Ok(())
    }
}

impl QemuDriver {
    /// Changes the persistent definition of `name` with `edit` (under the domain and driver locks);
    /// the result is prepared again and stored.
    pub fn edit_config(
        &self,
        name: &str,
        edit: impl FnOnce(&mut Domain) -> Result<(), DriverError>,
    ) -> Result<(), DriverError> {
        let _d = self.lock_domain(name)?;
        let _g = self.lock_driver()?;
        let Some(mut def) = self.read_config(name)? else {
            return Err(DriverError::NoDomain(name.to_string()));
        };
        edit(&mut def)?;
        def.has_devices = true;
        crate::prepare::prepare_with(
            &mut def,
            &self.opts.caps,
            &host::runtime_config(&self.paths).prepare_options(),
        )
        .map_err(|source| DriverError::Prepare {
            name: name.to_string(),
            source: Box::new(source),
        })?;
        store::write_atomic(&self.paths.config_file(name), def.to_xml().as_bytes())
    }

    /// Whether `name` has an active instance (a status file).
    pub fn is_active(&self, name: &str) -> Result<bool, DriverError> {
        check_name(name)?;
        Ok(self.read_status(name)?.is_some())
    }
}
