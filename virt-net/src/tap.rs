//! A tap for a guest NIC: made through the tun device, one fd per queue.

use std::os::fd::AsFd;

use virt_audit::VmIdentity;
use virt_xml::MacAddr;

use crate::ifname::{validate_name, IfName};
use crate::ledger::Ledger;
use crate::nic::{check_common, finish, lookup, nl_open, Created, Pending};
use crate::tun;
use crate::{NetError, NetHost, NicFds, VhostPolicy};

/// `IFF_TUN_EXCL`: `TUNSETIFF` fails with `EBUSY` rather than attach to an existing tap.
const IFF_TUN_EXCL: i16 = 0x8000_u16 as i16;

/// A tap for a guest NIC (`<interface type='bridge'|'network'|'ethernet'>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapConfig {
    /// An exact name (must not exist) or a template (`vnet%d`).
    pub name: IfName,
    /// The guest's MAC; the tap gets the host-side form (first byte 0xFE).
    pub mac: MacAddr,
    /// Queues, one tap fd (and one vhost-net fd) each; more than one makes a multiqueue tap.
    pub queues: u32,
    /// `IFF_VNET_HDR`: each frame read or written carries a `virtio_net_hdr`.
    pub vnet_hdr: bool,
    /// The tap outlives its fds (until deleted).
    pub persistent: bool,
    /// The MTU; with a bridge and no MTU given, the bridge's MTU is used.
    pub mtu: Option<u32>,
    /// A Linux bridge to attach the tap to.
    pub bridge: Option<String>,
}

impl TapConfig {
    /// `vnet%d`, one queue, no vnet header, not persistent, no MTU, no bridge.
    pub fn new(mac: MacAddr) -> Self {
        TapConfig {
            name: IfName::tap_default(),
            mac,
            queues: 1,
            vnet_hdr: false,
            persistent: false,
            mtu: None,
            bridge: None,
        }
    }
}

impl NetHost {
    /// Creates a tap in the calling thread's network namespace, opens it once per queue through the
    /// tun device, sets its host-side MAC, MTU and bridge, brings it up, and opens vhost-net as
    /// `vhost` says. Each open is audited for `vm` and the guest MAC. On error, everything this call
    /// opened is closed and the tap is gone.
    pub fn open_tap(
        &self,
        vm: &VmIdentity,
        cfg: &TapConfig,
        vhost: VhostPolicy,
    ) -> Result<NicFds, NetError> {
        cfg.name.validate()?;
        check_common(cfg.mac, cfg.queues, cfg.mtu)?;
        if let Some(b) = &cfg.bridge {
            validate_name(b)?;
        }
        let mut p = Pending {
            nl: nl_open(cfg.name.as_str())?,
            tap: Vec::new(),
            vhost: Vec::new(),
            created: None,
            parent_mac: None,
            done: false,
        };
        let bridge = match &cfg.bridge {
            Some(b) => {
                let l = lookup(&mut p.nl, b)?.ok_or_else(|| NetError::BridgeMissing(b.clone()))?;
                if !l.is_bridge() {
                    return Err(NetError::NotABridge(b.clone()));
                }
                Some(l)
            }
            None => None,
        };
        if let IfName::Exact(n) = &cfg.name {
            if lookup(&mut p.nl, n)?.is_some() {
                return Err(NetError::NameInUse(n.clone()));
            }
        }

        let mut ledger = Ledger::new(&self.auditor, vm, cfg.mac);
        let mut flags = tun::IFF_TAP | tun::IFF_NO_PI;
        if cfg.vnet_hdr {
            flags |= tun::IFF_VNET_HDR;
        }
        if cfg.queues > 1 {
            flags |= tun::IFF_MULTI_QUEUE;
        }
        let tun_path = self.paths.tun.to_string_lossy().into_owned();
        let mut ifname = cfg.name.as_str().to_string();
        let mut ifindex = 0;
        for q in 0..cfg.queues {
            let fd = ledger.open(&self.paths.tun)?;
            let first = q == 0;
            let f = if first && matches!(cfg.name, IfName::Exact(_)) {
                flags | IFF_TUN_EXCL
            } else {
                flags
            };
            let got = tun::set_iff(fd.as_fd(), &ifname, f).map_err(|e| {
                if first && e.raw_os_error() == Some(libc::EBUSY) {
                    NetError::NameInUse(ifname.clone())
                } else {
                    NetError::Ioctl {
                        op: "TUNSETIFF",
                        path: tun_path.clone(),
                        ifname: ifname.clone(),
                        source: e,
                    }
                }
            })?;
            p.tap.push(fd);
            if first {
                ifname = got;
                // The tap exists while our fd holds it, so the name is ours to look up.
                let l = lookup(&mut p.nl, &ifname)?.ok_or_else(|| NetError::Netlink {
                    op: "look up new tap",
                    ifname: ifname.clone(),
                    source: std::io::Error::from_raw_os_error(libc::ENODEV),
                    detail: None,
                })?;
                ifindex = l.index;
                p.created = Some(Created::Index(ifindex));
            }
        }
        if cfg.persistent {
            if let Some(fd) = p.tap.first() {
                tun::set_persist(fd.as_fd(), true).map_err(|e| NetError::Ioctl {
                    op: "TUNSETPERSIST",
                    path: tun_path.clone(),
                    ifname: ifname.clone(),
                    source: e,
                })?;
            }
        }

        let nl = &mut p.nl;
        nl.set_mac(ifindex, cfg.mac.host_side())
            .map_err(|e| e.into_net("set MAC", &ifname))?;
        if let Some(b) = &bridge {
            nl.set_master(ifindex, b.index)
                .map_err(|e| e.into_net("attach to bridge", &ifname))?;
        }
        if let Some(mtu) = cfg.mtu.or(bridge.as_ref().and_then(|b| b.mtu)) {
            nl.set_mtu(ifindex, mtu)
                .map_err(|e| e.into_net("set MTU", &ifname))?;
        }
        nl.set_up(ifindex)
            .map_err(|e| e.into_net("set link up", &ifname))?;

        p.vhost = self.open_vhost(&mut ledger, cfg.queues, vhost)?;
        Ok(finish(p, ledger, cfg.mac, ifname, ifindex))
    }
}
