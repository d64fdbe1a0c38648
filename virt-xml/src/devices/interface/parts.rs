//! The network parts an `<interface>` shares with networks and ports: VLAN tags, virtual port
//! profiles, bandwidth limits, IP addresses and routes, passt port forwards, interrupt
//! coalescing, nwfilter references and teaming.

use std::net::IpAddr;

use crate::domain::{attr_parse, num_attr, str_enum};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::values::Uuid;
use crate::writer::{Tag, Writer};

use super::required;

str_enum!(
    /// `<vlan><tag nativeMode>`.
    NativeMode { Tagged = "tagged", Untagged = "untagged" }
);

/// `<vlan><tag id nativeMode/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    /// 0..=4095.
    pub id: u16,
    pub native_mode: Option<NativeMode>,
}

/// `<vlan trunk>`: the VLAN tags of a port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vlan {
    pub trunk: Option<YesNo>,
    pub tags: Vec<VlanTag>,
}

impl Vlan {
    /// Parses `<vlan>`.
    pub fn from_element(el: &Element) -> Result<Vlan, XmlError> {
        let mut tags = Vec::new();
        for t in el.children_named("tag") {
            tags.push(VlanTag {
                id: required(t, "id", num_attr(t, "id")?)?,
                native_mode: attr_parse(t, "nativeMode")?,
            });
        }
        Ok(Vlan {
            trunk: attr_parse(el, "trunk")?,
            tags,
        })
    }

    /// Writes `<vlan>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("vlan").opt_attr("trunk", self.trunk), |w| {
            for t in &self.tags {
                w.empty(
                    Tag::new("tag")
                        .attr("id", t.id)
                        .opt_attr("nativeMode", t.native_mode),
                );
            }
        });
    }
}

str_enum!(
    /// `<virtualport type>`.
    VirtualPortType {
        Vepa8021Qbg = "802.1Qbg", Vntag8021Qbh = "802.1Qbh", Openvswitch = "openvswitch",
        Midonet = "midonet",
    }
);

/// `<virtualport type><parameters .../></virtualport>`: a virtual port profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VirtualPort {
    pub port_type: Option<VirtualPortType>,
    /// Whether a `<parameters>` element is present (it may carry no attribute).
    pub has_parameters: bool,
    pub managerid: Option<u8>,
    /// 24-bit type id.
    pub typeid: Option<u32>,
    pub typeidversion: Option<u8>,
    pub instanceid: Option<Uuid>,
    pub interfaceid: Option<Uuid>,
    pub profileid: Option<String>,
}

impl VirtualPort {
    /// Parses `<virtualport>`.
    pub fn from_element(el: &Element) -> Result<VirtualPort, XmlError> {
        let mut vp = VirtualPort {
            port_type: attr_parse(el, "type")?,
            ..VirtualPort::default()
        };
        if let Some(p) = el.child("parameters") {
            vp.has_parameters = true;
            vp.managerid = num_attr(p, "managerid")?;
            vp.typeid = num_attr(p, "typeid")?;
            vp.typeidversion = num_attr(p, "typeidversion")?;
            vp.instanceid = attr_parse(p, "instanceid")?;
            vp.interfaceid = attr_parse(p, "interfaceid")?;
            vp.profileid = p.attr("profileid").map(str::to_string);
        }
        Ok(vp)
    }

    /// Writes `<virtualport>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(
            Tag::new("virtualport").opt_attr("type", self.port_type),
            |w| {
                let p = Tag::new("parameters")
                    .opt_attr("managerid", self.managerid)
                    .opt_attr("typeid", self.typeid)
                    .opt_attr("typeidversion", self.typeidversion)
                    .opt_attr("instanceid", self.instanceid)
                    .opt_attr("interfaceid", self.interfaceid)
                    .opt_attr("profileid", self.profileid.as_deref());
                if self.has_parameters || !p.attrs.is_empty() {
                    w.empty(p);
                }
            },
        );
    }
}

