//! `<sysinfo>`: SMBIOS tables or firmware configuration entries given to the guest.

use super::{children, local, req_str};
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

/// SMBIOS type 0 (`<bios>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bios {
    pub vendor: Option<String>,
    pub version: Option<String>,
    /// `mm/dd/yy` or `mm/dd/yyyy`.
    pub date: Option<String>,
    /// `major.minor`.
    pub release: Option<String>,
}

/// SMBIOS type 1 (`<system>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SystemInfo {
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub serial: Option<String>,
    pub uuid: Option<String>,
    pub sku: Option<String>,
    pub family: Option<String>,
}

/// SMBIOS type 2 (`<baseBoard>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BaseBoard {
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub serial: Option<String>,
    pub asset: Option<String>,
    pub location: Option<String>,
}

/// SMBIOS type 3 (`<chassis>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chassis {
    pub manufacturer: Option<String>,
    pub version: Option<String>,
    pub serial: Option<String>,
    pub asset: Option<String>,
    pub sku: Option<String>,
}

/// `<sysinfo type='smbios'>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmbiosSysinfo {
    pub bios: Option<Bios>,
    pub system: Option<SystemInfo>,
    pub base_boards: Vec<BaseBoard>,
    pub chassis: Option<Chassis>,
    /// SMBIOS type 11 strings (`<oemStrings><entry>`).
    pub oem_strings: Vec<String>,
}

/// The value of a firmware configuration entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FwcfgValue {
    /// Inline text.
    Text(String),
    /// `file`: a host file whose content is passed.
    File(String),
}

/// `<sysinfo type='fwcfg'><entry>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwcfgEntry {
    /// Key, e.g. `opt/com.example/name`.
    pub name: String,
    pub value: FwcfgValue,
}

/// `<sysinfo>`.
///
/// ```
/// use virt_xml::sections::{Bios, SmbiosSysinfo, Sysinfo};
/// let s = Sysinfo::Smbios(Box::new(SmbiosSysinfo {
///     bios: Some(Bios { vendor: Some("LENOVO".into()), ..Default::default() }),
///     oem_strings: vec!["Hello".into()],
///     ..Default::default()
/// }));
/// let mut w = virt_xml::writer::Writer::new();
/// s.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<sysinfo type='smbios'>\n  <bios>\n    <entry name='vendor'>LENOVO</entry>\n  </bios>\n  <oemStrings>\n    <entry>Hello</entry>\n  </oemStrings>\n</sysinfo>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sysinfo {
    /// SMBIOS tables (boxed: it is large).
    Smbios(Box<SmbiosSysinfo>),
    Fwcfg(Vec<FwcfgEntry>),
}

/// `(name, text)` of each named entry of a block.
fn entries(el: &Element) -> Vec<(String, String)> {
    children(el, "entry")
        .filter_map(|e| e.attr("name").map(|n| (n.to_string(), e.text())))
        .collect()
}

/// The first entry named `name`.
fn pick(list: &[(String, String)], name: &str) -> Option<String> {
    list.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}

fn write_block(w: &mut Writer, name: &str, fields: &[(&str, &Option<String>)]) {
    if fields.iter().all(|(_, v)| v.is_none()) {
        return;
    }
    w.element(Tag::new(name), |w| {
        for (n, v) in fields {
            if let Some(v) = v {
                w.leaf(Tag::new("entry").attr("name", n), v);
            }
        }
    });
}

