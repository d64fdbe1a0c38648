//! `<disk>`: a guest block device as a typed value ([`Disk`]), read from its schema-checked,
//! normalised element and written in libvirt 9.0's order: driver, disk-level auth, source,
//! backing chain, backend domain, geometry, block I/O sizes, mirror, target, I/O limits,
//! readonly/shareable/transient flags, serial, wwn, vendor, product, disk-level encryption, then
//! the device info (boot order, alias, ACPI index, address).
//!
//! The storage source ([`DiskSource`]) is its own type: `<os><nvram>`, backing stores and mirrors
//! use it too.
//!
//! ```
//! use virt_xml::devices::disk::{Disk, DiskBus, DiskDevice, DiskSource, StorageFormat};
//! use virt_xml::writer::Writer;
//! let mut d = Disk::new(DiskDevice::Disk, DiskSource::file("/var/lib/img.qcow2"), "vda", DiskBus::Virtio);
//! d.driver.format = Some(StorageFormat::Qcow2);
//! let mut w = Writer::new();
//! d.write(&mut w);
//! assert_eq!(
//!     w.finish(),
//!     "<disk type='file' device='disk'>\n  <driver name='qemu' type='qcow2'/>\n  \
//!      <source file='/var/lib/img.qcow2'/>\n  <target dev='vda' bus='virtio'/>\n</disk>\n"
//! );
//! ```

pub mod backing;
pub mod iotune;
pub mod source;

pub use backing::{
    BackingImage, BackingStore, DiskFormat, Mirror, MirrorJob, MirrorReady, StorageFormat,
};
pub use iotune::IoTune;
pub use source::{
    Auth, AuthSecretType, Cipher, Cookie, DiskSource, Encryption, EncryptionEngine,
    EncryptionFormat, HostTransport, Ivgen, NetHost, NetProtocol, NetworkSource, Reconnect,
    Reservations, ReservationsMode, SecretLookup, Slice, SourceData, SourceSeclabel, StartupPolicy,
    VolumeMode,
};