/// `<inbound>` / `<outbound>` rates: kilobytes per second, burst in kilobytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BandwidthRate {
    pub average: Option<u64>,
    pub peak: Option<u64>,
    pub floor: Option<u64>,
    pub burst: Option<u64>,
}

impl BandwidthRate {
    fn from_element(el: &Element) -> Result<BandwidthRate, XmlError> {
        Ok(BandwidthRate {
            average: num_attr(el, "average")?,
            peak: num_attr(el, "peak")?,
            floor: num_attr(el, "floor")?,
            burst: num_attr(el, "burst")?,
        })
    }

    fn write(&self, name: &str, w: &mut Writer) {
        w.empty(
            Tag::new(name)
                .opt_attr("average", self.average)
                .opt_attr("peak", self.peak)
                .opt_attr("floor", self.floor)
                .opt_attr("burst", self.burst),
        );
    }
}

/// `<bandwidth classID>`: inbound and outbound QoS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bandwidth {
    pub class_id: Option<u32>,
    pub inbound: Option<BandwidthRate>,
    pub outbound: Option<BandwidthRate>,
}

impl Bandwidth {
    /// Parses `<bandwidth>`.
    pub fn from_element(el: &Element) -> Result<Bandwidth, XmlError> {
        Ok(Bandwidth {
            class_id: num_attr(el, "classID")?,
            inbound: el
                .child("inbound")
                .map(BandwidthRate::from_element)
                .transpose()?,
            outbound: el
                .child("outbound")
                .map(BandwidthRate::from_element)
                .transpose()?,
        })
    }

    /// Writes `<bandwidth>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(
            Tag::new("bandwidth").opt_attr("classID", self.class_id),
            |w| {
                if let Some(r) = &self.inbound {
                    r.write("inbound", w);
                }
                if let Some(r) = &self.outbound {
                    r.write("outbound", w);
                }
            },
        );
    }
}

str_enum!(
    /// An address family.
    AddrFamily { Ipv4 = "ipv4", Ipv6 = "ipv6" }
);

/// `<ip address family prefix peer/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpAddress {
    pub address: IpAddr,
    pub family: Option<AddrFamily>,
    pub prefix: Option<u8>,
    pub peer: Option<IpAddr>,
}

impl IpAddress {
    /// An address with nothing else.
    pub fn new(address: IpAddr) -> Self {
        IpAddress {
            address,
            family: None,
            prefix: None,
            peer: None,
        }
    }

    /// Parses `<ip>`.
    pub fn from_element(el: &Element) -> Result<IpAddress, XmlError> {
        Ok(IpAddress {
            address: required(el, "address", ip_attr(el, "address")?)?,
            family: attr_parse(el, "family")?,
            prefix: num_attr(el, "prefix")?,
            peer: ip_attr(el, "peer")?,
        })
    }

    /// Writes `<ip>`.
    pub fn write(&self, w: &mut Writer) {
        w.empty(
            Tag::new("ip")
                .attr("address", self.address)
                .opt_attr("family", self.family)
                .opt_attr("prefix", self.prefix)
                .opt_attr("peer", self.peer),
        );
    }
}

/// `<route family address netmask prefix gateway metric/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub family: Option<AddrFamily>,
    pub address: IpAddr,
    pub netmask: Option<IpAddr>,
    pub prefix: Option<u8>,
    pub gateway: IpAddr,
    pub metric: Option<u32>,
}

impl Route {
    /// Parses `<route>`.
    pub fn from_element(el: &Element) -> Result<Route, XmlError> {
        Ok(Route {
            family: attr_parse(el, "family")?,
            address: required(el, "address", ip_attr(el, "address")?)?,
            netmask: ip_attr(el, "netmask")?,
            prefix: num_attr(el, "prefix")?,
            gateway: required(el, "gateway", ip_attr(el, "gateway")?)?,
            metric: num_attr(el, "metric")?,
        })
    }

