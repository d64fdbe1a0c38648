//! `test:///default`: an in-memory driver with no hypervisor, as libvirt's test driver. It starts
//! with libvirt's default domain `test` running (id 1); everything lives only as long as the
//! connection.

use std::collections::BTreeMap;
use std::sync::Mutex;

use virt_xml::{Domain, DomainType};

use crate::device::{find_device, parse_device};
use crate::driver::{DeviceScope, DomainSummary, Driver};
use crate::error::{Error, Result};
use crate::state::{DomainState, StateReason};

/// libvirt's default test domain.
const DEFAULT_DOMAIN: &str = "<domain type='test'>\
<name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\
<memory>8388608</memory><currentMemory>2097152</currentMemory><vcpu>2</vcpu>\
<os><type>hvm</type></os></domain>";

struct Entry {
    config: Option<Domain>,
    live: Option<Domain>,
    id: Option<u32>,
    state: DomainState,
    reason: StateReason,
}

impl Entry {
    fn summary(&self) -> DomainSummary {
        let def = self.live.as_ref().or(self.config.as_ref());
        DomainSummary {
            id: self.id,
            name: def.map(|d| d.name.clone()).unwrap_or_default(),
            uuid: def.and_then(|d| d.uuid).unwrap_or_default(),
            state: self.state,
            persistent: self.config.is_some(),
        }
    }
}

struct Inner {
    domains: BTreeMap<String, Entry>,
    next_id: u32,
}

/// The in-memory test driver.
pub struct TestDriver {
    inner: Mutex<Inner>,
}

impl Default for TestDriver {
    fn default() -> Self {
        TestDriver::new()
    }
}

impl TestDriver {
    /// A fresh driver holding libvirt's default domain, running.
    pub fn new() -> TestDriver {
        let mut domains = BTreeMap::new();
        if let Ok(def) = Domain::parse(DEFAULT_DOMAIN) {
            let mut live = def.clone();
            live.id = Some(1);
            domains.insert(
                def.name.clone(),
                Entry {
                    config: Some(def),
                    live: Some(live),
                    id: Some(1),
                    state: DomainState::Running,
                    reason: StateReason::Booted,
                },
            );
        }
        TestDriver {
            inner: Mutex::new(Inner {
                domains,
                next_id: 2,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> Result<T>) -> Result<T> {
        let mut g = self
            .inner
            .lock()
            .map_err(|_| Error::Driver("test driver state poisoned".into()))?;
        f(&mut g)
    }
}

fn entry<'a>(inner: &'a mut Inner, name: &str) -> Result<&'a mut Entry> {
    inner
        .domains
        .get_mut(name)
        .ok_or_else(|| Error::NoDomain(name.to_string()))
}

fn not_running(name: &str) -> Error {
    Error::BadState {
        name: name.to_string(),
        what: "is not running".into(),
    }
}

impl Driver for TestDriver {
    fn uri(&self) -> String {
        "test:///default".into()
    }

    fn define(&self, xml: &str) -> Result<DomainSummary> {
        let mut def = Domain::parse(xml)?;
        if def.domain_type != DomainType::Test {
            return Err(Error::Unsupported(format!(
                "domain type '{}' on test:///default (expected 'test')",
                def.domain_type
            )));
        }
        def.id = None;
        self.with(|inner| {
            let uuid = match def.uuid {
                Some(u) => u,
                None => {
                    let u = crate::uuid::random();
                    def.uuid = Some(u);
                    u
                }
            };
            for (n, e) in &inner.domains {
                let other = e.summary().uuid;
                if *n != def.name && other == uuid {
                    return Err(Error::Exists {
                        name: n.clone(),
                        uuid: uuid.to_string(),
                    });
                }
            }
            if let Some(e) = inner.domains.get_mut(&def.name) {
                if e.summary().uuid != uuid {
                    return Err(Error::Exists {
                        name: def.name.clone(),
                        uuid: e.summary().uuid.to_string(),
                    });
                }
                e.config = Some(def);
                return Ok(e.summary());
            }
            let e = Entry {
                config: Some(def.clone()),
                live: None,
                id: None,
                state: DomainState::Shutoff,
                reason: StateReason::Unknown,
            };
            let s = e.summary();
            inner.domains.insert(def.name, e);
            Ok(s)
        })
    }