use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::os::{SourceType, YesNo};
use crate::tree::Element;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<disk device>`: how the guest sees it.
    DiskDevice { Floppy = "floppy", Disk = "disk", Cdrom = "cdrom", Lun = "lun" }
);

str_enum!(
    /// `<disk model>` (virtio flavours).
    DiskModel {
        Virtio = "virtio", VirtioTransitional = "virtio-transitional",
        VirtioNonTransitional = "virtio-non-transitional",
    }
);

str_enum!(
    /// `<disk sgio>` of a LUN.
    Sgio { Filtered = "filtered", Unfiltered = "unfiltered" }
);

str_enum!(
    /// `<disk snapshot>`: default snapshot location.
    SnapshotMode { No = "no", Internal = "internal", External = "external", Manual = "manual" }
);

str_enum!(
    /// `<target bus>`.
    DiskBus {
        Ide = "ide", Fdc = "fdc", Scsi = "scsi", Virtio = "virtio", Xen = "xen", Usb = "usb",
        Uml = "uml", Sata = "sata", Sd = "sd",
    }
);

str_enum!(
    /// `<target tray>`.
    TrayStatus { Open = "open", Closed = "closed" }
);

str_enum!(
    /// `<geometry trans>`: BIOS translation.
    GeometryTrans { Auto = "auto", None = "none", Lba = "lba" }
);

str_enum!(
    /// `<driver cache>`.
    CacheMode {
        Default = "default", None = "none", Writeback = "writeback",
        Writethrough = "writethrough", Directsync = "directsync", Unsafe = "unsafe",
    }
);

str_enum!(
    /// `<driver error_policy>`.
    ErrorPolicy { Stop = "stop", Report = "report", Ignore = "ignore", Enospace = "enospace" }
);

str_enum!(
    /// `<driver rerror_policy>`.
    ReadErrorPolicy { Stop = "stop", Report = "report", Ignore = "ignore" }
);

str_enum!(
    /// `<driver io>`.
    IoMode { Threads = "threads", Native = "native", IoUring = "io_uring" }
);

str_enum!(
    /// `<driver discard>`.
    DiscardMode { Unmap = "unmap", Ignore = "ignore" }
);

str_enum!(
    /// `<driver detect_zeroes>`.
    DetectZeroes { Off = "off", On = "on", Unmap = "unmap" }
);

impl DiskBus {
    /// The bus libvirt picks when `<target bus>` is not given: by device (floppy: fdc), then by
    /// the target name's prefix (hd: ide, sd: scsi, vd: virtio, xvd: xen, ubd: uml), else ide.
    pub fn default_for(device: DiskDevice, dev: &str) -> DiskBus {
        let dev = dev.strip_prefix("ioemu:").unwrap_or(dev);
        if device == DiskDevice::Floppy {
            DiskBus::Fdc
        } else if dev.starts_with("hd") {
            DiskBus::Ide
        } else if dev.starts_with("sd") {
            DiskBus::Scsi
        } else if dev.starts_with("vd") {
            DiskBus::Virtio
        } else if dev.starts_with("xvd") {
            DiskBus::Xen
        } else if dev.starts_with("ubd") {
            DiskBus::Uml
        } else {
            DiskBus::Ide
        }
    }
}

/// `<driver>`: the host-side driver settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiskDriver {
    /// `name` (qemu, ...).
    pub name: Option<String>,
    /// `type`: the image format (`aio`, an old spelling, reads as raw).
    pub format: Option<StorageFormat>,
    /// `cache` (`default` reads as unset).
    pub cache: Option<CacheMode>,
    pub error_policy: Option<ErrorPolicy>,
    pub rerror_policy: Option<ReadErrorPolicy>,
    pub io: Option<IoMode>,
    pub ioeventfd: Option<OnOff>,
    pub event_idx: Option<OnOff>,
    pub copy_on_read: Option<OnOff>,
    pub discard: Option<DiscardMode>,
    pub iothread: Option<u32>,
    pub detect_zeroes: Option<DetectZeroes>,
    pub queues: Option<u32>,
    pub queue_size: Option<u32>,
    /// virtio options.
    pub iommu: Option<OnOff>,
    pub ats: Option<OnOff>,
    pub packed: Option<OnOff>,
    pub page_per_vq: Option<OnOff>,
    /// `<metadata_cache><max_size>` in bytes.
    pub metadata_cache_max_size: Option<u64>,
}

impl DiskDriver {
    /// A `qemu` driver with nothing else set.
    pub fn qemu() -> Self {
        DiskDriver {
            name: Some("qemu".into()),
            ..Default::default()
        }
    }

    /// Parses `<driver>`.
    pub fn from_element(el: &Element) -> Result<DiskDriver, XmlError> {
        let format = match el.attr("type") {
            Some("aio") => Some(StorageFormat::Raw),
            _ => attr_parse(el, "type")?,
        };
        Ok(DiskDriver {
            name: el.attr("name").map(str::to_string),
            format,
            cache: attr_parse(el, "cache")?.filter(|c| *c != CacheMode::Default),
            error_policy: attr_parse(el, "error_policy")?,
            rerror_policy: attr_parse(el, "rerror_policy")?,
            io: attr_parse(el, "io")?,
            ioeventfd: attr_parse(el, "ioeventfd")?,
            event_idx: attr_parse(el, "event_idx")?,
            copy_on_read: attr_parse(el, "copy_on_read")?,
            discard: attr_parse(el, "discard")?,
            iothread: num_attr::<u32>(el, "iothread")?.filter(|i| *i != 0),
            detect_zeroes: attr_parse(el, "detect_zeroes")?,
            queues: num_attr::<u32>(el, "queues")?.filter(|i| *i != 0),
            queue_size: num_attr::<u32>(el, "queue_size")?.filter(|i| *i != 0),
            iommu: attr_parse(el, "iommu")?,
            ats: attr_parse(el, "ats")?,
            packed: attr_parse(el, "packed")?,
            page_per_vq: attr_parse(el, "page_per_vq")?,
            metadata_cache_max_size: backing::metadata_cache(el)?,
        })
    }

    /// Writes `<driver>` (nothing when nothing is set).
    pub fn write(&self, w: &mut Writer) {
        if *self == DiskDriver::default() {
            return;
        }
        let tag = Tag::new("driver")
            .opt_attr("name", self.name.as_deref())
            .opt_attr("type", self.format)
            .opt_attr("cache", self.cache)
            .opt_attr("error_policy", self.error_policy)
            .opt_attr("rerror_policy", self.rerror_policy)
            .opt_attr("io", self.io)
            .opt_attr("ioeventfd", self.ioeventfd)
            .opt_attr("event_idx", self.event_idx)
            .opt_attr("copy_on_read", self.copy_on_read)
            .opt_attr("discard", self.discard)
            .opt_attr("iothread", self.iothread)
            .opt_attr("detect_zeroes", self.detect_zeroes)
            .opt_attr("queues", self.queues)
            .opt_attr("queue_size", self.queue_size)
            .opt_attr("iommu", self.iommu)
            .opt_attr("ats", self.ats)
            .opt_attr("packed", self.packed)
            .opt_attr("page_per_vq", self.page_per_vq);
        w.element(tag, |w| {
            if let Some(b) = self.metadata_cache_max_size {
                backing::write_metadata_cache(w, b);
            }
        });
    }
}

/// `<target>`: the guest-side name and bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskTarget {
    /// `dev`: the name the guest's bus suggests (`vda`, `sdb`, `hdc`).
    pub dev: String,
    pub bus: DiskBus,
    /// `tray` of a CD-ROM or floppy (closed, the default, is not written).
    pub tray: Option<TrayStatus>,
    pub removable: Option<OnOff>,
    pub rotation_rate: Option<u32>,
}

/// `<geometry cyls heads secs trans/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub cyls: u32,
    pub heads: u32,
    pub secs: u32,
    pub trans: Option<GeometryTrans>,
}

