//! `<shmem>`: an inter-VM shared memory device (ivshmem), as a typed value ([`Shmem`]).

use crate::devices::controller::{missing, ScaledSize};
use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<shmem role>`: who owns the region across migration.
    ShmemRole { Master = "master", Peer = "peer" }
);

str_enum!(
    /// `<shmem><model type>`.
    ShmemModel {
        Ivshmem = "ivshmem", IvshmemPlain = "ivshmem-plain",
        IvshmemDoorbell = "ivshmem-doorbell",
    }
);

/// `<server path>`: the ivshmem server's socket (`path` absent: the default socket).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShmemServer {
    pub path: Option<String>,
}

/// `<msi vectors ioeventfd>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShmemMsi {
    pub vectors: Option<u32>,
    pub ioeventfd: Option<OnOff>,
}

/// `<shmem>`.
///
/// ```
/// use virt_xml::devices::shmem::{Shmem, ShmemModel};
/// use virt_xml::devices::controller::ScaledSize;
/// use virt_xml::writer::Writer;
/// let mut s = Shmem::new("shmem0");
/// s.model = Some(ShmemModel::IvshmemPlain);
/// s.size = Some(ScaledSize::new(4, "M"));
/// let mut w = Writer::new();
/// s.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<shmem name='shmem0'>\n  <model type='ivshmem-plain'/>\n  <size unit='M'>4</size>\n</shmem>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shmem {
    /// The region's name (no `/`).
    pub name: String,
    pub role: Option<ShmemRole>,
    pub model: Option<ShmemModel>,
    /// The region's size (libvirt writes it in `M`).
    pub size: Option<ScaledSize>,
    pub server: Option<ShmemServer>,
    pub msi: Option<ShmemMsi>,
    /// Alias, ACPI index, address.
    pub info: DeviceInfo,
}

impl Shmem {
    /// A shared memory device with nothing but its name.
    pub fn new(name: impl Into<String>) -> Self {
        Shmem {
            name: name.into(),
            role: None,
            model: None,
            size: None,
            server: None,
            msi: None,
            info: DeviceInfo::default(),
        }
    }

    /// Parses a schema-checked `<shmem>` element.
    pub fn from_element(el: &Element) -> Result<Shmem, XmlError> {
        let name = el
            .attr("name")
            .ok_or_else(|| missing(el, "attribute 'name'"))?;
        let model = match el.child("model") {
            None => None,
            Some(m) => attr_parse(m, "type")?,
        };
        let msi = match el.child("msi") {
            None => None,
            Some(m) => Some(ShmemMsi {
                vectors: num_attr(m, "vectors")?,
                ioeventfd: attr_parse(m, "ioeventfd")?,
            }),
        };
        Ok(Shmem {
            name: name.to_string(),
            role: attr_parse(el, "role")?,
            model,
            size: el
                .child("size")
                .map(|s| ScaledSize::read(s, None, "unit"))
                .transpose()?,
            server: el.child("server").map(|s| ShmemServer {
                path: s.attr("path").map(str::to_string),
            }),
            msi,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<shmem>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("shmem")
            .attr("name", &self.name)
            .opt_attr("role", self.role);
        w.element(tag, |w| {
            if let Some(m) = self.model {
                w.empty(Tag::new("model").attr("type", m));
            }
            if let Some(s) = &self.size {
                s.write_leaf(w, "size");
            }
            if let Some(s) = &self.server {
                w.empty(Tag::new("server").opt_attr("path", s.path.as_deref()));
            }
            if let Some(m) = &self.msi {
                w.empty(
                    Tag::new("msi")
                        .opt_attr("vectors", m.vectors)
                        .opt_attr("ioeventfd", m.ioeventfd),
                );
            }
            self.info.write(w);
        });
    }
}
