//! `<interface>`: a guest NIC of any type (ethernet, bridge, network, direct, hostdev, user,
//! vhostuser, server/client/mcast/udp, vdpa, internal, null, vds) as a typed value
//! ([`Interface`]), read from its schema-checked element and written in libvirt 9.0's order:
//! mac, (hostdev driver), source, vlan, virtualport, bandwidth, port, ip/route, portForward,
//! script, downscript, backenddomain, target, guest, model, driver, backend, filterref, tune,
//! teaming, link, mtu, coalesce, then the device info (boot, alias, rom, acpi, address).
//!
//! ```
//! use virt_xml::devices::interface::{Interface, InterfaceSource};
//! use virt_xml::domain::InterfaceType;
//! use virt_xml::writer::Writer;
//!
//! let mut nic = Interface::new(InterfaceType::Bridge);
//! let mac: virt_xml::MacAddr = "52:54:00:aa:bb:cc".parse().unwrap();
//! nic.mac = Some(mac.into());
//! nic.source = Some(InterfaceSource { bridge: Some("br0".into()), ..Default::default() });
//! nic.model = Some("virtio".into());
//! let mut w = Writer::new();
//! nic.write(&mut w);
//! assert_eq!(
//!     w.finish(),
//!     "<interface type='bridge'>\n  <mac address='52:54:00:aa:bb:cc'/>\n  \
//!      <source bridge='br0'/>\n  <model type='virtio'/>\n</interface>\n"
//! );
//! ```

pub mod driver;
pub mod parts;
pub mod source;

pub use driver::{GuestOffloads, HostOffloads, HostdevBackend, NetBackend, NetDriver, TxMode};
pub use parts::{
    AddrFamily, Bandwidth, BandwidthRate, Coalesce, CoalesceDir, CoalesceValues, FilterRef,
    ForwardProto, IpAddress, NativeMode, PortForward, PortRange, Reconnect, Route, Teaming,
    TeamingType, VirtualPort, VirtualPortType, Vlan, VlanTag,
};
pub use source::{
    InterfaceSource, LocalEndpoint, MacTableManager, SocketType, SourceMode, UsbProduct, VdsSource,
};

use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, num_attr, str_enum, InterfaceType};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::values::MacAddr;
use crate::writer::{Tag, Writer};

/// A required value: `Ok(v)` when present, otherwise a "missing attribute" error at `el`.
pub(crate) fn required<T>(el: &Element, attr: &str, v: Option<T>) -> Result<T, XmlError> {
    v.ok_or_else(|| XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: format!("attribute '{attr}'"),
    })
}

str_enum!(
    /// `<mac type>`.
    MacType { Generated = "generated", Static = "static" }
);

str_enum!(
    /// `<link state>`.
    LinkState { Up = "up", Down = "down" }
);

str_enum!(
    /// `<backend type>`.
    BackendType { Passt = "passt" }
);

/// `<mac address type check/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mac {
    pub address: MacAddr,
    pub mac_type: Option<MacType>,
    pub check: Option<YesNo>,
}

impl From<MacAddr> for Mac {
    fn from(address: MacAddr) -> Self {
        Mac {
            address,
            mac_type: None,
            check: None,
        }
    }
}

/// `<target dev managed/>`: the host-side device name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub dev: String,
    pub managed: Option<YesNo>,
}

/// `<guest dev actual/>`: the guest-side device name (containers).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestName {
    pub dev: Option<String>,
    pub actual: Option<String>,
}

/// `<backend type tap vhost logFile/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Backend {
    pub backend_type: Option<BackendType>,
    pub tap: Option<String>,
    pub vhost: Option<String>,
    pub log_file: Option<String>,
}

