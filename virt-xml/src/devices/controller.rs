//! `<controller>`: a guest bus controller (IDE, SCSI, USB, PCI, virtio-serial, ...) as a typed
//! value ([`Controller`]), read from its schema-checked element and written in libvirt 9.0's
//! canonical form.
//!
//! This module also holds small pieces shared by the other typed devices of its family:
//! [`VirtioOptions`] (the virtio `<driver>` attributes) and [`ScaledSize`] (a size kept in the
//! unit it was written in).

use std::str::FromStr;

use crate::devices::info::DeviceInfo;
use crate::domain::OnOff;
use crate::domain::{attr_parse, invalid_text, invalid_value, num_attr, parse_c_uint, str_enum};
use crate::error::XmlError;
use crate::tree::Element;
use crate::units::{unit_bytes, KiB};
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

// ---------------------------------------------------------------------------------------------
// Shared helpers of the typed devices in this family.

/// "`<element>` is missing `what`".
pub(crate) fn missing(el: &Element, what: &str) -> XmlError {
    XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: what.to_string(),
    }
}

/// A required attribute parsed with its `FromStr`.
pub(crate) fn required_attr<T: FromStr<Err = ValueError>>(
    el: &Element,
    name: &str,
) -> Result<T, XmlError> {
    attr_parse(el, name)?.ok_or_else(|| missing(el, &format!("attribute '{name}'")))
}

/// An element's text as a number.
pub(crate) fn text_num<T: FromStr>(el: &Element) -> Result<T, XmlError> {
    let text = el.text();
    text.trim().parse().map_err(|_| {
        invalid_text(
            el,
            ValueError {
                kind: "number",
                value: text.clone(),
                reason: "not a valid number".into(),
            },
        )
    })
}

/// An element's text with its `unit` attribute, as KiB (rounded up).
pub(crate) fn kib_text(el: &Element) -> Result<KiB, XmlError> {
    KiB::from_scaled(&el.text(), el.attr("unit")).map_err(|e| {
        if e.kind == "unit" {
            invalid_value(el, "unit", e)
        } else {
            invalid_text(el, e)
        }
    })
}

/// Writes `<name unit='KiB'>N</name>`.
pub(crate) fn write_kib(w: &mut Writer, name: &str, kib: KiB) {
    w.leaf(Tag::new(name).attr("unit", "KiB"), &kib.to_string());
}

/// A size as it was written: a number and the unit it is counted in (libvirt keeps some sizes,
/// such as a shared memory region's or a RAM filesystem's, in the unit given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaledSize {
    pub value: u64,
    /// libvirt's unit name (`bytes`, `KiB`, `M`, `GB`, ...); `None` means the element's default.
    pub unit: Option<String>,
}

impl ScaledSize {
    /// A size in the given unit.
    pub fn new(value: u64, unit: impl Into<String>) -> Self {
        ScaledSize {
            value,
            unit: Some(unit.into()),
        }
    }

    /// Reads the number from `value` (the element's text when `None`) and the unit from the
    /// attribute `unit_attr`.
    pub(crate) fn read(
        el: &Element,
        value_attr: Option<&str>,
        unit_attr: &str,
    ) -> Result<ScaledSize, XmlError> {
        let value = match value_attr {
            Some(a) => num_attr(el, a)?.ok_or_else(|| missing(el, &format!("attribute '{a}'")))?,
            None => text_num(el)?,
        };
        let unit = el.attr(unit_attr).map(str::to_string);
        if let Some(u) = &unit {
            if unit_bytes(u).is_none() {
                return Err(invalid_value(
                    el,
                    unit_attr,
                    ValueError {
                        kind: "unit",
                        value: u.clone(),
                        reason: "unknown unit".into(),
                    },
                ));
            }
        }
        Ok(ScaledSize { value, unit })
    }

    /// The size in bytes, with `default_unit` (bytes per unit) when no unit is given; `None` on
    /// overflow.
    pub fn bytes(&self, default_unit: u64) -> Option<u64> {
        let scale = match &self.unit {
            Some(u) => unit_bytes(u)?,
            None => default_unit,
        };
        self.value.checked_mul(scale)
    }

    /// Writes `<name unit='U'>N</name>`.
    pub(crate) fn write_leaf(&self, w: &mut Writer, name: &str) {
        w.leaf(
            Tag::new(name).opt_attr("unit", self.unit.as_deref()),
            &self.value.to_string(),
        );
    }
}

