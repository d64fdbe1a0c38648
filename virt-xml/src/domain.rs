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
use crate::error::{Pos, XmlError};
use crate::features::Features;
use crate::normalize;
use crate::os::OsDef;
use crate::schema;
use crate::tree::{self, Element, Node};
use crate::units::KiB;
use crate::values::{DiskName, MacAddr, PciAddr, UsbAddr, Uuid, ValueError};
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

/// One device under `<devices>`: its kind and its checked element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub kind: DeviceKind,
    pub xml: Element,
}

/// A typed view of an `<interface>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub kind: InterfaceType,
    pub mac: Option<MacAddr>,
    /// `<source bridge|network|dev>`.
    pub source: Option<String>,
    /// `<target dev>`: the host-side interface name.
    pub target_dev: Option<String>,
    /// `<model type>`.
    pub model: Option<String>,
    pub pci_address: Option<PciAddr>,
}

/// A typed view of a `<disk>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// `type`: file, block, network, dir, volume, nvme, vhostuser.
    pub kind: String,
    /// `device`: disk, cdrom, floppy, lun.
    pub device: String,
    /// `<source file|dev|dir|name>`.
    pub source: Option<String>,
    /// `<target dev>`.
    pub target: Option<DiskName>,
    /// `<target bus>`.
    pub bus: Option<String>,
    /// `<driver type>` (image format).
    pub format: Option<String>,
    pub readonly: bool,
    pub pci_address: Option<PciAddr>,
}

/// What a `<hostdev>` passes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostdevSource {
    Pci(PciAddr),
    /// A USB device by bus/device number.
    Usb(UsbAddr),
    /// A USB device by vendor/product id.
    UsbId {
        vendor: u16,
        product: u16,
    },
    /// Another kind (scsi, mdev, capabilities): see the element.
    Other(String),
}

/// A typed view of a `<hostdev>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostdev {
    /// `managed='yes'`: detach from the host driver on start.
    pub managed: bool,
    pub source: HostdevSource,
    /// The guest-side PCI address, if given.
    pub guest_pci_address: Option<PciAddr>,
}

/// A typed view of `<os>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Os {
    /// `hvm`, `linux`, `exe`, ...
    pub os_type: String,
    pub arch: Option<String>,
    pub machine: Option<String>,
    /// `<boot dev>` in order.
    pub boot: Vec<String>,
    pub loader: Option<String>,
    pub kernel: Option<String>,
    pub initrd: Option<String>,
    pub cmdline: Option<String>,
    /// `<init>` (containers).
    pub init: Option<String>,
}

impl Device {
    /// The typed view of a disk device.
    pub fn disk(&self) -> Option<Disk> {
        if self.kind != DeviceKind::Disk {
            return None;
        }
        let el = &self.xml;
        let src = el.child("source");
        let target = el.child("target");
        Some(Disk {
            kind: el.attr("type").unwrap_or("file").to_string(),
            device: el.attr("device").unwrap_or("disk").to_string(),
            source: src.and_then(|s| {
                ["file", "dev", "dir", "name", "volume"]
                    .iter()
                    .find_map(|a| s.attr(a))
                    .map(str::to_string)
            }),
            target: target
                .and_then(|t| t.attr("dev"))
                .and_then(|d| d.parse().ok()),
            bus: target.and_then(|t| t.attr("bus")).map(str::to_string),
            format: el
                .child("driver")
                .and_then(|d| d.attr("type"))
                .map(str::to_string),
            readonly: el.child("readonly").is_some(),
            pci_address: self.pci_address(),
        })
    }

    /// The typed view of a hostdev device.
    pub fn hostdev(&self) -> Option<Hostdev> {
        if self.kind != DeviceKind::Hostdev {
            return None;
        }
        let el = &self.xml;
        let ty = el.attr("type").unwrap_or("");
        let src = el.child("source");
        let source = match ty {
            "pci" => src
                .and_then(|s| s.child("address"))
                .and_then(|a| pci_from_attrs(a).ok())
                .map(HostdevSource::Pci),
            "usb" => src.and_then(|s| {
                if let Some(a) = s.child("address") {
                    let bus = a.attr("bus").and_then(parse_c_uint)?;
                    let device = a.attr("device").and_then(parse_c_uint)?;
                    Some(HostdevSource::Usb(UsbAddr { bus, device }))
                } else {
                    let id = |n: &str| {
                        s.child(n)
                            .and_then(|e| e.attr("id"))
                            .and_then(parse_c_uint)
                            .and_then(|v| u16::try_from(v).ok())
                    };
                    Some(HostdevSource::UsbId {
                        vendor: id("vendor")?,
                        product: id("product")?,
                    })
                }
            }),
            _ => None,
        }
        .unwrap_or_else(|| HostdevSource::Other(ty.to_string()));
        Some(Hostdev {
            managed: el.attr("managed") == Some("yes"),
            source,
            guest_pci_address: self.pci_address(),
        })
    }