/// `<interface>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub iface_type: InterfaceType,
    /// hostdev: whether libvirt detaches the device from its host driver.
    pub managed: Option<YesNo>,
    pub trust_guest_rx_filters: Option<YesNo>,
    pub mac: Option<Mac>,
    /// hostdev: `<driver name='vfio'/>` (written before `<source>`).
    pub hostdev_driver: Option<HostdevBackend>,
    pub source: Option<InterfaceSource>,
    pub vlan: Option<Vlan>,
    pub virtualport: Option<VirtualPort>,
    pub bandwidth: Option<Bandwidth>,
    /// `<port isolated>`.
    pub port_isolated: Option<YesNo>,
    /// Guest-side addresses.
    pub ips: Vec<IpAddress>,
    /// Guest-side routes.
    pub routes: Vec<Route>,
    pub port_forwards: Vec<PortForward>,
    pub script: Option<String>,
    pub downscript: Option<String>,
    pub backenddomain: Option<String>,
    pub target: Option<Target>,
    pub guest: Option<GuestName>,
    /// `<model type>` (e.g. `virtio`, `e1000e`, `rtl8139`).
    pub model: Option<String>,
    pub driver: Option<NetDriver>,
    pub backend: Option<Backend>,
    pub filterref: Option<FilterRef>,
    /// `<tune><sndbuf>`: send buffer size in bytes.
    pub sndbuf: Option<u64>,
    pub teaming: Option<Teaming>,
    pub link_state: Option<LinkState>,
    /// `<mtu size>`.
    pub mtu: Option<u32>,
    pub coalesce: Option<Coalesce>,
    pub info: DeviceInfo,
}

impl Interface {
    /// An interface of type `iface_type` with nothing else set.
    pub fn new(iface_type: InterfaceType) -> Self {
        Interface {
            iface_type,
            managed: None,
            trust_guest_rx_filters: None,
            mac: None,
            hostdev_driver: None,
            source: None,
            vlan: None,
            virtualport: None,
            bandwidth: None,
            port_isolated: None,
            ips: Vec::new(),
            routes: Vec::new(),
            port_forwards: Vec::new(),
            script: None,
            downscript: None,
            backenddomain: None,
            target: None,
            guest: None,
            model: None,
            driver: None,
            backend: None,
            filterref: None,
            sndbuf: None,
            teaming: None,
            link_state: None,
            mtu: None,
            coalesce: None,
            info: DeviceInfo::default(),
        }
    }

    /// Parses a schema-checked `<interface>` element.
    pub fn from_element(el: &Element) -> Result<Interface, XmlError> {
        let ty: InterfaceType = required(el, "type", attr_parse(el, "type")?)?;
        let mut nic = Interface::new(ty);
        nic.managed = attr_parse(el, "managed")?;
        nic.trust_guest_rx_filters = attr_parse(el, "trustGuestRxFilters")?;
        nic.info = DeviceInfo::from_element(el)?;
        let path = |c: &Element| required(c, "path", c.attr("path").map(str::to_string));
        for c in el.elements() {
            match c.name.as_str() {
                "mac" => {
                    nic.mac = Some(Mac {
                        address: required(c, "address", attr_parse(c, "address")?)?,
                        mac_type: attr_parse(c, "type")?,
                        check: attr_parse(c, "check")?,
                    })
                }
                "source" => nic.source = Some(InterfaceSource::from_element(c, ty)?),
                "vlan" => nic.vlan = Some(Vlan::from_element(c)?),
                "virtualport" => nic.virtualport = Some(VirtualPort::from_element(c)?),
                "bandwidth" => nic.bandwidth = Some(Bandwidth::from_element(c)?),
                "port" => nic.port_isolated = attr_parse(c, "isolated")?,
                "ip" => nic.ips.push(IpAddress::from_element(c)?),
                "route" => nic.routes.push(Route::from_element(c)?),
                "portForward" => nic.port_forwards.push(PortForward::from_element(c)?),
                "script" => nic.script = Some(path(c)?),
                "downscript" => nic.downscript = Some(path(c)?),
                "backenddomain" => {
                    nic.backenddomain =
                        Some(required(c, "name", c.attr("name").map(str::to_string))?)
                }
                "target" => {
                    nic.target = Some(Target {
                        dev: required(c, "dev", c.attr("dev").map(str::to_string))?,
                        managed: attr_parse(c, "managed")?,
                    })
                }
                "guest" => {
                    nic.guest = Some(GuestName {
                        dev: c.attr("dev").map(str::to_string),
                        actual: c.attr("actual").map(str::to_string),
                    })
                }
                "model" => nic.model = c.attr("type").map(str::to_string),
                "driver" => {
                    if let Some(n) = c.attr("name") {
                        if let Ok(h) = n.parse::<HostdevBackend>() {
                            nic.hostdev_driver = Some(h);
                        }
                    }
                    let d = NetDriver::from_element(c)?;
                    if !d.is_empty() || nic.hostdev_driver.is_none() {
                        nic.driver = Some(d);
                    }
                }
                "backend" => {
                    nic.backend = Some(Backend {
                        backend_type: attr_parse(c, "type")?,
                        tap: c.attr("tap").map(str::to_string),
                        vhost: c.attr("vhost").map(str::to_string),
                        log_file: c.attr("logFile").map(str::to_string),
                    })
                }
                "filterref" => nic.filterref = Some(FilterRef::from_element(c)?),
                "tune" => {
                    if let Some(s) = c.child("sndbuf") {
                        let t = s.text();
                        nic.sndbuf = Some(t.trim().parse().map_err(|_| {
                            crate::domain::invalid_text(
                                s,
                                crate::values::ValueError {
                                    kind: "number",
                                    value: t.clone(),
                                    reason: "not a valid number".into(),
                                },
                            )
                        })?);
                    }
                }
                "teaming" => nic.teaming = Some(Teaming::from_element(c)?),
                "link" => nic.link_state = attr_parse(c, "state")?,
                "mtu" => nic.mtu = num_attr(c, "size")?,
                "coalesce" => nic.coalesce = Some(Coalesce::from_element(c)?),
                _ => {}
            }
        }
        Ok(nic)
    }