/// The virtio transport options every virtio device's `<driver>` may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VirtioOptions {
    /// `iommu`: the device uses the guest IOMMU for DMA.
    pub iommu: Option<OnOff>,
    /// `ats`: address translation services.
    pub ats: Option<OnOff>,
    /// `packed`: packed virtqueues.
    pub packed: Option<OnOff>,
    /// `page_per_vq`: one notification page per virtqueue.
    pub page_per_vq: Option<OnOff>,
}

impl VirtioOptions {
    /// Reads the options from a `<driver>` element.
    pub fn from_element(el: &Element) -> Result<VirtioOptions, XmlError> {
        Ok(VirtioOptions {
            iommu: attr_parse(el, "iommu")?,
            ats: attr_parse(el, "ats")?,
            packed: attr_parse(el, "packed")?,
            page_per_vq: attr_parse(el, "page_per_vq")?,
        })
    }

    /// True when no option is set.
    pub fn is_empty(&self) -> bool {
        *self == VirtioOptions::default()
    }

    /// Appends the options to a `<driver>` tag, in libvirt's order.
    pub fn push_attrs(&self, tag: Tag) -> Tag {
        tag.opt_attr("iommu", self.iommu)
            .opt_attr("ats", self.ats)
            .opt_attr("packed", self.packed)
            .opt_attr("page_per_vq", self.page_per_vq)
    }
}

/// Writes `<driver .../>` with only virtio options, when any is set.
pub(crate) fn write_virtio_driver(w: &mut Writer, v: &Option<VirtioOptions>) {
    if let Some(v) = v {
        w.empty(v.push_attrs(Tag::new("driver")));
    }
}

/// Reads `<driver>` holding only virtio options.
pub(crate) fn read_virtio_driver(el: &Element) -> Result<Option<VirtioOptions>, XmlError> {
    el.child("driver")
        .map(VirtioOptions::from_element)
        .transpose()
}

str_enum!(
    /// The model of a device whose models are virtio and its (non-)transitional variants.
    VirtioModel {
        Virtio = "virtio", VirtioTransitional = "virtio-transitional",
        VirtioNonTransitional = "virtio-non-transitional",
    }
);

// ---------------------------------------------------------------------------------------------
// The controller.

str_enum!(
    /// `<controller type>`.
    ControllerType {
        Ide = "ide", Fdc = "fdc", Scsi = "scsi", Sata = "sata", VirtioSerial = "virtio-serial",
        Ccid = "ccid", Usb = "usb", Pci = "pci", Xenbus = "xenbus", Isa = "isa",
    }
);

str_enum!(
    /// `model` of a SCSI controller.
    ScsiModel {
        Auto = "auto", Buslogic = "buslogic", Lsilogic = "lsilogic", Lsisas1068 = "lsisas1068",
        Vmpvscsi = "vmpvscsi", Ibmvscsi = "ibmvscsi", VirtioScsi = "virtio-scsi",
        Lsisas1078 = "lsisas1078", VirtioTransitional = "virtio-transitional",
        VirtioNonTransitional = "virtio-non-transitional", Ncr53c90 = "ncr53c90",
        Dc390 = "dc390", Am53c974 = "am53c974",
    }
);

str_enum!(
    /// `model` of a USB controller.
    UsbModel {
        Piix3Uhci = "piix3-uhci", Piix4Uhci = "piix4-uhci", Ehci = "ehci",
        Ich9Ehci1 = "ich9-ehci1", Ich9Uhci1 = "ich9-uhci1", Ich9Uhci2 = "ich9-uhci2",
        Ich9Uhci3 = "ich9-uhci3", Vt82c686bUhci = "vt82c686b-uhci", PciOhci = "pci-ohci",
        NecXhci = "nec-xhci", None = "none", Qusb1 = "qusb1", Qusb2 = "qusb2",
        QemuXhci = "qemu-xhci",
    }
);

str_enum!(
    /// `model` of an IDE controller.
    IdeModel { Piix3 = "piix3", Piix4 = "piix4", Ich6 = "ich6" }
);

str_enum!(
    /// `model` of a PCI controller: its role in the PCI topology.
    PciModel {
        PciRoot = "pci-root", PcieRoot = "pcie-root", PciBridge = "pci-bridge",
        DmiToPciBridge = "dmi-to-pci-bridge", PcieToPciBridge = "pcie-to-pci-bridge",
        PcieRootPort = "pcie-root-port", PcieSwitchUpstreamPort = "pcie-switch-upstream-port",
        PcieSwitchDownstreamPort = "pcie-switch-downstream-port",
        PciExpanderBus = "pci-expander-bus", PcieExpanderBus = "pcie-expander-bus",
    }
);

