//! The domain definition: libvirt's `<domain>` XML as a typed value, parsed from any libvirt
//! writer's output and formatted in libvirt 9.0's canonical form.
//!
//! Typed: the domain type and id, name, uuid, title, description, memory sizes (normalised to
//! KiB), vcpu, lifecycle actions, `<os>` ([`crate::os::OsDef`]), `<features>`
//! ([`crate::features::Features`]), `<clock>` ([`crate::clock::Clock`]),
//! `<cpu>` ([`crate::cpu::Cpu`]), and the device list (each device's kind, with typed views of
//! interfaces, MACs and PCI addresses). Every other section is kept as a schema-checked element
//! tree ([`Element`]) in libvirt's section order.

use std::fmt;
use std::str::FromStr;

use crate::clock::Clock;
use crate::cpu::Cpu;
pub use crate::devices::device::Device;
use crate::devices::disk::Disk;
use crate::devices::hostdev::Hostdev;
use crate::devices::interface::Interface;
use crate::error::{Pos, XmlError};
use crate::features::Features;
use crate::normalize;
use crate::os::OsDef;
use crate::schema;
use crate::sections::Section;
use crate::tree::{self, Element, Node};
use crate::units::KiB;
use crate::values::{MacAddr, PciAddr, Uuid, ValueError};
use crate::writer::{Tag, Writer};

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($var),* }
        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$var),*];
            /// libvirt's spelling.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$var => $s),* }
            }
        }
        impl ::std::str::FromStr for $name {
            type Err = $crate::values::ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok($name::$var),)*
                    _ => Err($crate::values::ValueError {
                        kind: stringify!($name),
                        value: s.to_string(),
                        reason: format!("expected one of {}", [$($s),*].join(", ")),
                    }),
                }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use str_enum;

str_enum!(
    /// The hypervisor a domain is defined for.
    DomainType {
        Qemu = "qemu", Kqemu = "kqemu", Kvm = "kvm", Xen = "xen", Lxc = "lxc", Uml = "uml",
        Openvz = "openvz", Test = "test", Vmware = "vmware", Hyperv = "hyperv", Vbox = "vbox",
        Phyp = "phyp", Vz = "vz", Bhyve = "bhyve", Hvf = "hvf",
    }
);

str_enum!(
    /// What to do on poweroff or reboot.
    LifecycleAction {
        Destroy = "destroy", Restart = "restart", Preserve = "preserve",
        RenameRestart = "rename-restart",
    }
);

str_enum!(
    /// What to do on a guest crash.
    CrashAction {
        Destroy = "destroy", Restart = "restart", Preserve = "preserve",
        RenameRestart = "rename-restart", CoredumpDestroy = "coredump-destroy",
        CoredumpRestart = "coredump-restart",
    }
);

str_enum!(
    /// `on` / `off`.
    OnOff { On = "on", Off = "off" }
);

str_enum!(
    /// vCPU placement.
    Placement { Static = "static", Auto = "auto" }
);

str_enum!(
    /// The kinds of `<devices>` children, in the order libvirt writes them.
    DeviceKind {
        Emulator = "emulator", Disk = "disk", Controller = "controller", Lease = "lease",
        Filesystem = "filesystem", Interface = "interface", Smartcard = "smartcard",
        Serial = "serial", Parallel = "parallel", Console = "console", Channel = "channel",
        Input = "input", Tpm = "tpm", Graphics = "graphics", Sound = "sound", Audio = "audio",
        Video = "video", Hostdev = "hostdev", Redirdev = "redirdev", Redirfilter = "redirfilter",
        Hub = "hub", Watchdog = "watchdog", Memballoon = "memballoon", Rng = "rng",
        Panic = "panic", Shmem = "shmem", Memory = "memory", Iommu = "iommu", Vsock = "vsock",
        Crypto = "crypto",
    }
);

str_enum!(
    /// An interface's `type`.
    InterfaceType {
        Ethernet = "ethernet", Vhostuser = "vhostuser", Server = "server", Client = "client",
        Mcast = "mcast", Udp = "udp", Network = "network", Bridge = "bridge",
        Internal = "internal", Direct = "direct", Hostdev = "hostdev", User = "user",
        Vdpa = "vdpa", Null = "null", Vds = "vds",
    }
);

