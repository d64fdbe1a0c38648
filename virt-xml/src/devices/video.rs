//! `<video>`: a guest video adapter as a typed value ([`Video`]): its driver options, model
//! (type, memory sizes in KiB, heads, primary flag, acceleration, resolution) and device info,
//! written in libvirt 9.0's canonical form.
//!
//! ```
//! use virt_xml::devices::video::{Video, VideoModel, VideoModelType};
//! use virt_xml::writer::Writer;
//! let mut model = VideoModel::new(VideoModelType::Qxl);
//! model.ram = Some(65536);
//! model.vram = Some(65536);
//! model.vgamem = Some(16384);
//! model.heads = Some(1);
//! model.primary = Some(true);
//! let video = Video { driver: None, model: Some(model), info: Default::default() };
//! let mut w = Writer::new();
//! video.write(&mut w);
//! assert_eq!(
//!     w.finish(),
//!     "<video>\n  <model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1' \
//!      primary='yes'/>\n</video>\n"
//! );
//! ```

use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<model type>` of a video adapter.
    VideoModelType {
        Vga = "vga", Cirrus = "cirrus", Vmvga = "vmvga", Xen = "xen", Vbox = "vbox",
        Qxl = "qxl", Virtio = "virtio", Gop = "gop", None = "none",
        Bochs = "bochs", Ramfb = "ramfb",
    }
);

str_enum!(
    /// `<driver name>`: which program implements the adapter.
    VideoBackend { Qemu = "qemu", Vhostuser = "vhostuser" }
);

str_enum!(
    /// `<driver vgaconf>` (bhyve).
    VgaConf { Io = "io", On = "on", Off = "off" }
);

/// The virtio transport options on a device's `<driver>` (`iommu ats packed page_per_vq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VirtioOptions {
    pub iommu: Option<OnOff>,
    pub ats: Option<OnOff>,
    pub packed: Option<OnOff>,
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

    /// Adds the options to a tag, in libvirt's order.
    pub fn push_attrs(&self, tag: Tag) -> Tag {
        tag.opt_attr("iommu", self.iommu)
            .opt_attr("ats", self.ats)
            .opt_attr("packed", self.packed)
            .opt_attr("page_per_vq", self.page_per_vq)
    }
}

/// A video `<driver>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VideoDriver {
    pub virtio: VirtioOptions,
    pub name: Option<VideoBackend>,
    pub vgaconf: Option<VgaConf>,
}

/// `<acceleration accel3d accel2d rendernode/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acceleration {
    pub accel3d: Option<bool>,
    pub accel2d: Option<bool>,
    pub rendernode: Option<String>,
}

/// `<resolution x y/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    pub x: u32,
    pub y: u32,
}

/// A video `<model>`. Sizes are KiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoModel {
    pub model_type: VideoModelType,
    pub ram: Option<u32>,
    pub vram: Option<u32>,
    pub vram64: Option<u32>,
    pub vgamem: Option<u32>,
    pub heads: Option<u32>,
    pub primary: Option<bool>,
    pub acceleration: Option<Acceleration>,
    pub resolution: Option<Resolution>,
}

impl VideoModel {
    /// A model of the given type with nothing else set.
    pub fn new(model_type: VideoModelType) -> Self {
        VideoModel {
            model_type,
            ram: None,
            vram: None,
            vram64: None,
            vgamem: None,
            heads: None,
            primary: None,
            acceleration: None,
            resolution: None,
        }
    }
}

/// `<video>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Video {
    pub driver: Option<VideoDriver>,
    pub model: Option<VideoModel>,
    pub info: DeviceInfo,
}

fn yes_no(el: &Element, name: &str) -> Result<Option<bool>, XmlError> {
    Ok(attr_parse::<YesNo>(el, name)?.map(bool::from))
}

fn required_num(el: &Element, name: &str) -> Result<u32, XmlError> {
    num_attr(el, name)?.ok_or_else(|| XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: format!("attribute '{name}'"),
    })
}

impl Video {
    /// Parses a schema-checked, normalised `<video>` element.
    pub fn from_element(el: &Element) -> Result<Video, XmlError> {
        let driver = match el.child("driver") {
            None => None,
            Some(d) => Some(VideoDriver {
                virtio: VirtioOptions::from_element(d)?,
                name: attr_parse(d, "name")?,
                vgaconf: attr_parse(d, "vgaconf")?,
            }),
        };
        let model = match el.child("model") {
            None => None,
            Some(m) => Some(VideoModel {
                model_type: attr_parse(m, "type")?.ok_or_else(|| XmlError::Missing {
                    pos: m.pos,
                    element: "model".into(),
                    what: "attribute 'type'".into(),
                })?,
                ram: num_attr(m, "ram")?,
                vram: num_attr(m, "vram")?,
                vram64: num_attr(m, "vram64")?,
                vgamem: num_attr(m, "vgamem")?,
                heads: num_attr(m, "heads")?,
                primary: yes_no(m, "primary")?,
                acceleration: match m.child("acceleration") {
                    None => None,
                    Some(a) => Some(Acceleration {
                        accel3d: yes_no(a, "accel3d")?,
                        accel2d: yes_no(a, "accel2d")?,
                        rendernode: a.attr("rendernode").map(str::to_string),
                    }),
                },
                resolution: match m.child("resolution") {
                    None => None,
                    Some(r) => Some(Resolution {
                        x: required_num(r, "x")?,
                        y: required_num(r, "y")?,
                    }),
                },
            }),
        };
        Ok(Video {
            driver,
            model,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<video>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("video"), |w| {
            if let Some(d) = &self.driver {
                w.empty(
                    d.virtio
                        .push_attrs(Tag::new("driver"))
                        .opt_attr("name", d.name)
                        .opt_attr("vgaconf", d.vgaconf),
                );
            }
            if let Some(m) = &self.model {
                let tag = Tag::new("model")
                    .attr("type", m.model_type)
                    .opt_attr("ram", m.ram)
                    .opt_attr("vram", m.vram)
                    .opt_attr("vram64", m.vram64)
                    .opt_attr("vgamem", m.vgamem)
                    .opt_attr("heads", m.heads)
                    .opt_attr("primary", m.primary.map(YesNo::from));
                w.element(tag, |w| {
                    if let Some(a) = &m.acceleration {
                        w.empty(
                            Tag::new("acceleration")
                                .opt_attr("accel3d", a.accel3d.map(YesNo::from))
                                .opt_attr("accel2d", a.accel2d.map(YesNo::from))
                                .opt_attr("rendernode", a.rendernode.as_deref()),
                        );
                    }
                    if let Some(r) = m.resolution {
                        w.empty(Tag::new("resolution").attr("x", r.x).attr("y", r.y));
                    }
                });
            }
            self.info.write(w);
        });
    }
}
