//! The wiring to the filter engine: an [`OnLearned`] that instantiates the interface's filter with
//! the learned addresses as `IP` (and `IPV6`), through [`crate::instantiate::instantiate`].

use std::net::IpAddr;
use std::sync::Arc;

use virt_xml::nwfilter::FilterRef;

use super::error::ApplyError;
use super::frame::Learned;
use super::registry::{OnLearned, Target};
use crate::instantiate::{instantiate, Backend};
use crate::tree::FilterSource;
use crate::vars::Vars;

/// Instantiates `filter` on the learner's interface once addresses are learned: the interface's
/// variables plus `IP` = the learned IPv4 addresses (and `IPV6` = the IPv6 ones, when any).
pub struct InstantiateFilter {
    pub filter: FilterRef,
    pub source: Arc<dyn FilterSource + Send + Sync>,
    /// The interface's own variables (`MAC`, ...); `IP`/`IPV6` here are replaced.
    pub vars: Vars,
    pub backend: Arc<dyn Backend>,
}

impl InstantiateFilter {
    /// The variables the filter is instantiated with for `learned`.
    pub fn vars_for(&self, learned: &[Learned]) -> Vars {
        let mut v = self.vars.clone();
        let (v4, v6): (Vec<IpAddr>, Vec<IpAddr>) =
            learned.iter().map(|l| l.addr).partition(IpAddr::is_ipv4);
        for (name, list) in [("IP", v4), ("IPV6", v6)] {
            if !list.is_empty() {
                v.insert(
                    name.to_string(),
                    list.iter().map(ToString::to_string).collect(),
                );
            }
        }
        v
    }
}

impl OnLearned for InstantiateFilter {
    fn apply(&mut self, target: &Target, learned: &[Learned]) -> Result<(), ApplyError> {
        let vars = self.vars_for(learned);
        instantiate(
            &target.ifname,
            &self.filter,
            &*self.source,
            &vars,
            &*self.backend,
        )?;
        Ok(())
    }
}