/// Top-level sections in the order libvirt writes them.
const SECTION_ORDER: &[&str] = &[
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
    "memory",
    "currentMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "defaultiothread",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "os",
    "idmap",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "devices",
    "seclabel",
    "keywrap",
    "launchSecurity",
    "commandline",
    "capabilities",
    "override",
    "deprecation",
];

fn section_rank(name: &str) -> usize {
    let local = name.rsplit_once(':').map(|(_, l)| l).unwrap_or(name);
    SECTION_ORDER
        .iter()
        .position(|s| *s == local)
        .unwrap_or(SECTION_ORDER.len())
}

/// `<memory>`: the guest's maximum initial memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub size: KiB,
    pub dump_core: Option<OnOff>,
}

/// `<maxMemory>`: the hotplug ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxMemory {
    pub size: KiB,
    pub slots: Option<u32>,
}

/// `<vcpu>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vcpu {
    pub count: u32,
    pub placement: Placement,
    pub cpuset: Option<String>,
    pub current: Option<u32>,
}

/// A domain definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    pub domain_type: DomainType,
    /// The running domain's id (status and live XML only).
    pub id: Option<i32>,
    /// `xmlns:*` declarations on `<domain>`, as written.
    pub namespaces: Vec<(String, String)>,
    pub name: String,
    pub uuid: Option<Uuid>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub max_memory: Option<MaxMemory>,
    pub memory: Option<Memory>,
    pub current_memory: Option<KiB>,
    pub vcpu: Option<Vcpu>,
    pub on_poweroff: Option<LifecycleAction>,
    pub on_reboot: Option<LifecycleAction>,
    pub on_crash: Option<CrashAction>,
    /// `<os>`, typed.
    pub os_def: Option<OsDef>,
    /// `<features>`, typed.
    pub features: Option<Features>,
    /// `<clock>`, typed.
    pub clock: Option<Clock>,
    /// `<cpu>`, typed.
    pub cpu: Option<Cpu>,
    /// Whether `<devices>` is present.
    pub has_devices: bool,
    pub devices: Vec<Device>,
    /// Every other top-level section, schema-checked, in libvirt's order.
    pub sections: Vec<Section>,
}

impl Domain {
    /// A minimal domain of the given type and name.
    pub fn new(domain_type: DomainType, name: impl Into<String>) -> Self {
        Domain {
            domain_type,
            id: None,
            namespaces: Vec::new(),
            name: name.into(),
            uuid: None,
            title: None,
            description: None,
            max_memory: None,
            memory: None,
            current_memory: None,
            vcpu: None,
            on_poweroff: None,
            on_reboot: None,
            on_crash: None,
            os_def: None,
            features: None,
            clock: None,
            cpu: None,
            has_devices: false,
            devices: Vec::new(),
            sections: Vec::new(),
        }
    }

    /// The interface devices.
    pub fn interfaces(&self) -> impl Iterator<Item = &Interface> {
        self.devices.iter().filter_map(|d| match d {
            Device::Interface(i) => Some(i),
            _ => None,
        })
    }

    /// The disk devices.
    pub fn disks(&self) -> impl Iterator<Item = &Disk> {
        self.devices.iter().filter_map(|d| match d {
            Device::Disk(x) => Some(x),
            _ => None,
        })
    }

    /// The host devices.
    pub fn hostdevs(&self) -> impl Iterator<Item = &Hostdev> {
        self.devices.iter().filter_map(|d| match d {
            Device::Hostdev(x) => Some(x),
            _ => None,
        })
    }

    /// The first top-level section with this element name (`cputune`, `qemu:commandline`, ...).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.element_name() == name)
    }
}

pub(crate) fn invalid_value(el: &Element, attr: &str, e: ValueError) -> XmlError {
    let pos = el.attr_node(attr).map(|a| a.pos).unwrap_or(el.pos);
    XmlError::InvalidValue {
        pos,
        element: el.name.clone(),
        what: format!("attribute '{attr}'"),
        value: e.value,
        reason: format!("{} ({})", e.reason, e.kind),
    }
}

pub(crate) fn invalid_text(el: &Element, e: ValueError) -> XmlError {
    XmlError::InvalidValue {
        pos: el.pos,
        element: el.name.clone(),
        what: "content".into(),
        value: e.value,
        reason: format!("{} ({})", e.reason, e.kind),
    }
}

