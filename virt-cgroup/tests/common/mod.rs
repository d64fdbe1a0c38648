//! Helpers for the system tests: a child process that opens device nodes on command, and a guard
//! that always removes the test's cgroups.

#![allow(dead_code)]

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use virt_cgroup::{CgroupHost, GuestCgroup};

/// A forked child that, for each byte `i` it reads, opens `paths[i]` read-only and answers one
/// byte: 0 on success, else the errno. Between fork and exit it only makes raw system calls.
pub struct Prober {
    pub pid: u32,
    cmd: OwnedFd,
    res: OwnedFd,
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills two fds on success.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both fds are fresh and owned here.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

impl Prober {
    pub fn spawn(paths: &[&str]) -> Prober {
        let cpaths: Vec<CString> = paths.iter().map(|p| CString::new(*p).unwrap()).collect();
        let ptrs: Vec<*const libc::c_char> = cpaths.iter().map(|c| c.as_ptr()).collect();
        let (cmd_r, cmd_w) = pipe();
        let (res_r, res_w) = pipe();
        // SAFETY: the child only calls read/open/close/write/_exit, all async-signal-safe, on
        // memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let cr = cmd_r.as_raw_fd();
            let rw = res_w.as_raw_fd();
            // Drop every other inherited fd (other tests' BPF programs and maps among them), so
            // this child never keeps another test's kernel objects alive.
            for fd in 3..4096 {
                if fd != cr && fd != rw {
                    // SAFETY: closing descriptors in the child only.
                    unsafe { libc::close(fd) };
                }
            }
            loop {
                let mut b = 0u8;
                // SAFETY: one byte into a local.
                let n = unsafe { libc::read(cr, &mut b as *mut u8 as *mut libc::c_void, 1) };
                if n != 1 || usize::from(b) >= ptrs.len() {
                    // SAFETY: leaving the child without running any destructor.
                    unsafe { libc::_exit(0) };
                }
                // SAFETY: ptrs[b] is a NUL-terminated path made before the fork.
                let fd =
                    unsafe { libc::open(ptrs[usize::from(b)], libc::O_RDONLY | libc::O_CLOEXEC) };
                let res: u8 = if fd >= 0 {
                    // SAFETY: fd was just opened by this process.
                    unsafe { libc::close(fd) };
                    0
                } else {
                    // SAFETY: errno of this thread.
                    unsafe { *libc::__errno_location() as u8 }
                };
                // SAFETY: one byte from a local.
                unsafe { libc::write(rw, &res as *const u8 as *const libc::c_void, 1) };
            }
        }
        drop(cmd_r);
        drop(res_w);
        Prober {
            pid: pid as u32,
            cmd: cmd_w,
            res: res_r,
        }
    }

    /// Asks the child to open `paths[i]`: 0 on success, else the errno.
    pub fn open(&self, i: u8) -> i32 {
        // SAFETY: one byte to/from locals on fds we own.
        unsafe {
            assert_eq!(
                libc::write(
                    self.cmd.as_raw_fd(),
                    &i as *const u8 as *const libc::c_void,
                    1
                ),
                1
            );
            let mut b = 0u8;
            assert_eq!(
                libc::read(
                    self.res.as_raw_fd(),
                    &mut b as *mut u8 as *mut libc::c_void,
                    1
                ),
                1
            );
            i32::from(b)
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        // SAFETY: signalling and reaping our own child.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(self.pid as i32, &mut status, 0);
        }
    }
}

/// Removes the guest cgroup (if still there) and the test's partition, always.
pub struct Cleanup {
    pub host: CgroupHost,
    pub partition: String,
    pub cg: Option<GuestCgroup>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut cg) = self.cg.take() {
            if let Err(e) = cg.remove(Duration::from_secs(2)) {
                eprintln!("cleanup: {e}");
            }
        }
        if let Err(e) = self.host.remove_partition(&self.partition) {
            eprintln!("cleanup: {e}");
        }
    }
}

pub fn test_uuid() -> [u8; 16] {
    [
        0x4d, 0xea, 0x22, 0xb3, 0x1d, 0x52, 0xd8, 0xf3, 0x2b, 0x0a, 0x1f, 0x4c, 0x3e, 0x5a, 0x1f,
        0x7e,
    ]
}
