//! Putting a filter on an interface for real, and taking it off.
//!
//! ```no_run
//! use virt_nwfilter::instantiate::{instantiate, teardown, NftBackend};
//! use virt_nwfilter::tree::{vars_from, FilterSet};
//! use virt_xml::nwfilter::FilterRef;
//! # fn main() -> Result<(), virt_nwfilter::FilterError> {
//! let filters = FilterSet::load_dir("/etc/libvirt/nwfilter".as_ref())?;
//! let fref = FilterRef { filter: "clean-traffic".into(), params: Default::default() };
//! let vars = vars_from([("MAC", "52:54:00:11:22:33"), ("IP", "192.168.122.10")]);
//! let applied = instantiate("vnet0", &fref, &filters, &vars, &NftBackend)?;
//! println!("{} rules", applied.rules);
//! teardown("vnet0", &NftBackend)?;
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::ffi::CString;

use virt_xml::nwfilter::{Entry, Filter, FilterRef};

use crate::error::FilterError;
use crate::ruleset::Ruleset;
use crate::tree::{flatten, missing_variables, FilterSource};
use crate::vars::Vars;
use crate::{nft, restore};

/// A firewall that can carry interfaces' rule sets.
pub trait Backend: Send + Sync {
    /// Makes the interface carry exactly `rs` (replacing what it had), all or nothing.
    fn apply(&self, rs: &Ruleset) -> Result<(), FilterError> {
        self.apply_many(std::slice::from_ref(rs))
    }
    /// Removes everything this backend put on `ifname`; absent rules are not an error.
    fn remove(&self, ifname: &str) -> Result<(), FilterError> {
        self.remove_many(&[ifname])
    }
    /// [`Backend::apply`] for several interfaces in as few transactions as possible.
    fn apply_many(&self, sets: &[Ruleset]) -> Result<(), FilterError>;
    /// [`Backend::remove`] for several interfaces.
    fn remove_many(&self, ifnames: &[&str]) -> Result<(), FilterError>;
    /// A short name ("nftables", "ebiptables").
    fn name(&self) -> &'static str;
}

/// nftables: per interface a `bridge` and an `inet` table, replaced in one `nft -f` transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct NftBackend;

fn ifindex(ifname: &str) -> u32 {
    match CString::new(ifname) {
        // SAFETY: a valid NUL-terminated string; if_nametoindex only reads it.
        Ok(c) => unsafe { libc::if_nametoindex(c.as_ptr()) },
        Err(_) => 0,
    }
}

impl Backend for NftBackend {
    fn apply_many(&self, sets: &[Ruleset]) -> Result<(), FilterError> {
        let mut batch = String::new();
        for rs in sets {
            batch.push_str(&nft::batch(&rs.ifname, Some(rs), ifindex(&rs.ifname))?);
        }
        nft::run_batch(&batch)
    }

    fn remove_many(&self, ifnames: &[&str]) -> Result<(), FilterError> {
        let mut batch = String::new();
        for i in ifnames {
            batch.push_str(&nft::batch(i, None, 0)?);
        }
        nft::run_batch(&batch)
    }

    fn name(&self) -> &'static str {
        "nftables"
    }
}

/// ebtables + iptables + ip6tables, the chains libvirt makes, written with one `*-restore`
/// batch per tool.
#[derive(Debug, Clone, Copy, Default)]
pub struct EbIptablesBackend;

fn merge(parts: Vec<[Option<String>; 3]>) -> [Option<String>; 3] {
    let mut out: [Option<String>; 3] = [None, None, None];
    for p in parts {
        for (i, b) in p.into_iter().enumerate() {
            let Some(b) = b else { continue };
            let mut lines: Vec<&str> = b.lines().collect();
            let header = lines.first().map(|s| s.to_string()).unwrap_or_default();
            lines.retain(|l| !l.starts_with('*') && *l != "COMMIT");
            let slot = out[i].get_or_insert_with(|| format!("{header}\n"));
            for l in lines {
                // The shared chains are created once.
                if l.starts_with("-N libvirt-") && slot.contains(&format!("{l}\n")) {
                    continue;
                }
                if (l.starts_with("-I FORWARD") || l.starts_with("-I INPUT"))
                    && slot.contains(&format!("{l}\n"))
                {
                    continue;
                }
                slot.push_str(l);
                slot.push('\n');
            }
        }
    }
    for s in out.iter_mut().flatten() {
        s.push_str("COMMIT\n");
    }
    out
}