pub(crate) fn attr_parse<T: FromStr<Err = ValueError>>(
    el: &Element,
    name: &str,
) -> Result<Option<T>, XmlError> {
    match el.attr(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|e| invalid_value(el, name, e)),
    }
}

pub(crate) fn num_attr<T: FromStr>(el: &Element, name: &str) -> Result<Option<T>, XmlError> {
    match el.attr(name) {
        None => Ok(None),
        Some(v) => parse_num(v).map(Some).ok_or_else(|| {
            invalid_value(
                el,
                name,
                ValueError {
                    kind: "number",
                    value: v.to_string(),
                    reason: "not a valid number".into(),
                },
            )
        }),
    }
}

fn parse_num<T: FromStr>(v: &str) -> Option<T> {
    v.trim().parse().ok()
}

fn text_parse<T: FromStr<Err = ValueError>>(el: &Element) -> Result<T, XmlError> {
    el.text().trim().parse().map_err(|e| invalid_text(el, e))
}

fn size_of(el: &Element) -> Result<KiB, XmlError> {
    let text = el.text();
    KiB::from_scaled(&text, el.attr("unit")).map_err(|e| {
        if e.kind == "unit" {
            invalid_value(el, "unit", e)
        } else {
            invalid_text(el, e)
        }
    })
}

/// Parses a PCI address from libvirt's `domain='0x0000' bus='0x00' slot='0x1f' function='0x0'`.
pub fn pci_from_attrs(el: &Element) -> Result<PciAddr, XmlError> {
    let field = |name: &str, max: u32| -> Result<u32, XmlError> {
        let Some(v) = el.attr(name) else { return Ok(0) };
        let bad = |reason: String| {
            invalid_value(
                el,
                name,
                ValueError {
                    kind: "PCI address",
                    value: v.to_string(),
                    reason,
                },
            )
        };
        let n = parse_c_uint(v).ok_or_else(|| bad(format!("{name} is not a number")))?;
        if n > max {
            return Err(bad(format!("{name} must be at most {max:#x}")));
        }
        Ok(n)
    };
    Ok(PciAddr {
        domain: field("domain", 0xffff)?,
        bus: field("bus", 0xff)? as u8,
        slot: field("slot", 0x1f)? as u8,
        function: field("function", 7)? as u8,
    })
}

/// An unsigned number written as C's `strtoul(.., 0)` reads it: `0x` hex, leading-zero octal, or decimal.
pub fn parse_c_uint(v: &str) -> Option<u32> {
    let v = v.trim();
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if v.len() > 1 && v.starts_with('0') {
        u32::from_str_radix(&v[1..], 8).ok()
    } else {
        v.parse().ok()
    }
}

/// Checks typed values wherever they stand in the tree: MAC addresses, UUIDs and PCI addresses.
fn check_values(el: &Element) -> Result<(), XmlError> {
    match el.name.as_str() {
        "mac" => {
            attr_parse::<MacAddr>(el, "address")?;
        }
        "address" if el.attr("type") == Some("pci") => {
            pci_from_attrs(el)?;
        }
        "uuid" => {
            text_parse::<Uuid>(el)?;
        }
        _ => {}
    }
    if el.name == "metadata" {
        return Ok(());
    }
    for c in el.elements() {
        check_values(c)?;
    }
    Ok(())
}

impl Domain {
    /// Parses and checks domain XML. Unknown elements, attributes and enumerated values are refused
    /// with their line:column.
    pub fn parse(xml: &str) -> Result<Domain, XmlError> {
        let root = tree::parse(xml)?;
        Domain::from_element(root)
    }

