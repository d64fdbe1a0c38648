//! A running guest's runtime state, kept next to its definition (libvirt's status XML).
//!
//! The host-device record of each NIC lists exactly what was opened for it, so a hot-unplug can say
//! which host devices were released.

use crate::values::MacAddr;

/// One host device opened for a NIC: its path, device number (if it is a device node) and how many
/// descriptors were opened on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpenedDevice {
    pub path: String,
    /// `(major, minor)`; `None` when unknown.
    pub rdev: Option<(u32, u32)>,
    pub fds: u32,
}

/// What the host holds for one guest NIC.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NicHostState {
    pub mac: MacAddr,
    /// The host interface (tap or macvtap) created or used for the NIC.
    pub ifname: Option<String>,
    /// Every device opened for the NIC, in the order opened.
    pub devices: Vec<OpenedDevice>,
}

use crate::domain::Domain;
use crate::error::XmlError;
use crate::tree::{self, Element};
use crate::writer::{Tag, Writer};

/// A guest's runtime state, written next to its definition as libvirt's status XML is:
/// `<domstatus state=.. pid=..>` with the monitor socket, the cgroup, the host state of every NIC,
/// and the live `<domain>`.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainStatus {
    /// `running`, `paused`, ...
    pub state: String,
    /// Why it is in that state (`booted`, `user`, ...).
    pub reason: Option<String>,
    /// The hypervisor process.
    pub pid: u32,
    /// The monitor (QMP) socket path.
    pub monitor: Option<String>,
    /// The guest's cgroup path.
    pub cgroup: Option<String>,
    /// What the host holds for each NIC.
    pub nics: Vec<NicHostState>,
    /// The live definition.
    pub domain: Domain,
}

fn st_err(el: &Element, attr: &str, value: &str, reason: &str) -> XmlError {
    XmlError::InvalidValue {
        pos: el.attr_node(attr).map(|a| a.pos).unwrap_or(el.pos),
        element: el.name.clone(),
        what: format!("attribute '{attr}'"),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn required<'a>(el: &'a Element, attr: &str) -> Result<&'a str, XmlError> {
    el.attr(attr).ok_or_else(|| XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: format!("attribute '{attr}'"),
    })
}

fn check_attrs(el: &Element, allowed: &[&str]) -> Result<(), XmlError> {
    match el
        .attrs
        .iter()
        .find(|a| !allowed.contains(&a.name.as_str()))
    {
        Some(a) => Err(XmlError::UnknownAttribute {
            pos: a.pos,
            element: el.name.clone(),
            attribute: a.name.clone(),
        }),
        None => Ok(()),
    }
}

fn unknown(parent: &Element, el: &Element) -> XmlError {
    XmlError::UnknownElement {
        pos: el.pos,
        parent: parent.name.clone(),
        element: el.name.clone(),
    }
}

impl DomainStatus {
    /// Parses status XML.
    pub fn parse(xml: &str) -> Result<DomainStatus, XmlError> {
        let root = tree::parse(xml)?;
        if root.name != "domstatus" {
            return Err(XmlError::UnknownElement {
                pos: root.pos,
                parent: "document".into(),
                element: root.name.clone(),
            });
        }
        check_attrs(&root, &["state", "reason", "pid"])?;
        let state = required(&root, "state")?.to_string();
        let pid_s = required(&root, "pid")?;
        let pid = pid_s
            .parse()
            .map_err(|_| st_err(&root, "pid", pid_s, "not a process id"))?;
        let mut st = DomainStatus {
            state,
            reason: root.attr("reason").map(str::to_string),
            pid,
            monitor: None,
            cgroup: None,
            nics: Vec::new(),
            domain: Domain::new(crate::domain::DomainType::Qemu, ""),
        };
        let mut domain = None;
        for c in root.elements() {
            match c.name.as_str() {
                "monitor" => {
                    check_attrs(c, &["path"])?;
                    st.monitor = Some(required(c, "path")?.to_string());
                }
                "cgroup" => {
                    check_attrs(c, &["path"])?;
                    st.cgroup = Some(required(c, "path")?.to_string());
                }
                "nics" => {
                    for n in c.elements() {
                        if n.name != "nic" {
                            return Err(unknown(c, n));
                        }
                        st.nics.push(nic(n)?);
                    }
                }
                "domain" => domain = Some(Domain::from_element(c.clone())?),
                _ => return Err(unknown(&root, c)),
            }
        }
        st.domain = domain.ok_or_else(|| XmlError::Missing {
            pos: root.pos,
            element: "domstatus".into(),
            what: "element <domain>".into(),
        })?;
        Ok(st)
    }

