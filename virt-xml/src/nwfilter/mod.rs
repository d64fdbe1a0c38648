//! Network filter XML (`<filter>`) and filter bindings (`<filterbinding>`) as typed values,
//! parsed with libvirt 9.0's rules and formatted as libvirt 9.0 writes them.
//!
//! ```
//! use virt_xml::nwfilter::{format_filter, parse_filter};
//! let f = parse_filter("<filter name='x'><uuid>0a5288ea-612c-834a-6bbf-82a03a1a3244</uuid>\
//!     <rule action='accept' direction='in'><tcp dstportstart='22'/></rule></filter>").unwrap();
//! assert_eq!(format_filter(&f), "<filter name='x' chain='root'>\n  \
//!     <uuid>0a5288ea-612c-834a-6bbf-82a03a1a3244</uuid>\n  \
//!     <rule action='accept' direction='in' priority='500'>\n    \
//!     <tcp dstportstart='22'/>\n  </rule>\n</filter>\n");
//! ```

mod attrs;
mod binding;
pub mod conformance;
mod format;
mod parse;
mod types;

pub use binding::{format_binding, parse_binding, Binding};
pub use format::{format_filter, format_filterref, state_text, tcp_flags_text};
pub use parse::{filter_from_element, parse_filter, parse_params, parse_var_access};
pub use types::*;

/// Formats one attribute's literal value as libvirt writes it in XML.
pub fn format_attr_value(protocol: Protocol, attr: &str, v: &Value) -> String {
    let special = protocol
        .attrs()
        .iter()
        .find(|d| d.name == attr)
        .map_or(attrs::Special::None, |d| d.special);
    format::format_value(special, v)
}