/// `<blockio logical_block_size physical_block_size/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockIo {
    pub logical_block_size: Option<u32>,
    pub physical_block_size: Option<u32>,
}

/// `<disk>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    pub device: DiskDevice,
    pub model: Option<DiskModel>,
    /// `rawio` of a LUN.
    pub rawio: Option<YesNo>,
    pub sgio: Option<Sgio>,
    pub snapshot: Option<SnapshotMode>,
    pub driver: DiskDriver,
    /// `<auth>` given on the disk itself (rather than inside `<source>`).
    pub auth: Option<Auth>,
    /// The source; its kind is the disk's `type`.
    pub source: DiskSource,
    pub backing_store: Option<BackingStore>,
    /// `<backenddomain name>`.
    pub backend_domain: Option<String>,
    pub geometry: Option<Geometry>,
    pub blockio: Option<BlockIo>,
    pub mirror: Option<Mirror>,
    pub target: DiskTarget,
    pub iotune: Option<IoTune>,
    pub readonly: bool,
    pub shareable: bool,
    /// `<transient>`; `Some(true)`: `shareBacking='yes'`.
    pub transient: Option<bool>,
    pub serial: Option<String>,
    pub wwn: Option<String>,
    pub vendor: Option<String>,
    pub product: Option<String>,
    /// `<encryption>` given on the disk itself (rather than inside `<source>`).
    pub encryption: Option<Encryption>,
    pub info: DeviceInfo,
}

impl Disk {
    /// A disk of this device kind, source and target, with a `qemu` driver and nothing else.
    pub fn new(
        device: DiskDevice,
        source: DiskSource,
        dev: impl Into<String>,
        bus: DiskBus,
    ) -> Self {
        Disk {
            device,
            model: None,
            rawio: None,
            sgio: None,
            snapshot: None,
            driver: DiskDriver::qemu(),
            auth: None,
            source,
            backing_store: None,
            backend_domain: None,
            geometry: None,
            blockio: None,
            mirror: None,
            target: DiskTarget {
                dev: dev.into(),
                bus,
                tray: None,
                removable: None,
                rotation_rate: None,
            },
            iotune: None,
            readonly: false,
            shareable: false,
            transient: None,
            serial: None,
            wwn: None,
            vendor: None,
            product: None,
            encryption: None,
            info: DeviceInfo::default(),
        }
    }

    /// The disk's `type`.
    pub fn kind(&self) -> SourceType {
        self.source.kind()
    }

    /// Parses a schema-checked `<disk>` element.
    pub fn from_element(el: &Element) -> Result<Disk, XmlError> {
        let kind: SourceType = attr_parse(el, "type")?.unwrap_or(SourceType::File);
        let device: DiskDevice = attr_parse(el, "device")?.unwrap_or(DiskDevice::Disk);
        let source = match el.child("source") {
            Some(s) => DiskSource::from_element(s, kind)?,
            None => DiskSource::absent(kind),
        };
        let t = el
            .child("target")
            .ok_or_else(|| missing(el, "element <target>"))?;
        let dev = t.attr("dev").ok_or_else(|| missing(t, "attribute 'dev'"))?;
        // libvirt drops Xen's old `ioemu:` prefix.
        let dev = dev.strip_prefix("ioemu:").unwrap_or(dev).to_string();
        let bus = attr_parse(t, "bus")?.unwrap_or_else(|| DiskBus::default_for(device, &dev));
        let target = DiskTarget {
            dev,
            bus,
            tray: attr_parse(t, "tray")?.filter(|t| *t != TrayStatus::Closed),
            removable: attr_parse(t, "removable")?,
            rotation_rate: num_attr::<u32>(t, "rotation_rate")?.filter(|r| *r != 0),
        };
        let geometry = match el.child("geometry") {
            None => None,
            Some(g) => Some(Geometry {
                cyls: required_num(g, "cyls")?,
                heads: required_num(g, "heads")?,
                secs: required_num(g, "secs")?,
                trans: attr_parse(g, "trans")?,
            }),
        };
        let blockio = match el.child("blockio") {
            None => None,
            Some(b) => Some(BlockIo {
                logical_block_size: num_attr::<u32>(b, "logical_block_size")?.filter(|v| *v != 0),
                physical_block_size: num_attr::<u32>(b, "physical_block_size")?.filter(|v| *v != 0),
            }),
        }
        .filter(|b| *b != BlockIo::default());
        let readonly = el.child("readonly").is_some();
        let text = |name: &str| el.child(name).map(Element::text);
        let mut d = Disk {
            device,
            model: attr_parse(el, "model")?,
            rawio: attr_parse(el, "rawio")?,
            sgio: attr_parse(el, "sgio")?,
            snapshot: attr_parse(el, "snapshot")?.filter(|s| !(readonly && *s == SnapshotMode::No)),
            driver: match el.child("driver") {
                Some(d) => DiskDriver::from_element(d)?,
                None => DiskDriver::default(),
            },
            auth: el.child("auth").map(Auth::from_element).transpose()?,
            source,
            backing_store: backing::backing_of(el)?,
            backend_domain: el
                .child("backenddomain")
                .and_then(|b| b.attr("name"))
                .map(str::to_string),
            geometry,
            blockio,
            mirror: el.child("mirror").map(Mirror::from_element).transpose()?,
            target,
            iotune: el
                .child("iotune")
                .map(IoTune::from_element)
                .transpose()?
                .filter(|t| !t.is_empty()),
            readonly,
            shareable: el.child("shareable").is_some(),
            transient: match el.child("transient") {
                None => None,
                Some(t) => Some(attr_parse::<YesNo>(t, "shareBacking")?.is_some_and(bool::from)),
            },
            serial: text("serial"),
            wwn: text("wwn"),
            vendor: text("vendor"),
            product: text("product"),
            encryption: el
                .child("encryption")
                .map(Encryption::from_element)
                .transpose()?,
            info: DeviceInfo::from_element(el)?,
        };
        if d.snapshot == Some(SnapshotMode::No) && d.readonly {
            d.snapshot = None;
        }
        Ok(d)
    }

