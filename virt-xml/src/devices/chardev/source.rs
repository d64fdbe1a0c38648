//! The host side of a character device ([`CharSource`]): the `type` attribute and the `<source>`,
//! `<protocol>` and `<log>` children. Serial ports, consoles, channels, parallel ports, USB
//! redirection, smartcard passthrough and the rng `egd` backend all carry one.

use crate::domain::{attr_parse, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// The `type` of a character device's host side.
    ChrType {
        Dev = "dev", File = "file", Pipe = "pipe", Unix = "unix", Tcp = "tcp", Udp = "udp",
        Null = "null", Stdio = "stdio", Vc = "vc", Pty = "pty", Spicevmc = "spicevmc",
        Spiceport = "spiceport", Nmdm = "nmdm", QemuVdagent = "qemu-vdagent", Dbus = "dbus",
    }
);

str_enum!(
    /// `<source mode>`: listen (`bind`) or connect.
    SourceMode { Bind = "bind", Connect = "connect" }
);

str_enum!(
    /// `<protocol type>` of a TCP character device.
    ProtocolType { Raw = "raw", Telnet = "telnet", Telnets = "telnets", Tls = "tls" }
);

str_enum!(
    /// `<source><mouse mode>` of a `qemu-vdagent` channel.
    MouseMode { Server = "server", Client = "client" }
);

/// `<source><reconnect enabled timeout/>`: reconnect after the peer went away (client mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    pub enabled: YesNo,
    /// Seconds between attempts.
    pub timeout: Option<u32>,
}

/// A per-device `<seclabel>` override (on a file, pty or unix source).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceSeclabel {
    /// Security driver (`selinux`, `dac`, `apparmor`, ...).
    pub model: Option<String>,
    /// `labelskip='yes'` (output only).
    pub labelskip: bool,
    /// `relabel` (`yes` / `no`).
    pub relabel: Option<YesNo>,
    /// `<label>` texts.
    pub labels: Vec<String>,
}

impl DeviceSeclabel {
    fn from_element(el: &Element) -> Result<Self, XmlError> {
        Ok(DeviceSeclabel {
            model: el.attr("model").map(str::to_string),
            labelskip: attr_parse::<YesNo>(el, "labelskip")?.is_some_and(bool::from),
            relabel: attr_parse(el, "relabel")?,
            labels: el.children_named("label").map(|l| l.text()).collect(),
        })
    }

    fn write(&self, w: &mut Writer) {
        let mut tag = Tag::new("seclabel").opt_attr("model", self.model.as_deref());
        if self.labelskip {
            tag.push("labelskip", "yes");
        }
        let tag = tag.opt_attr("relabel", self.relabel);
        w.element(tag, |w| {
            for l in &self.labels {
                w.leaf(Tag::new("label"), l);
            }
        });
    }
}

/// One `<source>` element. Which attributes are set depends on the type: `path` (dev, file, pipe,
/// pty, unix), `append` (file), `mode`/`host`/`service` (tcp, udp: one bind and one connect
/// source), `tls` (tcp), `channel` (spiceport, dbus), `master`/`slave` (nmdm), `clipboard` and
/// `mouse` (qemu-vdagent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChrSource {
    pub mode: Option<SourceMode>,
    pub path: Option<String>,
    pub append: Option<OnOff>,
    pub host: Option<String>,
    /// Port number or service name.
    pub service: Option<String>,
    pub tls: Option<YesNo>,
    pub channel: Option<String>,
    pub master: Option<String>,
    pub slave: Option<String>,
    pub seclabels: Vec<DeviceSeclabel>,
    pub reconnect: Option<Reconnect>,
    /// `<clipboard copypaste>`.
    pub clipboard: Option<YesNo>,
    /// `<mouse mode>`.
    pub mouse: Option<MouseMode>,
}

impl ChrSource {
    /// A source with only a path (file, dev, pipe, pty).
    pub fn path(path: impl Into<String>) -> Self {
        ChrSource {
            path: Some(path.into()),
            ..Default::default()
        }
    }

    /// A source with a mode and a path (unix).
    pub fn unix(mode: SourceMode, path: impl Into<String>) -> Self {
        ChrSource {
            mode: Some(mode),
            path: Some(path.into()),
            ..Default::default()
        }
    }

    /// A source with a mode, host and service (tcp, udp).
    pub fn net(mode: SourceMode, host: impl Into<String>, service: impl Into<String>) -> Self {
        ChrSource {
            mode: Some(mode),
            host: Some(host.into()),
            service: Some(service.into()),
            ..Default::default()
        }
    }

