//! A device's `<address>`, of every type libvirt 9.0 knows, as one typed enum ([`Address`]),
//! with its parser (errors name the attribute and line:column) and libvirt's formatting of it
//! (hex widths as libvirt writes them).
//!
//! Devices are still held as schema-checked elements; [`crate::Device::address`] reads their
//! address through this type, and [`Address::write`] formats one for XML a caller builds.

use crate::domain::{attr_parse, invalid_value, parse_c_uint, pci_from_attrs, OnOff};
use crate::error::XmlError;
use crate::tree::Element;
use crate::values::{PciAddr, ValueError};
use crate::writer::{Tag, Writer};

/// `<address type='pci'>`'s `<zpci>` (s390 PCI ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zpci {
    pub uid: Option<u32>,
    pub fid: Option<u32>,
}

/// A device address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Pci {
        addr: PciAddr,
        multifunction: Option<bool>,
        zpci: Option<Zpci>,
    },
    Drive {
        controller: Option<u32>,
        bus: Option<u32>,
        target: Option<u32>,
        unit: Option<u32>,
    },
    VirtioSerial {
        controller: Option<u32>,
        bus: Option<u32>,
        port: Option<u32>,
    },
    Ccid {
        controller: Option<u32>,
        slot: Option<u32>,
    },
    Usb {
        bus: Option<u32>,
        /// A hub path such as `1.2`.
        port: Option<String>,
    },
    SpaprVio {
        reg: Option<u64>,
    },
    Ccw {
        cssid: Option<u32>,
        ssid: Option<u32>,
        devno: Option<u32>,
    },
    Isa {
        iobase: Option<u32>,
        irq: Option<u32>,
    },
    VirtioMmio,
    Dimm {
        slot: Option<u32>,
        base: Option<u64>,
    },
    Unassigned,
}

fn num(el: &Element, name: &str) -> Result<Option<u32>, XmlError> {
    match el.attr(name) {
        None => Ok(None),
        Some(v) => parse_c_uint(v).map(Some).ok_or_else(|| bad(el, name, v)),
    }
}

fn num64(el: &Element, name: &str) -> Result<Option<u64>, XmlError> {
    match el.attr(name) {
        None => Ok(None),
        Some(v) => {
            let t = v.trim();
            let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => t.parse().ok(),
            };
            parsed.map(Some).ok_or_else(|| bad(el, name, v))
        }
    }
}

fn bad(el: &Element, name: &str, v: &str) -> XmlError {
    invalid_value(
        el,
        name,
        ValueError {
            kind: "address",
            value: v.to_string(),
            reason: "not a number".into(),
        },
    )
}

impl Address {
    /// Parses an `<address>` element.
    pub fn from_element(el: &Element) -> Result<Address, XmlError> {
        let ty = el.attr("type").ok_or_else(|| XmlError::Missing {
            pos: el.pos,
            element: "address".into(),
            what: "attribute 'type'".into(),
        })?;
        Ok(match ty {
            "pci" => Address::Pci {
                addr: pci_from_attrs(el)?,
                multifunction: attr_parse::<OnOff>(el, "multifunction")?.map(|m| m == OnOff::On),
                zpci: match el.child("zpci") {
                    None => None,
                    Some(z) => Some(Zpci {
                        uid: num(z, "uid")?,
                        fid: num(z, "fid")?,
                    }),
                },
            },
            "drive" => Address::Drive {
                controller: num(el, "controller")?,
                bus: num(el, "bus")?,
                target: num(el, "target")?,
                unit: num(el, "unit")?,
            },
            "virtio-serial" => Address::VirtioSerial {
                controller: num(el, "controller")?,
                bus: num(el, "bus")?,
                port: num(el, "port")?,
            },
            "ccid" => Address::Ccid {
                controller: num(el, "controller")?,
                slot: num(el, "slot")?,
            },
            "usb" => Address::Usb {
                bus: num(el, "bus")?,
                port: el.attr("port").map(str::to_string),
            },
            "spapr-vio" => Address::SpaprVio {
                reg: num64(el, "reg")?,
            },
            "ccw" => Address::Ccw {
                cssid: num(el, "cssid")?,
                ssid: num(el, "ssid")?,
                devno: num(el, "devno")?,
            },
            "isa" => Address::Isa {
                iobase: num(el, "iobase")?,
                irq: num(el, "irq")?,
            },
            "virtio-mmio" => Address::VirtioMmio,
            "dimm" => Address::Dimm {
                slot: num(el, "slot")?,
                base: num64(el, "base")?,
            },
            "unassigned" => Address::Unassigned,
            other => {
                return Err(invalid_value(
                    el,
                    "type",
                    ValueError {
                        kind: "address type",
                        value: other.to_string(),
                        reason: "expected pci, drive, virtio-serial, ccid, usb, spapr-vio, ccw, \
                                 isa, virtio-mmio, dimm or unassigned"
                            .into(),
                    },
                ))
            }
        })
    }

