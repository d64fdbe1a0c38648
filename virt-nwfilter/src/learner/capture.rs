//! Live capture: an AF_PACKET socket bound to one interface, with the guest-MAC BPF program
//! attached in the kernel before the socket is bound (so no unfiltered frame is ever queued).
//!
//! Interface ioctls (index, name, flags) go through the capture's own socket, so they act in the
//! network namespace the socket was made in, whichever thread later uses it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use virt_xml::MacAddr;

use super::bpf;
use super::error::LearnError;

const SIOCGIFNAME: libc::c_ulong = 0x8910;
const SIOCGIFFLAGS: libc::c_ulong = 0x8913;
const SIOCSIFFLAGS: libc::c_ulong = 0x8914;
const SIOCGIFINDEX: libc::c_ulong = 0x8933;
const IFF_UP: i16 = 0x1;

/// `struct ifreq`: the name, then a union (index or flags here) padded to 24 bytes.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    data: [u8; 24],
}

impl IfReq {
    fn named(name: &str) -> Self {
        let mut r = IfReq {
            name: [0; libc::IFNAMSIZ],
            data: [0; 24],
        };
        let b = name.as_bytes();
        r.name[..b.len()].copy_from_slice(b);
        r
    }
}

/// Checks a Linux interface name: 1..=15 bytes, no '/', ':', NUL or whitespace.
pub fn check_ifname(name: &str) -> Result<(), LearnError> {
    let ok = !name.is_empty()
        && name.len() < libc::IFNAMSIZ
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace());
    if ok {
        Ok(())
    } else {
        Err(LearnError::BadInterfaceName(name.to_string()))
    }
}

/// An AF_PACKET socket that receives only frames from or to one MAC on one interface.
#[derive(Debug)]
pub struct Capture {
    fd: OwnedFd,
    dev: String,
    ifindex: i32,
    mac: MacAddr,
}

impl Capture {
    /// Opens the capture on `dev` (the tap; for macvtap its parent) for guest `mac`, in the calling
    /// thread's network namespace.
    pub fn open(dev: &str, mac: MacAddr) -> Result<Capture, LearnError> {
        check_ifname(dev)?;
        let io_err = |op: &'static str| {
            let source = io::Error::last_os_error();
            LearnError::Io {
                ifname: dev.to_string(),
                op,
                source,
            }
        };
        // Protocol 0: the socket receives nothing until bound, after the filter is in place.
        // SAFETY: plain socket(2); the result is checked and owned right away.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if raw < 0 {
            return Err(io_err("socket(AF_PACKET)"));
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let prog: Vec<libc::sock_filter> = bpf::guest_filter(mac)
            .into_iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `fprog` points at `prog`, alive for the call; the kernel copies the program.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&fprog as *const libc::sock_fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io_err("attaching the BPF filter (SO_ATTACH_FILTER)"));
        }
        let ifindex = index_of(fd.as_raw_fd(), dev)
            .map_err(|source| LearnError::Io {
                ifname: dev.to_string(),
                op: "SIOCGIFINDEX",
                source,
            })?
            .ok_or_else(|| LearnError::NoSuchInterface(dev.to_string()))?;
        // SAFETY: zeroed sockaddr_ll is a valid value; fields set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex;
        // SAFETY: `sll` is a valid sockaddr_ll of the size passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io_err("bind(AF_PACKET)"));
        }
        Ok(Capture {
            fd,
            dev: dev.to_string(),
            ifindex,
            mac,
        })
    }

    /// The interface listened on.
    pub fn dev(&self) -> &str {
        &self.dev
    }

    pub fn ifindex(&self) -> i32 {
        self.ifindex
    }

    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Receives one frame into `buf` without blocking: `Ok(None)` when none is queued.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(None),
            _ => Err(e),
        }
    }

    /// Takes (and clears) the socket's pending error, e.g. ENETDOWN after the interface went down.
    pub fn take_error(&self) -> Option<io::Error> {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `v`/`len` are valid for the int-sized option.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        (rc == 0 && v != 0).then(|| io::Error::from_raw_os_error(v))
    }

    /// The index of interface `name` in the capture's namespace (`None`: no such interface).
    pub fn index_of(&self, name: &str) -> io::Result<Option<i32>> {
        index_of(self.fd.as_raw_fd(), name)
    }

    /// `true` while the listened interface still exists with the index it had when opened.
    pub fn still_there(&self) -> io::Result<bool> {
        Ok(self.name_of(self.ifindex)?.as_deref() == Some(self.dev.as_str()))
    }

    /// The name of interface `index` (`None`: no such interface).
    pub fn name_of(&self, index: i32) -> io::Result<Option<String>> {
        let mut r = IfReq::named("");
        r.data[..4].copy_from_slice(&index.to_ne_bytes());
        match ioctl(self.fd.as_raw_fd(), SIOCGIFNAME, &mut r) {
            Ok(()) => {
                let end = r.name.iter().position(|&b| b == 0).unwrap_or(r.name.len());
                Ok(Some(String::from_utf8_lossy(&r.name[..end]).into_owned()))
            }
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Brings interface `name` down (clears IFF_UP), in the capture's namespace.
    pub fn set_link_down(&self, name: &str) -> io::Result<()> {
        check_ifname(name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let mut r = IfReq::named(name);
        ioctl(self.fd.as_raw_fd(), SIOCGIFFLAGS, &mut r)?;
        let flags = i16::from_ne_bytes([r.data[0], r.data[1]]) & !IFF_UP;
        r.data[..2].copy_from_slice(&flags.to_ne_bytes());
        ioctl(self.fd.as_raw_fd(), SIOCSIFFLAGS, &mut r)
    }

    /// `true` when interface `name` is administratively up.
    pub fn is_up(&self, name: &str) -> io::Result<bool> {
        check_ifname(name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let mut r = IfReq::named(name);
        ioctl(self.fd.as_raw_fd(), SIOCGIFFLAGS, &mut r)?;
        Ok(i16::from_ne_bytes([r.data[0], r.data[1]]) & IFF_UP != 0)
    }
}

fn index_of(fd: RawFd, name: &str) -> io::Result<Option<i32>> {
    if check_ifname(name).is_err() {
        return Ok(None);
    }
    let mut r = IfReq::named(name);
    match ioctl(fd, SIOCGIFINDEX, &mut r) {
        Ok(()) => Ok(Some(i32::from_ne_bytes([
            r.data[0], r.data[1], r.data[2], r.data[3],
        ]))),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

fn ioctl(fd: RawFd, req: libc::c_ulong, r: &mut IfReq) -> io::Result<()> {
    // SAFETY: `r` is a valid, writable `struct ifreq` for the interface ioctls used here.
    let rc = unsafe { libc::ioctl(fd, req as _, r as *mut IfReq) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