    /// The device's own `<address>` (any type), typed; `None` when it has none.
    pub fn address(&self) -> Option<Result<crate::address::Address, XmlError>> {
        self.xml
            .child("address")
            .map(crate::address::Address::from_element)
    }

    /// The device's `<address type='pci'>`, if it has one.
    pub fn pci_address(&self) -> Option<PciAddr> {
        self.xml
            .children_named("address")
            .find(|a| a.attr("type") == Some("pci"))
            .and_then(|a| pci_from_attrs(a).ok())
    }

    /// The typed view of an interface device.
    pub fn interface(&self) -> Option<Interface> {
        if self.kind != DeviceKind::Interface {
            return None;
        }
        let el = &self.xml;
        let kind = el.attr("type")?.parse().ok()?;
        let source = el.child("source").and_then(|s| {
            s.attr("bridge")
                .or_else(|| s.attr("network"))
                .or_else(|| s.attr("dev"))
                .map(str::to_string)
        });
        Some(Interface {
            kind,
            mac: el
                .child("mac")
                .and_then(|m| m.attr("address"))
                .and_then(|m| m.parse().ok()),
            source,
            target_dev: el
                .child("target")
                .and_then(|t| t.attr("dev"))
                .map(str::to_string),
            model: el
                .child("model")
                .and_then(|t| t.attr("type"))
                .map(str::to_string),
            pci_address: self.pci_address(),
        })
    }
}

/// A domain definition.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub sections: Vec<Element>,
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

    /// Typed views of the interface devices.
    pub fn interfaces(&self) -> Vec<Interface> {
        self.devices.iter().filter_map(Device::interface).collect()
    }

    /// Typed views of the disk devices.
    pub fn disks(&self) -> Vec<Disk> {
        self.devices.iter().filter_map(Device::disk).collect()
    }

    /// Typed views of the hostdev devices.
    pub fn hostdevs(&self) -> Vec<Hostdev> {
        self.devices.iter().filter_map(Device::hostdev).collect()
    }

    /// A simple view of `<os>` (see [`Domain::os_def`] for the whole typed section).
    pub fn os(&self) -> Option<Os> {
        let os = self.os_def.as_ref()?;
        Some(Os {
            os_type: os.os_type.as_str().to_string(),
            arch: os.arch.clone(),
            machine: os.machine.clone(),
            boot: os.boot.iter().map(|b| b.as_str().to_string()).collect(),
            loader: trimmed(os.loader.as_ref().and_then(|l| l.path.as_ref())),
            kernel: trimmed(os.kernel.as_ref()),
            initrd: trimmed(os.initrd.as_ref()),
            cmdline: trimmed(os.cmdline.as_ref()),
            init: trimmed(os.init.as_ref()),
        })
    }

    /// The section element with this name, if present. Only sections kept as element trees are
    /// found here; `<os>`, `<features>`, `<clock>` and `<cpu>` are typed fields.
    pub fn section(&self, name: &str) -> Option<&Element> {
        self.sections.iter().find(|e| e.name == name)
    }
}

fn trimmed(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim().to_string())
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
                        let kind = dev.name.parse().map_err(|_| XmlError::UnknownElement {
                            pos: dev.pos,
                            parent: "devices".into(),
                            element: dev.name.clone(),
                        })?;
                        d.devices.push(Device {
                            kind,
                            xml: dev.clone(),
                        });
                    }
                }
                _ => d.sections.push(el),
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
                    devs.sort_by_key(|d| d.kind as usize);
                    // libvirt writes <devices> open and closed even when empty.
                    let mut inner = Writer::with_depth(w.depth() + 1);
                    for d in devs {
                        inner.tree(&d.xml);
                    }
                    let pad = "  ".repeat(w.depth());
                    w.raw(&format!(
                        "{pad}<devices>\n{}{pad}</devices>\n",
                        inner.finish()
                    ));
                });
            }
            for s in &self.sections {
                chunk(&s.name, &|w| {
                    if s.name == "metadata" {
                        w.element(Tag::new("metadata"), |w| {
                            for c in s.elements() {
                                w.tree_double_quoted(c);
                            }
                        });
                    } else {
                        w.tree(s);
                    }
                });
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

/// Where an element stands, for errors raised after parsing.
pub fn pos_of(el: &Element) -> Pos {
    el.pos
}
