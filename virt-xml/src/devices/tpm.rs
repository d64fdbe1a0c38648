//! `<tpm>`: a TPM device and its backend (host passthrough, swtpm emulator, external swtpm), as a
//! typed value ([`Tpm`]).

use crate::devices::controller::{missing, required_attr};
use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, str_enum};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::values::Uuid;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<tpm model>`.
    TpmModel {
        TpmTis = "tpm-tis", TpmCrb = "tpm-crb", TpmSpapr = "tpm-spapr",
        SpaprTpmProxy = "spapr-tpm-proxy",
    }
);

str_enum!(
    /// `<backend version>`: the TPM specification version.
    TpmVersion { V1_2 = "1.2", V2_0 = "2.0" }
);

str_enum!(
    /// A PCR bank of `<active_pcr_banks>`.
    PcrBank { Sha1 = "sha1", Sha256 = "sha256", Sha384 = "sha384", Sha512 = "sha512" }
);

/// `<backend type>` with what each type carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TpmBackendKind {
    /// The host's TPM: `<device path>`.
    Passthrough { device_path: Option<String> },
    /// A swtpm emulator libvirt starts.
    Emulator {
        persistent_state: Option<YesNo>,
        /// `<encryption secret>`: the secret encrypting the TPM state.
        encryption_secret: Option<Uuid>,
        /// `<active_pcr_banks>`, in libvirt's order (`None`: element absent).
        active_pcr_banks: Option<Vec<PcrBank>>,
    },
    /// An externally started swtpm: `<source type='unix' mode='connect' path>`.
    External { source_path: Option<String> },
}

/// `<backend>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmBackend {
    pub kind: TpmBackendKind,
    pub version: Option<TpmVersion>,
}

/// `<tpm>`.
///
/// ```
/// use virt_xml::devices::tpm::{Tpm, TpmBackend, TpmBackendKind, TpmModel};
/// use virt_xml::writer::Writer;
/// let t = Tpm {
///     model: Some(TpmModel::TpmCrb),
///     backend: TpmBackend {
///         kind: TpmBackendKind::Passthrough { device_path: Some("/dev/tpm0".into()) },
///         version: None,
///     },
///     info: Default::default(),
/// };
/// let mut w = Writer::new();
/// t.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<tpm model='tpm-crb'>\n  <backend type='passthrough'>\n    \
///      <device path='/dev/tpm0'/>\n  </backend>\n</tpm>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tpm {
    pub model: Option<TpmModel>,
    pub backend: TpmBackend,
    /// Alias and address.
    pub info: DeviceInfo,
}

impl Tpm {
    /// Parses a schema-checked `<tpm>` element.
    pub fn from_element(el: &Element) -> Result<Tpm, XmlError> {
        let b = el
            .child("backend")
            .ok_or_else(|| missing(el, "element <backend>"))?;
        let kind = match b.attr("type") {
            Some("passthrough") => TpmBackendKind::Passthrough {
                device_path: b
                    .child("device")
                    .and_then(|d| d.attr("path"))
                    .map(str::to_string),
            },
            Some("emulator") => {
                let encryption_secret = match b.child("encryption") {
                    None => None,
                    Some(e) => Some(required_attr(e, "secret")?),
                };
                let active_pcr_banks = match b.child("active_pcr_banks") {
                    None => None,
                    Some(a) => {
                        let mut banks = Vec::new();
                        for bank in PcrBank::ALL {
                            if a.child(bank.as_str()).is_some() {
                                banks.push(*bank);
                            }
                        }
                        Some(banks)
                    }
                };
                TpmBackendKind::Emulator {
                    persistent_state: attr_parse(b, "persistent_state")?,
                    encryption_secret,
                    active_pcr_banks,
                }
            }
            Some("external") => TpmBackendKind::External {
                source_path: b
                    .child("source")
                    .and_then(|s| s.attr("path"))
                    .map(str::to_string),
            },
            Some(other) => {
                return Err(crate::domain::invalid_value(
                    b,
                    "type",
                    crate::values::ValueError {
                        kind: "TpmBackendKind",
                        value: other.to_string(),
                        reason: "expected one of passthrough, emulator, external".into(),
                    },
                ))
            }
            None => return Err(missing(b, "attribute 'type'")),
        };
        Ok(Tpm {
            model: attr_parse(el, "model")?,
            backend: TpmBackend {
                kind,
                version: attr_parse(b, "version")?,
            },
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<tpm>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("tpm").opt_attr("model", self.model), |w| {
            let b = &self.backend;
            let type_name = match &b.kind {
                TpmBackendKind::Passthrough { .. } => "passthrough",
                TpmBackendKind::Emulator { .. } => "emulator",
                TpmBackendKind::External { .. } => "external",
            };
            let mut tag = Tag::new("backend")
                .attr("type", type_name)
                .opt_attr("version", b.version);
            if let TpmBackendKind::Emulator {
                persistent_state: Some(p),
                ..
            } = &b.kind
            {
                tag.push("persistent_state", p);
            }
            w.element(tag, |w| match &b.kind {
                TpmBackendKind::Passthrough { device_path } => {
                    if let Some(p) = device_path {
                        w.empty(Tag::new("device").attr("path", p));
                    }
                }
                TpmBackendKind::Emulator {
                    encryption_secret,
                    active_pcr_banks,
                    ..
                } => {
                    if let Some(s) = encryption_secret {
                        w.empty(Tag::new("encryption").attr("secret", s));
                    }
                    if let Some(banks) = active_pcr_banks {
                        w.element(Tag::new("active_pcr_banks"), |w| {
                            for bank in PcrBank::ALL {
                                if banks.contains(bank) {
                                    w.empty(Tag::new(bank.as_str()));
                                }
                            }
                        });
                    }
                }
                TpmBackendKind::External { source_path } => {
                    if let Some(p) = source_path {
                        w.empty(
                            Tag::new("source")
                                .attr("type", "unix")
                                .attr("mode", "connect")
                                .attr("path", p),
                        );
                    }
                }
            });
            self.info.write(w);
        });
    }
}
