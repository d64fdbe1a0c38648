//! Device changes on a running guest: the driver's side of [`crate::hotplug`]. Each call holds the
//! domain lock, connects to the guest's monitor, and hands hot-plug a [`LiveGuest`] whose persist
//! callback rewrites the status record (runtime state and live definition) atomically.

use std::time::Duration;

use virt_net::NetHost;
use virt_xml::devices::Device;
use virt_xml::Domain;

use super::store::{Phase, StatusRecord};
use super::{DriverError, QemuDriver};
use crate::hotplug::{self, HotplugError, LiveGuest, RepairOutcome};
use crate::qmp::Qmp;
use crate::status::{RuntimeState, StatusError};

impl QemuDriver {
    /// Runs `f` on the running guest `name` (its lock is held by the caller).
    fn with_live_guest<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut LiveGuest<'_>) -> Result<T, HotplugError>,
    ) -> Result<T, DriverError> {
        let st = match self.read_status(name)? {
            Some(s) if s.phase == Phase::Running => s,
            Some(_) => {
                return Err(DriverError::BadState {
                    name: name.to_string(),
                    what: "is starting or shutting down".into(),
                })
            }
            None if self.paths.config_file(name).exists() => {
                return Err(DriverError::BadState {
                    name: name.to_string(),
                    what: "is not running".into(),
                })
            }
            None => return Err(DriverError::NoDomain(name.to_string())),
        };
        let mut def = Domain::parse(&st.live_xml)?;
        let vm = super::identity(&def);
        let qmp =
            Qmp::connect(&st.runtime.monitor, self.opts.monitor_timeout).map_err(|source| {
                DriverError::Qmp {
                    name: name.to_string(),
                    source: Box::new(source),
                }
            })?;
        let net = NetHost::new(self.auditor.clone());
        let status_path = self.paths.status_file(name);
        let pending = self.paths.hotplug_file(name);
        let mut runtime: RuntimeState = st.runtime.clone();
        let mut base: StatusRecord = st;
        let mut persist = |rt: &RuntimeState, d: &Domain| -> Result<(), StatusError> {
            base.runtime = rt.clone();
            base.live_xml = d.to_xml();
            base.write(&status_path).map_err(|e| StatusError::Invalid {
                path: status_path.clone(),
                what: e.to_string(),
            })
        };
        let mut g = LiveGuest {
            qmp: &qmp,
            id: &vm,
            auditor: &self.auditor,
            net: &net,
            def: &mut def,
            state: &mut runtime,
            persist: &mut persist,
            pending: &pending,
        };
        f(&mut g).map_err(|source| DriverError::Hotplug {
            name: name.to_string(),
            source: Box::new(source),
        })
    }

    /// Hot-plugs an interface or a disk into the running guest `name`.
    pub fn attach_live(&self, name: &str, dev: &Device) -> Result<(), DriverError> {
        let _lock = self.lock_domain(name)?;
        self.with_live_guest(name, |g| match dev {
            Device::Interface(i) => hotplug::attach_interface(g, i),
            Device::Disk(d) => hotplug::attach_disk(g, d),
            other => Err(HotplugError::Unsupported {
                what: format!("{} device", other.kind()),
                why: "only interfaces and disks can be hot-plugged".into(),
            }),
        })
    }

    /// Hot-unplugs the interface (by MAC) or disk (by target) `dev` names from the running guest,
    /// waiting at most the unplug timeout for the guest to release it.
    pub fn detach_live(&self, name: &str, dev: &Device) -> Result<(), DriverError> {
        let _lock = self.lock_domain(name)?;
        let timeout = self.opts.unplug_timeout;
        self.with_live_guest(name, |g| match dev {
            Device::Interface(i) => match &i.mac {
                Some(m) => hotplug::detach_interface(g, m.address, timeout),
                None => Err(HotplugError::Unsupported {
                    what: "interface".into(),
                    why: "detach needs the interface's MAC address".into(),
                }),
            },
            Device::Disk(d) => hotplug::detach_disk(g, &d.target.dev, timeout),
            other => Err(HotplugError::Unsupported {
                what: format!("{} device", other.kind()),
                why: "only interfaces and disks can be hot-unplugged".into(),
            }),
        })
    }

    /// Finishes or rolls back an interface or disk attach interrupted by a killed process (the
    /// caller holds the domain lock; the guest runs).
    pub(crate) fn repair_hotplug(&self, name: &str) -> Result<RepairOutcome, DriverError> {
        let nic = self.paths.hotplug_file(name);
        if !nic.exists() && !hotplug::disk_pending_path(&nic).exists() {
            return Ok(RepairOutcome::Nothing);
        }
        self.with_live_guest(name, hotplug::repair_pending)
    }
}

/// The default time a guest gets to release an unplugged device.
pub const DEFAULT_UNPLUG_TIMEOUT: Duration = Duration::from_secs(60);
