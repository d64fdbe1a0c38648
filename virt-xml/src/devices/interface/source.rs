//! `<interface><source>`: where the NIC's host side comes from, one shape per interface type
//! (bridge, network, direct, vhostuser socket, udp/mcast/server/client sockets, hostdev address,
//! vdpa/user device, internal name, vds port).

use std::net::IpAddr;

use crate::address::Address;
use crate::domain::{attr_parse, num_attr, str_enum, InterfaceType};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::values::Uuid;
use crate::writer::{Tag, Writer};

use super::parts::{ip_attr, ip_info, write_ip_info, IpAddress, Reconnect, Route};
use super::required;

str_enum!(
    /// `<source mode>`: macvtap mode of a `direct` interface, or the socket role of a
    /// `vhostuser` one.
    SourceMode {
        Vepa = "vepa", Private = "private", Bridge = "bridge", Passthrough = "passthrough",
        Server = "server", Client = "client",
    }
);

str_enum!(
    /// `<source macTableManager>` of a bridge.
    MacTableManager { Kernel = "kernel", Libvirt = "libvirt" }
);

str_enum!(
    /// `<source type>` of a vhostuser interface.
    SocketType { Unix = "unix" }
);

/// `<local address port/>` of a udp interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalEndpoint {
    pub address: IpAddr,
    pub port: u16,
}

/// `<source switchid portid portgroupid connectionid/>` of a vds interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VdsSource {
    pub switchid: Uuid,
    pub portid: i64,
    pub portgroupid: String,
    pub connectionid: i64,
}

/// USB device of a hostdev interface's source, by `<vendor id>`/`<product id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbProduct {
    pub vendor: String,
    pub product: String,
}

/// `<interface><source>`: every attribute and child the interface types use; which ones are
/// set depends on the interface's type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfaceSource {
    /// `type='unix'` (vhostuser).
    pub socket_type: Option<SocketType>,
    pub network: Option<String>,
    pub portgroup: Option<String>,
    /// Network port UUID.
    pub portid: Option<Uuid>,
    pub bridge: Option<String>,
    pub mac_table_manager: Option<MacTableManager>,
    /// Host device (direct, user, vdpa).
    pub dev: Option<String>,
    /// Socket path (vhostuser).
    pub path: Option<String>,
    pub mode: Option<SourceMode>,
    /// Socket address (server, client, mcast, udp).
    pub address: Option<IpAddr>,
    pub port: Option<u16>,
    /// Internal network name.
    pub name: Option<String>,
    pub vds: Option<VdsSource>,
    /// hostdev: `missing` (the device may be absent).
    pub missing: Option<YesNo>,
    /// udp: local endpoint.
    pub local: Option<LocalEndpoint>,
    /// vhostuser client reconnect.
    pub reconnect: Option<Reconnect>,
    /// hostdev: the host device address (`<address type='pci'|'usb' .../>`).
    pub host_address: Option<Address>,
    /// hostdev: the USB device by ids.
    pub usb_product: Option<UsbProduct>,
    /// ethernet: host-side addresses.
    pub ips: Vec<IpAddress>,
    /// ethernet: host-side routes.
    pub routes: Vec<Route>,
}

impl InterfaceSource {
    /// Parses `<source>` of an interface of type `ty`.
    pub fn from_element(el: &Element, ty: InterfaceType) -> Result<InterfaceSource, XmlError> {
        let mut s = InterfaceSource {
            socket_type: attr_parse(el, "type")?,
            network: el.attr("network").map(str::to_string),
            portgroup: el.attr("portgroup").map(str::to_string),
            bridge: el.attr("bridge").map(str::to_string),
            mac_table_manager: attr_parse(el, "macTableManager")?,
            dev: el.attr("dev").map(str::to_string),
            path: el.attr("path").map(str::to_string),
            mode: attr_parse(el, "mode")?,
            address: ip_attr(el, "address")?,
            port: num_attr(el, "port")?,
            name: el.attr("name").map(str::to_string),
            missing: attr_parse(el, "missing")?,
            ..InterfaceSource::default()
        };
        if ty == InterfaceType::Vds {
            s.vds = Some(VdsSource {
                switchid: required(el, "switchid", attr_parse(el, "switchid")?)?,
                portid: required(el, "portid", num_attr(el, "portid")?)?,
                portgroupid: required(
                    el,
                    "portgroupid",
                    el.attr("portgroupid").map(str::to_string),
                )?,
                connectionid: required(el, "connectionid", num_attr(el, "connectionid")?)?,
            });
        } else {
            s.portid = attr_parse(el, "portid")?;
        }
        if let Some(l) = el.child("local") {
            s.local = Some(LocalEndpoint {
                address: required(l, "address", ip_attr(l, "address")?)?,
                port: required(l, "port", num_attr(l, "port")?)?,
            });
        }
        s.reconnect = el
            .child("reconnect")
            .map(Reconnect::from_element)
            .transpose()?;
        s.host_address = el.child("address").map(Address::from_element).transpose()?;
        if let (Some(v), Some(p)) = (el.child("vendor"), el.child("product")) {
            s.usb_product = Some(UsbProduct {
                vendor: required(v, "id", v.attr("id").map(str::to_string))?,
                product: required(p, "id", p.attr("id").map(str::to_string))?,
            });
        }
        let (ips, routes) = ip_info(el)?;
        s.ips = ips;
        s.routes = routes;
        Ok(s)
    }

    /// Writes `<source>` in libvirt's attribute order.
    pub fn write(&self, w: &mut Writer) {
        let mut tag = Tag::new("source")
            .opt_attr("type", self.socket_type)
            .opt_attr("network", self.network.as_deref())
            .opt_attr("portgroup", self.portgroup.as_deref())
            .opt_attr("portid", self.portid)
            .opt_attr("bridge", self.bridge.as_deref())
            .opt_attr("macTableManager", self.mac_table_manager)
            .opt_attr("dev", self.dev.as_deref())
            .opt_attr("path", self.path.as_deref())
            .opt_attr("mode", self.mode)
            .opt_attr("address", self.address)
            .opt_attr("port", self.port)
            .opt_attr("name", self.name.as_deref());
        if let Some(v) = &self.vds {
            tag.push("switchid", v.switchid);
            tag.push("portid", v.portid);
            tag.push("portgroupid", &v.portgroupid);
            tag.push("connectionid", v.connectionid);
        }
        let tag = tag.opt_attr("missing", self.missing);
        w.element(tag, |w| {
            if let Some(l) = &self.local {
                w.empty(
                    Tag::new("local")
                        .attr("address", l.address)
                        .attr("port", l.port),
                );
            }
            if let Some(r) = &self.reconnect {
                r.write(w);
            }
            if let Some(u) = &self.usb_product {
                w.empty(Tag::new("vendor").attr("id", &u.vendor));
                w.empty(Tag::new("product").attr("id", &u.product));
            }
            if let Some(a) = &self.host_address {
                a.write(w);
            }
            write_ip_info(&self.ips, &self.routes, w);
        });
    }
}
