//! A macvtap for a `direct` guest NIC: made on a parent by netlink, opened through `/dev/tapN`.

use std::collections::HashSet;
use std::os::fd::AsFd;
use std::path::Path;

use virt_audit::VmIdentity;
use virt_xml::MacAddr;

use crate::ifname::{validate_name, IfName};
use crate::ledger::Ledger;
use crate::netlink::MacvtapMode;
use crate::nic::{check_common, finish, lookup, nl_open, Created, Pending};
use crate::tun;
use crate::{NetError, NetHost, NicFds, VhostPolicy};

/// How many numbers a template (and how many indexes a name) is tried with before giving up.
const MAX_TEMPLATE_TRIES: u32 = 8192;

/// A macvtap for a `direct` guest NIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacvtapConfig {
    /// An exact name or a template (`macvtap%d`).
    pub name: IfName,
    /// The guest's MAC, which the macvtap takes as its own.
    pub mac: MacAddr,
    /// The host interface the macvtap sits on.
    pub parent: String,
    pub mode: MacvtapMode,
    /// Queues: `/dev/tapN` is opened once per queue.
    pub queues: u32,
    pub vnet_hdr: bool,
    pub mtu: Option<u32>,
}

impl MacvtapConfig {
    /// `macvtap%d`, one queue, no vnet header.
    pub fn new(mac: MacAddr, parent: impl Into<String>, mode: MacvtapMode) -> Self {
        MacvtapConfig {
            name: IfName::macvtap_default(),
            mac,
            parent: parent.into(),
            mode,
            queues: 1,
            vnet_hdr: false,
            mtu: None,
        }
    }
}

