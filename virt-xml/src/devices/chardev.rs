//! Character devices: `<serial>`, `<parallel>`, `<console>` and `<channel>` as one typed value
//! ([`Chardev`]), written under the element name the caller gives. The host side
//! ([`CharSource`], in [`source`]) is shared with USB redirection, smartcard passthrough and the
//! rng `egd` backend.
//!
//! libvirt's order: the start tag's `type` (and legacy `tty`), the host side (sources, protocol,
//! log), `<target>`, then the device info (alias, acpi, address).

pub mod source;

use std::net::IpAddr;

use crate::domain::{attr_parse, invalid_value, num_attr, str_enum};
use crate::error::XmlError;
use crate::tree::Element;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

use super::info::DeviceInfo;

pub use source::{
    CharSource, ChrLog, ChrSource, ChrType, DeviceSeclabel, MouseMode, ProtocolType, Reconnect,
    SourceMode,
};

str_enum!(
    /// `<target type>`: console, serial and channel target types.
    TargetType {
        // console
        Xen = "xen", Serial = "serial", Uml = "uml", Virtio = "virtio", Lxc = "lxc",
        Openvz = "openvz", Sclp = "sclp", Sclplm = "sclplm",
        // serial
        IsaSerial = "isa-serial", UsbSerial = "usb-serial", PciSerial = "pci-serial",
        SpaprVioSerial = "spapr-vio-serial", SystemSerial = "system-serial",
        SclpSerial = "sclp-serial", IsaDebug = "isa-debug",
        // channel
        Guestfwd = "guestfwd",
    }
);

str_enum!(
    /// `<target><model name>` of a serial port: the device model the guest sees.
    TargetModel {
        IsaSerial = "isa-serial", UsbSerial = "usb-serial", PciSerial = "pci-serial",
        SpaprVty = "spapr-vty", Pl011 = "pl011", Uart16550a = "16550a",
        Sclpconsole = "sclpconsole", Sclplmconsole = "sclplmconsole",
        IsaDebugcon = "isa-debugcon",
    }
);

str_enum!(
    /// `<target state>` of a virtio channel (live state).
    ChannelState { Connected = "connected", Disconnected = "disconnected" }
);

/// `<target>`: the guest side of a character device. Serial ports and consoles have a type and a
/// port (serial ports a model too), parallel ports a port, virtio and xen channels a name (virtio
/// also a state), guestfwd channels an address and a port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChrTarget {
    pub kind: Option<TargetType>,
    pub name: Option<String>,
    pub state: Option<ChannelState>,
    /// Guest-side IP address of a guestfwd channel.
    pub address: Option<IpAddr>,
    /// Port index (serial, parallel, console) or TCP port (guestfwd).
    pub port: Option<u32>,
    pub model: Option<TargetModel>,
}

impl ChrTarget {
    /// A target of this type and port (serial port, console).
    pub fn port(kind: TargetType, port: u32) -> Self {
        ChrTarget {
            kind: Some(kind),
            port: Some(port),
            ..Default::default()
        }
    }

    /// A virtio channel target with this name.
    pub fn virtio(name: impl Into<String>) -> Self {
        ChrTarget {
            kind: Some(TargetType::Virtio),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    /// Parses a `<target>` element.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let address = match el.attr("address") {
            None => None,
            Some(a) => Some(a.trim().parse::<IpAddr>().map_err(|_| {
                invalid_value(
                    el,
                    "address",
                    ValueError {
                        kind: "IP address",
                        value: a.to_string(),
                        reason: "not an IPv4 or IPv6 address".into(),
                    },
                )
            })?),
        };
        let model = match el.child("model") {
            None => None,
            Some(m) => attr_parse(m, "name")?,
        };
        Ok(ChrTarget {
            kind: attr_parse(el, "type")?,
            name: el.attr("name").map(str::to_string),
            state: attr_parse(el, "state")?,
            address,
            port: num_attr(el, "port")?,
            model,
        })
    }

    /// Writes `<target>` in libvirt's attribute order.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("target")
            .opt_attr("type", self.kind)
            .opt_attr("name", self.name.as_deref())
            .opt_attr("state", self.state)
            .opt_attr("address", self.address)
            .opt_attr("port", self.port);
        w.element(tag, |w| {
            if let Some(m) = self.model {
                w.empty(Tag::new("model").attr("name", m));
            }
        });
    }
}

/// A `<serial>`, `<parallel>`, `<console>` or `<channel>` device.
///
/// ```
/// use virt_xml::devices::chardev::{Chardev, ChrTarget, ChrType, TargetModel, TargetType};
/// use virt_xml::writer::Writer;
/// let mut serial = Chardev::new(ChrType::Pty);
/// let mut target = ChrTarget::port(TargetType::IsaSerial, 0);
/// target.model = Some(TargetModel::IsaSerial);
/// serial.target = Some(target);
/// let mut w = Writer::new();
/// serial.write(&mut w, "serial");
/// assert_eq!(
///     w.finish(),
///     "<serial type='pty'>\n  <target type='isa-serial' port='0'>\n    \
///      <model name='isa-serial'/>\n  </target>\n</serial>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chardev {
    /// The host side: type, sources, protocol, log.
    pub source: CharSource,
    /// Legacy `tty` attribute (the pty path of a running console).
    pub tty: Option<String>,
    pub target: Option<ChrTarget>,
    /// Alias, ACPI index, guest address.
    pub info: DeviceInfo,
}

impl Chardev {
    /// A device of this host type with nothing else set.
    pub fn new(kind: ChrType) -> Self {
        Chardev {
            source: CharSource::new(kind),
            ..Default::default()
        }
    }

    /// Parses a schema-checked, normalised `<serial>`, `<parallel>`, `<console>` or `<channel>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        Ok(Chardev {
            source: CharSource::from_element(el)?,
            tty: el.attr("tty").map(str::to_string),
            target: el
                .child("target")
                .map(ChrTarget::from_element)
                .transpose()?,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes the device as libvirt 9.0 does, as an `element` (`serial`, `parallel`, `console`
    /// or `channel`).
    pub fn write(&self, w: &mut Writer, element: &str) {
        let mut tag = Tag::new(element);
        self.source.push_attrs(&mut tag);
        let tag = tag.opt_attr("tty", self.tty.as_deref());
        w.element(tag, |w| {
            self.source.write_children(w);
            if let Some(t) = &self.target {
                t.write(w);
            }
            self.info.write(w);
        });
    }
}