str_enum!(
    /// `<model name>` of a PCI controller: the emulated device implementing its role.
    PciModelName {
        SpaprPciHostBridge = "spapr-pci-host-bridge", PciBridge = "pci-bridge",
        I82801b11Bridge = "i82801b11-bridge", PciePciBridge = "pcie-pci-bridge",
        Ioh3420 = "ioh3420", PcieRootPort = "pcie-root-port", X3130Upstream = "x3130-upstream",
        Xio3130Downstream = "xio3130-downstream", Pxb = "pxb", PxbPcie = "pxb-pcie",
    }
);

/// `<controller model>`, whose values depend on the controller type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControllerModel {
    Ide(IdeModel),
    Scsi(ScsiModel),
    Usb(UsbModel),
    Pci(PciModel),
    VirtioSerial(VirtioModel),
}

impl ControllerModel {
    /// libvirt's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            ControllerModel::Ide(m) => m.as_str(),
            ControllerModel::Scsi(m) => m.as_str(),
            ControllerModel::Usb(m) => m.as_str(),
            ControllerModel::Pci(m) => m.as_str(),
            ControllerModel::VirtioSerial(m) => m.as_str(),
        }
    }

    /// Parses a model name for a controller of type `kind`.
    pub fn parse(kind: ControllerType, s: &str) -> Result<ControllerModel, ValueError> {
        Ok(match kind {
            ControllerType::Ide => ControllerModel::Ide(s.parse()?),
            ControllerType::Scsi => ControllerModel::Scsi(s.parse()?),
            ControllerType::Usb => ControllerModel::Usb(s.parse()?),
            ControllerType::Pci => ControllerModel::Pci(s.parse()?),
            ControllerType::VirtioSerial => ControllerModel::VirtioSerial(s.parse()?),
            other => {
                return Err(ValueError {
                    kind: "ControllerModel",
                    value: s.to_string(),
                    reason: format!("a {other} controller has no model"),
                })
            }
        })
    }
}

impl std::fmt::Display for ControllerModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `<target>` of a PCI controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PciTarget {
    pub chassis_nr: Option<u8>,
    pub chassis: Option<u8>,
    /// Written in hex (`0x10`).
    pub port: Option<u8>,
    pub bus_nr: Option<u8>,
    /// `index` of a pSeries PHB.
    pub index: Option<u8>,
    pub hotplug: Option<OnOff>,
    /// `<node>`: the NUMA node of an expander bus.
    pub node: Option<u32>,
}

/// `<driver>` of a controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControllerDriver {
    pub queues: Option<u32>,
    pub cmd_per_lun: Option<u32>,
    pub max_sectors: Option<u32>,
    pub ioeventfd: Option<OnOff>,
    pub iothread: Option<u32>,
    pub virtio: VirtioOptions,
}

/// `<controller>`.
///
/// ```
/// use virt_xml::devices::controller::{Controller, ControllerModel, ControllerType, UsbModel};
/// use virt_xml::writer::Writer;
/// let mut c = Controller::new(ControllerType::Usb, 0);
/// c.model = Some(ControllerModel::Usb(UsbModel::QemuXhci));
/// c.ports = Some(15);
/// let mut w = Writer::new();
/// c.write(&mut w);
/// assert_eq!(w.finish(), "<controller type='usb' index='0' model='qemu-xhci' ports='15'/>\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    pub kind: ControllerType,
    pub index: u32,
    pub model: Option<ControllerModel>,
    /// `ports` (USB, virtio-serial).
    pub ports: Option<u32>,
    /// `vectors` (virtio-serial).
    pub vectors: Option<u32>,
    /// `maxGrantFrames` (xenbus).
    pub max_grant_frames: Option<u32>,
    /// `maxEventChannels` (xenbus).
    pub max_event_channels: Option<u32>,
    /// `<model name>` (PCI).
    pub model_name: Option<PciModelName>,
    /// `<target>` (PCI).
    pub target: Option<PciTarget>,
    /// `<pcihole64>` (PCI roots).
    pub pcihole64: Option<KiB>,
    pub driver: Option<ControllerDriver>,
    /// Alias, USB companion master, ACPI index, address.
    pub info: DeviceInfo,
}

