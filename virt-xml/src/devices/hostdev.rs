//! `<hostdev>`: a host device handed to the guest, as a typed value ([`Hostdev`]). Subsystem
//! mode: PCI, USB, SCSI (host adapter or iSCSI), SCSI host (vhost-scsi) and mediated devices;
//! capabilities mode (containers): block, char and net devices.
//!
//! ```
//! use virt_xml::devices::hostdev::{Hostdev, HostdevSource};
//! use virt_xml::os::YesNo;
//! use virt_xml::writer::Writer;
//!
//! let dev = Hostdev {
//!     managed: Some(YesNo::Yes),
//!     ..Hostdev::new(HostdevSource::pci("0000:06:12.5".parse().unwrap()))
//! };
//! let mut w = Writer::new();
//! dev.write(&mut w);
//! assert_eq!(
//!     w.finish(),
//!     "<hostdev mode='subsystem' type='pci' managed='yes'>\n  <source>\n    \
//!      <address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/>\n  </source>\n\
//!      </hostdev>\n"
//! );
//! ```

use crate::devices::info::DeviceInfo;
use crate::devices::interface::parts::{ip_info, write_ip_info, IpAddress, Route, Teaming};
use crate::devices::interface::{required, HostdevBackend};
use crate::domain::{attr_parse, invalid_value, num_attr, pci_from_attrs, str_enum, OnOff};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::values::{PciAddr, UsbAddr, Uuid, ValueError};
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<hostdev mode>`.
    HostdevMode { Subsystem = "subsystem", Capabilities = "capabilities" }
);

str_enum!(
    /// `<hostdev sgio>` (SCSI).
    Sgio { Filtered = "filtered", Unfiltered = "unfiltered" }
);

str_enum!(
    /// `<hostdev model>`: the mdev vfio flavour or the vhost-scsi device model.
    HostdevModel {
        VfioPci = "vfio-pci", VfioCcw = "vfio-ccw", VfioAp = "vfio-ap", Virtio = "virtio",
        VirtioTransitional = "virtio-transitional",
        VirtioNonTransitional = "virtio-non-transitional",
    }
);

str_enum!(
    /// `<source startupPolicy>`.
    StartupPolicy { Mandatory = "mandatory", Requisite = "requisite", Optional = "optional" }
);

str_enum!(
    /// `<source guestReset>` (USB).
    GuestReset { Off = "off", Uninitialized = "uninitialized", On = "on" }
);

str_enum!(
    /// `<auth><secret type>`.
    SecretType { Ceph = "ceph", Iscsi = "iscsi" }
);

str_enum!(
    /// `<source protocol>` of a SCSI host (vhost-scsi).
    ScsiHostProtocol { Vhost = "vhost" }
);

/// `<origstates>`: what libvirt did to a PCI device's host driver (status XML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrigStates {
    pub unbind: bool,
    pub removeslot: bool,
    pub reprobe: bool,
}

/// `<auth username><secret type usage|uuid/></auth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IscsiAuth {
    pub username: String,
    pub secret_type: Option<SecretType>,
    pub secret_uuid: Option<Uuid>,
    pub secret_usage: Option<String>,
}

/// `<host name port/>` of an iSCSI source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IscsiHost {
    pub name: String,
    pub port: Option<u16>,
}

/// A SCSI hostdev's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScsiSource {
    /// `<adapter name/>` and `<address bus target unit/>` on the host.
    Adapter {
        adapter: String,
        bus: u32,
        target: u32,
        unit: u64,
    },
    /// `protocol='iscsi' name='IQN/LUN'` with its host, auth and initiator.
    Iscsi {
        name: String,
        hosts: Vec<IscsiHost>,
        auth: Option<IscsiAuth>,
        /// `<initiator><iqn name/></initiator>`.
        initiator_iqn: Option<String>,
    },
}

