//! The rules of one interface in final form, independent of how they are applied: the ebtables
//! chains (from the guest: `I`, to the guest: `O`, each a root chain and protocol sub-chains) and
//! the iptables/ip6tables chains (`FI` from the guest, `FO` to the guest, `HI` from the guest to
//! the host), each rule as its ebtables/iptables match arguments and target.

use crate::ebiptables::{apply_new_rules, FwCommand, Layer};
use crate::error::FilterError;
use crate::tree::RuleInst;

/// An ebtables chain: `None` is the root chain, `Some(suffix)` a sub-chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbChain {
    pub suffix: Option<String>,
    /// Each rule's arguments after `-A CHAIN`; a `-j` to a sub-chain names it by its suffix as
    /// `@SUFFIX`.
    pub rules: Vec<Vec<String>>,
}

/// The three iptables (or ip6tables) chains of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpChains {
    /// From the guest (FORWARD, `--physdev-in`).
    pub from_guest: Vec<Vec<String>>,
    /// To the guest (FORWARD, bridged `--physdev-out`).
    pub to_guest: Vec<Vec<String>>,
    /// From the guest to the host (INPUT).
    pub to_host: Vec<Vec<String>>,
}

/// All rules of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    pub ifname: String,
    /// Chains for traffic from the guest (ebtables PREROUTING), root first; empty = none.
    pub eb_from_guest: Vec<EbChain>,
    /// Chains for traffic to the guest (ebtables POSTROUTING), root first; empty = none.
    pub eb_to_guest: Vec<EbChain>,
    pub ipv4: Option<IpChains>,
    pub ipv6: Option<IpChains>,
}

impl Ruleset {
    /// Builds the rule set of `rules` on `ifname`.
    pub fn new(ifname: &str, rules: &[RuleInst]) -> Result<Self, FilterError> {
        let cmds = apply_new_rules(ifname, rules)?;
        Ok(Self::from_commands(ifname, &cmds))
    }

    /// Number of firewall rules (all layers).
    pub fn rule_count(&self) -> usize {
        let eb: usize = self
            .eb_from_guest
            .iter()
            .chain(&self.eb_to_guest)
            .map(|c| c.rules.len())
            .sum();
        let ip = |c: &Option<IpChains>| {
            c.as_ref().map_or(0, |c| {
                c.from_guest.len() + c.to_guest.len() + c.to_host.len()
            })
        };
        eb + ip(&self.ipv4) + ip(&self.ipv6)
    }

    fn from_commands(ifname: &str, cmds: &[FwCommand]) -> Self {
        let root_in = format!("libvirt-J-{ifname}");
        let root_out = format!("libvirt-P-{ifname}");
        let sub_in = format!("J-{ifname}-");
        let sub_out = format!("P-{ifname}-");
        let mut rs = Ruleset {
            ifname: ifname.to_string(),
            eb_from_guest: Vec::new(),
            eb_to_guest: Vec::new(),
            ipv4: None,
            ipv6: None,
        };
        // Which list and suffix a chain name is.
        let classify = |name: &str| -> Option<(bool, Option<String>)> {
            if name == root_in {
                Some((true, None))
            } else if name == root_out {
                Some((false, None))
            } else if let Some(s) = name.strip_prefix(&sub_in) {
                Some((true, Some(s.to_string())))
            } else {
                name.strip_prefix(&sub_out)
                    .map(|s| (false, Some(s.to_string())))
            }
        };
        for c in cmds {
            let a: Vec<&str> = c.args.iter().map(String::as_str).collect();
            match c.layer {
                Layer::Ethernet => {
                    let Some(("-t", "nat", op, chain)) =
                        (a.len() >= 4).then(|| (a[0], a[1], a[2], a[3]))
                    else {
                        continue;
                    };
                    let Some((incoming, suffix)) = classify(chain) else {
                        continue;
                    };
                    let list = if incoming {
                        &mut rs.eb_from_guest
                    } else {
                        &mut rs.eb_to_guest
                    };
                    match op {
                        "-N" if !list.iter().any(|c| c.suffix == suffix) => {
                            list.push(EbChain {
                                suffix,
                                rules: Vec::new(),
                            });
                        }
                        "-A" => {
                            let mut rule: Vec<String> =
                                a[4..].iter().map(|s| s.to_string()).collect();
                            if let Some(pos) = rule.iter().position(|x| x == "-j") {
                                if let Some(t) = rule.get(pos + 1) {
                                    if let Some((_, Some(s))) = classify(t) {
                                        rule[pos + 1] = format!("@{s}");
                                    }
                                }
                            }
                            if let Some(ch) = list.iter_mut().find(|c| c.suffix == suffix) {
                                ch.rules.push(rule);
                            }
                        }
                        _ => {}
                    }
                }
                Layer::Ipv4 | Layer::Ipv6 => {
                    if a.len() < 2 {
                        continue;
                    }
                    let slot = if c.layer == Layer::Ipv4 {
                        &mut rs.ipv4
                    } else {
                        &mut rs.ipv6
                    };
                    let chains = slot.get_or_insert_with(IpChains::default);
                    if a[0] != "-A" {
                        continue;
                    }
                    let rule: Vec<String> = a[2..].iter().map(|s| s.to_string()).collect();
                    if a[1] == format!("FJ-{ifname}") {
                        chains.from_guest.push(rule);
                    } else if a[1] == format!("FP-{ifname}") {
                        chains.to_guest.push(rule);
                    } else if a[1] == format!("HJ-{ifname}") {
                        chains.to_host.push(rule);
                    }
                }
            }
        }
        // Root chains first.
        for list in [&mut rs.eb_from_guest, &mut rs.eb_to_guest] {
            list.sort_by_key(|c| c.suffix.is_some());
        }
        rs
    }
}