impl Controller {
    /// A controller with nothing but its type and index.
    pub fn new(kind: ControllerType, index: u32) -> Self {
        Controller {
            kind,
            index,
            model: None,
            ports: None,
            vectors: None,
            max_grant_frames: None,
            max_event_channels: None,
            model_name: None,
            target: None,
            pcihole64: None,
            driver: None,
            info: DeviceInfo::default(),
        }
    }

    /// Parses a schema-checked, normalised `<controller>` element.
    pub fn from_element(el: &Element) -> Result<Controller, XmlError> {
        let kind: ControllerType = required_attr(el, "type")?;
        let index = num_attr(el, "index")?.ok_or_else(|| missing(el, "attribute 'index'"))?;
        let model = match el.attr("model") {
            None => None,
            Some(m) => {
                Some(ControllerModel::parse(kind, m).map_err(|e| invalid_value(el, "model", e))?)
            }
        };
        let mut c = Controller {
            model,
            ports: num_attr(el, "ports")?,
            vectors: num_attr(el, "vectors")?,
            max_grant_frames: num_attr(el, "maxGrantFrames")?,
            max_event_channels: num_attr(el, "maxEventChannels")?,
            info: DeviceInfo::from_element(el)?,
            ..Controller::new(kind, index)
        };
        if let Some(m) = el.child("model") {
            c.model_name = attr_parse(m, "name")?;
        }
        if let Some(t) = el.child("target") {
            let port = match t.attr("port") {
                None => None,
                Some(p) => Some(
                    parse_c_uint(p)
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| {
                            invalid_value(
                                t,
                                "port",
                                ValueError {
                                    kind: "number",
                                    value: p.to_string(),
                                    reason: "expected a port number from 0 to 255".into(),
                                },
                            )
                        })?,
                ),
            };
            c.target = Some(PciTarget {
                chassis_nr: num_attr(t, "chassisNr")?,
                chassis: num_attr(t, "chassis")?,
                port,
                bus_nr: num_attr(t, "busNr")?,
                index: num_attr(t, "index")?,
                hotplug: attr_parse(t, "hotplug")?,
                node: t.child("node").map(text_num).transpose()?,
            });
        }
        c.pcihole64 = el.child("pcihole64").map(kib_text).transpose()?;
        if let Some(d) = el.child("driver") {
            c.driver = Some(ControllerDriver {
                queues: num_attr(d, "queues")?,
                cmd_per_lun: num_attr(d, "cmd_per_lun")?,
                max_sectors: num_attr(d, "max_sectors")?,
                ioeventfd: attr_parse(d, "ioeventfd")?,
                iothread: num_attr(d, "iothread")?,
                virtio: VirtioOptions::from_element(d)?,
            });
        }
        Ok(c)
    }

    /// Writes `<controller>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("controller")
            .attr("type", self.kind)
            .attr("index", self.index)
            .opt_attr("model", self.model)
            .opt_attr("ports", self.ports)
            .opt_attr("vectors", self.vectors)
            .opt_attr("maxGrantFrames", self.max_grant_frames)
            .opt_attr("maxEventChannels", self.max_event_channels);
        w.element(tag, |w| {
            if let Some(n) = self.model_name {
                w.empty(Tag::new("model").attr("name", n));
            }
            if let Some(t) = &self.target {
                let tag = Tag::new("target")
                    .opt_attr("chassisNr", t.chassis_nr)
                    .opt_attr("chassis", t.chassis)
                    .opt_attr("port", t.port.map(|p| format!("{p:#x}")))
                    .opt_attr("busNr", t.bus_nr)
                    .opt_attr("index", t.index)
                    .opt_attr("hotplug", t.hotplug);
                match t.node {
                    Some(n) => w.element(tag, |w| w.leaf(Tag::new("node"), &n.to_string())),
                    None => w.empty(tag),
                }
            }
            if let Some(d) = &self.driver {
                let tag = Tag::new("driver")
                    .opt_attr("queues", d.queues)
                    .opt_attr("cmd_per_lun", d.cmd_per_lun)
                    .opt_attr("max_sectors", d.max_sectors)
                    .opt_attr("ioeventfd", d.ioeventfd)
                    .opt_attr("iothread", d.iothread);
                w.empty(d.virtio.push_attrs(tag));
            }
            self.info.write(w);
            if let Some(h) = self.pcihole64 {
                write_kib(w, "pcihole64", h);
            }
        });
    }
}
