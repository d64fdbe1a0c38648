//! The facade's [`Driver`] over virt-qemu's [`QemuDriver`] (`qemu:///embed?root=DIR`,
//! `qemu:///system`).

use virt_qemu::driver::{DriverError, GuestState, QemuDriver};

use crate::device::{find_device, parse_device};
use crate::driver::{DeviceScope, DomainSummary, Driver};
use crate::error::{Error, Result};
use crate::state::{DomainState, StateReason};

/// The QEMU driver behind a [`crate::Connect`].
#[derive(Debug)]
pub struct QemuFacadeDriver {
    inner: QemuDriver,
}

impl QemuFacadeDriver {
    pub fn new(inner: QemuDriver) -> Self {
        QemuFacadeDriver { inner }
    }

    /// The virt-qemu driver underneath.
    pub fn inner(&self) -> &QemuDriver {
        &self.inner
    }
}

fn map_err(e: DriverError) -> Error {
    match e {
        DriverError::NoDomain(n) => Error::NoDomain(n),
        DriverError::Exists { name, uuid } => Error::Exists { name, uuid },
        DriverError::BadState { name, what } => Error::BadState { name, what },
        DriverError::Xml(x) => Error::Xml(x),
        DriverError::Io { path, source } => Error::Io { path, source },
        DriverError::Unsupported(s) => Error::Unsupported(s),
        other => Error::Driver(other.to_string()),
    }
}

fn state_of(s: GuestState) -> DomainState {
    match s {
        GuestState::Running => DomainState::Running,
        GuestState::Shutoff => DomainState::Shutoff,
    }
}

fn summary(d: virt_qemu::driver::DomainInfo) -> DomainSummary {
    DomainSummary {
        id: d.id.and_then(|i| u32::try_from(i).ok()),
        name: d.name,
        uuid: d.uuid,
        state: state_of(d.state),
        persistent: d.persistent,
    }
}

impl Driver for QemuFacadeDriver {
    fn uri(&self) -> String {
        self.inner.uri().to_string()
    }

    fn define(&self, xml: &str) -> Result<DomainSummary> {
        self.inner.define(xml).map(summary).map_err(map_err)
    }

    fn undefine(&self, name: &str) -> Result<()> {
        self.inner.undefine(name).map_err(map_err)
    }

    fn start(&self, name: &str) -> Result<()> {
        self.inner.start(name).map_err(map_err)
    }

    fn shutdown(&self, name: &str) -> Result<()> {
        self.inner.shutdown(name).map_err(map_err)
    }

    fn destroy(&self, name: &str) -> Result<()> {
        self.inner.destroy(name).map_err(map_err)
    }

    fn list(&self) -> Result<Vec<DomainSummary>> {
        Ok(self
            .inner
            .list()
            .map_err(map_err)?
            .into_iter()
            .map(summary)
            .collect())
    }

    fn xml(&self, name: &str, inactive: bool) -> Result<String> {
        self.inner.xml(name, inactive).map_err(map_err)
    }

    fn state(&self, name: &str) -> Result<(DomainState, StateReason)> {
        let (s, r) = self.inner.state(name).map_err(map_err)?;
        Ok((state_of(s), r))
    }

    fn attach_device(&self, name: &str, device_xml: &str, scope: DeviceScope) -> Result<()> {
        let dev = parse_device(device_xml)?;
        let scope = scope.resolve(self.inner.is_active(name).map_err(map_err)?);
        if scope.live {
            self.inner.attach_live(name, &dev).map_err(map_err)?;
        }
        if !scope.config {
            return Ok(());
        }
        self.inner
            .edit_config(name, |def| {
                if find_device(def, &dev).is_some() {
                    return Err(DriverError::BadState {
                        name: name.to_string(),
                        what: format!("already has this {} device", dev.kind()),
                    });
                }
                def.devices.push(dev.clone());
                Ok(())
            })
            .map_err(map_err)
    }

    fn detach_device(&self, name: &str, device_xml: &str, scope: DeviceScope) -> Result<()> {
        let dev = parse_device(device_xml)?;
        let scope = scope.resolve(self.inner.is_active(name).map_err(map_err)?);
        if scope.live {
            self.inner.detach_live(name, &dev).map_err(map_err)?;
        }
        if !scope.config {
            return Ok(());
        }
        self.inner
            .edit_config(name, |def| {
                let i = find_device(def, &dev).ok_or_else(|| DriverError::BadState {
                    name: name.to_string(),
                    what: format!("has no matching {} device", dev.kind()),
                })?;
                def.devices.remove(i);
                Ok(())
            })
            .map_err(map_err)
    }

    fn to_native(&self, format: &str, xml: &str) -> Result<String> {
        self.inner.to_native(format, xml).map_err(map_err)
    }
}
