//! `<iommu>`: the guest's emulated IOMMU, as a typed value ([`Iommu`]).

use crate::devices::controller::required_attr;
use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<iommu model>`.
    IommuModel { Intel = "intel", Smmuv3 = "smmuv3", Virtio = "virtio" }
);

/// `<iommu><driver>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IommuDriver {
    /// Interrupt remapping.
    pub intremap: Option<OnOff>,
    pub caching_mode: Option<OnOff>,
    /// Extended interrupt mode.
    pub eim: Option<OnOff>,
    /// Device IOTLB.
    pub iotlb: Option<OnOff>,
    /// Address width in bits.
    pub aw_bits: Option<u8>,
}

/// `<iommu>`.
///
/// ```
/// use virt_xml::devices::iommu::{Iommu, IommuDriver, IommuModel};
/// use virt_xml::domain::OnOff;
/// use virt_xml::writer::Writer;
/// let i = Iommu {
///     model: IommuModel::Intel,
///     driver: Some(IommuDriver { intremap: Some(OnOff::On), aw_bits: Some(48), ..Default::default() }),
///     info: Default::default(),
/// };
/// let mut w = Writer::new();
/// i.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<iommu model='intel'>\n  <driver intremap='on' aw_bits='48'/>\n</iommu>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iommu {
    pub model: IommuModel,
    pub driver: Option<IommuDriver>,
    /// Alias, ACPI index, address.
    pub info: DeviceInfo,
}

impl Iommu {
    /// Parses a schema-checked `<iommu>` element.
    pub fn from_element(el: &Element) -> Result<Iommu, XmlError> {
        let driver = match el.child("driver") {
            None => None,
            Some(d) => Some(IommuDriver {
                intremap: attr_parse(d, "intremap")?,
                caching_mode: attr_parse(d, "caching_mode")?,
                eim: attr_parse(d, "eim")?,
                iotlb: attr_parse(d, "iotlb")?,
                aw_bits: num_attr(d, "aw_bits")?,
            }),
        };
        Ok(Iommu {
            model: required_attr(el, "model")?,
            driver,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<iommu>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("iommu").attr("model", self.model), |w| {
            if let Some(d) = &self.driver {
                w.empty(
                    Tag::new("driver")
                        .opt_attr("intremap", d.intremap)
                        .opt_attr("caching_mode", d.caching_mode)
                        .opt_attr("eim", d.eim)
                        .opt_attr("iotlb", d.iotlb)
                        .opt_attr("aw_bits", d.aw_bits),
                );
            }
            self.info.write(w);
        });
    }
}