    /// Writes `<interface>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("interface")
            .attr("type", self.iface_type)
            .opt_attr("managed", self.managed)
            .opt_attr("trustGuestRxFilters", self.trust_guest_rx_filters);
        w.element(tag, |w| {
            if let Some(m) = &self.mac {
                w.empty(
                    Tag::new("mac")
                        .attr("address", m.address)
                        .opt_attr("type", m.mac_type)
                        .opt_attr("check", m.check),
                );
            }
            if let Some(d) = self.hostdev_driver {
                w.empty(Tag::new("driver").attr("name", d));
            }
            if let Some(s) = &self.source {
                s.write(w);
            }
            if let Some(v) = &self.vlan {
                v.write(w);
            }
            if let Some(v) = &self.virtualport {
                v.write(w);
            }
            if let Some(b) = &self.bandwidth {
                b.write(w);
            }
            if let Some(i) = self.port_isolated {
                w.empty(Tag::new("port").attr("isolated", i));
            }
            parts::write_ip_info(&self.ips, &self.routes, w);
            for p in &self.port_forwards {
                p.write(w);
            }
            if let Some(p) = &self.script {
                w.empty(Tag::new("script").attr("path", p));
            }
            if let Some(p) = &self.downscript {
                w.empty(Tag::new("downscript").attr("path", p));
            }
            if let Some(n) = &self.backenddomain {
                w.empty(Tag::new("backenddomain").attr("name", n));
            }
            if let Some(t) = &self.target {
                w.empty(
                    Tag::new("target")
                        .attr("dev", &t.dev)
                        .opt_attr("managed", t.managed),
                );
            }
            if let Some(g) = &self.guest {
                w.empty(
                    Tag::new("guest")
                        .opt_attr("dev", g.dev.as_deref())
                        .opt_attr("actual", g.actual.as_deref()),
                );
            }
            if let Some(m) = &self.model {
                w.empty(Tag::new("model").attr("type", m));
            }
            if let Some(d) = &self.driver {
                d.write(w);
            }
            if let Some(b) = &self.backend {
                w.empty(
                    Tag::new("backend")
                        .opt_attr("type", b.backend_type)
                        .opt_attr("tap", b.tap.as_deref())
                        .opt_attr("vhost", b.vhost.as_deref())
                        .opt_attr("logFile", b.log_file.as_deref()),
                );
            }
            if let Some(f) = &self.filterref {
                f.write(w);
            }
            if let Some(s) = self.sndbuf {
                w.element(Tag::new("tune"), |w| {
                    w.leaf(Tag::new("sndbuf"), &s.to_string())
                });
            }
            if let Some(t) = &self.teaming {
                t.write(w);
            }
            if let Some(l) = self.link_state {
                w.empty(Tag::new("link").attr("state", l));
            }
            if let Some(m) = self.mtu {
                w.empty(Tag::new("mtu").attr("size", m));
            }
            if let Some(c) = &self.coalesce {
                c.write(w);
            }
            self.info.write(w);
        });
    }
}
