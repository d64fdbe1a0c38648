//! Helpers shared by virt-net's system tests: namespaces, raw sockets, frames, expected records.
#![allow(dead_code)]

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use virt_audit::{VirtType, VmIdentity};
use virt_testkit::{Facility, NetNs};
use virt_xml::MacAddr;

pub const NEEDS: &[Facility] = &[Facility::Root, Facility::Netns, Facility::Tun];
pub const ETHERTYPE: u16 = 0x88b5; // IEEE local experimental
pub const UUID: [u8; 16] = [
    0xc7, 0xa5, 0xfd, 0xbd, 0xcd, 0xaf, 0x9d, 0x11, 0x3b, 0x8e, 0x42, 0x5b, 0x9c, 0x10, 0x0a, 0x01,
];
pub const UUID_STR: &str = "c7a5fdbd-cdaf-9d11-3b8e-425b9c100a01";

pub fn vm() -> VmIdentity {
    VmIdentity::new(VirtType::Kvm, "guest-net", UUID)
}

pub fn mac() -> MacAddr {
    "52:54:00:12:34:56".parse().expect("mac")
}

/// The record text expected for one open, written out field by field.
pub fn rec(mac: &str, path: &str, rdev: &str, ok: bool) -> String {
    format!(
        "virt=kvm resrc=net reason=open vm=\"guest-net\" uuid={UUID_STR} net={mac} path=\"{path}\" rdev={rdev} res={}",
        if ok { "success" } else { "failed" }
    )
}

/// A namespace with IPv6 off (no stray router solicitations on new links).
pub fn netns(prefix: &str) -> NetNs {
    let ns = NetNs::new(prefix).expect("netns");
    for k in ["all", "default"] {
        let _ = ns.exec(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{k}.disable_ipv6=1"),
        ]);
    }
    ns
}

/// Interface names in the namespace, from `ip -o link`.
pub fn links(ns: &NetNs) -> Vec<String> {
    let out = ns.exec_ok(&["ip", "-o", "link", "show"]).expect("ip link");
    out.lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

/// Open descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("fd dir").count()
}

pub fn sysfs(ns: &NetNs, rel: &str) -> String {
    ns.exec_ok(&["cat", &format!("/sys/class/net/{rel}")])
        .expect("sysfs read")
        .trim()
        .to_string()
}

pub fn ifindex(ns: &NetNs, name: &str) -> i32 {
    sysfs(ns, &format!("{name}/ifindex"))
        .parse()
        .expect("ifindex")
}

/// An AF_PACKET socket bound to `ifindex` (the calling thread must be in the namespace).
pub fn packet_socket(ifindex: i32) -> OwnedFd {
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain socket(2).
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            proto as i32,
        )
    };
    assert!(
        fd >= 0,
        "AF_PACKET socket: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: fd was just returned by socket(2).
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: zeroed sockaddr_ll is a valid value; fields set below.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = proto;
    sa.sll_ifindex = ifindex;
    // SAFETY: sa is a valid sockaddr_ll of the length given.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    assert_eq!(r, 0, "bind AF_PACKET: {}", std::io::Error::last_os_error());
    fd
}

/// An Ethernet frame of our test type carrying `marker`.
pub fn frame(dst: [u8; 6], src: [u8; 6], marker: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ETHERTYPE.to_be_bytes());
    f.extend_from_slice(marker);
    while f.len() < 60 {
        f.push(0);
    }
    f
}

pub fn write_all(fd: BorrowedFd<'_>, buf: &[u8]) {
    // SAFETY: buf is valid for its length; fd is open.
    let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    assert_eq!(
        n,
        buf.len() as isize,
        "write: {}",
        std::io::Error::last_os_error()
    );
}

/// Reads from whichever of `fds` is readable until a read satisfies `want`, for at most 3 s.
/// Returns the index of the fd and the bytes read.
pub fn read_until(
    fds: &[BorrowedFd<'_>],
    want: impl Fn(&[u8]) -> bool,
) -> Option<(usize, Vec<u8>)> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut buf = vec![0u8; 65536];
    while Instant::now() < deadline {
        let mut pfds: Vec<libc::pollfd> = fds
            .iter()
            .map(|f| libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: pfds is a valid array of its length.
        let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, 100) };
        if r <= 0 {
            continue;
        }
        for (i, p) in pfds.iter().enumerate() {
            if p.revents & libc::POLLIN == 0 {
                continue;
            }
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(p.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 && want(&buf[..n as usize]) {
                return Some((i, buf[..n as usize].to_vec()));
            }
        }
    }
    None
}

/// Does `data` hold an Ethernet frame of our type with `marker` at `offset`?
pub fn is_ours(data: &[u8], offset: usize, marker: &[u8]) -> bool {
    data.len() >= offset + 14 + marker.len()
        && data[offset + 12..offset + 14] == ETHERTYPE.to_be_bytes()
        && &data[offset + 14..offset + 14 + marker.len()] == marker
}
