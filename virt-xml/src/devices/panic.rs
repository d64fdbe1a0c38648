//! `<panic>`: the guest panic notifier device, as a typed value ([`Panic`]).

use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, str_enum};
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<panic model>`.
    PanicModel { Isa = "isa", Pseries = "pseries", Hyperv = "hyperv", S390 = "s390" }
);

/// `<panic>`.
///
/// ```
/// use virt_xml::devices::panic::{Panic, PanicModel};
/// use virt_xml::writer::Writer;
/// let p = Panic { model: Some(PanicModel::Hyperv), info: Default::default() };
/// let mut w = Writer::new();
/// p.write(&mut w);
/// assert_eq!(w.finish(), "<panic model='hyperv'/>\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    /// The model; `None` lets the hypervisor choose.
    pub model: Option<PanicModel>,
    /// Alias and address.
    pub info: DeviceInfo,
}

impl Panic {
    /// Parses a schema-checked `<panic>` element.
    pub fn from_element(el: &Element) -> Result<Panic, XmlError> {
        Ok(Panic {
            model: attr_parse(el, "model")?,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<panic>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("panic").opt_attr("model", self.model), |w| {
            self.info.write(w)
        });
    }
}