impl Backend for EbIptablesBackend {
    fn apply_many(&self, sets: &[Ruleset]) -> Result<(), FilterError> {
        let saved = restore::Saved::read()?;
        let mut parts = Vec::new();
        for rs in sets {
            parts.push(restore::batches(&rs.ifname, &saved, Some(rs))?);
        }
        restore::run_batches(&merge(parts))
    }

    fn remove_many(&self, ifnames: &[&str]) -> Result<(), FilterError> {
        let saved = restore::Saved::read()?;
        let mut parts = Vec::new();
        for i in ifnames {
            parts.push(restore::batches(i, &saved, None)?);
        }
        restore::run_batches(&merge(parts))
    }

    fn name(&self) -> &'static str {
        "ebiptables"
    }
}

/// What was put on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub ifname: String,
    /// Firewall rules installed.
    pub rules: usize,
    /// The variables the rules were made with.
    pub variables: Vars,
    pub ruleset: Ruleset,
}

/// The variables an interface's filter sees: the `<filterref>` parameters, overridden by the
/// interface's own (`MAC`, `IP`, ...).
pub fn interface_vars(filter: &FilterRef, iface: &Vars) -> Vars {
    let mut v = filter.params.clone();
    for (k, val) in iface {
        v.insert(k.clone(), val.clone());
    }
    v
}

/// The filter tree of an interface's `<filterref>`: a root whose only entry is the reference.
fn root_of(filter: &FilterRef) -> Filter {
    Filter {
        name: format!("(interface:{})", filter.filter),
        uuid: virt_xml::Uuid([0; 16]),
        chain: "root".into(),
        chain_priority: 0,
        entries: vec![Entry::Ref(filter.clone())],
    }
}

/// The variables the interface's filter needs and neither its parameters nor `iface` give
/// (for `clean-traffic`: `IP` until it is learned).
pub fn missing_for(
    filter: &FilterRef,
    source: &dyn FilterSource,
    iface: &Vars,
) -> Result<BTreeSet<String>, FilterError> {
    let given: BTreeSet<String> = iface.keys().cloned().collect();
    missing_variables(&root_of(filter), source, &given)
}

/// The rule set `filter` gives on `ifname` with the interface's variables.
pub fn ruleset_for(
    ifname: &str,
    filter: &FilterRef,
    source: &dyn FilterSource,
    iface: &Vars,
) -> Result<Ruleset, FilterError> {
    let missing = missing_for(filter, source, iface)?;
    if let Some(first) = missing.into_iter().next() {
        return Err(FilterError::MissingVariable(first));
    }
    let rules = flatten(&root_of(filter), source, iface)?;
    Ruleset::new(ifname, &rules)
}

/// Instantiates `filter` on `ifname` with the interface's variables (`MAC`, `IP`, ...) through
/// `backend`, replacing whatever the interface had. Fails, changing nothing, when a variable is
/// missing or the backend refuses.
pub fn instantiate(
    ifname: &str,
    filter: &FilterRef,
    source: &dyn FilterSource,
    iface: &Vars,
    backend: &dyn Backend,
) -> Result<Applied, FilterError> {
    let ruleset = ruleset_for(ifname, filter, source, iface)?;
    backend.apply(&ruleset)?;
    Ok(Applied {
        ifname: ifname.to_string(),
        rules: ruleset.rule_count(),
        variables: iface.clone(),
        ruleset,
    })
}

/// Removes all filter rules of `ifname` from `backend`'s firewall.
pub fn teardown(ifname: &str, backend: &dyn Backend) -> Result<(), FilterError> {
    backend.remove(ifname)
}

/// Every variable the interface's filter tree needs from the interface (those no `<filterref>`
/// parameter supplies).
pub fn required_for(
    filter: &FilterRef,
    source: &dyn FilterSource,
) -> Result<BTreeSet<String>, FilterError> {
    missing_variables(&root_of(filter), source, &BTreeSet::new())
}

/// The variables `new` needs from the interface that `old` did not: a filter update that adds
/// any while the interface's IP address is still being learned should be refused.
pub fn added_variables(
    old: &FilterRef,
    new: &FilterRef,
    source: &dyn FilterSource,
) -> Result<BTreeSet<String>, FilterError> {
    let before = required_for(old, source)?;
    Ok(required_for(new, source)?
        .into_iter()
        .filter(|v| !before.contains(v))
        .collect())
}
