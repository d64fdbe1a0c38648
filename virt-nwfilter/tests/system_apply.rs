//! Real application on a bridge in network namespaces: clean-traffic (with a given IP) drops a
//! spoofed packet from the guest side and passes a legitimate one, with the nftables and the
//! ebtables/iptables backends; tear-down leaves nothing behind.

use std::ffi::CString;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use virt_nwfilter::instantiate::{instantiate, teardown, Backend, EbIptablesBackend, NftBackend};
use virt_nwfilter::tree::{vars_from, FilterSet};
use virt_testkit::{Facility, NetNs};
use virt_xml::nwfilter::FilterRef;

const GUEST_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const PEER_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x65, 0x43, 0x21];

/// host: br0 with vnet0 (guest side) and vnet1 (peer side); guest: g0 10.9.0.2; peer: p0 10.9.0.3.
struct Topology {
    host: NetNs,
    guest: NetNs,
    peer: NetNs,
}

fn mac_s(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn topology() -> Topology {
    let host = NetNs::new("nwfh").expect("netns");
    let guest = NetNs::new("nwfg").expect("netns");
    let peer = NetNs::new("nwfp").expect("netns");
    let h = |a: &[&str]| host.exec_ok(a).expect("host cmd");
    h(&["ip", "link", "add", "br0", "type", "bridge"]);
    h(&[
        "ip", "link", "add", "vnet0", "type", "veth", "peer", "name", "g0",
    ]);
    h(&[
        "ip", "link", "add", "vnet1", "type", "veth", "peer", "name", "p0",
    ]);
    h(&["ip", "link", "set", "g0", "netns", guest.name()]);
    h(&["ip", "link", "set", "p0", "netns", peer.name()]);
    for l in ["vnet0", "vnet1"] {
        h(&["ip", "link", "set", l, "master", "br0"]);
        h(&["ip", "link", "set", l, "up"]);
    }
    h(&["ip", "link", "set", "br0", "up"]);
    for (ns, dev, mac, ip) in [
        (&guest, "g0", GUEST_MAC, "10.9.0.2/24"),
        (&peer, "p0", PEER_MAC, "10.9.0.3/24"),
    ] {
        ns.exec_ok(&["ip", "link", "set", dev, "address", &mac_s(mac)])
            .expect("mac");
        ns.exec_ok(&["ip", "addr", "add", ip, "dev", dev])
            .expect("ip");
        ns.exec_ok(&["ip", "link", "set", dev, "up"]).expect("up");
    }
    // Ports forward once the veth carriers are up (the kernel reports that with a delay).
    let deadline = Instant::now() + Duration::from_secs(10);
    let ready = |ns: &NetNs, dev: &str| {
        ns.exec_ok(&["ip", "-o", "link", "show", dev])
            .map(|o| o.contains("state UP"))
            .unwrap_or(false)
    };
    while Instant::now() < deadline {
        let fwd = host
            .exec_ok(&["bridge", "link", "show"])
            .map(|o| o.lines().filter(|l| l.contains("state forwarding")).count() == 2)
            .unwrap_or(false);
        if fwd && ready(&guest, "g0") && ready(&peer, "p0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Topology { host, guest, peer }
}

/// Sends raw UDP frames from the guest to the peer; returns the payloads the peer received.
fn exchange(t: &Topology, frames: &[([u8; 6], [u8; 4], &str)]) -> Vec<String> {
    exchange_ports(t, frames, 5555)
}

/// Like [`exchange`]; frames whose payload starts with "p2" go to port 5556.
fn exchange_ports(t: &Topology, frames: &[([u8; 6], [u8; 4], &str)], port: u16) -> Vec<String> {
    let rx: Vec<UdpSocket> = {
        let _g = t.peer.enter().expect("enter peer");
        [port, port + 1]
            .iter()
            .map(|p| {
                // A just-closed socket can still be held by a child process another test
                // thread is forking; retry briefly.
                let mut tries = 0;
                let s = loop {
                    match UdpSocket::bind(("0.0.0.0", *p)) {
                        Ok(s) => break s,
                        Err(e) if tries < 40 => {
                            tries += 1;
                            let _ = e;
                            std::thread::sleep(Duration::from_millis(25));
                        }
                        Err(e) => panic!("bind {p}: {e}"),
                    }
                };
                s.set_read_timeout(Some(Duration::from_millis(50)))
                    .expect("timeout");
                s
            })
            .collect()
    };
    let (fd, ifindex) = {
        let _g = t.guest.enter().expect("enter guest");
        // SAFETY: plain socket creation; the fd is closed below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0, "AF_PACKET socket");
        let name = CString::new("g0").expect("name");
        // SAFETY: valid C string.
        let idx = unsafe { libc::if_nametoindex(name.as_ptr()) };
        assert!(idx > 0);
        (fd, idx)
    };
    for (src_mac, src_ip, payload) in frames {
        let b = etherparse::PacketBuilder::ethernet2(*src_mac, PEER_MAC)
            .ipv4(*src_ip, [10, 9, 0, 3], 64)
            .udp(
                4000,
                if payload.starts_with("p2") {
                    port + 1
                } else {
                    port
                },
            );
        let mut buf = Vec::new();
        b.write(&mut buf, payload.as_bytes()).expect("build");
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid start.
        let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_ifindex = ifindex as i32;
        sa.sll_halen = 6;
        sa.sll_addr[..6].copy_from_slice(&PEER_MAC);
        // SAFETY: buf and sa are valid for the given lengths.
        let n = unsafe {
            libc::sendto(
                fd,
                buf.as_ptr().cast(),
                buf.len(),
                0,
                (&sa as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(n, buf.len() as isize, "sendto");
    }
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(600);
    let mut b = [0u8; 256];
    while Instant::now() < deadline {
        for r in &rx {
            if let Ok((n, _)) = r.recv_from(&mut b) {
                got.push(String::from_utf8_lossy(&b[..n]).into_owned());
            }
        }
    }
    got.sort();
    got
}

fn frames() -> Vec<([u8; 6], [u8; 4], &'static str)> {
    vec![
        (GUEST_MAC, [10, 9, 0, 2], "legit"),
        (GUEST_MAC, [10, 9, 0, 99], "spoofed-ip"),
        ([0x52, 0x54, 0x00, 0, 0, 0x99], [10, 9, 0, 2], "spoofed-mac"),
    ]
}

fn firewall_state(t: &Topology) -> String {
    let mut s = String::new();
    for argv in [
        &["nft", "list", "ruleset"][..],
        &["ebtables-save"][..],
        &["iptables-save"][..],
        &["ip6tables-save"][..],
    ] {
        let out = t.host.exec_ok(argv).expect("list");
        for l in out.lines().filter(|l| !l.starts_with('#')) {
            s.push_str(l);
            s.push('\n');
        }
    }
    s
}

fn run_clean_traffic(backend: &dyn Backend) {
    let t = topology();
    let all = vec![
        "legit".to_string(),
        "spoofed-ip".to_string(),
        "spoofed-mac".to_string(),
    ];
    assert_eq!(
        exchange(&t, &frames()),
        all,
        "without a filter all frames pass"
    );
    let before = firewall_state(&t);

    let filters =
        FilterSet::load_dir(&virt_testkit::libvirt_data("nwfilter-standard")).expect("filters");
    let fref = FilterRef {
        filter: "clean-traffic".into(),
        params: Default::default(),
    };
    let vars = vars_from([("MAC", "52:54:00:12:34:56"), ("IP", "10.9.0.2")]);
    let applied = {
        let _g = t.host.enter().expect("enter host");
        instantiate("vnet0", &fref, &filters, &vars, backend).expect("instantiate")
    };
    assert!(applied.rules > 10, "{} rules", applied.rules);
    assert_eq!(
        exchange(&t, &frames()),
        vec!["legit".to_string()],
        "{}: only the legitimate frame passes",
        backend.name()
    );
    // Applying again replaces, it does not add.
    {
        let _g = t.host.enter().expect("enter host");
        instantiate("vnet0", &fref, &filters, &vars, backend).expect("re-instantiate");
    }
    assert_eq!(exchange(&t, &frames()), vec!["legit".to_string()]);

    {
        let _g = t.host.enter().expect("enter host");
        teardown("vnet0", backend).expect("teardown");
        // A second tear-down finds nothing and is fine.
        teardown("vnet0", backend).expect("teardown again");
    }
    assert_eq!(
        exchange(&t, &frames()),
        all,
        "after tear-down all frames pass again"
    );
    let after = firewall_state(&t);
    assert!(
        !after.contains("vnet0"),
        "{}: left behind:\n{after}",
        backend.name()
    );
    // Nothing of ours remains: no chain, no rule (ebtables-nft may leave its empty base table).
    assert!(
        !after.contains("libvirt"),
        "{}: left behind:\n{after}",
        backend.name()
    );
    assert!(
        !after.contains("nwf-"),
        "{}: left behind:\n{after}",
        backend.name()
    );
    let rules = |s: &str| s.lines().filter(|l| l.starts_with("-A ")).count();
    assert_eq!(
        rules(&after),
        rules(&before),
        "before:\n{before}\nafter:\n{after}"
    );
}

#[test]
fn clean_traffic_nftables() {
    let Some(_t) = virt_testkit::system_test(
        "nwfilter clean-traffic nftables",
        &[Facility::Root, Facility::Netns, Facility::Command("nft")],
    ) else {
        return;
    };
    run_clean_traffic(&NftBackend);
}

#[test]
fn clean_traffic_ebiptables() {
    let Some(_t) = virt_testkit::system_test(
        "nwfilter clean-traffic ebtables/iptables",
        &[
            Facility::Root,
            Facility::Netns,
            Facility::Command("ebtables-restore"),
            Facility::Command("iptables-restore"),
        ],
    ) else {
        return;
    };
    run_clean_traffic(&EbIptablesBackend);
}

/// An IP-layer (iptables / inet) rule: UDP to port 6001 from the guest is dropped, port 6000
/// passes; bridged packets reach the IP hooks through br_netfilter.
fn run_ip_rule(backend: &dyn Backend) {
    let t = topology();
    t.host
        .exec_ok(&["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"])
        .expect("br_netfilter sysctl");
    let xml = "<filter name='udp-block' chain='root'>\
        <rule action='drop' direction='out' priority='100'><udp dstportstart='6001'/></rule>\
        <rule action='accept' direction='out' priority='200'><udp srcipaddr='$IP'/></rule>\
        </filter>";
    let mut filters = FilterSet::new();
    filters.insert(virt_xml::nwfilter::parse_filter(xml).expect("parse"));
    let fref = FilterRef {
        filter: "udp-block".into(),
        params: Default::default(),
    };
    let vars = vars_from([("MAC", "52:54:00:12:34:56"), ("IP", "10.9.0.2")]);
    let f = vec![
        (GUEST_MAC, [10, 9, 0, 2], "p1-open"),
        (GUEST_MAC, [10, 9, 0, 2], "p2-blocked"),
    ];
    assert_eq!(
        exchange_ports(&t, &f, 6000).len(),
        2,
        "without a filter both pass"
    );
    {
        let _g = t.host.enter().expect("enter host");
        instantiate("vnet0", &fref, &filters, &vars, backend).expect("instantiate");
    }
    assert_eq!(
        exchange_ports(&t, &f, 6000),
        vec!["p1-open".to_string()],
        "{}: the UDP rule drops port 6001",
        backend.name()
    );
    {
        let _g = t.host.enter().expect("enter host");
        teardown("vnet0", backend).expect("teardown");
    }
    assert_eq!(
        exchange_ports(&t, &f, 6000).len(),
        2,
        "after tear-down both pass"
    );
    let after = firewall_state(&t);
    assert!(
        !after.contains("vnet0") && !after.contains("nwf-"),
        "left behind:\n{after}"
    );
    assert!(
        !after.contains("FI-") && !after.contains("HI-"),
        "left behind:\n{after}"
    );
}

#[test]
fn ip_rule_nftables() {
    let Some(_t) = virt_testkit::system_test(
        "nwfilter IP rule nftables",
        &[Facility::Root, Facility::Netns, Facility::Command("nft")],
    ) else {
        return;
    };
    run_ip_rule(&NftBackend);
}

#[test]
fn ip_rule_ebiptables() {
    let Some(_t) = virt_testkit::system_test(
        "nwfilter IP rule ebtables/iptables",
        &[
            Facility::Root,
            Facility::Netns,
            Facility::Command("iptables-restore"),
        ],
    ) else {
        return;
    };
    run_ip_rule(&EbIptablesBackend);
}

/// The in-process nftables library must not leave a netlink socket a child process inherits.
#[test]
fn nftables_socket_is_close_on_exec() {
    let Some(_t) = virt_testkit::system_test(
        "nwfilter nftables fd hygiene",
        &[Facility::Root, Facility::Netns, Facility::Command("nft")],
    ) else {
        return;
    };
    let ns = NetNs::new("nwffd").expect("netns");
    let _g = ns.enter().expect("enter");
    NftBackend.remove("vnet9").expect("remove (no-op)");
    for e in std::fs::read_dir("/proc/self/fd").expect("fds").flatten() {
        let Some(fd) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let link = std::fs::read_link(e.path()).unwrap_or_default();
        if !link.to_string_lossy().starts_with("socket:") {
            continue;
        }
        let mut proto: i32 = -1;
        let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
        // SAFETY: valid out-pointers for an int option.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_PROTOCOL,
                (&mut proto as *mut i32).cast(),
                &mut len,
            )
        };
        if rc == 0 && proto == libc::NETLINK_NETFILTER {
            // SAFETY: F_GETFD on an open fd.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            assert!(
                flags & libc::FD_CLOEXEC != 0,
                "fd {fd} ({link:?}) lacks FD_CLOEXEC"
            );
        }
    }
}