impl NetHost {
    /// Creates a macvtap on `cfg.parent` in the calling thread's network namespace, brings it up,
    /// opens its `/dev/tapN` once per queue and vhost-net as `vhost` says, each open audited. On
    /// error, everything this call opened is closed and the macvtap is deleted.
    pub fn open_macvtap(
        &self,
        vm: &VmIdentity,
        cfg: &MacvtapConfig,
        vhost: VhostPolicy,
    ) -> Result<NicFds, NetError> {
        cfg.name.validate()?;
        validate_name(&cfg.parent)?;
        check_common(cfg.mac, cfg.queues, cfg.mtu)?;
        let mut p = Pending {
            nl: nl_open(cfg.name.as_str())?,
            tap: Vec::new(),
            vhost: Vec::new(),
            created: None,
            parent_mac: None,
            done: false,
        };
        let parent = lookup(&mut p.nl, &cfg.parent)?
            .ok_or_else(|| NetError::ParentMissing(cfg.parent.clone()))?;

        // The macvtap's node is `/dev/tap<ifindex>`, named in one devtmpfs for every namespace:
        // pick an index whose node does not exist yet, so the node made is ours.
        let links =
            p.nl.links()
                .map_err(|e| e.into_net("list links", cfg.name.as_str()))?;
        let taken: HashSet<String> = links.iter().map(|l| l.name.clone()).collect();
        let used: HashSet<u32> = links.iter().map(|l| l.index).collect();
        let mut index = links.iter().map(|l| l.index).max().unwrap_or(0) + 1;
        let prefix = self.paths.macvtap_prefix.clone();
        let mut create = |p: &mut Pending, name: &str| -> Result<bool, NetError> {
            for _ in 0..MAX_TEMPLATE_TRIES {
                while used.contains(&index) || Path::new(&format!("{prefix}{index}")).exists() {
                    index += 1;
                }
                match p
                    .nl
                    .new_macvtap(name, index, parent.index, cfg.mode, cfg.mac)
                {
                    Ok(()) => return Ok(true),
                    Err(e) if e.errno() == Some(libc::EEXIST) => return Ok(false),
                    Err(e) if e.errno() == Some(libc::EBUSY) => index += 1,
                    Err(e) => return Err(e.into_net("create macvtap", name)),
                }
            }
            Err(e_busy(name))
        };
        let ifname = match &cfg.name {
            IfName::Exact(n) => {
                if !create(&mut p, n)? {
                    return Err(NetError::NameInUse(n.clone()));
                }
                n.clone()
            }
            IfName::Template(t) => {
                let mut made = None;
                for n in 0..MAX_TEMPLATE_TRIES {
                    let cand = cfg.name.instantiate(n);
                    if cand.len() > crate::ifname::IFNAME_MAX {
                        break;
                    }
                    if !taken.contains(&cand) && create(&mut p, &cand)? {
                        made = Some(cand);
                        break;
                    }
                }
                made.ok_or_else(|| NetError::NoFreeName(t.clone()))?
            }
        };
        p.created = Some(Created::Name(ifname.clone()));
        let link = lookup(&mut p.nl, &ifname)?.ok_or_else(|| NetError::Netlink {
            op: "look up new macvtap",
            ifname: ifname.clone(),
            source: std::io::Error::from_raw_os_error(libc::ENODEV),
            detail: None,
        })?;
        let ifindex = link.index;
        p.created = Some(Created::Index(ifindex));
        if cfg.mode == MacvtapMode::Passthrough {
            // A passthrough macvtap takes its parent's MAC; setting the guest's on it sets the
            // parent's too. The parent's own MAC is put back on release (or rollback).
            if let Some(orig) = parent.mac {
                p.parent_mac = Some((parent.index, MacAddr(orig)));
            }
            p.nl.set_mac(ifindex, cfg.mac)
                .map_err(|e| e.into_net("set MAC", &ifname))?;
        }
        if let Some(mtu) = cfg.mtu {
            p.nl.set_mtu(ifindex, mtu)
                .map_err(|e| e.into_net("set MTU", &ifname))?;
        }
        p.nl.set_up(ifindex)
            .map_err(|e| e.into_net("set link up", &ifname))?;

        let mut ledger = Ledger::new(&self.auditor, vm, cfg.mac);
        let path = std::path::PathBuf::from(format!("{}{}", self.paths.macvtap_prefix, ifindex));
        let shown = path.to_string_lossy().into_owned();
        let mut flags = tun::IFF_TAP | tun::IFF_NO_PI;
        if cfg.vnet_hdr {
            flags |= tun::IFF_VNET_HDR;
        }
        for _ in 0..cfg.queues {
            wait_for_node(&path);
            let fd = ledger.open(&path)?;
            let ioctl_err = |op, e| NetError::Ioctl {
                op,
                path: shown.clone(),
                ifname: ifname.clone(),
                source: e,
            };
            // The node must be this macvtap's, not a namesake's from another namespace.
            let (found, _) = tun::get_iff(fd.as_fd()).map_err(|e| ioctl_err("TUNGETIFF", e))?;
            let hw = tun::get_hwaddr(fd.as_fd()).map_err(|e| ioctl_err("SIOCGIFHWADDR", e))?;
            if found != ifname || hw != cfg.mac.0 {
                return Err(NetError::TapMismatch {
                    path: shown,
                    ifname,
                    found: format!("{found} ({})", MacAddr(hw)),
                });
            }
            tun::set_iff(fd.as_fd(), "", flags).map_err(|e| ioctl_err("TUNSETIFF", e))?;
            p.tap.push(fd);
        }

        p.vhost = self.open_vhost(&mut ledger, cfg.queues, vhost)?;
        Ok(finish(p, ledger, cfg.mac, ifname, ifindex))
    }
}

fn e_busy(name: &str) -> NetError {
    NetError::Netlink {
        op: "create macvtap",
        ifname: name.to_string(),
        source: std::io::Error::from_raw_os_error(libc::EBUSY),
        detail: Some("no free interface index".into()),
    }
}

/// devtmpfs makes a macvtap's node as the link is registered; a udev-managed `/dev` may lag a
/// little. Waits at most about a second for `path` to appear.
fn wait_for_node(path: &std::path::Path) {
    for _ in 0..50 {
        if path.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
