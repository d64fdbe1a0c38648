//! `<memballoon>`: the memory balloon device, as a typed value ([`Memballoon`]).

use crate::devices::controller::{
    read_virtio_driver, required_attr, write_virtio_driver, VirtioOptions,
};
use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<memballoon model>`.
    MemballoonModel {
        Virtio = "virtio", VirtioTransitional = "virtio-transitional",
        VirtioNonTransitional = "virtio-non-transitional", Xen = "xen", None = "none",
    }
);

/// `<memballoon>`.
///
/// ```
/// use virt_xml::devices::memballoon::{Memballoon, MemballoonModel};
/// use virt_xml::domain::OnOff;
/// use virt_xml::writer::Writer;
/// let mut b = Memballoon::new(MemballoonModel::Virtio);
/// b.autodeflate = Some(OnOff::On);
/// b.stats_period = Some(10);
/// let mut w = Writer::new();
/// b.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<memballoon model='virtio' autodeflate='on'>\n  <stats period='10'/>\n</memballoon>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memballoon {
    pub model: MemballoonModel,
    /// Deflate the balloon when the guest runs out of memory.
    pub autodeflate: Option<OnOff>,
    pub free_page_reporting: Option<OnOff>,
    /// `<stats period>`: seconds between statistics updates.
    pub stats_period: Option<u32>,
    /// `<driver>`'s virtio options.
    pub driver: Option<VirtioOptions>,
    /// Alias, ACPI index, address.
    pub info: DeviceInfo,
}

impl Memballoon {
    /// A balloon of the given model with nothing else set.
    pub fn new(model: MemballoonModel) -> Self {
        Memballoon {
            model,
            autodeflate: None,
            free_page_reporting: None,
            stats_period: None,
            driver: None,
            info: DeviceInfo::default(),
        }
    }

    /// Parses a schema-checked `<memballoon>` element.
    pub fn from_element(el: &Element) -> Result<Memballoon, XmlError> {
        let stats_period = match el.child("stats") {
            None => None,
            Some(s) => num_attr(s, "period")?,
        };
        Ok(Memballoon {
            model: required_attr(el, "model")?,
            autodeflate: attr_parse(el, "autodeflate")?,
            free_page_reporting: attr_parse(el, "freePageReporting")?,
            stats_period,
            driver: read_virtio_driver(el)?,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<memballoon>` as libvirt 9.0 does (stats, device info, driver).
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("memballoon")
            .attr("model", self.model)
            .opt_attr("autodeflate", self.autodeflate)
            .opt_attr("freePageReporting", self.free_page_reporting);
        w.element(tag, |w| {
            if let Some(p) = self.stats_period {
                w.empty(Tag::new("stats").attr("period", p));
            }
            self.info.write(w);
            write_virtio_driver(w, &self.driver);
        });
    }
}
