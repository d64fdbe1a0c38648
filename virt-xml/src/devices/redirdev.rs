//! `<redirdev>` (a USB device redirected from a client over a character device) and
//! `<redirfilter>` (which redirected USB devices the guest accepts), as typed values.
//!
//! ```
//! use virt_xml::devices::redirdev::{Redirfilter, UsbdevRule};
//! use virt_xml::os::YesNo;
//! use virt_xml::writer::Writer;
//!
//! let f = Redirfilter {
//!     rules: vec![
//!         UsbdevRule { class: Some(0x08), vendor: Some(0x15e1), product: None,
//!                      version: Some((1, 0x10)), allow: YesNo::Yes },
//!         UsbdevRule::any(YesNo::No),
//!     ],
//! };
//! let mut w = Writer::new();
//! f.write(&mut w);
//! assert_eq!(
//!     w.finish(),
//!     "<redirfilter>\n  <usbdev class='0x08' vendor='0x15E1' version='1.10' allow='yes'/>\n  \
//!      <usbdev allow='no'/>\n</redirfilter>\n"
//! );
//! ```

pub mod chr;

pub use chr::{ChrBackend, ChrLog, ChrProtocol, ChrSource, ChrSourceMode, ChrType};

use crate::devices::info::DeviceInfo;
use crate::devices::interface::required;
use crate::domain::{attr_parse, invalid_value, str_enum};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<redirdev bus>`.
    RedirdevBus { Usb = "usb" }
);

/// `<redirdev bus type>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirdev {
    pub bus: RedirdevBus,
    pub chr_type: ChrType,
    pub backend: ChrBackend,
    pub info: DeviceInfo,
}

impl Redirdev {
    /// Parses a schema-checked `<redirdev>` element.
    pub fn from_element(el: &Element) -> Result<Redirdev, XmlError> {
        Ok(Redirdev {
            bus: attr_parse(el, "bus")?.unwrap_or(RedirdevBus::Usb),
            chr_type: required(el, "type", attr_parse(el, "type")?)?,
            backend: ChrBackend::from_element(el)?,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<redirdev>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("redirdev")
            .attr("bus", self.bus)
            .attr("type", self.chr_type);
        w.element(tag, |w| {
            self.backend.write(w);
            self.info.write(w);
        });
    }
}

/// `<usbdev class vendor product version allow/>`: one filter rule; `None` matches any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsbdevRule {
    pub class: Option<u8>,
    pub vendor: Option<u16>,
    pub product: Option<u16>,
    /// `major.minor`, each part written in hex as USB's BCD version (`1.10`).
    pub version: Option<(u8, u8)>,
    pub allow: YesNo,
}

impl UsbdevRule {
    /// A rule matching every device.
    pub fn any(allow: YesNo) -> Self {
        UsbdevRule {
            class: None,
            vendor: None,
            product: None,
            version: None,
            allow,
        }
    }
}

/// `<redirfilter>`: the rules, first match wins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Redirfilter {
    pub rules: Vec<UsbdevRule>,
}

fn bad(el: &Element, attr: &str, v: &str, reason: &str) -> XmlError {
    invalid_value(
        el,
        attr,
        ValueError {
            kind: "USB filter",
            value: v.to_string(),
            reason: reason.to_string(),
        },
    )
}

/// A hex id (`0x` optional); `-1` means any.
fn hex_id<T: TryFrom<u32>>(el: &Element, attr: &str) -> Result<Option<T>, XmlError> {
    let Some(v) = el.attr(attr) else {
        return Ok(None);
    };
    let t = v.trim();
    if t == "-1" {
        return Ok(None);
    }
    let h = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    u32::from_str_radix(h, 16)
        .ok()
        .and_then(|n| T::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| bad(el, attr, v, "not a hex id of the right size"))
}

fn version(el: &Element) -> Result<Option<(u8, u8)>, XmlError> {
    let Some(v) = el.attr("version") else {
        return Ok(None);
    };
    let t = v.trim();
    if t == "-1" {
        return Ok(None);
    }
    let parse = |p: &str| u8::from_str_radix(p, 16).ok();
    t.split_once('.')
        .and_then(|(a, b)| Some((parse(a)?, parse(b)?)))
        .map(Some)
        .ok_or_else(|| bad(el, "version", v, "expected MAJOR.MINOR"))
}

impl Redirfilter {
    /// Parses a schema-checked `<redirfilter>` element.
    pub fn from_element(el: &Element) -> Result<Redirfilter, XmlError> {
        let mut rules = Vec::new();
        for u in el.children_named("usbdev") {
            rules.push(UsbdevRule {
                class: hex_id(u, "class")?,
                vendor: hex_id(u, "vendor")?,
                product: hex_id(u, "product")?,
                version: version(u)?,
                allow: required(u, "allow", attr_parse(u, "allow")?)?,
            });
        }
        Ok(Redirfilter { rules })
    }

    /// Writes `<redirfilter>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("redirfilter"), |w| {
            for r in &self.rules {
                w.empty(
                    Tag::new("usbdev")
                        .opt_attr("class", r.class.map(|c| format!("0x{c:02X}")))
                        .opt_attr("vendor", r.vendor.map(|v| format!("0x{v:04X}")))
                        .opt_attr("product", r.product.map(|p| format!("0x{p:04X}")))
                        .opt_attr("version", r.version.map(|(a, b)| format!("{a:x}.{b:02x}")))
                        .attr("allow", r.allow),
                );
            }
        });
    }
}
