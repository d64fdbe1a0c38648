//! libvirt's XML formats as typed Rust values.
//!
//! - [`values`]: `Uuid`, `MacAddr`, `PciAddr`, `UsbAddr` and other value types used across the stack.
//! - [`tree`]: a small positioned XML tree (every element and attribute knows its line:column), the
//!   input to the typed parsers.
//! - [`error`]: errors that name the element, attribute and line:column.

pub mod error;
pub mod tree;
pub mod status;
pub mod values;

pub use error::{Pos, XmlError};
pub use values::{MacAddr, PciAddr, UsbAddr, Uuid};
