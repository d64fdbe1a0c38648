//! Network namespaces made for one test and always removed.

use std::fs::File;
use std::os::fd::AsFd;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A named network namespace (`ip netns add`), deleted on drop.
#[derive(Debug)]
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Makes `PREFIX-PID-N`; the name stays short enough for interface-name rules elsewhere.
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}-{}-{n}", std::process::id());
        let out = Command::new("ip").args(["netns", "add", &name]).output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(format!(
                "ip netns add {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let ns = NetNs { name };
        ns.exec_ok(&["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/run/netns/NAME`.
    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// Runs a command inside the namespace (`ip netns exec`).
    pub fn exec(&self, argv: &[&str]) -> std::io::Result<Output> {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(argv)
            .output()
    }

    /// [`exec`](Self::exec), failing on a non-zero exit with its standard error.
    pub fn exec_ok(&self, argv: &[&str]) -> std::io::Result<String> {
        let out = self.exec(argv)?;
        if !out.status.success() {
            return Err(std::io::Error::other(format!(
                "in netns {}: {:?}: {}",
                self.name,
                argv,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A command builder that runs inside the namespace, for programs left running (dnsmasq, dhclient).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Moves the calling thread into the namespace until the guard drops (then back to where it was).
    /// Sockets, taps and netlink handles made meanwhile belong to this namespace.
    pub fn enter(&self) -> std::io::Result<NsGuard> {
        let original = File::open("/proc/thread-self/ns/net")?;
        let target = File::open(self.path())?;
        nix::sched::setns(target.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(std::io::Error::from)?;
        Ok(NsGuard { original })
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .output();
    }
}

/// Returns the thread to its original network namespace on drop.
#[derive(Debug)]
pub struct NsGuard {
    original: File,
}

impl Drop for NsGuard {
    fn drop(&mut self) {
        let _ = nix::sched::setns(self.original.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET);
    }
}