    /// Builds a domain from an already parsed `<domain>` element.
    pub fn from_element(mut root: Element) -> Result<Domain, XmlError> {
        if root.name != "domain" {
            return Err(XmlError::UnknownElement {
                pos: root.pos,
                parent: "document".into(),
                element: root.name.clone(),
            });
        }
        schema::domain().check(&root)?;
        check_values(&root)?;
        normalize::domain(&mut root)?;
        let domain_type =
            attr_parse::<DomainType>(&root, "type")?.ok_or_else(|| XmlError::Missing {
                pos: root.pos,
                element: "domain".into(),
                what: "attribute 'type'".into(),
            })?;
        let mut d = Domain::new(domain_type, String::new());
        d.id = num_attr(&root, "id")?;
        d.namespaces = root
            .attrs
            .iter()
            .filter(|a| a.name.starts_with("xmlns:"))
            .map(|a| (a.name.clone(), a.value.clone()))
            .collect();
        let mut name = None;
        let children = std::mem::take(&mut root.children);
        for node in children {
            let Node::Element(el) = node else { continue };
            match el.name.as_str() {
                "name" => name = Some(el.text()),
                "uuid" => d.uuid = Some(text_parse(&el)?),
                "title" => d.title = Some(el.text()),
                "description" => d.description = Some(el.text()),
                "memory" => {
                    d.memory = Some(Memory {
                        size: size_of(&el)?,
                        dump_core: attr_parse(&el, "dumpCore")?,
                    })
                }
                "maxMemory" => {
                    d.max_memory = Some(MaxMemory {
                        size: size_of(&el)?,
                        slots: num_attr(&el, "slots")?,
                    })
                }
                "currentMemory" => d.current_memory = Some(size_of(&el)?),
                "vcpu" => {
                    d.vcpu = Some(Vcpu {
                        count: parse_num(&el.text()).ok_or_else(|| {
                            invalid_text(
                                &el,
                                ValueError {
                                    kind: "vcpu count",
                                    value: el.text(),
                                    reason: "not a number".into(),
                                },
                            )
                        })?,
                        placement: attr_parse(&el, "placement")?.unwrap_or(Placement::Static),
                        cpuset: el.attr("cpuset").map(str::to_string),
                        current: num_attr(&el, "current")?,
                    })
                }
                "on_poweroff" => d.on_poweroff = Some(text_parse(&el)?),
                "on_reboot" => d.on_reboot = Some(text_parse(&el)?),
                "on_crash" => d.on_crash = Some(text_parse(&el)?),
                "os" => d.os_def = Some(OsDef::from_element(&el)?),
                "clock" => d.clock = Some(Clock::from_element(&el)?),
                "cpu" => d.cpu = Some(Cpu::from_element(&el)?),
                // libvirt drops an empty <features/>.
                "features" => {
                    d.features =
                        Some(Features::from_element(&el)?).filter(|f| *f != Features::default())
                }
                "devices" => {
                    d.has_devices = true;
                    for dev in el.elements() {
                        d.devices.push(Device::from_element(dev)?);
                    }
                }
                _ => d.sections.push(Section::from_element(&el)?),
            }
        }
        d.name = name.ok_or_else(|| XmlError::Missing {
            pos: root.pos,
            element: "domain".into(),
            what: "element <name>".into(),
        })?;
        if d.memory.is_some() && d.current_memory.is_none() {
            d.current_memory = d.memory.map(|m| m.size);
        }
        Ok(d)
    }

