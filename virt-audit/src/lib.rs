//! Audit records as libvirt writes them, encoded as libaudit does, sent to the kernel or a file.
//!
//! A caller that hands a host resource to a guest builds a [`Record`] with one of the builders in
//! [`records`] (given the guest's [`VmIdentity`]) and passes it to an [`Auditor`], which applies the
//! audit level and sends it to its [`AuditSink`].

pub mod encode;
pub mod error;
pub mod identity;
pub mod record;
pub mod records;
pub mod sink;

pub use encode::{encode_nv, needs_encoding};
pub use error::AuditError;
pub use identity::{VirtType, VmIdentity};
pub use record::{DevNum, Outcome, Record, RecordType};
pub use sink::{AuditLevel, AuditSink, Auditor, MemorySink};
