//! [`Connect`]: a connection to a driver chosen by URI, and the Domain API on it.

use crate::driver::{DeviceScope, DomainSummary, Driver};
use crate::error::{Error, Result};
use crate::qemu_driver::QemuFacadeDriver;
use crate::state::{DomainState, StateReason};
use crate::test_driver::TestDriver;
use crate::uri::ConnectUri;
use std::sync::Arc;
use virt_audit::{AuditLevel, AuditSink, Auditor, FanoutSink, FileSink, KernelSink};

/// Settings of a connection beyond its URI.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Also append every audit record to this file (virt-audit's file sink format).
    pub audit_file: Option<std::path::PathBuf>,
}

/// The auditor of a QEMU connection: the kernel (when this process may send to it) plus, with
/// `audit_file`, that file, through one fan-out sink.
pub fn qemu_auditor(options: &ConnectOptions) -> Result<Auditor> {
    let mut sinks: Vec<Arc<dyn AuditSink>> = Vec::new();
    if let Ok(k) = KernelSink::open() {
        sinks.push(Arc::new(k));
    }
    if let Some(p) = &options.audit_file {
        let f = FileSink::open(p).map_err(|e| Error::Driver(format!("audit file: {e}")))?;
        sinks.push(Arc::new(f));
    }
    Ok(Auditor::new(
        Arc::new(FanoutSink::new(sinks)),
        AuditLevel::On,
    ))
}

fn open_qemu(
    paths: virt_qemu::driver::paths::DriverPaths,
    uri: &ConnectUri,
    options: &ConnectOptions,
) -> Result<QemuFacadeDriver> {
    let auditor = qemu_auditor(options)?;
    let d = virt_qemu::driver::QemuDriver::open(
        paths,
        uri.to_string(),
        auditor,
        virt_qemu::driver::DriverOptions::default(),
    )
    .map_err(|e| Error::Driver(format!("{uri}: {e}")))?;
    Ok(QemuFacadeDriver::new(d))
}

/// An open connection.
pub struct Connect {
    driver: Box<dyn Driver>,
}

impl Connect {
    /// Opens a connection: `test:///default`, `qemu:///embed?root=DIR` or `qemu:///system`.
    pub fn open(uri: &str) -> Result<Connect> {
        Connect::open_with(uri, ConnectOptions::default())
    }

    /// Opens a connection with options.
    pub fn open_with(uri: &str, options: ConnectOptions) -> Result<Connect> {
        let parsed: ConnectUri = uri.parse()?;
        let driver: Box<dyn Driver> = match &parsed {
            ConnectUri::TestDefault => Box::new(TestDriver::new()),
            ConnectUri::QemuEmbed { root } => {
                let paths = virt_qemu::driver::paths::DriverPaths::embed(root);
                Box::new(open_qemu(paths, &parsed, &options)?)
            }
            ConnectUri::QemuSystem => {
                let paths = virt_qemu::driver::paths::DriverPaths::system();
                Box::new(open_qemu(paths, &parsed, &options)?)
            }
        };
        Ok(Connect { driver })
    }

    /// A connection over a driver built by the caller.
    pub fn with_driver(driver: Box<dyn Driver>) -> Connect {
        Connect { driver }
    }

    /// The connection's canonical URI.
    pub fn uri(&self) -> String {
        self.driver.uri()
    }

    /// Defines a persistent domain from XML.
    pub fn define_xml(&self, xml: &str) -> Result<DomainHandle<'_>> {
        let s = self.driver.define(xml)?;
        Ok(DomainHandle {
            conn: self,
            name: s.name,
        })
    }

    /// The domain with this name.
    pub fn lookup_by_name(&self, name: &str) -> Result<DomainHandle<'_>> {
        if self.driver.list()?.iter().any(|d| d.name == name) {
            Ok(DomainHandle {
                conn: self,
                name: name.to_string(),
            })
        } else {
            Err(Error::NoDomain(name.to_string()))
        }
    }

    /// Every domain, running first (by id), then defined ones (by name), as virsh lists them.
    pub fn list_all(&self) -> Result<Vec<DomainSummary>> {
        let mut all = self.driver.list()?;
        all.sort_by(|a, b| match (a.id, b.id) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.name.cmp(&b.name),
        });
        Ok(all)
    }

    /// Converts domain XML to a native configuration (`qemu-argv`).
    pub fn domain_xml_to_native(&self, format: &str, xml: &str) -> Result<String> {
        self.driver.to_native(format, xml)
    }
}

/// A domain of a connection, by name.
pub struct DomainHandle<'c> {
    conn: &'c Connect,
    name: String,
}

impl DomainHandle<'_> {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn undefine(&self) -> Result<()> {
        self.conn.driver.undefine(&self.name)
    }

    pub fn start(&self) -> Result<()> {
        self.conn.driver.start(&self.name)
    }

    pub fn shutdown(&self) -> Result<()> {
        self.conn.driver.shutdown(&self.name)
    }

    pub fn destroy(&self) -> Result<()> {
        self.conn.driver.destroy(&self.name)
    }

    /// The XML: live while running, unless `inactive`.
    pub fn xml_desc(&self, inactive: bool) -> Result<String> {
        self.conn.driver.xml(&self.name, inactive)
    }

    pub fn state(&self) -> Result<(DomainState, StateReason)> {
        self.conn.driver.state(&self.name)
    }

    pub fn attach_device(&self, xml: &str, scope: DeviceScope) -> Result<()> {
        self.conn.driver.attach_device(&self.name, xml, scope)
    }

    pub fn detach_device(&self, xml: &str, scope: DeviceScope) -> Result<()> {
        self.conn.driver.detach_device(&self.name, xml, scope)
    }
}
