//! The host side of a guest's network card: tap, macvtap and vhost-net file descriptors.
//!
//! QEMU never opens these devices itself: [`NetHost`] opens them and the driver passes the fds.
//! Every device opened on behalf of a guest MAC is audited at the moment of opening (`resrc=net
//! reason=open ... net=MAC path="..." rdev=MA:MI`, success or failure), and the result says exactly
//! which devices the NIC holds ([`NicFds::state`], a [`virt_xml::status::NicHostState`]), so a
//! hot-unplug can say precisely what was released.
//!
//! - [`NetHost::open_tap`]: a tap by name or template (`vnet%d`), multiqueue, `IFF_VNET_HDR`,
//!   persistent or not, host-side MAC (guest MAC with first byte 0xFE), MTU, bridge, link up.
//! - [`NetHost::open_macvtap`]: a macvtap (`direct` interface) on a parent in a given mode, and its
//!   `/dev/tapN` opened once per queue.
//! - vhost-net per [`VhostPolicy`]: once per queue; `Auto` falls back to userspace networking when
//!   it cannot be opened (one failed record, nothing claimed), `Vhost` fails clearly.
//! - [`NetHost::release`] / [`NetHost::delete`]: close and delete, returning what was released.
//!
//! A failure midway closes every fd the call opened and deletes every interface it created. Link
//! work goes through a small blocking rtnetlink client ([`netlink::Netlink`]); device paths come
//! from [`DevicePaths`] so tests can substitute nodes. Interfaces are made in the network namespace
//! of the calling thread.
//!
//! ```no_run
//! use virt_audit::{Auditor, VirtType, VmIdentity};
//! use virt_net::{NetHost, TapConfig, VhostPolicy};
//!
//! let (auditor, _records) = Auditor::memory();
//! let host = NetHost::new(auditor);
//! let vm = VmIdentity::new(VirtType::Kvm, "guest1", [0x11; 16]);
//! let mut cfg = TapConfig::new("52:54:00:12:34:56".parse()?);
//! cfg.queues = 4;
//! cfg.vnet_hdr = true;
//! cfg.bridge = Some("virbr0".into());
//! let nic = host.open_tap(&vm, &cfg, VhostPolicy::Auto)?;
//! // Pass nic.tap and nic.vhost to QEMU; keep nic.state in the guest's status.
//! println!("{} holds {:?}", nic.ifname, nic.state.devices);
//! let released = host.release(nic)?;
//! # let _ = released;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod error;
pub mod ifname;
mod ledger;
pub mod macvtap;
pub mod netlink;
pub mod nic;
pub mod paths;
pub mod tap;
pub mod tun;
mod vhost;

pub use error::NetError;
pub use ifname::IfName;
pub use macvtap::MacvtapConfig;
pub use netlink::MacvtapMode;
pub use nic::{NetHost, NicFds, VhostPolicy};
pub use paths::DevicePaths;
pub use tap::TapConfig;

/// The most queues a NIC may have (the kernel's tun and macvtap limit).
pub const MAX_QUEUES: u32 = 256;
