//! `<lease>`: a lock-manager lease the guest holds, as a typed value ([`Lease`]).
//!
//! ```
//! use virt_xml::devices::lease::Lease;
//! use virt_xml::writer::Writer;
//! let l = Lease {
//!     lockspace: Some("area".into()),
//!     key: "k".into(),
//!     path: "/leases/k".into(),
//!     offset: Some(1024),
//! };
//! let mut w = Writer::new();
//! l.write(&mut w);
//! assert_eq!(
//!     w.finish(),
//!     "<lease>\n  <lockspace>area</lockspace>\n  <key>k</key>\n  \
//!      <target path='/leases/k' offset='1024'/>\n</lease>\n"
//! );
//! ```

use crate::domain::num_attr;
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

/// `<lease>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// `<lockspace>`.
    pub lockspace: Option<String>,
    /// `<key>`: the lease's name within the lockspace.
    pub key: String,
    /// `<target path>`: the file holding the lease.
    pub path: String,
    /// `<target offset>` in bytes (0, the default, is not written).
    pub offset: Option<u64>,
}

impl Lease {
    /// Parses a schema-checked `<lease>` element.
    pub fn from_element(el: &Element) -> Result<Lease, XmlError> {
        let missing = |at: &Element, what: &str| XmlError::Missing {
            pos: at.pos,
            element: at.name.clone(),
            what: what.to_string(),
        };
        let key = el
            .child("key")
            .ok_or_else(|| missing(el, "element <key>"))?;
        let target = el
            .child("target")
            .ok_or_else(|| missing(el, "element <target>"))?;
        Ok(Lease {
            lockspace: el.child("lockspace").map(Element::text),
            key: key.text(),
            path: target
                .attr("path")
                .ok_or_else(|| missing(target, "attribute 'path'"))?
                .to_string(),
            offset: num_attr::<u64>(target, "offset")?.filter(|o| *o != 0),
        })
    }

    /// Writes `<lease>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("lease"), |w| {
            if let Some(l) = &self.lockspace {
                w.leaf(Tag::new("lockspace"), l);
            }
            w.leaf(Tag::new("key"), &self.key);
            w.empty(
                Tag::new("target")
                    .attr("path", &self.path)
                    .opt_attr("offset", self.offset),
            );
        });
    }
}
