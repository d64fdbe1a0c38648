//! `<filesystem>`: a host directory, image or RAM file system shared with the guest (9p,
//! virtiofs, LXC mounts), as a typed value ([`Filesystem`]).

use crate::devices::controller::{missing, ScaledSize, VirtioModel, VirtioOptions};
use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, invalid_value, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::tree::Element;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<filesystem type>`.
    FsType {
        Mount = "mount", Block = "block", File = "file", Template = "template", Ram = "ram",
        Bind = "bind",
    }
);

str_enum!(
    /// `<filesystem accessmode>`: how guest file ownership maps to the host.
    FsAccessMode { Passthrough = "passthrough", Mapped = "mapped", Squash = "squash" }
);

str_enum!(
    /// `<filesystem multidevs>`: how 9p handles several host devices under one export.
    FsMultidevs { Default = "default", Remap = "remap", Forbid = "forbid", Warn = "warn" }
);

str_enum!(
    /// `<driver type>`.
    FsDriverType {
        Path = "path", Handle = "handle", Loop = "loop", Nbd = "nbd", Ploop = "ploop",
        Virtiofs = "virtiofs",
    }
);

str_enum!(
    /// `<driver format>`: the image format of a file-backed file system.
    FsFormat {
        Raw = "raw", Dir = "dir", Bochs = "bochs", Cloop = "cloop", Dmg = "dmg", Iso = "iso",
        Vpc = "vpc", Vdi = "vdi", Fat = "fat", Vhd = "vhd", Ploop = "ploop", Luks = "luks",
        Cow = "cow", Qcow = "qcow", Qcow2 = "qcow2", Qed = "qed", Vmdk = "vmdk",
    }
);

str_enum!(
    /// `<driver wrpolicy>`.
    FsWrpolicy { Immediate = "immediate" }
);

str_enum!(
    /// `<binary><cache mode>` (virtiofsd).
    FsCacheMode { None = "none", Always = "always" }
);

str_enum!(
    /// `<binary><sandbox mode>` (virtiofsd).
    FsSandboxMode { Namespace = "namespace", Chroot = "chroot" }
);

/// `<driver>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FsDriver {
    pub kind: Option<FsDriverType>,
    pub format: Option<FsFormat>,
    /// virtiofs queue size.
    pub queue: Option<u32>,
    pub wrpolicy: Option<FsWrpolicy>,
    pub virtio: VirtioOptions,
}

/// `<binary><lock posix flock/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FsLock {
    pub posix: Option<OnOff>,
    pub flock: Option<OnOff>,
}

/// `<binary>`: the virtiofsd daemon libvirt starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FsBinary {
    pub path: Option<String>,
    pub xattr: Option<OnOff>,
    pub cache: Option<FsCacheMode>,
    pub sandbox: Option<FsSandboxMode>,
    pub lock: Option<FsLock>,
    /// `<thread_pool size>`.
    pub thread_pool_size: Option<i64>,
}

/// `<source>`, by what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsSource {
    /// `dir`: a host directory (`mount`, `bind`).
    Dir(String),
    /// `socket`: an externally started virtiofsd's socket.
    Socket(String),
    /// `file`: an image file.
    File(String),
    /// `dev`: a host block device.
    Dev(String),
    /// `name`: a template name.
    Name(String),
    /// `usage` and `units`: a RAM file system's size.
    Ram(ScaledSize),
}

