//! Audit records as libvirt writes them, encoded as libaudit does, sent to the kernel or a file.
//!
//! A caller that hands a host resource to a guest builds a [`Record`] with one of the builders in
//! [`records`] (given the guest's [`VmIdentity`]) and passes it to an [`Auditor`], which applies the
//! audit level and sends it to its [`AuditSink`]: the kernel ([`KernelSink`], what `ausearch`
//! reads), a file of `type=... msg='...'` lines ([`FileSink`]), memory ([`MemorySink`], for tests),
//! or several at once ([`FanoutSink`]).
//!
//! ```
//! use virt_audit::{records, Auditor, DevNum, Outcome, VirtType, VmIdentity};
//!
//! let vm = VmIdentity::new(VirtType::Kvm, "g1", [0x11; 16]);
//! // In production: Auditor::kernel(AuditLevel::On)?
//! let (auditor, memory) = Auditor::memory();
//! let mac = "52:54:00:aa:00:01";
//! let rec = records::net_open(&vm, &mac, "/dev/net/tun", Some(DevNum::new(10, 200)), Outcome::Success);
//! auditor.emit(&rec).unwrap();
//! assert_eq!(
//!     memory.summaries(),
//!     ["virt=kvm resrc=net reason=open vm=\"g1\" uuid=11111111-1111-1111-1111-111111111111 \
//!       net=52:54:00:aa:00:01 path=\"/dev/net/tun\" rdev=0A:C8 res=success"]
//! );
//! ```

pub mod context;
pub mod encode;
pub mod error;
pub mod fanout;
pub mod file;
pub mod identity;
pub mod kernel;
pub mod record;
pub mod records;
pub mod sink;

pub use context::ProcessContext;
pub use encode::{encode_nv, needs_encoding};
pub use error::AuditError;
pub use fanout::FanoutSink;
pub use file::FileSink;
pub use identity::{VirtType, VmIdentity};
pub use kernel::KernelSink;
pub use record::{DevNum, Outcome, Record, RecordType};
pub use sink::{AuditLevel, AuditSink, Audited, Auditor, MemorySink};