/// What a hostdev passes through, per `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostdevSource {
    /// `type='pci'`.
    Pci {
        /// `<driver name>` (kvm, vfio, xen).
        driver: Option<HostdevBackend>,
        startup_policy: Option<StartupPolicy>,
        write_filtering: Option<YesNo>,
        address: PciAddr,
        origstates: Option<OrigStates>,
    },
    /// `type='usb'`: by vendor/product ids, by bus/device, or both.
    Usb {
        startup_policy: Option<StartupPolicy>,
        guest_reset: Option<GuestReset>,
        vendor: Option<u16>,
        product: Option<u16>,
        address: Option<UsbAddr>,
    },
    /// `type='scsi'`.
    Scsi(ScsiSource),
    /// `type='scsi_host'`: a vhost-scsi target by WWPN.
    ScsiHost {
        protocol: ScsiHostProtocol,
        wwpn: String,
    },
    /// `type='mdev'`: a mediated device by UUID.
    Mdev { uuid: Uuid },
    /// capabilities `type='storage'`: `<block>` path.
    Storage { block: String },
    /// capabilities `type='misc'`: `<char>` path.
    Misc { char_dev: String },
    /// capabilities `type='net'`: `<interface>` name, with its addresses and routes.
    Net {
        interface: String,
        ips: Vec<IpAddress>,
        routes: Vec<Route>,
    },
}

impl HostdevSource {
    /// A PCI device with nothing but its address.
    pub fn pci(address: PciAddr) -> Self {
        HostdevSource::Pci {
            driver: None,
            startup_policy: None,
            write_filtering: None,
            address,
            origstates: None,
        }
    }

    /// libvirt's `type` for this source.
    pub fn type_name(&self) -> &'static str {
        match self {
            HostdevSource::Pci { .. } => "pci",
            HostdevSource::Usb { .. } => "usb",
            HostdevSource::Scsi(_) => "scsi",
            HostdevSource::ScsiHost { .. } => "scsi_host",
            HostdevSource::Mdev { .. } => "mdev",
            HostdevSource::Storage { .. } => "storage",
            HostdevSource::Misc { .. } => "misc",
            HostdevSource::Net { .. } => "net",
        }
    }

    /// The mode this source belongs to.
    pub fn mode(&self) -> HostdevMode {
        match self {
            HostdevSource::Storage { .. }
            | HostdevSource::Misc { .. }
            | HostdevSource::Net { .. } => HostdevMode::Capabilities,
            _ => HostdevMode::Subsystem,
        }
    }
}

/// `<hostdev>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostdev {
    pub managed: Option<YesNo>,
    pub sgio: Option<Sgio>,
    pub rawio: Option<YesNo>,
    pub model: Option<HostdevModel>,
    /// mdev: display on/off.
    pub display: Option<OnOff>,
    /// mdev: ramfb on/off.
    pub ramfb: Option<OnOff>,
    pub source: HostdevSource,
    pub teaming: Option<Teaming>,
    pub readonly: bool,
    pub shareable: bool,
    pub info: DeviceInfo,
}

fn text_of(parent: &Element, name: &str) -> Result<String, XmlError> {
    parent
        .child(name)
        .map(|c| c.text().trim().to_string())
        .ok_or_else(|| XmlError::Missing {
            pos: parent.pos,
            element: parent.name.clone(),
            what: format!("element <{name}>"),
        })
}

fn usb_id(el: &Element) -> Result<u16, XmlError> {
    let v = required(el, "id", el.attr("id"))?;
    let t = v.trim();
    let h = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    u16::from_str_radix(h, 16).map_err(|_| {
        invalid_value(
            el,
            "id",
            ValueError {
                kind: "USB id",
                value: v.to_string(),
                reason: "expected up to four hex digits".into(),
            },
        )
    })
}

fn usb_num(el: &Element, name: &str) -> Result<u32, XmlError> {
    let v = required(el, name, el.attr(name))?;
    crate::domain::parse_c_uint(v).ok_or_else(|| {
        invalid_value(
            el,
            name,
            ValueError {
                kind: "USB address",
                value: v.to_string(),
                reason: "not a number".into(),
            },
        )
    })
}