    /// Writes `<disk>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let snapshot = self
            .snapshot
            .filter(|s| !(self.readonly && *s == SnapshotMode::No));
        let tag = Tag::new("disk")
            .attr("type", self.kind())
            .attr("device", self.device)
            .opt_attr("model", self.model)
            .opt_attr("rawio", self.rawio)
            .opt_attr("sgio", self.sgio)
            .opt_attr("snapshot", snapshot);
        w.element(tag, |w| {
            self.driver.write(w);
            if let Some(a) = &self.auth {
                a.write(w);
            }
            self.source.write(w);
            if let Some(b) = &self.backing_store {
                b.write(w);
            }
            if let Some(b) = &self.backend_domain {
                w.empty(Tag::new("backenddomain").attr("name", b));
            }
            if let Some(g) = &self.geometry {
                w.empty(
                    Tag::new("geometry")
                        .attr("cyls", g.cyls)
                        .attr("heads", g.heads)
                        .attr("secs", g.secs)
                        .opt_attr("trans", g.trans),
                );
            }
            if let Some(b) = self.blockio.filter(|b| *b != BlockIo::default()) {
                w.empty(
                    Tag::new("blockio")
                        .opt_attr("logical_block_size", b.logical_block_size)
                        .opt_attr("physical_block_size", b.physical_block_size),
                );
            }
            if let Some(m) = &self.mirror {
                m.write(w);
            }
            let t = &self.target;
            w.empty(
                Tag::new("target")
                    .attr("dev", &t.dev)
                    .attr("bus", t.bus)
                    .opt_attr("tray", t.tray.filter(|t| *t != TrayStatus::Closed))
                    .opt_attr("removable", t.removable)
                    .opt_attr("rotation_rate", t.rotation_rate),
            );
            if let Some(t) = &self.iotune {
                t.write(w);
            }
            if self.readonly {
                w.empty(Tag::new("readonly"));
            }
            if self.shareable {
                w.empty(Tag::new("shareable"));
            }
            if let Some(share) = self.transient {
                w.empty(Tag::new("transient").opt_attr("shareBacking", share.then_some("yes")));
            }
            for (name, v) in [
                ("serial", &self.serial),
                ("wwn", &self.wwn),
                ("vendor", &self.vendor),
                ("product", &self.product),
            ] {
                if let Some(v) = v {
                    w.leaf(Tag::new(name), v);
                }
            }
            if let Some(e) = &self.encryption {
                e.write(w);
            }
            self.info.write(w);
        });
    }
}

pub(crate) fn missing(el: &Element, what: &str) -> XmlError {
    XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: what.to_string(),
    }
}

pub(crate) fn required<T: std::str::FromStr<Err = ValueError>>(
    el: &Element,
    name: &str,
) -> Result<T, XmlError> {
    attr_parse(el, name)?.ok_or_else(|| missing(el, &format!("attribute '{name}'")))
}

fn required_num<T: std::str::FromStr>(el: &Element, name: &str) -> Result<T, XmlError> {
    num_attr(el, name)?.ok_or_else(|| missing(el, &format!("attribute '{name}'")))
}