    /// Parses a `<source>` element.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let reconnect = match el.child("reconnect") {
            None => None,
            Some(r) => Some(Reconnect {
                enabled: attr_parse(r, "enabled")?.ok_or_else(|| XmlError::Missing {
                    pos: r.pos,
                    element: "reconnect".into(),
                    what: "attribute 'enabled'".into(),
                })?,
                timeout: num_attr(r, "timeout")?,
            }),
        };
        let clipboard = match el.child("clipboard") {
            None => None,
            Some(c) => Some(
                attr_parse(c, "copypaste")?.ok_or_else(|| XmlError::Missing {
                    pos: c.pos,
                    element: "clipboard".into(),
                    what: "attribute 'copypaste'".into(),
                })?,
            ),
        };
        let mouse = match el.child("mouse") {
            None => None,
            Some(m) => Some(attr_parse(m, "mode")?.ok_or_else(|| XmlError::Missing {
                pos: m.pos,
                element: "mouse".into(),
                what: "attribute 'mode'".into(),
            })?),
        };
        Ok(ChrSource {
            mode: attr_parse(el, "mode")?,
            path: el.attr("path").map(str::to_string),
            append: attr_parse(el, "append")?,
            host: el.attr("host").map(str::to_string),
            service: el.attr("service").map(str::to_string),
            tls: attr_parse(el, "tls")?,
            channel: el.attr("channel").map(str::to_string),
            master: el.attr("master").map(str::to_string),
            slave: el.attr("slave").map(str::to_string),
            seclabels: el
                .children_named("seclabel")
                .map(DeviceSeclabel::from_element)
                .collect::<Result<_, _>>()?,
            reconnect,
            clipboard,
            mouse,
        })
    }

    /// Writes `<source>` in libvirt's attribute and child order.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("source")
            .opt_attr("mode", self.mode)
            .opt_attr("path", self.path.as_deref())
            .opt_attr("append", self.append)
            .opt_attr("host", self.host.as_deref())
            .opt_attr("service", self.service.as_deref())
            .opt_attr("tls", self.tls)
            .opt_attr("channel", self.channel.as_deref())
            .opt_attr("master", self.master.as_deref())
            .opt_attr("slave", self.slave.as_deref());
        w.element(tag, |w| {
            for s in &self.seclabels {
                s.write(w);
            }
            if let Some(r) = &self.reconnect {
                w.empty(
                    Tag::new("reconnect")
                        .attr("enabled", r.enabled)
                        .opt_attr("timeout", r.timeout),
                );
            }
            if let Some(c) = self.clipboard {
                w.empty(Tag::new("clipboard").attr("copypaste", c));
            }
            if let Some(m) = self.mouse {
                w.empty(Tag::new("mouse").attr("mode", m));
            }
        });
    }
}

/// `<log file append/>`: a file that records the device's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChrLog {
    pub file: String,
    pub append: Option<OnOff>,
}

/// The host side of a character device.
///
/// ```
/// use virt_xml::devices::chardev::{CharSource, ChrSource, ChrType, ProtocolType, SourceMode};
/// use virt_xml::writer::{Tag, Writer};
/// let mut src = CharSource::new(ChrType::Tcp);
/// src.sources.push(ChrSource::net(SourceMode::Connect, "127.0.0.1", "9999"));
/// src.protocol = Some(Some(ProtocolType::Raw));
/// let mut w = Writer::new();
/// let mut tag = Tag::new("backend").attr("model", "egd");
/// src.push_attrs(&mut tag);
/// w.element(tag, |w| src.write_children(w));
/// assert_eq!(
///     w.finish(),
///     "<backend model='egd' type='tcp'>\n  \
///      <source mode='connect' host='127.0.0.1' service='9999'/>\n  \
///      <protocol type='raw'/>\n</backend>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CharSource {
    /// The `type` attribute (libvirt takes `pty` when absent).
    pub kind: Option<ChrType>,
    /// The `<source>` elements (udp has a bind and a connect source).
    pub sources: Vec<ChrSource>,
    /// `<protocol type>`: `Some(None)` is a `<protocol/>` without a type.
    pub protocol: Option<Option<ProtocolType>>,
    pub log: Option<ChrLog>,
}

impl CharSource {
    /// A host side of this type with no source yet.
    pub fn new(kind: ChrType) -> Self {
        CharSource {
            kind: Some(kind),
            ..Default::default()
        }
    }

    /// The type, with libvirt's default (`pty`) when absent.
    pub fn chr_type(&self) -> ChrType {
        self.kind.unwrap_or(ChrType::Pty)
    }

    /// Reads the `type` attribute and the `<source>`, `<protocol>` and `<log>` children of a
    /// device element (or of an rng `<backend>`).
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let protocol = match el.child("protocol") {
            None => None,
            Some(p) => Some(attr_parse(p, "type")?),
        };
        let log = match el.child("log") {
            None => None,
            Some(l) => Some(ChrLog {
                file: l
                    .attr("file")
                    .ok_or_else(|| XmlError::Missing {
                        pos: l.pos,
                        element: "log".into(),
                        what: "attribute 'file'".into(),
                    })?
                    .to_string(),
                append: attr_parse(l, "append")?,
            }),
        };
        Ok(CharSource {
            kind: attr_parse(el, "type")?,
            sources: el
                .children_named("source")
                .map(ChrSource::from_element)
                .collect::<Result<_, _>>()?,
            protocol,
            log,
        })
    }

    /// Adds the `type` attribute to the device's start tag.
    pub fn push_attrs(&self, tag: &mut Tag) {
        if let Some(k) = self.kind {
            tag.push("type", k);
        }
    }

    /// Writes the `<source>` elements, `<protocol>` and `<log>` in libvirt's order.
    pub fn write_children(&self, w: &mut Writer) {
        for s in &self.sources {
            s.write(w);
        }
        if let Some(p) = &self.protocol {
            w.empty(Tag::new("protocol").opt_attr("type", *p));
        }
        if let Some(l) = &self.log {
            w.empty(
                Tag::new("log")
                    .attr("file", &l.file)
                    .opt_attr("append", l.append),
            );
        }
    }
}
