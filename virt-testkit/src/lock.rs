//! Host-wide advisory locks (flock on a file under /run or the temp dir), for tests in different
//! processes that share one kernel facility, such as the single audit daemon.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// Held until dropped.
#[derive(Debug)]
pub struct HostLock {
    _file: File,
}

/// Blocks until the named host-wide lock is held.
pub fn host_lock(name: &str) -> std::io::Result<HostLock> {
    let dir = if PathBuf::from("/run").is_dir() && nix::unistd::geteuid().is_root() {
        PathBuf::from("/run")
    } else {
        std::env::temp_dir()
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("virt-testkit-{name}.lock")))?;
    // SAFETY: flock on a descriptor we own; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(HostLock { _file: file })
}