    /// Formats status XML.
    pub fn to_xml(&self) -> String {
        let mut w = Writer::new();
        let tag = Tag::new("domstatus")
            .attr("state", &self.state)
            .opt_attr("reason", self.reason.as_deref())
            .attr("pid", self.pid);
        w.element(tag, |w| {
            if let Some(m) = &self.monitor {
                w.empty(Tag::new("monitor").attr("path", m));
            }
            if let Some(c) = &self.cgroup {
                w.empty(Tag::new("cgroup").attr("path", c));
            }
            if !self.nics.is_empty() {
                w.element(Tag::new("nics"), |w| {
                    for n in &self.nics {
                        let tag = Tag::new("nic")
                            .attr("mac", n.mac)
                            .opt_attr("ifname", n.ifname.as_deref());
                        w.element(tag, |w| {
                            for d in &n.devices {
                                w.empty(
                                    Tag::new("device")
                                        .attr("path", &d.path)
                                        .opt_attr("rdev", d.rdev.map(|(a, b)| format!("{a}:{b}")))
                                        .attr("fds", d.fds),
                                );
                            }
                        });
                    }
                });
            }
            let dom = self.domain.to_xml();
            for line in dom.lines() {
                w.raw(&format!("  {line}\n"));
            }
        });
        w.finish()
    }
}

fn nic(n: &Element) -> Result<NicHostState, XmlError> {
    check_attrs(n, &["mac", "ifname"])?;
    let mac_s = required(n, "mac")?;
    let mac = mac_s
        .parse()
        .map_err(|e: crate::values::ValueError| st_err(n, "mac", mac_s, &e.reason))?;
    let mut devices = Vec::new();
    for d in n.elements() {
        if d.name != "device" {
            return Err(unknown(n, d));
        }
        check_attrs(d, &["path", "rdev", "fds"])?;
        let rdev = match d.attr("rdev") {
            None => None,
            Some(r) => {
                let bad = || st_err(d, "rdev", r, "expected MAJOR:MINOR");
                let (a, b) = r.split_once(':').ok_or_else(bad)?;
                Some((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
            }
        };
        let fds_s = d.attr("fds").unwrap_or("1");
        devices.push(OpenedDevice {
            path: required(d, "path")?.to_string(),
            rdev,
            fds: fds_s
                .parse()
                .map_err(|_| st_err(d, "fds", fds_s, "not a count"))?,
        });
    }
    Ok(NicHostState {
        mac,
        ifname: n.attr("ifname").map(str::to_string),
        devices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_and_refuses_bad_input() {
        let mut domain = Domain::new(crate::domain::DomainType::Kvm, "g1");
        domain.id = Some(3);
        let st = DomainStatus {
            state: "running".into(),
            reason: Some("booted".into()),
            pid: 4242,
            monitor: Some("/run/virt/g1/monitor.sock".into()),
            cgroup: Some("/machine.slice/machine-qemu-3-g1.scope".into()),
            nics: vec![NicHostState {
                mac: "52:54:00:11:22:33".parse().expect("mac"),
                ifname: Some("vnet0".into()),
                devices: vec![
                    OpenedDevice {
                        path: "/dev/net/tun".into(),
                        rdev: Some((10, 200)),
                        fds: 2,
                    },
                    OpenedDevice {
                        path: "/dev/vhost-net".into(),
                        rdev: Some((10, 238)),
                        fds: 2,
                    },
                ],
            }],
            domain,
        };
        let xml = st.to_xml();
        assert!(
            xml.contains("<device path='/dev/net/tun' rdev='10:200' fds='2'/>"),
            "{xml}"
        );
        assert!(
            xml.contains("  <domain type='kvm' id='3'>\n    <name>g1</name>"),
            "{xml}"
        );
        let back = DomainStatus::parse(&xml).expect("parse");
        assert_eq!(back, st);
        let bad = xml.replace("rdev='10:200'", "rdev='10'");
        let e = DomainStatus::parse(&bad).expect_err("bad rdev");
        assert!(e.to_string().contains("rdev"), "{e}");
        let bad = xml.replace("<cgroup", "<cgrp");
        assert!(matches!(
            DomainStatus::parse(&bad),
            Err(XmlError::UnknownElement { .. })
        ));
    }
}