/// `<filesystem>`.
///
/// ```
/// use virt_xml::devices::filesystem::{Filesystem, FsAccessMode, FsSource, FsType};
/// use virt_xml::writer::Writer;
/// let mut f = Filesystem::new(FsSource::Dir("/export".into()), "tag0");
/// f.kind = Some(FsType::Mount);
/// f.accessmode = Some(FsAccessMode::Mapped);
/// f.readonly = true;
/// let mut w = Writer::new();
/// f.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<filesystem type='mount' accessmode='mapped'>\n  <source dir='/export'/>\n  \
///      <target dir='tag0'/>\n  <readonly/>\n</filesystem>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    pub kind: Option<FsType>,
    pub accessmode: Option<FsAccessMode>,
    pub model: Option<VirtioModel>,
    pub multidevs: Option<FsMultidevs>,
    /// Mode of files created by the guest (octal, written as `0644`).
    pub fmode: Option<u32>,
    /// Mode of directories created by the guest.
    pub dmode: Option<u32>,
    pub driver: Option<FsDriver>,
    pub binary: Option<FsBinary>,
    pub source: Option<FsSource>,
    /// `<target dir>`: the guest mount point or 9p/virtiofs tag.
    pub target: String,
    pub readonly: bool,
    pub space_hard_limit: Option<ScaledSize>,
    pub space_soft_limit: Option<ScaledSize>,
    /// Boot order, alias, ACPI index, address.
    pub info: DeviceInfo,
}

impl Filesystem {
    /// A file system with a source and a target, nothing else set.
    pub fn new(source: FsSource, target: impl Into<String>) -> Self {
        Filesystem {
            kind: None,
            accessmode: None,
            model: None,
            multidevs: None,
            fmode: None,
            dmode: None,
            driver: None,
            binary: None,
            source: Some(source),
            target: target.into(),
            readonly: false,
            space_hard_limit: None,
            space_soft_limit: None,
            info: DeviceInfo::default(),
        }
    }