    /// Writes `<route>`.
    pub fn write(&self, w: &mut Writer) {
        w.empty(
            Tag::new("route")
                .opt_attr("family", self.family)
                .attr("address", self.address)
                .opt_attr("netmask", self.netmask)
                .opt_attr("prefix", self.prefix)
                .attr("gateway", self.gateway)
                .opt_attr("metric", self.metric),
        );
    }
}

/// Reads the `<ip>` and `<route>` children of `el`.
pub(crate) fn ip_info(el: &Element) -> Result<(Vec<IpAddress>, Vec<Route>), XmlError> {
    let ips = el
        .children_named("ip")
        .map(IpAddress::from_element)
        .collect::<Result<_, _>>()?;
    let routes = el
        .children_named("route")
        .map(Route::from_element)
        .collect::<Result<_, _>>()?;
    Ok((ips, routes))
}

/// Writes `<ip>`s then `<route>`s.
pub(crate) fn write_ip_info(ips: &[IpAddress], routes: &[Route], w: &mut Writer) {
    for i in ips {
        i.write(w);
    }
    for r in routes {
        r.write(w);
    }
}

pub(crate) fn ip_attr(el: &Element, name: &str) -> Result<Option<IpAddr>, XmlError> {
    match el.attr(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| {
            crate::domain::invalid_value(
                el,
                name,
                crate::values::ValueError {
                    kind: "IP address",
                    value: v.to_string(),
                    reason: "not an IPv4 or IPv6 address".into(),
                },
            )
        }),
    }
}

str_enum!(
    /// `<portForward proto>`.
    ForwardProto { Tcp = "tcp", Udp = "udp" }
);

/// `<portForward><range start end to exclude/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub start: u16,
    pub end: Option<u16>,
    pub to: Option<u16>,
    pub exclude: Option<YesNo>,
}

/// `<portForward proto address dev>` (passt backend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortForward {
    pub proto: ForwardProto,
    pub address: Option<IpAddr>,
    pub dev: Option<String>,
    pub ranges: Vec<PortRange>,
}

impl PortForward {
    /// Parses `<portForward>`.
    pub fn from_element(el: &Element) -> Result<PortForward, XmlError> {
        let mut ranges = Vec::new();
        for r in el.children_named("range") {
            ranges.push(PortRange {
                start: required(r, "start", num_attr(r, "start")?)?,
                end: num_attr(r, "end")?,
                to: num_attr(r, "to")?,
                exclude: attr_parse(r, "exclude")?,
            });
        }
        Ok(PortForward {
            proto: required(el, "proto", attr_parse(el, "proto")?)?,
            address: ip_attr(el, "address")?,
            dev: el.attr("dev").map(str::to_string),
            ranges,
        })
    }

    /// Writes `<portForward>`.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("portForward")
            .attr("proto", self.proto)
            .opt_attr("address", self.address)
            .opt_attr("dev", self.dev.as_deref());
        w.element(tag, |w| {
            for r in &self.ranges {
                w.empty(
                    Tag::new("range")
                        .attr("start", r.start)
                        .opt_attr("end", r.end)
                        .opt_attr("to", r.to)
                        .opt_attr("exclude", r.exclude),
                );
            }
        });
    }
}

/// One coalescing setting (`<frames>` or `<usecs>`): `max irq high low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoalesceValues {
    pub max: Option<u32>,
    pub irq: Option<u32>,
    pub high: Option<u32>,
    pub low: Option<u32>,
}

/// `<rx>` / `<tx>` of `<coalesce>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoalesceDir {
    pub frames: Option<CoalesceValues>,
    pub usecs: Option<CoalesceValues>,
}

/// `<coalesce>`: interrupt coalescing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coalesce {
    pub rx: Option<CoalesceDir>,
    pub tx: Option<CoalesceDir>,
}

