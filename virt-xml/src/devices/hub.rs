//! `<hub>`: an emulated USB hub, as a typed value ([`Hub`]).

use crate::devices::controller::required_attr;
use crate::devices::info::DeviceInfo;
use crate::domain::str_enum;
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<hub type>`.
    HubType { Usb = "usb" }
);

/// `<hub>`.
///
/// ```
/// use virt_xml::devices::hub::{Hub, HubType};
/// use virt_xml::writer::Writer;
/// let h = Hub { kind: HubType::Usb, info: Default::default() };
/// let mut w = Writer::new();
/// h.write(&mut w);
/// assert_eq!(w.finish(), "<hub type='usb'/>\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hub {
    pub kind: HubType,
    /// Alias and (USB) address.
    pub info: DeviceInfo,
}

impl Hub {
    /// Parses a schema-checked `<hub>` element.
    pub fn from_element(el: &Element) -> Result<Hub, XmlError> {
        Ok(Hub {
            kind: required_attr(el, "type")?,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<hub>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("hub").attr("type", self.kind), |w| {
            self.info.write(w)
        });
    }
}
