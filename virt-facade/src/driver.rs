//! What every driver behind a [`crate::Connect`] provides.

use virt_xml::Uuid;

use crate::error::Result;
use crate::state::{DomainState, StateReason};

/// One line of `list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSummary {
    /// The runtime id, while running.
    pub id: Option<u32>,
    pub name: String,
    pub uuid: Uuid,
    pub state: DomainState,
    /// Whether a persistent definition exists (a transient domain vanishes when it stops).
    pub persistent: bool,
}

/// Where a device change applies (virsh's `--live`, `--config`, `--current`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceScope {
    pub live: bool,
    pub config: bool,
}

impl DeviceScope {
    /// `--current`: the live domain when it runs, else its definition.
    pub fn current() -> DeviceScope {
        DeviceScope::default()
    }

    /// Resolves `--current` against the domain's state.
    pub fn resolve(self, active: bool) -> DeviceScope {
        if !self.live && !self.config {
            DeviceScope {
                live: active,
                config: !active,
            }
        } else {
            self
        }
    }
}

/// A hypervisor driver. Implementations are thread-safe; every call is blocking.
pub trait Driver: Send + Sync {
    /// The canonical URI of this connection.
    fn uri(&self) -> String;
    /// Defines (or redefines) a persistent domain from XML; returns its summary.
    fn define(&self, xml: &str) -> Result<DomainSummary>;
    /// Removes a persistent definition (a running domain becomes transient).
    fn undefine(&self, name: &str) -> Result<()>;
    /// Starts a defined domain.
    fn start(&self, name: &str) -> Result<()>;
    /// Asks the guest to shut down.
    fn shutdown(&self, name: &str) -> Result<()>;
    /// Stops the domain at once.
    fn destroy(&self, name: &str) -> Result<()>;
    /// Every domain, running and defined.
    fn list(&self) -> Result<Vec<DomainSummary>>;
    /// The domain's XML: the live definition while running unless `inactive`.
    fn xml(&self, name: &str, inactive: bool) -> Result<String>;
    /// The domain's state and its reason.
    fn state(&self, name: &str) -> Result<(DomainState, StateReason)>;
    /// Adds a device given as XML.
    fn attach_device(&self, name: &str, device_xml: &str, scope: DeviceScope) -> Result<()>;
    /// Removes the device matching the XML.
    fn detach_device(&self, name: &str, device_xml: &str, scope: DeviceScope) -> Result<()>;
    /// Converts domain XML to a native configuration (`qemu-argv`).
    fn to_native(&self, format: &str, xml: &str) -> Result<String>;
}
