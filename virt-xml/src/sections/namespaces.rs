//! Hypervisor extensions in their own XML namespaces: QEMU's `<qemu:commandline>`,
//! `<qemu:capabilities>`, `<qemu:override>` and `<qemu:deprecation>`, LXC's `<lxc:namespace>`,
//! bhyve's and Xen's `<commandline>` and VMware's `<datacenterpath>`.
//!
//! Elements are read by local name whatever their prefix, and written with libvirt's prefixes
//! (`qemu:`, `lxc:`, `bhyve:`, `xen:`, `vmware:`); the `xmlns:` declarations stay on `<domain>`.

use super::{child, children, local, req_attr, req_str};
use crate::domain::str_enum;
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

/// `<qemu:env>`: an environment variable for the QEMU process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuEnv {
    pub name: String,
    /// `None`: set to the empty string.
    pub value: Option<String>,
}

/// `<qemu:commandline>`: extra QEMU arguments and environment (unsupported by libvirt, taints
/// the guest).
///
/// ```
/// use virt_xml::sections::{QemuCommandline, QemuEnv};
/// let c = QemuCommandline {
///     args: vec!["-unknown".into()],
///     env: vec![QemuEnv { name: "BAR".into(), value: None }],
/// };
/// let mut w = virt_xml::writer::Writer::new();
/// c.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<qemu:commandline>\n  <qemu:arg value='-unknown'/>\n  <qemu:env name='BAR'/>\n</qemu:commandline>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QemuCommandline {
    pub args: Vec<String>,
    pub env: Vec<QemuEnv>,
}

fn args_of(el: &Element) -> Result<Vec<String>, XmlError> {
    children(el, "arg").map(|a| req_str(a, "value")).collect()
}

fn write_args(w: &mut Writer, prefix: &str, args: &[String]) {
    for a in args {
        w.empty(Tag::new(format!("{prefix}:arg")).attr("value", a));
    }
}

impl QemuCommandline {
    /// Parses `<qemu:commandline>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let mut env = Vec::new();
        for e in children(el, "env") {
            env.push(QemuEnv {
                name: req_str(e, "name")?,
                value: e.attr("value").map(str::to_string),
            });
        }
        Ok(QemuCommandline {
            args: args_of(el)?,
            env,
        })
    }

    /// Writes `<qemu:commandline>`: arguments, then environment.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("qemu:commandline"), |w| {
            write_args(w, "qemu", &self.args);
            for e in &self.env {
                w.empty(
                    Tag::new("qemu:env")
                        .attr("name", &e.name)
                        .opt_attr("value", e.value.as_deref()),
                );
            }
        });
    }
}

/// `<qemu:capabilities>`: QEMU capabilities to force on (`add`) or off (`del`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QemuCapabilities {
    pub add: Vec<String>,
    pub del: Vec<String>,
}

impl QemuCapabilities {
    /// Parses `<qemu:capabilities>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let list = |name: &str| -> Result<Vec<String>, XmlError> {
            children(el, name)
                .map(|c| req_str(c, "capability"))
                .collect()
        };
        Ok(QemuCapabilities {
            add: list("add")?,
            del: list("del")?,
        })
    }

    /// Writes `<qemu:capabilities>`: additions, then removals.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("qemu:capabilities"), |w| {
            for c in &self.add {
                w.empty(Tag::new("qemu:add").attr("capability", c));
            }
            for c in &self.del {
                w.empty(Tag::new("qemu:del").attr("capability", c));
            }
        });
    }
}

str_enum!(
    /// `<qemu:property type>`.
    PropertyType {
        String = "string", Signed = "signed", Unsigned = "unsigned", Bool = "bool",
        Remove = "remove",
    }
);

/// `<qemu:property>`: one overridden device property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideProperty {
    pub name: String,
    pub kind: PropertyType,
    /// Absent for `remove`.
    pub value: Option<String>,
}

/// `<qemu:device>`: overrides for the device with this alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideDevice {
    pub alias: String,
    /// `<qemu:frontend>` properties (`None`: no `<qemu:frontend>`).
    pub frontend: Option<Vec<OverrideProperty>>,
}

/// `<qemu:override>`: device property overrides.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QemuOverride {
    pub devices: Vec<OverrideDevice>,
}

