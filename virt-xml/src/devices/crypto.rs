//! `<crypto>`: a virtio-crypto device and its backend, as a typed value ([`Crypto`]).
//!
//! The libvirt 9.0 RelaxNG schema this crate checks against does not list `<crypto>`, so a
//! domain holding one is refused by [`crate::Domain::parse`]; the type reads and writes the
//! element as libvirt documents it (`<crypto model='virtio' type='qemu'><backend model='builtin'
//! queues='1'/></crypto>`).

use crate::devices::controller::missing;
use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, num_attr, str_enum};
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<crypto model>`.
    CryptoModel { Virtio = "virtio" }
);

str_enum!(
    /// `<crypto type>`: who implements the device.
    CryptoType { Qemu = "qemu" }
);

str_enum!(
    /// `<backend model>`.
    CryptoBackendModel { Builtin = "builtin", Lkcf = "lkcf" }
);

/// `<backend model queues/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CryptoBackend {
    pub model: CryptoBackendModel,
    pub queues: Option<u32>,
}

/// `<crypto>`.
///
/// ```
/// use virt_xml::devices::crypto::{Crypto, CryptoBackend, CryptoBackendModel, CryptoModel, CryptoType};
/// use virt_xml::writer::Writer;
/// let c = Crypto {
///     model: CryptoModel::Virtio,
///     kind: CryptoType::Qemu,
///     backend: Some(CryptoBackend { model: CryptoBackendModel::Builtin, queues: Some(1) }),
///     info: Default::default(),
/// };
/// let mut w = Writer::new();
/// c.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<crypto model='virtio' type='qemu'>\n  <backend model='builtin' queues='1'/>\n</crypto>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto {
    pub model: CryptoModel,
    pub kind: CryptoType,
    pub backend: Option<CryptoBackend>,
    /// Alias, ACPI index, address.
    pub info: DeviceInfo,
}

impl Crypto {
    /// Parses a `<crypto>` element.
    pub fn from_element(el: &Element) -> Result<Crypto, XmlError> {
        let backend = match el.child("backend") {
            None => None,
            Some(b) => Some(CryptoBackend {
                model: attr_parse(b, "model")?.ok_or_else(|| missing(b, "attribute 'model'"))?,
                queues: num_attr(b, "queues")?,
            }),
        };
        Ok(Crypto {
            model: attr_parse(el, "model")?.ok_or_else(|| missing(el, "attribute 'model'"))?,
            kind: attr_parse(el, "type")?.ok_or_else(|| missing(el, "attribute 'type'"))?,
            backend,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<crypto>` (model, type; backend, device info).
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("crypto")
            .attr("model", self.model)
            .attr("type", self.kind);
        w.element(tag, |w| {
            if let Some(b) = &self.backend {
                w.empty(
                    Tag::new("backend")
                        .attr("model", b.model)
                        .opt_attr("queues", b.queues),
                );
            }
            self.info.write(w);
        });
    }
}