    fn undefine(&self, name: &str) -> Result<()> {
        self.with(|inner| {
            let e = entry(inner, name)?;
            if e.config.is_none() {
                return Err(Error::BadState {
                    name: name.into(),
                    what: "is not persistent".into(),
                });
            }
            if e.state.is_active() {
                e.config = None;
            } else {
                inner.domains.remove(name);
            }
            Ok(())
        })
    }

    fn start(&self, name: &str) -> Result<()> {
        self.with(|inner| {
            let id = inner.next_id;
            let e = entry(inner, name)?;
            if e.state.is_active() {
                return Err(Error::BadState {
                    name: name.into(),
                    what: "is already active".into(),
                });
            }
            let mut live = e.config.clone().ok_or_else(|| not_running(name))?;
            live.id = Some(id as i32);
            e.live = Some(live);
            e.id = Some(id);
            e.state = DomainState::Running;
            e.reason = StateReason::Booted;
            inner.next_id += 1;
            Ok(())
        })
    }

    fn shutdown(&self, name: &str) -> Result<()> {
        self.stop(name, StateReason::Shutdown)
    }

    fn destroy(&self, name: &str) -> Result<()> {
        self.stop(name, StateReason::Destroyed)
    }

    fn list(&self) -> Result<Vec<DomainSummary>> {
        self.with(|inner| Ok(inner.domains.values().map(Entry::summary).collect()))
    }

    fn xml(&self, name: &str, inactive: bool) -> Result<String> {
        self.with(|inner| {
            let e = entry(inner, name)?;
            let def = if inactive {
                e.config.as_ref().or(e.live.as_ref())
            } else {
                e.live.as_ref().or(e.config.as_ref())
            };
            def.map(Domain::to_xml)
                .ok_or_else(|| Error::NoDomain(name.to_string()))
        })
    }

    fn state(&self, name: &str) -> Result<(DomainState, StateReason)> {
        self.with(|inner| {
            let e = entry(inner, name)?;
            Ok((e.state, e.reason))
        })
    }

    fn attach_device(&self, name: &str, device_xml: &str, scope: DeviceScope) -> Result<()> {
        let dev = parse_device(device_xml)?;
        self.with(|inner| {
            let e = entry(inner, name)?;
            let scope = scope.resolve(e.state.is_active());
            if scope.live && !e.state.is_active() {
                return Err(not_running(name));
            }
            if scope.config && e.config.is_none() {
                return Err(Error::BadState {
                    name: name.into(),
                    what: "is transient: no definition to change".into(),
                });
            }
            for (wanted, def) in [(scope.live, &mut e.live), (scope.config, &mut e.config)] {
                if let (true, Some(def)) = (wanted, def) {
                    if find_device(def, &dev).is_some() {
                        return Err(Error::Driver(format!(
                            "operation failed: domain '{name}' already has this {} device",
                            dev.kind()
                        )));
                    }
                    def.devices.push(dev.clone());
                    def.has_devices = true;
                }
            }
            Ok(())
        })
    }

    fn detach_device(&self, name: &str, device_xml: &str, scope: DeviceScope) -> Result<()> {
        let dev = parse_device(device_xml)?;
        self.with(|inner| {
            let e = entry(inner, name)?;
            let scope = scope.resolve(e.state.is_active());
            if scope.live && !e.state.is_active() {
                return Err(not_running(name));
            }
            for (wanted, def) in [(scope.live, &mut e.live), (scope.config, &mut e.config)] {
                if let (true, Some(def)) = (wanted, def) {
                    let i = find_device(def, &dev).ok_or_else(|| {
                        Error::Driver(format!(
                            "operation failed: no matching {} device in domain '{name}'",
                            dev.kind()
                        ))
                    })?;
                    def.devices.remove(i);
                }
            }
            Ok(())
        })
    }

    fn to_native(&self, format: &str, _xml: &str) -> Result<String> {
        Err(Error::Unsupported(format!(
            "conversion to '{format}' on test:///default (use a qemu:// connection)"
        )))
    }
}

impl TestDriver {
    fn stop(&self, name: &str, reason: StateReason) -> Result<()> {
        self.with(|inner| {
            let e = entry(inner, name)?;
            if !e.state.is_active() {
                return Err(not_running(name));
            }
            e.live = None;
            e.id = None;
            e.state = DomainState::Shutoff;
            e.reason = reason;
            if e.config.is_none() {
                inner.domains.remove(name);
            }
            Ok(())
        })
    }
}
