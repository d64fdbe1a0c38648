//! What every device may carry besides its own settings (libvirt's "device info"): boot order,
//! alias, USB companion master, option ROM, ACPI index and guest address, read from a device
//! element's children and written in libvirt's order (boot, alias, master, rom, acpi, address).

use crate::address::Address;
use crate::domain::{attr_parse, num_attr, OnOff};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

/// `<boot order loadparm/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootOrder {
    pub order: u32,
    pub loadparm: Option<String>,
}

/// `<rom bar file enabled/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rom {
    pub enabled: Option<YesNo>,
    pub bar: Option<OnOff>,
    pub file: Option<String>,
}

/// The parts every device shares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceInfo {
    pub boot: Option<BootOrder>,
    pub alias: Option<String>,
    /// `<master startport>` of a USB companion controller.
    pub master_startport: Option<u32>,
    pub rom: Option<Rom>,
    pub acpi_index: Option<u32>,
    pub address: Option<Address>,
}

/// The child element names [`DeviceInfo`] reads (a device's own parser skips them).
pub const INFO_ELEMENTS: &[&str] = &["boot", "alias", "master", "rom", "acpi", "address"];

impl DeviceInfo {
    /// Reads the shared parts from a device element's children.
    pub fn from_element(dev: &Element) -> Result<DeviceInfo, XmlError> {
        let mut info = DeviceInfo::default();
        for c in dev.elements() {
            match c.name.as_str() {
                "boot" => {
                    info.boot = Some(BootOrder {
                        order: num_attr(c, "order")?.ok_or_else(|| XmlError::Missing {
                            pos: c.pos,
                            element: "boot".into(),
                            what: "attribute 'order'".into(),
                        })?,
                        loadparm: c.attr("loadparm").map(str::to_string),
                    })
                }
                "alias" => info.alias = c.attr("name").map(str::to_string),
                "master" => info.master_startport = num_attr(c, "startport")?,
                "rom" => {
                    info.rom = Some(Rom {
                        enabled: attr_parse(c, "enabled")?,
                        bar: attr_parse(c, "bar")?,
                        file: c.attr("file").map(str::to_string),
                    })
                }
                "acpi" => info.acpi_index = num_attr(c, "index")?,
                "address" => info.address = Some(Address::from_element(c)?),
                _ => {}
            }
        }
        Ok(info)
    }

    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == DeviceInfo::default()
    }

    /// Writes the boot order only (some devices place it apart from the rest).
    pub fn write_boot(&self, w: &mut Writer) {
        if let Some(b) = &self.boot {
            w.empty(
                Tag::new("boot")
                    .attr("order", b.order)
                    .opt_attr("loadparm", b.loadparm.as_deref()),
            );
        }
    }

    /// Writes everything but the boot order, in libvirt's order.
    pub fn write_rest(&self, w: &mut Writer) {
        if let Some(a) = &self.alias {
            w.empty(Tag::new("alias").attr("name", a));
        }
        if let Some(p) = self.master_startport {
            w.empty(Tag::new("master").attr("startport", p));
        }
        if let Some(r) = &self.rom {
            w.empty(
                Tag::new("rom")
                    .opt_attr("enabled", r.enabled)
                    .opt_attr("bar", r.bar)
                    .opt_attr("file", r.file.as_deref()),
            );
        }
        if let Some(i) = self.acpi_index {
            w.empty(Tag::new("acpi").attr("index", i));
        }
        if let Some(a) = &self.address {
            a.write(w);
        }
    }

    /// Writes all shared parts in libvirt's order.
    pub fn write(&self, w: &mut Writer) {
        self.write_boot(w);
        self.write_rest(w);
    }
}