    /// Parses a schema-checked `<filesystem>` element.
    pub fn from_element(el: &Element) -> Result<Filesystem, XmlError> {
        let driver = match el.child("driver") {
            None => None,
            Some(d) => Some(FsDriver {
                kind: attr_parse(d, "type")?,
                format: attr_parse(d, "format")?,
                queue: num_attr(d, "queue")?,
                wrpolicy: attr_parse(d, "wrpolicy")?,
                virtio: VirtioOptions::from_element(d)?,
            }),
        };
        let binary = match el.child("binary") {
            None => None,
            Some(b) => Some(FsBinary {
                path: b.attr("path").map(str::to_string),
                xattr: attr_parse(b, "xattr")?,
                cache: b
                    .child("cache")
                    .map(|c| attr_parse(c, "mode"))
                    .transpose()?
                    .flatten(),
                sandbox: b
                    .child("sandbox")
                    .map(|c| attr_parse(c, "mode"))
                    .transpose()?
                    .flatten(),
                lock: match b.child("lock") {
                    None => None,
                    Some(l) => Some(FsLock {
                        posix: attr_parse(l, "posix")?,
                        flock: attr_parse(l, "flock")?,
                    }),
                },
                thread_pool_size: match b.child("thread_pool") {
                    None => None,
                    Some(t) => num_attr(t, "size")?,
                },
            }),
        };
        let source = el.child("source").map(read_source).transpose()?;
        let target = el
            .child("target")
            .ok_or_else(|| missing(el, "element <target>"))?;
        let target = target
            .attr("dir")
            .ok_or_else(|| missing(target, "attribute 'dir'"))?
            .to_string();
        let limit = |name: &str| {
            el.child(name)
                .map(|s| ScaledSize::read(s, None, "unit"))
                .transpose()
        };
        Ok(Filesystem {
            kind: attr_parse(el, "type")?,
            accessmode: attr_parse(el, "accessmode")?,
            model: attr_parse(el, "model")?,
            multidevs: attr_parse(el, "multidevs")?,
            fmode: octal_attr(el, "fmode")?,
            dmode: octal_attr(el, "dmode")?,
            driver,
            binary,
            source,
            target,
            readonly: el.child("readonly").is_some(),
            space_hard_limit: limit("space_hard_limit")?,
            space_soft_limit: limit("space_soft_limit")?,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<filesystem>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("filesystem")
            .opt_attr("type", self.kind)
            .opt_attr("accessmode", self.accessmode)
            .opt_attr("model", self.model)
            .opt_attr("multidevs", self.multidevs)
            .opt_attr("fmode", self.fmode.map(|m| format!("{m:04o}")))
            .opt_attr("dmode", self.dmode.map(|m| format!("{m:04o}")));
        w.element(tag, |w| {
            if let Some(d) = &self.driver {
                let tag = Tag::new("driver")
                    .opt_attr("type", d.kind)
                    .opt_attr("format", d.format)
                    .opt_attr("queue", d.queue)
                    .opt_attr("wrpolicy", d.wrpolicy);
                w.empty(d.virtio.push_attrs(tag));
            }
            if let Some(b) = &self.binary {
                let tag = Tag::new("binary")
                    .opt_attr("path", b.path.as_deref())
                    .opt_attr("xattr", b.xattr);
                w.element(tag, |w| {
                    if let Some(c) = b.cache {
                        w.empty(Tag::new("cache").attr("mode", c));
                    }
                    if let Some(s) = b.sandbox {
                        w.empty(Tag::new("sandbox").attr("mode", s));
                    }
                    if let Some(l) = b.lock {
                        w.empty(
                            Tag::new("lock")
                                .opt_attr("posix", l.posix)
                                .opt_attr("flock", l.flock),
                        );
                    }
                    if let Some(n) = b.thread_pool_size {
                        w.empty(Tag::new("thread_pool").attr("size", n));
                    }
                });
            }
            if let Some(s) = &self.source {
                let tag = Tag::new("source");
                w.empty(match s {
                    FsSource::Dir(d) => tag.attr("dir", d),
                    FsSource::Socket(p) => tag.attr("socket", p),
                    FsSource::File(f) => tag.attr("file", f),
                    FsSource::Dev(d) => tag.attr("dev", d),
                    FsSource::Name(n) => tag.attr("name", n),
                    FsSource::Ram(size) => tag
                        .attr("usage", size.value)
                        .opt_attr("units", size.unit.as_deref()),
                });
            }
            w.empty(Tag::new("target").attr("dir", &self.target));
            if self.readonly {
                w.empty(Tag::new("readonly"));
            }
            if let Some(l) = &self.space_hard_limit {
                l.write_leaf(w, "space_hard_limit");
            }
            if let Some(l) = &self.space_soft_limit {
                l.write_leaf(w, "space_soft_limit");
            }
            self.info.write(w);
        });
    }
}

fn read_source(s: &Element) -> Result<FsSource, XmlError> {
    let text = |name: &str| s.attr(name).map(str::to_string);
    if let Some(d) = text("dir") {
        Ok(FsSource::Dir(d))
    } else if let Some(p) = text("socket") {
        Ok(FsSource::Socket(p))
    } else if let Some(f) = text("file") {
        Ok(FsSource::File(f))
    } else if let Some(d) = text("dev") {
        Ok(FsSource::Dev(d))
    } else if let Some(n) = text("name") {
        Ok(FsSource::Name(n))
    } else if s.attr("usage").is_some() {
        Ok(FsSource::Ram(ScaledSize::read(s, Some("usage"), "units")?))
    } else {
        Err(missing(
            s,
            "one of the attributes 'dir', 'socket', 'file', 'dev', 'name', 'usage'",
        ))
    }
}

/// An octal file mode attribute (`0644` or `644`).
fn octal_attr(el: &Element, name: &str) -> Result<Option<u32>, XmlError> {
    match el.attr(name) {
        None => Ok(None),
        Some(v) => u32::from_str_radix(v.trim(), 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .map(Some)
            .ok_or_else(|| {
                invalid_value(
                    el,
                    name,
                    ValueError {
                        kind: "file mode",
                        value: v.to_string(),
                        reason: "expected an octal mode from 0000 to 0777".into(),
                    },
                )
            }),
    }
}
