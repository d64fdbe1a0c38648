//! `<rng>`: a virtio random number generator ([`Rng`]) and where its entropy comes from: a host
//! file (`random`), an EGD daemon over a character device (`egd`, sharing [`CharSource`]), or
//! QEMU's built-in source (`builtin`).
//!
//! libvirt's order: `<rate>`, `<backend>`, `<driver>`, then the device info.

use crate::domain::{attr_parse, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

use super::chardev::CharSource;
use super::info::DeviceInfo;

str_enum!(
    /// `<rng model>`.
    RngModel {
        Virtio = "virtio", VirtioTransitional = "virtio-transitional",
        VirtioNonTransitional = "virtio-non-transitional",
    }
);

/// `<backend>`: where the entropy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RngBackend {
    /// `model='random'`: a host file or device (the element's text; absent when empty).
    Random(Option<String>),
    /// `model='egd'`: an EGD daemon reached through a character device.
    Egd(CharSource),
    /// `model='builtin'`: QEMU's own source.
    Builtin,
}

/// `<rate bytes period/>`: at most `bytes` per `period` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RngRate {
    pub bytes: u32,
    /// Milliseconds.
    pub period: Option<u32>,
}

/// `<driver>`: virtio transport options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RngDriver {
    pub iommu: Option<OnOff>,
    pub ats: Option<OnOff>,
    pub packed: Option<OnOff>,
    pub page_per_vq: Option<OnOff>,
}

/// A `<rng>` device.
///
/// ```
/// use virt_xml::devices::rng::{Rng, RngBackend, RngModel, RngRate};
/// use virt_xml::writer::Writer;
/// let mut rng = Rng::new(RngModel::Virtio, RngBackend::Random(Some("/dev/urandom".into())));
/// rng.rate = Some(RngRate { bytes: 1024, period: Some(1000) });
/// let mut w = Writer::new();
/// rng.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<rng model='virtio'>\n  <rate bytes='1024' period='1000'/>\n  \
///      <backend model='random'>/dev/urandom</backend>\n</rng>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    pub model: RngModel,
    pub rate: Option<RngRate>,
    pub backend: RngBackend,
    pub driver: Option<RngDriver>,
    /// Alias, ACPI index, guest address.
    pub info: DeviceInfo,
}

impl Rng {
    /// A device of this model and backend with nothing else set.
    pub fn new(model: RngModel, backend: RngBackend) -> Self {
        Rng {
            model,
            rate: None,
            backend,
            driver: None,
            info: DeviceInfo::default(),
        }
    }

    /// Parses a schema-checked, normalised `<rng>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let missing = |e: &Element, what: &str| XmlError::Missing {
            pos: e.pos,
            element: e.name.clone(),
            what: what.into(),
        };
        let model = attr_parse(el, "model")?.ok_or_else(|| missing(el, "attribute 'model'"))?;
        let b = el
            .child("backend")
            .ok_or_else(|| missing(el, "element <backend>"))?;
        let backend = match b.attr("model") {
            Some("random") => {
                let text = b.text();
                RngBackend::Random((!text.is_empty()).then_some(text))
            }
            Some("egd") => RngBackend::Egd(CharSource::from_element(b)?),
            Some("builtin") => RngBackend::Builtin,
            Some(other) => {
                return Err(crate::domain::invalid_value(
                    b,
                    "model",
                    crate::values::ValueError {
                        kind: "RngBackendModel",
                        value: other.to_string(),
                        reason: "expected one of random, egd, builtin".into(),
                    },
                ))
            }
            None => return Err(missing(b, "attribute 'model'")),
        };
        let rate = match el.child("rate") {
            None => None,
            Some(r) => Some(RngRate {
                bytes: num_attr(r, "bytes")?.ok_or_else(|| missing(r, "attribute 'bytes'"))?,
                period: num_attr(r, "period")?,
            }),
        };
        let driver = match el.child("driver") {
            None => None,
            Some(d) => Some(RngDriver {
                iommu: attr_parse(d, "iommu")?,
                ats: attr_parse(d, "ats")?,
                packed: attr_parse(d, "packed")?,
                page_per_vq: attr_parse(d, "page_per_vq")?,
            }),
        };
        Ok(Rng {
            model,
            rate,
            backend,
            driver,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<rng>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("rng").attr("model", self.model), |w| {
            if let Some(r) = &self.rate {
                w.empty(
                    Tag::new("rate")
                        .attr("bytes", r.bytes)
                        .opt_attr("period", r.period),
                );
            }
            match &self.backend {
                RngBackend::Random(path) => {
                    let tag = Tag::new("backend").attr("model", "random");
                    match path {
                        Some(p) => w.leaf(tag, p),
                        None => w.empty(tag),
                    }
                }
                RngBackend::Egd(src) => {
                    let mut tag = Tag::new("backend").attr("model", "egd");
                    src.push_attrs(&mut tag);
                    w.element(tag, |w| src.write_children(w));
                }
                RngBackend::Builtin => w.empty(Tag::new("backend").attr("model", "builtin")),
            }
            if let Some(d) = &self.driver {
                w.empty(
                    Tag::new("driver")
                        .opt_attr("iommu", d.iommu)
                        .opt_attr("ats", d.ats)
                        .opt_attr("packed", d.packed)
                        .opt_attr("page_per_vq", d.page_per_vq),
                );
            }
            self.info.write(w);
        });
    }
}