impl Coalesce {
    /// Parses `<coalesce>`.
    pub fn from_element(el: &Element) -> Result<Coalesce, XmlError> {
        let values = |e: &Element| -> Result<CoalesceValues, XmlError> {
            Ok(CoalesceValues {
                max: num_attr(e, "max")?,
                irq: num_attr(e, "irq")?,
                high: num_attr(e, "high")?,
                low: num_attr(e, "low")?,
            })
        };
        let dir = |e: &Element| -> Result<CoalesceDir, XmlError> {
            Ok(CoalesceDir {
                frames: e.child("frames").map(values).transpose()?,
                usecs: e.child("usecs").map(values).transpose()?,
            })
        };
        Ok(Coalesce {
            rx: el.child("rx").map(dir).transpose()?,
            tx: el.child("tx").map(dir).transpose()?,
        })
    }

    /// Writes `<coalesce>`.
    pub fn write(&self, w: &mut Writer) {
        let values = |w: &mut Writer, name: &str, v: &CoalesceValues| {
            w.empty(
                Tag::new(name)
                    .opt_attr("max", v.max)
                    .opt_attr("irq", v.irq)
                    .opt_attr("high", v.high)
                    .opt_attr("low", v.low),
            );
        };
        let dir = |w: &mut Writer, name: &str, d: &CoalesceDir| {
            w.element(Tag::new(name), |w| {
                if let Some(v) = &d.frames {
                    values(w, "frames", v);
                }
                if let Some(v) = &d.usecs {
                    values(w, "usecs", v);
                }
            });
        };
        w.element(Tag::new("coalesce"), |w| {
            if let Some(d) = &self.rx {
                dir(w, "rx", d);
            }
            if let Some(d) = &self.tx {
                dir(w, "tx", d);
            }
        });
    }
}

/// `<filterref filter><parameter name value/>...</filterref>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterRef {
    pub filter: String,
    /// `(name, value)` pairs in their order.
    pub parameters: Vec<(String, String)>,
}

impl FilterRef {
    /// Parses `<filterref>`.
    pub fn from_element(el: &Element) -> Result<FilterRef, XmlError> {
        let mut parameters = Vec::new();
        for p in el.children_named("parameter") {
            parameters.push((
                required(p, "name", p.attr("name").map(str::to_string))?,
                required(p, "value", p.attr("value").map(str::to_string))?,
            ));
        }
        Ok(FilterRef {
            filter: required(el, "filter", el.attr("filter").map(str::to_string))?,
            parameters,
        })
    }

    /// Writes `<filterref>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("filterref").attr("filter", &self.filter), |w| {
            for (n, v) in &self.parameters {
                w.empty(Tag::new("parameter").attr("name", n).attr("value", v));
            }
        });
    }
}

str_enum!(
    /// `<teaming type>`.
    TeamingType { Persistent = "persistent", Transient = "transient" }
);

/// `<teaming type persistent/>`: failover pairing of two NICs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Teaming {
    pub teaming_type: TeamingType,
    /// For a transient member: the alias of the persistent one.
    pub persistent: Option<String>,
}

impl Teaming {
    /// Parses `<teaming>`.
    pub fn from_element(el: &Element) -> Result<Teaming, XmlError> {
        Ok(Teaming {
            teaming_type: required(el, "type", attr_parse(el, "type")?)?,
            persistent: el.attr("persistent").map(str::to_string),
        })
    }

    /// Writes `<teaming>`.
    pub fn write(&self, w: &mut Writer) {
        w.empty(
            Tag::new("teaming")
                .attr("type", self.teaming_type)
                .opt_attr("persistent", self.persistent.as_deref()),
        );
    }
}

/// `<reconnect enabled timeout/>` of a client socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    pub enabled: YesNo,
    /// Seconds.
    pub timeout: Option<u32>,
}

impl Reconnect {
    /// Parses `<reconnect>`.
    pub fn from_element(el: &Element) -> Result<Reconnect, XmlError> {
        Ok(Reconnect {
            enabled: required(el, "enabled", attr_parse(el, "enabled")?)?,
            timeout: num_attr(el, "timeout")?,
        })
    }

    /// Writes `<reconnect>`.
    pub fn write(&self, w: &mut Writer) {
        w.empty(
            Tag::new("reconnect")
                .attr("enabled", self.enabled)
                .opt_attr("timeout", self.timeout),
        );
    }
}