impl Sysinfo {
    /// Parses `<sysinfo>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        match el.attr("type") {
            Some("fwcfg") => {
                let mut list = Vec::new();
                for e in children(el, "entry") {
                    let value = match e.attr("file") {
                        Some(f) => FwcfgValue::File(f.to_string()),
                        None => FwcfgValue::Text(e.text()),
                    };
                    list.push(FwcfgEntry {
                        name: req_str(e, "name")?,
                        value,
                    });
                }
                Ok(Sysinfo::Fwcfg(list))
            }
            Some("smbios") => {
                let mut s = SmbiosSysinfo::default();
                for b in el.elements() {
                    let l = entries(b);
                    match local(&b.name) {
                        "bios" => {
                            s.bios = Some(Bios {
                                vendor: pick(&l, "vendor"),
                                version: pick(&l, "version"),
                                date: pick(&l, "date"),
                                release: pick(&l, "release"),
                            })
                        }
                        "system" => {
                            s.system = Some(SystemInfo {
                                manufacturer: pick(&l, "manufacturer"),
                                product: pick(&l, "product"),
                                version: pick(&l, "version"),
                                serial: pick(&l, "serial"),
                                uuid: pick(&l, "uuid"),
                                sku: pick(&l, "sku"),
                                family: pick(&l, "family"),
                            })
                        }
                        "baseBoard" => s.base_boards.push(BaseBoard {
                            manufacturer: pick(&l, "manufacturer"),
                            product: pick(&l, "product"),
                            version: pick(&l, "version"),
                            serial: pick(&l, "serial"),
                            asset: pick(&l, "asset"),
                            location: pick(&l, "location"),
                        }),
                        "chassis" => {
                            s.chassis = Some(Chassis {
                                manufacturer: pick(&l, "manufacturer"),
                                version: pick(&l, "version"),
                                serial: pick(&l, "serial"),
                                asset: pick(&l, "asset"),
                                sku: pick(&l, "sku"),
                            })
                        }
                        "oemStrings" => {
                            s.oem_strings
                                .extend(children(b, "entry").map(Element::text));
                        }
                        _ => {}
                    }
                }
                // A block whose entries are all unknown or absent is not written back.
                s.bios = s.bios.filter(|b| *b != Bios::default());
                s.system = s.system.filter(|b| *b != SystemInfo::default());
                s.base_boards.retain(|b| *b != BaseBoard::default());
                s.chassis = s.chassis.filter(|b| *b != Chassis::default());
                Ok(Sysinfo::Smbios(Box::new(s)))
            }
            _ => Err(super::bad_attr(
                el,
                "type",
                "sysinfo type",
                "expected smbios or fwcfg",
            )),
        }
    }

    /// Writes `<sysinfo>`: SMBIOS blocks and their entries in libvirt's order.
    pub fn write(&self, w: &mut Writer) {
        match self {
            Sysinfo::Fwcfg(list) => {
                w.element(Tag::new("sysinfo").attr("type", "fwcfg"), |w| {
                    for e in list {
                        match &e.value {
                            FwcfgValue::File(f) => {
                                w.empty(Tag::new("entry").attr("name", &e.name).attr("file", f))
                            }
                            FwcfgValue::Text(t) => {
                                w.leaf(Tag::new("entry").attr("name", &e.name), t)
                            }
                        }
                    }
                });
            }
            Sysinfo::Smbios(s) => {
                w.element(Tag::new("sysinfo").attr("type", "smbios"), |w| {
                    if let Some(b) = &s.bios {
                        write_block(
                            w,
                            "bios",
                            &[
                                ("vendor", &b.vendor),
                                ("version", &b.version),
                                ("date", &b.date),
                                ("release", &b.release),
                            ],
                        );
                    }
                    if let Some(b) = &s.system {
                        write_block(
                            w,
                            "system",
                            &[
                                ("manufacturer", &b.manufacturer),
                                ("product", &b.product),
                                ("version", &b.version),
                                ("serial", &b.serial),
                                ("uuid", &b.uuid),
                                ("sku", &b.sku),
                                ("family", &b.family),
                            ],
                        );
                    }
                    for b in &s.base_boards {
                        write_block(
                            w,
                            "baseBoard",
                            &[
                                ("manufacturer", &b.manufacturer),
                                ("product", &b.product),
                                ("version", &b.version),
                                ("serial", &b.serial),
                                ("asset", &b.asset),
                                ("location", &b.location),
                            ],
                        );
                    }
                    if let Some(b) = &s.chassis {
                        write_block(
                            w,
                            "chassis",
                            &[
                                ("manufacturer", &b.manufacturer),
                                ("version", &b.version),
                                ("serial", &b.serial),
                                ("asset", &b.asset),
                                ("sku", &b.sku),
                            ],
                        );
                    }
                    if !s.oem_strings.is_empty() {
                        w.element(Tag::new("oemStrings"), |w| {
                            for o in &s.oem_strings {
                                w.leaf(Tag::new("entry"), o);
                            }
                        });
                    }
                });
            }
        }
    }
}