impl QemuOverride {
    /// Parses `<qemu:override>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let mut devices = Vec::new();
        for d in children(el, "device") {
            let frontend = match child(d, "frontend") {
                None => None,
                Some(f) => {
                    let mut props = Vec::new();
                    for p in children(f, "property") {
                        props.push(OverrideProperty {
                            name: req_str(p, "name")?,
                            kind: req_attr(p, "type")?,
                            value: p.attr("value").map(str::to_string),
                        });
                    }
                    Some(props)
                }
            };
            devices.push(OverrideDevice {
                alias: req_str(d, "alias")?,
                frontend,
            });
        }
        Ok(QemuOverride { devices })
    }

    /// Writes `<qemu:override>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("qemu:override"), |w| {
            for d in &self.devices {
                w.element(Tag::new("qemu:device").attr("alias", &d.alias), |w| {
                    if let Some(props) = &d.frontend {
                        w.element(Tag::new("qemu:frontend"), |w| {
                            for p in props {
                                w.empty(
                                    Tag::new("qemu:property")
                                        .attr("name", &p.name)
                                        .attr("type", p.kind)
                                        .opt_attr("value", p.value.as_deref()),
                                );
                            }
                        });
                    }
                });
            }
        });
    }
}

str_enum!(
    /// What QEMU does with deprecated commands and arguments.
    DeprecationBehavior { None = "none", Omit = "omit", Reject = "reject", Crash = "crash" }
);

/// `<qemu:deprecation behavior>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QemuDeprecation {
    pub behavior: DeprecationBehavior,
}

impl QemuDeprecation {
    /// Parses `<qemu:deprecation>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        Ok(QemuDeprecation {
            behavior: req_attr(el, "behavior")?,
        })
    }

    /// Writes `<qemu:deprecation>`.
    pub fn write(&self, w: &mut Writer) {
        w.empty(Tag::new("qemu:deprecation").attr("behavior", self.behavior));
    }
}

str_enum!(
    /// How an LXC container names the namespace it shares.
    LxcShareType { Netns = "netns", Name = "name", Pid = "pid" }
);

/// One shared namespace: `type` and `value` (a netns name, a container name or a pid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LxcShare {
    pub kind: LxcShareType,
    pub value: String,
}

/// `<lxc:namespace>`: namespaces an LXC container shares with others.
///
/// ```
/// use virt_xml::sections::{LxcNamespace, LxcShare, LxcShareType};
/// let n = LxcNamespace {
///     sharenet: Some(LxcShare { kind: LxcShareType::Netns, value: "red".into() }),
///     ..Default::default()
/// };
/// let mut w = virt_xml::writer::Writer::new();
/// n.write(&mut w);
/// assert_eq!(w.finish(), "<lxc:namespace>\n  <lxc:sharenet type='netns' value='red'/>\n</lxc:namespace>\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LxcNamespace {
    pub sharenet: Option<LxcShare>,
    pub shareipc: Option<LxcShare>,
    pub shareuts: Option<LxcShare>,
}

impl LxcNamespace {
    /// Parses `<lxc:namespace>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let share = |name: &str| -> Result<Option<LxcShare>, XmlError> {
            el.elements()
                .find(|c| local(&c.name) == name)
                .map(|c| {
                    Ok(LxcShare {
                        kind: req_attr(c, "type")?,
                        value: req_str(c, "value")?,
                    })
                })
                .transpose()
        };
        Ok(LxcNamespace {
            sharenet: share("sharenet")?,
            shareipc: share("shareipc")?,
            shareuts: share("shareuts")?,
        })
    }

    /// Writes `<lxc:namespace>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("lxc:namespace"), |w| {
            for (name, s) in [
                ("lxc:sharenet", &self.sharenet),
                ("lxc:shareipc", &self.shareipc),
                ("lxc:shareuts", &self.shareuts),
            ] {
                if let Some(s) = s {
                    w.empty(Tag::new(name).attr("type", s.kind).attr("value", &s.value));
                }
            }
        });
    }
}

/// `<bhyve:commandline>`: extra bhyve arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BhyveCommandline {
    pub args: Vec<String>,
}

impl BhyveCommandline {
    /// Parses `<bhyve:commandline>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        Ok(BhyveCommandline { args: args_of(el)? })
    }

    /// Writes `<bhyve:commandline>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("bhyve:commandline"), |w| {
            write_args(w, "bhyve", &self.args)
        });
    }
}

/// `<xen:commandline>`: extra arguments for the Xen device model.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XenCommandline {
    pub args: Vec<String>,
}

impl XenCommandline {
    /// Parses `<xen:commandline>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        Ok(XenCommandline { args: args_of(el)? })
    }

    /// Writes `<xen:commandline>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("xen:commandline"), |w| {
            write_args(w, "xen", &self.args)
        });
    }
}

/// `<vmware:datacenterpath>`: the ESX datacenter path of the guest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VmwareDatacenterPath(pub String);

impl VmwareDatacenterPath {
    /// Parses `<vmware:datacenterpath>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        Ok(VmwareDatacenterPath(el.text()))
    }

    /// Writes `<vmware:datacenterpath>`.
    pub fn write(&self, w: &mut Writer) {
        w.leaf(Tag::new("vmware:datacenterpath"), &self.0);
    }
}
