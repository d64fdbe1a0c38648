//! The character-device backend a `<redirdev>` or a passthrough `<smartcard>` carries: its
//! `type`, `<source>` elements, `<protocol>` and `<log>` (a small model of its own, for these two
//! devices).

use crate::devices::interface::parts::Reconnect;
use crate::domain::{attr_parse, str_enum, OnOff};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// A character device backend `type`.
    ChrType {
        Dev = "dev", File = "file", Pipe = "pipe", Unix = "unix", Tcp = "tcp", Udp = "udp",
        Null = "null", Stdio = "stdio", Vc = "vc", Pty = "pty", Spicevmc = "spicevmc",
        Spiceport = "spiceport", Nmdm = "nmdm", QemuVdagent = "qemu-vdagent", Dbus = "dbus",
    }
);

str_enum!(
    /// `<source mode>`.
    ChrSourceMode { Bind = "bind", Connect = "connect" }
);

str_enum!(
    /// `<protocol type>` of a tcp backend.
    ChrProtocol { Raw = "raw", Telnet = "telnet", Telnets = "telnets", Tls = "tls" }
);

str_enum!(
    /// `<mouse mode>` of a qemu-vdagent backend.
    ChrMouseMode { Server = "server", Client = "client" }
);

/// `<seclabel model relabel labelskip><label/></seclabel>` of a socket or file source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChrSeclabel {
    pub model: Option<String>,
    pub labelskip: Option<YesNo>,
    pub relabel: Option<YesNo>,
    pub label: Option<String>,
}

/// One `<source>` of a character device backend.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChrSource {
    pub mode: Option<ChrSourceMode>,
    pub path: Option<String>,
    pub host: Option<String>,
    pub service: Option<String>,
    pub channel: Option<String>,
    pub master: Option<String>,
    pub slave: Option<String>,
    pub append: Option<OnOff>,
    pub tls: Option<YesNo>,
    pub reconnect: Option<Reconnect>,
    pub seclabels: Vec<ChrSeclabel>,
    pub mouse: Option<ChrMouseMode>,
    pub clipboard_copypaste: Option<YesNo>,
}

/// `<log file append/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChrLog {
    pub file: String,
    pub append: Option<OnOff>,
}

/// A character device backend's children: sources, protocol and log (the `type` attribute is
/// the owning device's).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChrBackend {
    pub sources: Vec<ChrSource>,
    pub protocol: Option<ChrProtocol>,
    pub log: Option<ChrLog>,
}

impl ChrBackend {
    /// Reads the `<source>`, `<protocol>` and `<log>` children of a device element.
    pub fn from_element(dev: &Element) -> Result<ChrBackend, XmlError> {
        let mut b = ChrBackend::default();
        for s in dev.children_named("source") {
            let mut seclabels = Vec::new();
            for l in s.children_named("seclabel") {
                seclabels.push(ChrSeclabel {
                    model: l.attr("model").map(str::to_string),
                    labelskip: attr_parse(l, "labelskip")?,
                    relabel: attr_parse(l, "relabel")?,
                    label: l.child("label").map(|t| t.text().trim().to_string()),
                });
            }
            b.sources.push(ChrSource {
                mode: attr_parse(s, "mode")?,
                path: s.attr("path").map(str::to_string),
                host: s.attr("host").map(str::to_string),
                service: s.attr("service").map(str::to_string),
                channel: s.attr("channel").map(str::to_string),
                master: s.attr("master").map(str::to_string),
                slave: s.attr("slave").map(str::to_string),
                append: attr_parse(s, "append")?,
                tls: attr_parse(s, "tls")?,
                reconnect: s
                    .child("reconnect")
                    .map(Reconnect::from_element)
                    .transpose()?,
                seclabels,
                mouse: match s.child("mouse") {
                    Some(m) => attr_parse(m, "mode")?,
                    None => None,
                },
                clipboard_copypaste: match s.child("clipboard") {
                    Some(c) => attr_parse(c, "copypaste")?,
                    None => None,
                },
            });
        }
        if let Some(p) = dev.child("protocol") {
            b.protocol = attr_parse(p, "type")?;
        }
        if let Some(l) = dev.child("log") {
            b.log = Some(ChrLog {
                file: super::super::interface::required(
                    l,
                    "file",
                    l.attr("file").map(str::to_string),
                )?,
                append: attr_parse(l, "append")?,
            });
        }
        Ok(b)
    }

    /// Writes the sources, protocol and log in libvirt's order.
    pub fn write(&self, w: &mut Writer) {
        for s in &self.sources {
            let tag = Tag::new("source")
                .opt_attr("mode", s.mode)
                .opt_attr("path", s.path.as_deref())
                .opt_attr("host", s.host.as_deref())
                .opt_attr("service", s.service.as_deref())
                .opt_attr("channel", s.channel.as_deref())
                .opt_attr("master", s.master.as_deref())
                .opt_attr("slave", s.slave.as_deref())
                .opt_attr("append", s.append)
                .opt_attr("tls", s.tls);
            w.element(tag, |w| {
                if let Some(r) = &s.reconnect {
                    r.write(w);
                }
                for l in &s.seclabels {
                    let tag = Tag::new("seclabel")
                        .opt_attr("model", l.model.as_deref())
                        .opt_attr("labelskip", l.labelskip)
                        .opt_attr("relabel", l.relabel);
                    w.element(tag, |w| {
                        if let Some(t) = &l.label {
                            w.leaf(Tag::new("label"), t);
                        }
                    });
                }
                if let Some(m) = s.mouse {
                    w.empty(Tag::new("mouse").attr("mode", m));
                }
                if let Some(c) = s.clipboard_copypaste {
                    w.empty(Tag::new("clipboard").attr("copypaste", c));
                }
            });
        }
        if let Some(p) = self.protocol {
            w.empty(Tag::new("protocol").attr("type", p));
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