    /// The `type` libvirt writes.
    pub fn type_name(&self) -> &'static str {
        match self {
            Address::Pci { .. } => "pci",
            Address::Drive { .. } => "drive",
            Address::VirtioSerial { .. } => "virtio-serial",
            Address::Ccid { .. } => "ccid",
            Address::Usb { .. } => "usb",
            Address::SpaprVio { .. } => "spapr-vio",
            Address::Ccw { .. } => "ccw",
            Address::Isa { .. } => "isa",
            Address::VirtioMmio => "virtio-mmio",
            Address::Dimm { .. } => "dimm",
            Address::Unassigned => "unassigned",
        }
    }

    /// Writes `<address .../>` as libvirt does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("address").attr("type", self.type_name());
        let tag = match self {
            Address::Pci {
                addr,
                multifunction,
                zpci,
            } => {
                let tag = tag
                    .attr("domain", format!("{:#06x}", addr.domain))
                    .attr("bus", format!("{:#04x}", addr.bus))
                    .attr("slot", format!("{:#04x}", addr.slot))
                    .attr("function", format!("{:#x}", addr.function))
                    .opt_attr(
                        "multifunction",
                        multifunction.map(|m| if m { "on" } else { "off" }),
                    );
                if let Some(z) = zpci {
                    w.element(tag, |w| {
                        w.empty(
                            Tag::new("zpci")
                                .opt_attr("uid", z.uid.map(|v| format!("{v:#06x}")))
                                .opt_attr("fid", z.fid.map(|v| format!("{v:#010x}"))),
                        )
                    });
                    return;
                }
                tag
            }
            Address::Drive {
                controller,
                bus,
                target,
                unit,
            } => tag
                .opt_attr("controller", *controller)
                .opt_attr("bus", *bus)
                .opt_attr("target", *target)
                .opt_attr("unit", *unit),
            Address::VirtioSerial {
                controller,
                bus,
                port,
            } => tag
                .opt_attr("controller", *controller)
                .opt_attr("bus", *bus)
                .opt_attr("port", *port),
            Address::Ccid { controller, slot } => tag
                .opt_attr("controller", *controller)
                .opt_attr("slot", *slot),
            Address::Usb { bus, port } => {
                tag.opt_attr("bus", *bus).opt_attr("port", port.as_deref())
            }
            Address::SpaprVio { reg } => tag.opt_attr("reg", reg.map(|r| format!("{r:#010x}"))),
            Address::Ccw { cssid, ssid, devno } => tag
                .opt_attr("cssid", cssid.map(|v| format!("{v:#x}")))
                .opt_attr("ssid", ssid.map(|v| format!("{v:#x}")))
                .opt_attr("devno", devno.map(|v| format!("{v:#06x}"))),
            Address::Isa { iobase, irq } => tag
                .opt_attr("iobase", iobase.map(|v| format!("{v:#x}")))
                .opt_attr("irq", irq.map(|v| format!("{v:#x}"))),
            Address::Dimm { slot, base } => tag
                .opt_attr("slot", *slot)
                .opt_attr("base", base.map(|v| format!("{v:#x}"))),
            Address::VirtioMmio | Address::Unassigned => tag,
        };
        w.empty(tag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libvirt_addresses_read_and_write_back() {
        for xml in [
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2' multifunction='on'/>\n",
            "<address type='drive' controller='0' bus='0' target='0' unit='1'/>\n",
            "<address type='virtio-serial' controller='0' bus='0' port='2'/>\n",
            "<address type='ccid' controller='0' slot='0'/>\n",
            "<address type='usb' bus='0' port='1.2'/>\n",
            "<address type='spapr-vio' reg='0x00002000'/>\n",
            "<address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/>\n",
            "<address type='isa' iobase='0x505'/>\n",
            "<address type='virtio-mmio'/>\n",
            "<address type='dimm' slot='0' base='0x100000000'/>\n",
            "<address type='unassigned'/>\n",
        ] {
            let el = crate::tree::parse(xml).expect("xml");
            let a = Address::from_element(&el).unwrap_or_else(|e| panic!("{xml}: {e}"));
            let mut w = Writer::new();
            a.write(&mut w);
            assert_eq!(w.finish(), xml);
        }
    }

    #[test]
    fn bad_numbers_name_the_attribute() {
        let el = crate::tree::parse("<address type='drive'\n controller='x'/>").expect("xml");
        let e = Address::from_element(&el).expect_err("bad");
        assert_eq!(e.pos().line, 2, "{e}");
        assert!(e.to_string().contains("controller"), "{e}");
    }
}
