//! The IP-address learner: finds the address a guest uses on its interface, then has the
//! interface's filters instantiated with it (libvirt's `nwfilter_learnipaddr`, with IPv6 and
//! several addresses as options).
//!
//! - [`frame`]: the pure matcher, one Ethernet frame + guest MAC -> learned addresses.
//! - [`dhcp`], [`addr`]: DHCP reply parsing and which addresses may be learned.
//! - [`bpf`]: the classic BPF program the kernel runs on the capture socket.
//! - [`capture`]: the AF_PACKET socket.
//! - [`pcap`]: replaying a pcap/pcapng capture.
//! - [`registry`]: learner threads (one per interface), cancel/join, the [`OnLearned`] seam.
//! - [`instantiate`]: the [`OnLearned`] that instantiates the interface's filter with `IP` set.
//! - [`synth`]: frames and captures for tests and benchmarks.
//!
//! ```no_run
//! use virt_nwfilter::learner::{LearnOptions, Learned, Registry, Target};
//! let mac = "52:54:00:12:34:56".parse().unwrap();
//! let h = Registry::global().start("vnet0", mac, LearnOptions::default(),
//!     |t: &Target, l: &[Learned]| -> Result<(), virt_nwfilter::learner::ApplyError> {
//!         println!("{}: {}", t.ifname, l[0].addr);
//!         Ok(())
//!     }).unwrap();
//! let outcome = h.join();
//! ```

pub mod addr;
pub mod bpf;
pub mod capture;
pub mod collect;
pub mod dhcp;
pub mod error;
pub mod frame;
pub mod instantiate;
pub mod pcap;
pub mod registry;
pub mod synth;

pub use capture::Capture;
pub use collect::Collector;
pub use error::{ApplyError, LearnError};
pub use frame::{learn_from_frame, match_frame, Detect, How, Learned, MatchOptions};
pub use instantiate::InstantiateFilter;
pub use pcap::{replay, replay_file, Replay};
pub use registry::{LearnOptions, LearnerHandle, OnLearned, Outcome, Registry, Stop, Target};

#[cfg(test)]
mod proptests;
