//! `<vsock>`: a virtio socket device for host/guest communication, as a typed value ([`Vsock`]).

use crate::devices::controller::{
    read_virtio_driver, write_virtio_driver, VirtioModel, VirtioOptions,
};
use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, num_attr};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

/// `<cid auto address/>`: the guest's context id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VsockCid {
    /// `auto='yes'`: the host picks a free id.
    pub auto: Option<YesNo>,
    /// The id.
    pub address: Option<u32>,
}

/// `<vsock>`.
///
/// ```
/// use virt_xml::devices::vsock::{Vsock, VsockCid};
/// use virt_xml::devices::controller::VirtioModel;
/// use virt_xml::os::YesNo;
/// use virt_xml::writer::Writer;
/// let v = Vsock {
///     model: Some(VirtioModel::Virtio),
///     cid: Some(VsockCid { auto: Some(YesNo::No), address: Some(4) }),
///     driver: None,
///     info: Default::default(),
/// };
/// let mut w = Writer::new();
/// v.write(&mut w);
/// assert_eq!(w.finish(), "<vsock model='virtio'>\n  <cid auto='no' address='4'/>\n</vsock>\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vsock {
    pub model: Option<VirtioModel>,
    pub cid: Option<VsockCid>,
    /// `<driver>`'s virtio options.
    pub driver: Option<VirtioOptions>,
    /// Alias, ACPI index, address.
    pub info: DeviceInfo,
}

impl Vsock {
    /// Parses a schema-checked `<vsock>` element.
    pub fn from_element(el: &Element) -> Result<Vsock, XmlError> {
        let cid = match el.child("cid") {
            None => None,
            Some(c) => Some(VsockCid {
                auto: attr_parse(c, "auto")?,
                address: num_attr(c, "address")?,
            }),
        };
        Ok(Vsock {
            model: attr_parse(el, "model")?,
            cid,
            driver: read_virtio_driver(el)?,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<vsock>` as libvirt 9.0 does (cid, device info, driver).
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("vsock").opt_attr("model", self.model), |w| {
            if let Some(c) = &self.cid {
                w.empty(
                    Tag::new("cid")
                        .opt_attr("auto", c.auto)
                        .opt_attr("address", c.address),
                );
            }
            self.info.write(w);
            write_virtio_driver(w, &self.driver);
        });
    }
}
