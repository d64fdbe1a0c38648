//! Image formats, backing chains (`<backingStore>`, recursive) and block-job mirrors
//! (`<mirror>`).

use crate::domain::{attr_parse, invalid_text, num_attr, str_enum};
use crate::error::XmlError;
use crate::os::SourceType;
use crate::tree::Element;
use crate::units::unit_bytes;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

use super::required;
use super::source::{DiskSource, SourceData};

str_enum!(
    /// An image format (libvirt's storage file formats).
    StorageFormat {
        Raw = "raw", Dir = "dir", Bochs = "bochs", Cloop = "cloop", Dmg = "dmg", Iso = "iso",
        Vpc = "vpc", Vdi = "vdi", Fat = "fat", Vhd = "vhd", Ploop = "ploop", Luks = "luks",
        Cow = "cow", Qcow = "qcow", Qcow2 = "qcow2", Qed = "qed", Vmdk = "vmdk",
    }
);

str_enum!(
    /// `<mirror job>`: the block job the mirror belongs to.
    MirrorJob { Copy = "copy", ActiveCommit = "active-commit" }
);

str_enum!(
    /// `<mirror ready>`: the job's phase.
    MirrorReady { Yes = "yes", Abort = "abort", Pivot = "pivot" }
);

/// Reads `<metadata_cache><max_size unit>N</max_size></metadata_cache>` under `el`, in bytes.
pub(crate) fn metadata_cache(el: &Element) -> Result<Option<u64>, XmlError> {
    let Some(m) = el.child("metadata_cache").and_then(|m| m.child("max_size")) else {
        return Ok(None);
    };
    let text = m.text();
    let bad = |reason: &str| {
        invalid_text(
            m,
            ValueError {
                kind: "size",
                value: text.trim().to_string(),
                reason: reason.to_string(),
            },
        )
    };
    let v: u64 = text.trim().parse().map_err(|_| bad("not a number"))?;
    let scale = match m.attr("unit") {
        None => 1,
        Some(u) => unit_bytes(u).ok_or_else(|| bad("unknown unit"))?,
    };
    let bytes = v.checked_mul(scale).ok_or_else(|| bad("too large"))?;
    Ok(Some(bytes).filter(|b| *b != 0))
}

/// Writes a metadata cache size (bytes) as libvirt does.
pub(crate) fn write_metadata_cache(w: &mut Writer, bytes: u64) {
    w.element(Tag::new("metadata_cache"), |w| {
        w.leaf(
            Tag::new("max_size").attr("unit", "bytes"),
            &bytes.to_string(),
        )
    });
}

/// `<format type>` of a backing store or mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskFormat {
    pub format: StorageFormat,
    /// `<metadata_cache><max_size>` in bytes.
    pub metadata_cache_max_size: Option<u64>,
}

impl DiskFormat {
    /// Parses `<format>`.
    pub fn from_element(el: &Element) -> Result<DiskFormat, XmlError> {
        Ok(DiskFormat {
            format: required(el, "type")?,
            metadata_cache_max_size: metadata_cache(el)?,
        })
    }

    /// Writes `<format>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("format").attr("type", self.format), |w| {
            if let Some(b) = self.metadata_cache_max_size {
                write_metadata_cache(w, b);
            }
        });
    }
}

/// One image of a backing chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackingImage {
    /// `index`: its place in the chain.
    pub index: Option<u32>,
    pub format: Option<DiskFormat>,
    pub source: DiskSource,
    /// What this image is backed by.
    pub backing_store: Option<BackingStore>,
}

/// `<backingStore>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackingStore {
    /// `<backingStore/>`: the chain ends here.
    End,
    /// A backing image, with its own chain.
    Image(Box<BackingImage>),
}

impl BackingStore {
    /// Parses `<backingStore>`.
    pub fn from_element(el: &Element) -> Result<BackingStore, XmlError> {
        let kind: Option<SourceType> = attr_parse(el, "type")?;
        if kind.is_none() && el.elements().next().is_none() {
            return Ok(BackingStore::End);
        }
        let kind = kind.unwrap_or(SourceType::File);
        let source = match el.child("source") {
            Some(s) => DiskSource::from_element(s, kind)?,
            None => DiskSource::absent(kind),
        };
        Ok(BackingStore::Image(Box::new(BackingImage {
            index: num_attr(el, "index")?,
            format: el
                .child("format")
                .map(DiskFormat::from_element)
                .transpose()?,
            source,
            backing_store: backing_of(el)?,
        })))
    }

    /// Writes `<backingStore>`.
    pub fn write(&self, w: &mut Writer) {
        match self {
            BackingStore::End => w.empty(Tag::new("backingStore")),
            BackingStore::Image(b) => {
                let tag = Tag::new("backingStore")
                    .attr("type", b.source.kind())
                    .opt_attr("index", b.index);
                w.element(tag, |w| {
                    if let Some(f) = &b.format {
                        f.write(w);
                    }
                    b.source.write_named(w, "source", false);
                    if let Some(n) = &b.backing_store {
                        n.write(w);
                    }
                });
            }
        }
    }
}

/// The `<backingStore>` child of `el`, if any.
pub(crate) fn backing_of(el: &Element) -> Result<Option<BackingStore>, XmlError> {
    el.child("backingStore")
        .map(BackingStore::from_element)
        .transpose()
}

/// `<mirror>`: the destination of a running block copy or active commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub job: MirrorJob,
    pub ready: Option<MirrorReady>,
    pub format: Option<DiskFormat>,
    pub source: DiskSource,
    pub backing_store: Option<BackingStore>,
}

impl Mirror {
    /// Parses `<mirror>` (the current form, or the old one with `file`/`format` attributes only).
    pub fn from_element(el: &Element) -> Result<Mirror, XmlError> {
        let kind: SourceType = attr_parse(el, "type")?.unwrap_or(SourceType::File);
        let source = match el.child("source") {
            Some(s) => DiskSource::from_element(s, kind)?,
            None if kind == SourceType::File => DiskSource::new(SourceData::File {
                file: el.attr("file").map(str::to_string),
                fdgroup: None,
            }),
            None => DiskSource::absent(kind),
        };
        let format = match el.child("format") {
            Some(f) => Some(DiskFormat::from_element(f)?),
            None => attr_parse(el, "format")?.map(|format| DiskFormat {
                format,
                metadata_cache_max_size: None,
            }),
        };
        Ok(Mirror {
            job: attr_parse(el, "job")?.unwrap_or(MirrorJob::Copy),
            ready: attr_parse(el, "ready")?,
            format,
            source,
            backing_store: backing_of(el)?,
        })
    }

    /// Writes `<mirror>` (with the old `file`/`format` attributes of a file copy, as libvirt
    /// keeps them for compatibility).
    pub fn write(&self, w: &mut Writer) {
        let kind = self.source.kind();
        let mut tag = Tag::new("mirror").attr("type", kind);
        if let (SourceData::File { file, .. }, MirrorJob::Copy) = (&self.source.data, self.job) {
            tag = tag
                .opt_attr("file", file.as_deref())
                .opt_attr("format", self.format.map(|f| f.format));
        }
        tag = tag.attr("job", self.job).opt_attr("ready", self.ready);
        w.element(tag, |w| {
            if let Some(f) = &self.format {
                f.write(w);
            }
            self.source.write(w);
            if let Some(b) = &self.backing_store {
                b.write(w);
            }
        });
    }
}
