//! What opening a NIC's host side gives, the rollback of a call that fails, and releasing a NIC.
//! The openers themselves are in [`crate::tap`], [`crate::macvtap`] and [`crate::vhost`].

use std::os::fd::OwnedFd;

use virt_audit::Auditor;
use virt_xml::status::NicHostState;
use virt_xml::MacAddr;

use crate::ifname::validate_name;
use crate::ledger::Ledger;
use crate::netlink::{Link, Netlink};
use crate::paths::DevicePaths;
use crate::{NetError, MAX_QUEUES};

/// Whether the NIC's packets are moved by the kernel (vhost-net) or by QEMU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VhostPolicy {
    /// No `<driver name=.../>`: use vhost-net when it opens, else fall back to QEMU.
    #[default]
    Auto,
    /// `<driver name='vhost'/>`: vhost-net or a clear error.
    Vhost,
    /// `<driver name='qemu'/>`: never open vhost-net.
    Qemu,
}

/// What opening a NIC's host side gave: the fds to pass to QEMU, the interface, and the record of
/// every device opened, for the guest's status.
#[derive(Debug)]
pub struct NicFds {
    /// Tap (or macvtap) fds, one per queue.
    pub tap: Vec<OwnedFd>,
    /// vhost-net fds, one per queue, or none (userspace networking).
    pub vhost: Vec<OwnedFd>,
    /// The host interface.
    pub ifname: String,
    /// The form stored in the guest's status: MAC, interface, devices with rdev and fd counts.
    pub state: NicHostState,
    ifindex: u32,
    parent_mac: Option<(u32, MacAddr)>,
}

impl NicFds {
    /// The host interface's index (in the namespace it was made in).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }
}

/// Opens NIC host sides for guests, auditing every device open.
#[derive(Debug, Clone)]
pub struct NetHost {
    pub(crate) paths: DevicePaths,
    pub(crate) auditor: Auditor,
}

/// Work in progress of one call: undone on drop unless finished.
pub(crate) struct Pending {
    pub(crate) nl: Netlink,
    pub(crate) tap: Vec<OwnedFd>,
    pub(crate) vhost: Vec<OwnedFd>,
    pub(crate) created: Option<Created>,
    /// A parent whose MAC this call changed (macvtap passthrough), with its MAC before.
    pub(crate) parent_mac: Option<(u32, MacAddr)>,
    pub(crate) done: bool,
}

pub(crate) enum Created {
    Index(u32),
    Name(String),
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.vhost.clear();
        self.tap.clear();
        match self.created.take() {
            Some(Created::Index(i)) => {
                let _ = self.nl.delete_index(i);
            }
            Some(Created::Name(n)) => {
                let _ = self.nl.delete_name(&n);
            }
            None => {}
        }
        if let Some((index, mac)) = self.parent_mac.take() {
            let _ = self.nl.set_mac(index, mac);
        }
    }
}

pub(crate) fn check_common(mac: MacAddr, queues: u32, mtu: Option<u32>) -> Result<(), NetError> {
    if mac.is_multicast() {
        return Err(NetError::MulticastMac(mac.to_string()));
    }
    if queues == 0 || queues > MAX_QUEUES {
        return Err(NetError::InvalidQueues(queues));
    }
    if let Some(m) = mtu {
        if m < 68 {
            return Err(NetError::InvalidMtu(m));
        }
    }
    Ok(())
}

pub(crate) fn lookup(nl: &mut Netlink, name: &str) -> Result<Option<Link>, NetError> {
    nl.link_by_name(name)
        .map_err(|e| e.into_net("look up link", name))
}

pub(crate) fn nl_open(name: &str) -> Result<Netlink, NetError> {
    Netlink::open().map_err(|e| e.into_net("open socket", name))
}

impl NetHost {
    /// Uses the standard device paths.
    pub fn new(auditor: Auditor) -> Self {
        Self::with_paths(auditor, DevicePaths::default())
    }

    pub fn with_paths(auditor: Auditor, paths: DevicePaths) -> Self {
        NetHost { paths, auditor }
    }

    pub fn paths(&self) -> &DevicePaths {
        &self.paths
    }
    /// Closes the NIC's fds still held here and deletes its interface (a tap kept alive by fds
    /// passed to QEMU goes too). Returns the state released: what the NIC held.
    pub fn release(&self, mut nic: NicFds) -> Result<NicHostState, NetError> {
        nic.vhost.clear();
        nic.tap.clear();
        let mut nl = nl_open(&nic.ifname)?;
        // Delete by index, after checking the index still names our interface.
        match nl.link_by_index(nic.ifindex) {
            Ok(Some(l)) if l.name == nic.ifname => match nl.delete_index(nic.ifindex) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(libc::ENODEV) => {}
                Err(e) => return Err(e.into_net("delete link", &nic.ifname)),
            },
            Ok(_) => {}
            Err(e) => return Err(e.into_net("look up link", &nic.ifname)),
        }
        if let Some((index, mac)) = nic.parent_mac.take() {
            nl.set_mac(index, mac)
                .map_err(|e| e.into_net("restore parent MAC", &nic.ifname))?;
        }
        Ok(nic.state)
    }

    /// Deletes the interface a NIC's stored state names (when the fds are no longer held here, e.g.
    /// after a restart); an interface already gone is not an error. Returns the state released.
    /// The stored state does not hold a passthrough parent's former MAC, so unlike
    /// [`release`](Self::release) this does not put it back.
    pub fn delete(&self, state: &NicHostState) -> Result<NicHostState, NetError> {
        if let Some(n) = &state.ifname {
            validate_name(n)?;
            let mut nl = nl_open(n)?;
            match nl.delete_name(n) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(libc::ENODEV) => {}
                Err(e) => return Err(e.into_net("delete link", n)),
            }
        }
        Ok(state.clone())
    }
}

pub(crate) fn finish(
    mut p: Pending,
    ledger: Ledger<'_>,
    mac: MacAddr,
    ifname: String,
    ifindex: u32,
) -> NicFds {
    p.done = true;
    let parent_mac = p.parent_mac.take();
    let tap = std::mem::take(&mut p.tap);
    let vhost = std::mem::take(&mut p.vhost);
    NicFds {
        tap,
        vhost,
        state: NicHostState {
            mac,
            ifname: Some(ifname.clone()),
            devices: ledger.into_devices(),
        },
        ifname,
        ifindex,
        parent_mac,
    }
}
