//! Network filters and the IP-address learner.
//!
//! - [`tree`]: a filter and the filters it references, flattened into rule instances with their
//!   variables; which variables a tree needs.
//! - [`vars`]: variable values and the iteration over them.
//! - [`ebiptables`]: rule instances -> the ebtables/iptables/ip6tables commands libvirt 9.0 runs.
//! - [`ruleset`]: an interface's rules in final form; [`nft`] (nftables, one transaction per
//!   interface, in-process through libnftables when present) and [`restore`] (ebtables/iptables
//!   `*-restore` batches) apply them.
//! - [`instantiate`]: the entry points: [`instantiate::instantiate`], [`instantiate::teardown`],
//!   [`instantiate::missing_for`], [`instantiate::added_variables`] and the [`instantiate::Backend`]s.
//! - [`conformance`]: the check against libvirt's `nwfilterxml2firewalltest` data.
//! - [`learner`]: the IP-address learner.

pub mod conformance;
pub mod ebiptables;
pub mod error;
pub mod instantiate;
pub mod learner;
pub mod nft;
mod nftlib;
pub mod restore;
pub mod ruleset;
pub mod tree;
pub mod vars;

pub use error::FilterError;