impl Hostdev {
    /// A hostdev with `source` and nothing else set.
    pub fn new(source: HostdevSource) -> Self {
        Hostdev {
            managed: None,
            sgio: None,
            rawio: None,
            model: None,
            display: None,
            ramfb: None,
            source,
            teaming: None,
            readonly: false,
            shareable: false,
            info: DeviceInfo::default(),
        }
    }

    /// Parses a schema-checked `<hostdev>` element.
    pub fn from_element(el: &Element) -> Result<Hostdev, XmlError> {
        let mode: HostdevMode = attr_parse(el, "mode")?.unwrap_or(HostdevMode::Subsystem);
        let ty = required(el, "type", el.attr("type"))?;
        let missing_source = || XmlError::Missing {
            pos: el.pos,
            element: "hostdev".into(),
            what: "element <source>".into(),
        };
        let src = el.child("source");
        let source = match (mode, ty) {
            (HostdevMode::Subsystem, "pci") => {
                let s = src.ok_or_else(missing_source)?;
                let a = s.child("address").ok_or_else(|| XmlError::Missing {
                    pos: s.pos,
                    element: "source".into(),
                    what: "element <address>".into(),
                })?;
                HostdevSource::Pci {
                    driver: match el.child("driver") {
                        Some(d) => attr_parse(d, "name")?,
                        None => None,
                    },
                    startup_policy: attr_parse(s, "startupPolicy")?,
                    write_filtering: attr_parse(s, "writeFiltering")?,
                    address: pci_from_attrs(a)?,
                    origstates: s.child("origstates").map(|o| OrigStates {
                        unbind: o.child("unbind").is_some(),
                        removeslot: o.child("removeslot").is_some(),
                        reprobe: o.child("reprobe").is_some(),
                    }),
                }
            }
            (HostdevMode::Subsystem, "usb") => {
                let s = src.ok_or_else(missing_source)?;
                HostdevSource::Usb {
                    startup_policy: attr_parse(s, "startupPolicy")?,
                    guest_reset: attr_parse(s, "guestReset")?,
                    vendor: s.child("vendor").map(usb_id).transpose()?,
                    product: s.child("product").map(usb_id).transpose()?,
                    address: match s.child("address") {
                        None => None,
                        Some(a) => Some(UsbAddr {
                            bus: usb_num(a, "bus")?,
                            device: usb_num(a, "device")?,
                        }),
                    },
                }
            }
            (HostdevMode::Subsystem, "scsi") => {
                let s = src.ok_or_else(missing_source)?;
                if s.attr("protocol") == Some("iscsi") {
                    let auth = match s.child("auth") {
                        None => None,
                        Some(a) => {
                            let secret = a.child("secret");
                            Some(IscsiAuth {
                                username: required(
                                    a,
                                    "username",
                                    a.attr("username").map(str::to_string),
                                )?,
                                secret_type: match secret {
                                    Some(x) => attr_parse(x, "type")?,
                                    None => None,
                                },
                                secret_uuid: match secret {
                                    Some(x) => attr_parse(x, "uuid")?,
                                    None => None,
                                },
                                secret_usage: secret
                                    .and_then(|x| x.attr("usage"))
                                    .map(str::to_string),
                            })
                        }
                    };
                    let mut hosts = Vec::new();
                    for h in s.children_named("host") {
                        hosts.push(IscsiHost {
                            name: required(h, "name", h.attr("name").map(str::to_string))?,
                            port: num_attr(h, "port")?,
                        });
                    }
                    HostdevSource::Scsi(ScsiSource::Iscsi {
                        name: required(s, "name", s.attr("name").map(str::to_string))?,
                        hosts,
                        auth,
                        initiator_iqn: s
                            .child("initiator")
                            .and_then(|i| i.child("iqn"))
                            .and_then(|q| q.attr("name"))
                            .map(str::to_string),
                    })
                } else {
                    let ad = s.child("adapter").ok_or_else(|| XmlError::Missing {
                        pos: s.pos,
                        element: "source".into(),
                        what: "element <adapter>".into(),
                    })?;
                    let a = s.child("address").ok_or_else(|| XmlError::Missing {
                        pos: s.pos,
                        element: "source".into(),
                        what: "element <address>".into(),
                    })?;
                    HostdevSource::Scsi(ScsiSource::Adapter {
                        adapter: required(ad, "name", ad.attr("name").map(str::to_string))?,
                        bus: required(a, "bus", num_attr(a, "bus")?)?,
                        target: required(a, "target", num_attr(a, "target")?)?,
                        unit: required(a, "unit", num_attr(a, "unit")?)?,
                    })
                }
            }
            (HostdevMode::Subsystem, "scsi_host") => {
                let s = src.ok_or_else(missing_source)?;
                HostdevSource::ScsiHost {
                    protocol: required(s, "protocol", attr_parse(s, "protocol")?)?,
                    wwpn: required(s, "wwpn", s.attr("wwpn").map(str::to_string))?,
                }
            }
            (HostdevMode::Subsystem, "mdev") => {
                let s = src.ok_or_else(missing_source)?;
                let a = s.child("address").ok_or_else(|| XmlError::Missing {
                    pos: s.pos,
                    element: "source".into(),
                    what: "element <address>".into(),
                })?;
                HostdevSource::Mdev {
                    uuid: required(a, "uuid", attr_parse(a, "uuid")?)?,
                }
            }
            (HostdevMode::Capabilities, "storage") => HostdevSource::Storage {
                block: text_of(src.ok_or_else(missing_source)?, "block")?,
            },
            (HostdevMode::Capabilities, "misc") => HostdevSource::Misc {
                char_dev: text_of(src.ok_or_else(missing_source)?, "char")?,
            },
            (HostdevMode::Capabilities, "net") => {
                let (ips, routes) = ip_info(el)?;
                HostdevSource::Net {
                    interface: text_of(src.ok_or_else(missing_source)?, "interface")?,
                    ips,
                    routes,
                }
            }
            (_, other) => {
                return Err(invalid_value(
                    el,
                    "type",
                    ValueError {
                        kind: "hostdev type",
                        value: other.to_string(),
                        reason: format!("not a {mode} hostdev type"),
                    },
                ))
            }
        };
        Ok(Hostdev {
            managed: attr_parse(el, "managed")?,
            sgio: attr_parse(el, "sgio")?,
            rawio: attr_parse(el, "rawio")?,
            model: attr_parse(el, "model")?,
            display: attr_parse(el, "display")?,
            ramfb: attr_parse(el, "ramfb")?,
            source,
            teaming: el.child("teaming").map(Teaming::from_element).transpose()?,
            readonly: el.child("readonly").is_some(),
            shareable: el.child("shareable").is_some(),
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<hostdev>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("hostdev")
            .attr("mode", self.source.mode())
            .attr("type", self.source.type_name())
            .opt_attr("managed", self.managed)
            .opt_attr("sgio", self.sgio)
            .opt_attr("rawio", self.rawio)
            .opt_attr("model", self.model)
            .opt_attr("display", self.display)
            .opt_attr("ramfb", self.ramfb);
        w.element(tag, |w| {
            self.write_source(w);
            if let Some(t) = &self.teaming {
                t.write(w);
            }
            if self.readonly {
                w.empty(Tag::new("readonly"));
            }
            if self.shareable {
                w.empty(Tag::new("shareable"));
            }
            self.info.write(w);
        });
    }

    fn write_source(&self, w: &mut Writer) {
        match &self.source {
            HostdevSource::Pci {
                driver,
                startup_policy,
                write_filtering,
                address,
                origstates,
            } => {
                if let Some(d) = driver {
                    w.empty(Tag::new("driver").attr("name", d));
                }
                let tag = Tag::new("source")
                    .opt_attr("startupPolicy", *startup_policy)
                    .opt_attr("writeFiltering", *write_filtering);
                w.element(tag, |w| {
                    w.empty(
                        Tag::new("address")
                            .attr("domain", format!("{:#06x}", address.domain))
                            .attr("bus", format!("{:#04x}", address.bus))
                            .attr("slot", format!("{:#04x}", address.slot))
                            .attr("function", format!("{:#x}", address.function)),
                    );
                    if let Some(o) = origstates {
                        w.element(Tag::new("origstates"), |w| {
                            if o.unbind {
                                w.empty(Tag::new("unbind"));
                            }
                            if o.removeslot {
                                w.empty(Tag::new("removeslot"));
                            }
                            if o.reprobe {
                                w.empty(Tag::new("reprobe"));
                            }
                        });
                    }
                });
            }
            HostdevSource::Usb {
                startup_policy,
                guest_reset,
                vendor,
                product,
                address,
            } => {
                let tag = Tag::new("source")
                    .opt_attr("startupPolicy", *startup_policy)
                    .opt_attr("guestReset", *guest_reset);
                w.element(tag, |w| {
                    if let Some(v) = vendor {
                        w.empty(Tag::new("vendor").attr("id", format!("{v:#06x}")));
                    }
                    if let Some(p) = product {
                        w.empty(Tag::new("product").attr("id", format!("{p:#06x}")));
                    }
                    if let Some(a) = address {
                        w.empty(
                            Tag::new("address")
                                .attr("bus", a.bus)
                                .attr("device", a.device),
                        );
                    }
                });
            }
            HostdevSource::Scsi(ScsiSource::Adapter {
                adapter,
                bus,
                target,
                unit,
            }) => w.element(Tag::new("source"), |w| {
                w.empty(Tag::new("adapter").attr("name", adapter));
                w.empty(
                    Tag::new("address")
                        .attr("bus", bus)
                        .attr("target", target)
                        .attr("unit", unit),
                );
            }),
            HostdevSource::Scsi(ScsiSource::Iscsi {
                name,
                hosts,
                auth,
                initiator_iqn,
            }) => {
                let tag = Tag::new("source")
                    .attr("protocol", "iscsi")
                    .attr("name", name);
                w.element(tag, |w| {
                    for h in hosts {
                        w.empty(
                            Tag::new("host")
                                .attr("name", &h.name)
                                .opt_attr("port", h.port),
                        );
                    }
                    if let Some(a) = auth {
                        w.element(Tag::new("auth").attr("username", &a.username), |w| {
                            w.empty(
                                Tag::new("secret")
                                    .opt_attr("type", a.secret_type)
                                    .opt_attr("uuid", a.secret_uuid)
                                    .opt_attr("usage", a.secret_usage.as_deref()),
                            );
                        });
                    }
                    if let Some(q) = initiator_iqn {
                        w.element(Tag::new("initiator"), |w| {
                            w.empty(Tag::new("iqn").attr("name", q));
                        });
                    }
                });
            }
            HostdevSource::ScsiHost { protocol, wwpn } => w.empty(
                Tag::new("source")
                    .attr("protocol", protocol)
                    .attr("wwpn", wwpn),
            ),
            HostdevSource::Mdev { uuid } => w.element(Tag::new("source"), |w| {
                w.empty(Tag::new("address").attr("uuid", uuid));
            }),
            HostdevSource::Storage { block } => w.element(Tag::new("source"), |w| {
                w.leaf(Tag::new("block"), block);
            }),
            HostdevSource::Misc { char_dev } => w.element(Tag::new("source"), |w| {
                w.leaf(Tag::new("char"), char_dev);
            }),
            HostdevSource::Net {
                interface,
                ips,
                routes,
            } => {
                w.element(Tag::new("source"), |w| {
                    w.leaf(Tag::new("interface"), interface);
                });
                write_ip_info(ips, routes, w);
            }
        }
    }
}