    /// libvirt's canonical XML for this domain.
    pub fn to_xml(&self) -> String {
        let mut w = Writer::new();
        let tag = Tag::new("domain")
            .attr("type", self.domain_type)
            .opt_attr("id", self.id);
        let mut tag = tag;
        for (k, v) in &self.namespaces {
            tag.push(k.clone(), v.clone());
        }
        w.element(tag, |w| {
            let mut chunks: Vec<(usize, String)> = Vec::new();
            let depth = w.depth();
            let mut chunk = |name: &str, f: &dyn Fn(&mut Writer)| {
                let mut cw = Writer::with_depth(depth);
                f(&mut cw);
                chunks.push((section_rank(name), cw.finish()));
            };
            chunk("name", &|w| w.leaf(Tag::new("name"), &self.name));
            if let Some(u) = self.uuid {
                chunk("uuid", &|w| w.leaf(Tag::new("uuid"), &u.to_string()));
            }
            if let Some(t) = &self.title {
                chunk("title", &|w| w.leaf(Tag::new("title"), t));
            }
            if let Some(t) = &self.description {
                chunk("description", &|w| w.leaf(Tag::new("description"), t));
            }
            if let Some(m) = self.max_memory {
                chunk("maxMemory", &|w| {
                    w.leaf(
                        Tag::new("maxMemory")
                            .opt_attr("slots", m.slots)
                            .attr("unit", "KiB"),
                        &m.size.to_string(),
                    )
                });
            }
            if let Some(m) = self.memory {
                chunk("memory", &|w| {
                    w.leaf(
                        Tag::new("memory")
                            .opt_attr("dumpCore", m.dump_core)
                            .attr("unit", "KiB"),
                        &m.size.to_string(),
                    )
                });
            }
            if let Some(m) = self.current_memory {
                chunk("currentMemory", &|w| {
                    w.leaf(
                        Tag::new("currentMemory").attr("unit", "KiB"),
                        &m.to_string(),
                    )
                });
            }
            if let Some(v) = &self.vcpu {
                chunk("vcpu", &|w| {
                    w.leaf(
                        Tag::new("vcpu")
                            .attr("placement", v.placement)
                            .opt_attr("cpuset", v.cpuset.as_deref())
                            .opt_attr("current", v.current),
                        &v.count.to_string(),
                    )
                });
            }
            if let Some(os) = &self.os_def {
                chunk("os", &|w| os.write(w));
            }
            if let Some(f) = &self.features {
                chunk("features", &|w| f.write(w));
            }
            if let Some(c) = &self.cpu {
                chunk("cpu", &|w| c.write(w));
            }
            if let Some(c) = &self.clock {
                chunk("clock", &|w| c.write(w));
            }
            for (name, a) in [
                ("on_poweroff", self.on_poweroff.map(|a| a.as_str())),
                ("on_reboot", self.on_reboot.map(|a| a.as_str())),
                ("on_crash", self.on_crash.map(|a| a.as_str())),
            ] {
                if let Some(a) = a {
                    chunk(name, &|w| w.leaf(Tag::new(name), a));
                }
            }
            if self.has_devices || !self.devices.is_empty() {
                chunk("devices", &|w| {
                    let mut devs: Vec<&Device> = self.devices.iter().collect();
                    devs.sort_by_key(|d| d.kind() as usize);
                    // libvirt writes <devices> open and closed even when empty.
                    let mut inner = Writer::with_depth(w.depth() + 1);
                    for d in devs {
                        d.write(&mut inner);
                    }
                    let pad = "  ".repeat(w.depth());
                    w.raw(&format!(
                        "{pad}<devices>\n{}{pad}</devices>\n",
                        inner.finish()
                    ));
                });
            }
            for s in &self.sections {
                chunk(s.element_name(), &|w| s.write(w));
            }
            chunks.sort_by_key(|(r, _)| *r);
            for (_, c) in chunks {
                w.raw(&c);
            }
        });
        w.finish()
    }
}

impl FromStr for Domain {
    type Err = XmlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Domain::parse(s)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_xml())
    }
}

/// The schema-checked, normalised element tree of a domain document: what the typed values are
/// read from (for tools that want libvirt's defaults applied without typing).
pub fn normalized(xml: &str) -> Result<Element, XmlError> {
    let mut root = tree::parse(xml)?;
    if root.name != "domain" {
        return Err(XmlError::UnknownElement {
            pos: root.pos,
            parent: "document".into(),
            element: root.name.clone(),
        });
    }
    schema::domain().check(&root)?;
    check_values(&root)?;
    normalize::domain(&mut root)?;
    Ok(root)
}

/// Parses the XML of one device (as given to attach-device), checked against the schema and
/// normalised as a device of a domain of `domain_type`; errors keep the device text's line:column.
pub fn parse_device(xml: &str) -> Result<Device, XmlError> {
    let dev = tree::parse(xml)?;
    let kind: DeviceKind = dev.name.parse().map_err(|_| XmlError::UnknownElement {
        pos: dev.pos,
        parent: "devices".into(),
        element: dev.name.clone(),
    })?;
    let pos = dev.pos;
    let el = |name: &str, children: Vec<Node>| Element {
        name: name.to_string(),
        attrs: Vec::new(),
        children,
        pos,
    };
    let mut root = el(
        "domain",
        vec![
            Node::Element(el("name", vec![Node::Text("device".into())])),
            Node::Element(el("devices", vec![Node::Element(dev)])),
        ],
    );
    root.attrs.push(crate::tree::Attr {
        name: "type".into(),
        value: "kvm".into(),
        pos,
    });
    let d = Domain::from_element(root)?;
    d.devices
        .into_iter()
        .find(|d| d.kind() == kind)
        .ok_or_else(|| XmlError::Missing {
            pos,
            element: kind.as_str().into(),
            what: "a device".into(),
        })
}

/// Where an element stands, for errors raised after parsing.
pub fn pos_of(el: &Element) -> Pos {
    el.pos
}
