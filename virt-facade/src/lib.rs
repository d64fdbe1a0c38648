//! The management API over every driver, chosen by connection URI, and the `virtsh` command line.
//!
//! - [`Connect::open`]: `test:///default` (in memory, no hypervisor, libvirt's default test
//!   domain), `qemu:///embed?root=DIR` and `qemu:///system` (the QEMU driver).
//! - [`DomainHandle`]: define, undefine, start, shutdown, destroy, XML, state, attach and detach
//!   devices.
//! - [`driver::Driver`]: what a driver provides; [`test_driver::TestDriver`] is the in-memory one.
//!
//! ```
//! use virt_facade::{Connect, DomainState};
//! let conn = Connect::open("test:///default").unwrap();
//! let dom = conn
//!     .define_xml("<domain type='test'><name>demo</name><memory>65536</memory></domain>")
//!     .unwrap();
//! dom.start().unwrap();
//! assert_eq!(dom.state().unwrap().0, DomainState::Running);
//! assert!(dom.xml_desc(false).unwrap().starts_with("<domain type='test' id='2'>"));
//! dom.destroy().unwrap();
//! dom.undefine().unwrap();
//! ```

pub mod connect;
pub mod device;
pub mod driver;
pub mod error;
pub mod qemu_driver;
pub mod state;
pub mod test_driver;
pub mod uri;
mod uuid;

pub use connect::{Connect, ConnectOptions, DomainHandle};
pub use driver::{DeviceScope, DomainSummary, Driver};
pub use error::{Error, Result};
pub use state::{DomainState, StateReason};
pub use uri::ConnectUri;
