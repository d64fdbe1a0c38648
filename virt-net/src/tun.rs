//! The tun/tap character-device ioctls (also understood by macvtap's `/dev/tapN`).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

pub const IFF_TAP: i16 = 0x0002;
pub const IFF_NO_PI: i16 = 0x1000;
pub const IFF_MULTI_QUEUE: i16 = 0x0100;
pub const IFF_VNET_HDR: i16 = 0x4000;

// _IOW('T', 202, int), _IOW('T', 203, int), _IOR('T', 210, unsigned int).
const TUNSETIFF: u64 = 0x4004_54ca;
const TUNSETPERSIST: u64 = 0x4004_54cb;
const TUNGETIFF: u64 = 0x8004_54d2;
const SIOCGIFHWADDR: u64 = 0x8927;

/// `struct ifreq` as the tun ioctls use it: the name and the flags word of the union.
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    flags: libc::c_short,
    rest: [u8; 22],
}

impl IfReq {
    fn new(name: &str, flags: i16) -> IfReq {
        let mut r = IfReq {
            name: [0; 16],
            flags,
            rest: [0; 22],
        };
        let b = name.as_bytes();
        let n = b.len().min(15);
        r.name[..n].copy_from_slice(&b[..n]);
        r
    }

    fn name(&self) -> String {
        let end = self.name.iter().position(|b| *b == 0).unwrap_or(16);
        String::from_utf8_lossy(&self.name[..end]).into_owned()
    }
}

fn ioctl(fd: BorrowedFd<'_>, req: u64, arg: *mut libc::c_void) -> io::Result<()> {
    // SAFETY: fd is a valid open descriptor; `arg` points to storage of the size the request expects
    // (an `IfReq` or an int), live for the duration of the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req as _, arg) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `TUNSETIFF`: attaches the fd to interface `name` (a template with `%d` lets the kernel choose)
/// with `flags`; returns the interface's actual name.
pub fn set_iff(fd: BorrowedFd<'_>, name: &str, flags: i16) -> io::Result<String> {
    let mut r = IfReq::new(name, flags);
    ioctl(fd, TUNSETIFF, (&mut r as *mut IfReq).cast())?;
    Ok(r.name())
}

/// `TUNGETIFF`: the interface the fd is attached to, and its flags.
pub fn get_iff(fd: BorrowedFd<'_>) -> io::Result<(String, i16)> {
    let mut r = IfReq::new("", 0);
    ioctl(fd, TUNGETIFF, (&mut r as *mut IfReq).cast())?;
    Ok((r.name(), r.flags))
}

/// `SIOCGIFHWADDR` (macvtap fds): the MAC address of the interface the fd belongs to.
pub fn get_hwaddr(fd: BorrowedFd<'_>) -> io::Result<[u8; 6]> {
    let mut r = IfReq::new("", 0);
    ioctl(fd, SIOCGIFHWADDR, (&mut r as *mut IfReq).cast())?;
    // `ifr_hwaddr` is a sockaddr: family (2 bytes, where `flags` sits), then the address.
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&r.rest[..6]);
    Ok(mac)
}

/// `TUNSETPERSIST`: whether the tap outlives its last fd.
pub fn set_persist(fd: BorrowedFd<'_>, persist: bool) -> io::Result<()> {
    // The kernel reads the argument as an integer value, not through a pointer.
    let v = usize::from(persist);
    ioctl(fd, TUNSETPERSIST, v as *mut libc::c_void)
}
