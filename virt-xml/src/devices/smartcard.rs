//! `<smartcard>`: a CCID smartcard reader backed by the host's reader (`host`), by three
//! certificates in an NSS database (`host-certificates`), or by a remote reader over a
//! character device (`passthrough`), as a typed value ([`Smartcard`]).
//!
//! ```
//! use virt_xml::devices::smartcard::{Smartcard, SmartcardMode};
//! use virt_xml::writer::Writer;
//!
//! let card = Smartcard::new(SmartcardMode::HostCertificates {
//!     certificates: vec!["cert1".into(), "cert2".into(), "cert3".into()],
//!     database: Some("/etc/pki/nssdb".into()),
//! });
//! let mut w = Writer::new();
//! card.write(&mut w);
//! assert_eq!(
//!     w.finish(),
//!     "<smartcard mode='host-certificates'>\n  <certificate>cert1</certificate>\n  \
//!      <certificate>cert2</certificate>\n  <certificate>cert3</certificate>\n  \
//!      <database>/etc/pki/nssdb</database>\n</smartcard>\n"
//! );
//! ```

use crate::devices::info::DeviceInfo;
use crate::devices::interface::required;
use crate::devices::redirdev::chr::{ChrBackend, ChrType};
use crate::domain::{attr_parse, invalid_value};
use crate::error::XmlError;
use crate::tree::Element;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

/// What backs the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmartcardMode {
    /// `mode='host'`: the host's own reader.
    Host,
    /// `mode='host-certificates'`: certificate nicknames and an optional NSS database directory.
    HostCertificates {
        certificates: Vec<String>,
        database: Option<String>,
    },
    /// `mode='passthrough'`: a character device to a remote reader.
    Passthrough {
        chr_type: ChrType,
        backend: ChrBackend,
    },
}

/// `<smartcard>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smartcard {
    pub mode: SmartcardMode,
    pub info: DeviceInfo,
}

impl Smartcard {
    /// A smartcard in `mode` with no device info.
    pub fn new(mode: SmartcardMode) -> Self {
        Smartcard {
            mode,
            info: DeviceInfo::default(),
        }
    }

    /// Parses a schema-checked `<smartcard>` element.
    pub fn from_element(el: &Element) -> Result<Smartcard, XmlError> {
        let mode = match required(el, "mode", el.attr("mode"))? {
            "host" => SmartcardMode::Host,
            "host-certificates" => SmartcardMode::HostCertificates {
                certificates: el
                    .children_named("certificate")
                    .map(|c| c.text().trim().to_string())
                    .collect(),
                database: el.child("database").map(|d| d.text().trim().to_string()),
            },
            "passthrough" => SmartcardMode::Passthrough {
                chr_type: required(el, "type", attr_parse(el, "type")?)?,
                backend: ChrBackend::from_element(el)?,
            },
            other => {
                return Err(invalid_value(
                    el,
                    "mode",
                    ValueError {
                        kind: "smartcard mode",
                        value: other.to_string(),
                        reason: "expected host, host-certificates or passthrough".into(),
                    },
                ))
            }
        };
        Ok(Smartcard {
            mode,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<smartcard>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let mut tag = Tag::new("smartcard");
        match &self.mode {
            SmartcardMode::Host => tag.push("mode", "host"),
            SmartcardMode::HostCertificates { .. } => tag.push("mode", "host-certificates"),
            SmartcardMode::Passthrough { chr_type, .. } => {
                tag.push("mode", "passthrough");
                tag.push("type", chr_type);
            }
        }
        w.element(tag, |w| {
            match &self.mode {
                SmartcardMode::Host => {}
                SmartcardMode::HostCertificates {
                    certificates,
                    database,
                } => {
                    for c in certificates {
                        w.leaf(Tag::new("certificate"), c);
                    }
                    if let Some(d) = database {
                        w.leaf(Tag::new("database"), d);
                    }
                }
                SmartcardMode::Passthrough { backend, .. } => backend.write(w),
            }
            self.info.write(w);
        });
    }
}
