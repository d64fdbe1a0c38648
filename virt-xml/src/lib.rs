//! libvirt's XML formats as typed Rust values.
//!
//! - [`values`]: `Uuid`, `MacAddr`, `PciAddr`, `UsbAddr` and other value types used across the stack.
//! - [`tree`]: a small positioned XML tree (every element and attribute knows its line:column), the
//!   input to the typed parsers.
//! - [`error`]: errors that name the element, attribute and line:column.
//! - [`domain`]: the domain definition ([`Domain`]): parse any libvirt domain XML, format it as
//!   libvirt 9.0 does (section and device order, 2-space indentation, sizes in KiB, the defaults
//!   libvirt fills in). Typed core plus schema-checked element trees for the rest.
//! - [`address`]: a device's `<address>` of any type as one enum ([`address::Address`]).
//! - [`clock`]: `<clock>` as a typed value ([`clock::Clock`]): offset and timers.
//! - [`cpu`]: `<cpu>` as a typed value ([`cpu::Cpu`]): mode, model, topology, features, NUMA.
//! - [`features`]: `<features>` as a typed value ([`features::Features`]), Hyper-V and KVM
//!   enlightenments included.
//! - [`os`]: `<os>` as a typed value ([`os::OsDef`]): firmware, loader, nvram, kernel boot, boot
//!   devices, boot menu, BIOS, SMBIOS, container init.
//! - [`schema`]: the allow-list compiled from libvirt's RelaxNG schemas (embedded): unknown
//!   elements, attributes and enumerated values, and missing required parts, are refused with
//!   their line:column.
//! - [`writer`]: libvirt's canonical XML writer (also used by the nwfilter formatter).
//! - [`status`]: a running guest's status XML (pid, monitor, cgroup, per-NIC host devices).
//! - [`units`]: sizes with units ([`KiB`]).
//! - [`conformance`]: running libvirt's test corpora (the `conformance` example).
//!
//! ```
//! let xml = "<domain type='kvm'><name>g</name><memory unit='MiB'>512</memory></domain>";
//! let d = virt_xml::Domain::parse(xml).expect("valid");
//! assert_eq!(d.memory.map(|m| m.size.0), Some(524288));
//! assert!(d.to_xml().contains("<memory unit='KiB'>524288</memory>"));
//! let err = virt_xml::Domain::parse("<domain type='kvm'>\n<name>g</name><vcpu mode='x'>1</vcpu></domain>")
//!     .expect_err("unknown attribute");
//! assert_eq!(err.to_string(), "2:21: unknown attribute 'mode' on <vcpu>");
//! ```

pub mod address;
pub mod clock;
pub mod conformance;
pub mod cpu;
pub mod devices;
pub mod domain;
pub mod error;
pub mod features;
mod normalize;
pub mod nwfilter;
pub mod os;
pub mod schema;
pub mod sections;
pub mod status;
pub mod tree;
pub mod units;
pub mod values;
pub mod writer;

pub use devices::Device;
pub use domain::{DeviceKind, Domain, DomainType};
pub use error::{Pos, XmlError};
pub use units::KiB;
pub use values::{DiskName, MacAddr, PciAddr, UsbAddr, Uuid};
