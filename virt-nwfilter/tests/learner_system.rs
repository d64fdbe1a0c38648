//! The learner on real interfaces: network namespaces, a bridge, veths, dnsmasq and dhclient.
//! Addresses come from 198.51.100.0/24 and 2001:db8::/64 and exist inside the namespaces only.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use virt_nwfilter::learner::synth::{self, BROADCAST};
use virt_nwfilter::learner::{
    ApplyError, Capture, How, LearnError, LearnOptions, Learned, MatchOptions, OnLearned, Outcome,
    Registry, Stop, Target,
};
use virt_testkit::{system_test, Facility, NetNs, TempDir};
use virt_xml::MacAddr;

const BR_MAC: &str = "02:00:00:00:00:01";

/// A daemon killed (and reaped) on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A hub namespace with bridge `br0` (198.51.100.1/24, 2001:db8::1/64).
struct Lab {
    hub: NetNs,
    guests: Vec<NetNs>,
}

impl Lab {
    fn new() -> Lab {
        let hub = NetNs::new("lrnhub").expect("hub netns");
        for cmd in [
            vec![
                "ip", "link", "add", "br0", "address", BR_MAC, "type", "bridge",
            ],
            vec!["ip", "addr", "add", "198.51.100.1/24", "dev", "br0"],
            vec![
                "ip",
                "-6",
                "addr",
                "add",
                "2001:db8::1/64",
                "dev",
                "br0",
                "nodad",
            ],
            vec!["ip", "link", "set", "br0", "up"],
        ] {
            hub.exec_ok(&cmd).expect("hub setup");
        }
        Lab {
            hub,
            guests: Vec::new(),
        }
    }

    /// A guest namespace whose `eth0` (MAC `mac`) is the peer of `host_if` on the bridge; the
    /// host side is up, the guest side is left down (the test brings it up once the learner runs).
    fn guest(&mut self, host_if: &str, mac: &str) -> usize {
        let g = NetNs::new("lrng").expect("guest netns");
        let hub = &self.hub;
        hub.exec_ok(&[
            "ip",
            "link",
            "add",
            host_if,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "address",
            mac,
            "netns",
            g.name(),
        ])
        .expect("veth");
        hub.exec_ok(&["ip", "link", "set", host_if, "master", "br0", "up"])
            .expect("port up");
        self.guests.push(g);
        self.guests.len() - 1
    }

    fn g(&self, i: usize) -> &NetNs {
        &self.guests[i]
    }

    fn opts(&self) -> LearnOptions {
        LearnOptions {
            netns: Some(self.hub.path().into()),
            timeout: Some(Duration::from_secs(30)),
            ..LearnOptions::default()
        }
    }
}

/// A callback that reports each application on a channel.
fn reporter() -> (
    impl OnLearned,
    mpsc::Receiver<(Target, Vec<Learned>, Instant)>,
) {
    let (tx, rx) = mpsc::channel();
    let cb = move |t: &Target, l: &[Learned]| -> Result<(), ApplyError> {
        let _ = tx.send((t.clone(), l.to_vec(), Instant::now()));
        Ok(())
    };
    (cb, rx)
}

fn needs() -> Vec<Facility> {
    vec![Facility::Root, Facility::Netns]
}

fn send_udp(ns: &NetNs, to: &str) {
    // bash's /dev/udp: one datagram, no extra tools.
    ns.exec_ok(&["bash", "-c", &format!("echo learner > /dev/udp/{to}/9")])
        .expect("udp send");
}

fn link_flags(ns: &NetNs, ifname: &str) -> String {
    let out = ns
        .exec_ok(&["ip", "-o", "link", "show", ifname])
        .expect("ip link show");
    out.split('<')
        .nth(1)
        .and_then(|s| s.split('>').next())
        .unwrap_or("")
        .to_string()
}

fn wait_for_udp_port(ns: &NetNs, port: &str, what: &str) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        let out = ns.exec_ok(&["ss", "-Hlun"]).unwrap_or_default();
        if out.split_whitespace().any(|w| w.ends_with(port)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not start listening on {port}");
}

#[test]
fn learns_dhcp_lease_from_dnsmasq() {
    let needs = [
        needs(),
        vec![
            Facility::Command("dnsmasq"),
            Facility::Command("dhclient"),
            Facility::Command("ss"),
            Facility::Command("tcpdump"),
        ],
    ]
    .concat();
    let Some(_t) = system_test("learns_dhcp_lease_from_dnsmasq", &needs) else {
        return;
    };
    let tmp = TempDir::new("learner-dhcp").unwrap();
    let mut lab = Lab::new();
    let mac = "52:54:00:11:00:01";
    let g = lab.guest("hd1", mac);
    let lease = tmp.path().join("dnsmasq.leases");
    let dnsmasq = lab
        .hub
        .command("dnsmasq")
        .args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--interface=br0",
            "--port=0",
        ])
        .arg("--dhcp-range=198.51.100.50,198.51.100.99")
        .arg(format!("--dhcp-leasefile={}", lease.display()))
        .arg(format!(
            "--pid-file={}",
            tmp.path().join("dnsmasq.pid").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq");
    let _dnsmasq = Daemon(dnsmasq);
    wait_for_udp_port(&lab.hub, ":67", "dnsmasq");

    // tcpdump records the same port, for replaying the capture afterwards.
    let pcap = tmp.path().join("hd1.pcap");
    let mut tcpdump = lab
        .hub
        .command("tcpdump")
        .args(["-i", "hd1", "-U", "--immediate-mode", "--nano", "-w"])
        .arg(&pcap)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump");
    let mut line = String::new();
    let stderr = tcpdump.stderr.take().expect("stderr");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut line).unwrap();
    assert!(line.contains("listening on hd1"), "{line}");
    let tcpdump = Daemon(tcpdump);

    let reg = Registry::new();
    let (cb, rx) = reporter();
    let h = reg
        .start("hd1", mac.parse().unwrap(), lab.opts(), cb)
        .expect("start learner");
    assert!(reg.is_learning("hd1"));
    lab.g(g)
        .exec_ok(&["ip", "link", "set", "eth0", "up"])
        .unwrap();
    let dhclient = lab
        .g(g)
        .command("dhclient")
        .args(["-d", "-1", "-v", "-sf", "/bin/true"])
        .arg("-lf")
        .arg(tmp.path().join("dhclient.leases"))
        .arg("-pf")
        .arg(tmp.path().join("dhclient.pid"))
        .arg("eth0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dhclient");
    let _dhclient = Daemon(dhclient);

    let outcome = h.join().expect("learner");
    let Outcome::Learned(l) = outcome else {
        panic!("nothing learned: {outcome:?}")
    };
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].how, How::Dhcp);
    let IpAddr::V4(a) = l[0].addr else {
        panic!("{l:?}")
    };
    assert!(
        (50..=99).contains(&a.octets()[3]) && a.octets()[..3] == [198, 51, 100],
        "{a}"
    );
    let (target, applied, _) = rx
        .recv_timeout(Duration::from_secs(1))
        .expect("callback ran");
    assert_eq!(target.ifname, "hd1");
    assert_eq!(applied, l);
    assert!(!reg.is_learning("hd1"));
    assert_eq!(reg.learned("hd1"), Some(vec![l[0].addr]));
    // dnsmasq hands out (and records, once the ACK is sent) that address to that MAC.
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let leases = std::fs::read_to_string(&lease).unwrap_or_default();
        if leases
            .lines()
            .any(|x| x.contains(mac) && x.contains(&a.to_string()))
        {
            break;
        }
        assert!(
            Instant::now() < end,
            "lease for {mac} {a} not in dnsmasq's file: {leases}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The capture of the same exchange, replayed, teaches the same address.
    // SIGTERM: tcpdump writes out what it has and exits.
    let pid = nix::unistd::Pid::from_raw(tcpdump.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut tcpdump = tcpdump;
    let _ = tcpdump.0.wait();
    let r = virt_nwfilter::learner::replay_file(
        &pcap,
        mac.parse().unwrap(),
        MatchOptions::default(),
        1,
    )
    .expect("replay tcpdump's capture");
    assert_eq!(r.ipv4(), Some(a));
    assert_eq!(r.learned[0].1.how, How::Dhcp);
}

#[test]
fn learns_static_address_by_arp() {
    let Some(_t) = system_test("learns_static_address_by_arp", &needs()) else {
        return;
    };
    let mut lab = Lab::new();
    let mac = "52:54:00:11:00:02";
    let g = lab.guest("ha1", mac);
    let reg = Registry::new();
    let (cb, rx) = reporter();
    let h = reg
        .start("ha1", mac.parse().unwrap(), lab.opts(), cb)
        .unwrap();
    let gn = lab.g(g);
    gn.exec_ok(&["ip", "addr", "add", "198.51.100.20/24", "dev", "eth0"])
        .unwrap();
    gn.exec_ok(&["ip", "link", "set", "eth0", "up"]).unwrap();
    send_udp(gn, "198.51.100.1");
    let outcome = h.join().unwrap();
    assert_eq!(
        outcome,
        Outcome::Learned(vec![Learned {
            addr: "198.51.100.20".parse().unwrap(),
            how: How::Arp
        }])
    );
    assert!(rx.try_recv().is_ok());
}

#[test]
fn learns_static_address_by_first_ipv4_packet() {
    let Some(_t) = system_test("learns_static_address_by_first_ipv4_packet", &needs()) else {
        return;
    };
    let mut lab = Lab::new();
    let mac = "52:54:00:11:00:03";
    let g = lab.guest("hp1", mac);
    let reg = Registry::new();
    let (cb, _rx) = reporter();
    let h = reg
        .start("hp1", mac.parse().unwrap(), lab.opts(), cb)
        .unwrap();
    let gn = lab.g(g);
    gn.exec_ok(&["ip", "addr", "add", "198.51.100.30/24", "dev", "eth0"])
        .unwrap();
    gn.exec_ok(&["ip", "link", "set", "eth0", "up"]).unwrap();
    gn.exec_ok(&[
        "ip",
        "neigh",
        "add",
        "198.51.100.1",
        "lladdr",
        BR_MAC,
        "nud",
        "permanent",
        "dev",
        "eth0",
    ])
    .unwrap();
    send_udp(gn, "198.51.100.1");
    assert_eq!(
        h.join().unwrap(),
        Outcome::Learned(vec![Learned {
            addr: "198.51.100.30".parse().unwrap(),
            how: How::Ipv4
        }])
    );
}

#[test]
fn ipv6_and_several_addresses() {
    let Some(_t) = system_test("ipv6_and_several_addresses", &needs()) else {
        return;
    };
    let mut lab = Lab::new();
    let mac = "52:54:00:11:00:04";
    let g = lab.guest("h61", mac);
    let reg = Registry::new();
    let (cb, rx) = reporter();
    let opts = LearnOptions {
        matching: MatchOptions {
            ipv6: true,
            ..MatchOptions::default()
        },
        max_per_family: 2,
        ..lab.opts()
    };
    let h = reg.start("h61", mac.parse().unwrap(), opts, cb).unwrap();
    let gn = lab.g(g);
    gn.exec_ok(&["ip", "link", "set", "eth0", "up"]).unwrap();
    gn.exec_ok(&["ip", "-6", "addr", "add", "2001:db8::40/64", "dev", "eth0"])
        .unwrap();
    gn.exec_ok(&["ip", "-6", "addr", "add", "2001:db8::41/64", "dev", "eth0"])
        .unwrap();
    gn.exec_ok(&["ip", "addr", "add", "198.51.100.40/24", "dev", "eth0"])
        .unwrap();
    gn.exec_ok(&["ip", "addr", "add", "198.51.100.41/24", "dev", "eth0"])
        .unwrap();
    // ARP from the primary address, then (through a route with another source) from the second.
    send_udp(gn, "198.51.100.1");
    gn.exec_ok(&[
        "ip",
        "route",
        "add",
        "198.51.100.200/32",
        "dev",
        "eth0",
        "src",
        "198.51.100.41",
    ])
    .unwrap();
    send_udp(gn, "198.51.100.200");
    let outcome = h.join().unwrap();
    let Outcome::Learned(l) = outcome else {
        panic!("{outcome:?}")
    };
    let mut addrs: Vec<String> = l.iter().map(|x| x.addr.to_string()).collect();
    addrs.sort();
    assert_eq!(
        addrs,
        [
            "198.51.100.40",
            "198.51.100.41",
            "2001:db8::40",
            "2001:db8::41"
        ]
    );
    assert!(
        l.iter()
            .filter(|x| x.addr.is_ipv6())
            .all(|x| x.how == How::Ndp),
        "{l:?}"
    );
    // Applied each time the set grew (frames arriving together grow it once), the last time with
    // all four.
    let calls: Vec<_> = rx.try_iter().collect();
    assert!(!calls.is_empty());
    assert!(calls
        .windows(2)
        .all(|w| w[0].1.len() < w[1].1.len() && w[1].1.starts_with(&w[0].1)));
    assert_eq!(calls.last().unwrap().1, l);
}

#[test]
fn apply_failure_brings_the_interface_down() {
    let Some(_t) = system_test("apply_failure_brings_the_interface_down", &needs()) else {
        return;
    };
    let mut lab = Lab::new();
    let mac = "52:54:00:11:00:05";
    let g = lab.guest("hf1", mac);
    assert!(link_flags(&lab.hub, "hf1").split(',').any(|f| f == "UP"));
    let reg = Registry::new();
    let failing =
        |_: &Target, _: &[Learned]| -> Result<(), ApplyError> { Err("firewall said no".into()) };
    let h = reg
        .start("hf1", mac.parse().unwrap(), lab.opts(), failing)
        .unwrap();
    let gn = lab.g(g);
    gn.exec_ok(&["ip", "addr", "add", "198.51.100.50/24", "dev", "eth0"])
        .unwrap();
    gn.exec_ok(&["ip", "link", "set", "eth0", "up"]).unwrap();
    send_udp(gn, "198.51.100.1");
    let e = h.join().unwrap_err();
    assert!(
        matches!(
            &e,
            LearnError::Apply {
                link_down: None,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "instantiating the filters of interface hf1 with learned address(es) 198.51.100.50 failed: \
         firewall said no; interface brought down"
    );
    assert!(
        !link_flags(&lab.hub, "hf1").split(',').any(|f| f == "UP"),
        "{}",
        link_flags(&lab.hub, "hf1")
    );
    assert_eq!(reg.learned("hf1"), None);
}

#[test]
fn macvtap_listens_on_parent_and_downs_the_macvtap() {
    let Some(_t) = system_test("macvtap_listens_on_parent_and_downs_the_macvtap", &needs()) else {
        return;
    };
    let mut lab = Lab::new();
    let mac = "52:54:00:11:00:06";
    let g = lab.guest("hm1", mac);
    // The guest's NIC as a macvtap on hm1 (its parent; a macvtap parent cannot be a bridge port);
    // the learner listens on the parent.
    lab.hub
        .exec_ok(&["ip", "link", "set", "hm1", "nomaster"])
        .unwrap();
    lab.hub
        .exec_ok(&[
            "ip", "link", "add", "link", "hm1", "name", "mvt1", "type", "macvtap", "mode", "bridge",
        ])
        .unwrap();
    lab.hub
        .exec_ok(&["ip", "link", "set", "mvt1", "up"])
        .unwrap();
    let reg = Registry::new();
    let failing = |t: &Target, _: &[Learned]| -> Result<(), ApplyError> {
        assert_eq!((t.ifname.as_str(), t.listen_dev.as_str()), ("mvt1", "hm1"));
        Err("no rules today".into())
    };
    let opts = LearnOptions {
        listen_dev: Some("hm1".into()),
        ..lab.opts()
    };
    let h = reg
        .start("mvt1", mac.parse().unwrap(), opts, failing)
        .unwrap();
    let gn = lab.g(g);
    gn.exec_ok(&["ip", "addr", "add", "198.51.100.60/24", "dev", "eth0"])
        .unwrap();
    gn.exec_ok(&["ip", "link", "set", "eth0", "up"]).unwrap();
    send_udp(gn, "198.51.100.1");
    assert!(matches!(h.join(), Err(LearnError::Apply { .. })));
    assert!(!link_flags(&lab.hub, "mvt1").split(',').any(|f| f == "UP"));
    assert!(link_flags(&lab.hub, "hm1").split(',').any(|f| f == "UP"));
}

/// Records `not_learned` calls.
struct Watch(mpsc::Sender<Stop>);

impl OnLearned for Watch {
    fn apply(&mut self, _: &Target, _: &[Learned]) -> Result<(), ApplyError> {
        Ok(())
    }
    fn not_learned(&mut self, _: &Target, why: Stop) {
        let _ = self.0.send(why);
    }
}

#[test]
fn stops_when_interface_disappears_on_cancel_and_on_timeout() {
    let Some(_t) = system_test(
        "stops_when_interface_disappears_on_cancel_and_on_timeout",
        &needs(),
    ) else {
        return;
    };
    let mut lab = Lab::new();
    let mac: MacAddr = "52:54:00:11:00:07".parse().unwrap();
    lab.guest("hs1", "52:54:00:11:00:07");
    lab.guest("hs2", "52:54:00:11:00:08");
    lab.guest("hs3", "52:54:00:11:00:09");
    let reg = Registry::new();

    // Gone.
    let (tx, rx) = mpsc::channel();
    let h = reg
        .start("hs1", mac, lab.opts(), Watch(tx.clone()))
        .unwrap();
    assert!(matches!(
        reg.start("hs1", mac, lab.opts(), Watch(tx.clone())),
        Err(LearnError::AlreadyLearning(n)) if n == "hs1"
    ));
    let t0 = Instant::now();
    lab.hub.exec_ok(&["ip", "link", "del", "hs1"]).unwrap();
    assert_eq!(h.join().unwrap(), Outcome::NotLearned(Stop::InterfaceGone));
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(rx.recv().unwrap(), Stop::InterfaceGone);
    assert!(!reg.is_learning("hs1"));

    // Cancelled, by handle and by name.
    let h = reg
        .start("hs2", mac, lab.opts(), Watch(tx.clone()))
        .unwrap();
    assert!(reg.is_learning("hs2"));
    let t0 = Instant::now();
    h.cancel();
    assert_eq!(h.join().unwrap(), Outcome::NotLearned(Stop::Cancelled));
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
    let h = reg
        .start("hs2", mac, lab.opts(), Watch(tx.clone()))
        .unwrap();
    assert!(reg.cancel("hs2"));
    assert_eq!(h.join().unwrap(), Outcome::NotLearned(Stop::Cancelled));
    assert!(!reg.cancel("hs2"));

    // Timed out.
    let opts = LearnOptions {
        timeout: Some(Duration::from_millis(300)),
        ..lab.opts()
    };
    let t0 = Instant::now();
    let h = reg.start("hs3", mac, opts, Watch(tx)).unwrap();
    assert_eq!(h.join().unwrap(), Outcome::NotLearned(Stop::TimedOut));
    assert!(t0.elapsed() >= Duration::from_millis(300) && t0.elapsed() < Duration::from_secs(2));
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        [Stop::Cancelled, Stop::Cancelled, Stop::TimedOut]
    );

    // Errors name the interface.
    let e = reg
        .start("nosuch0", mac, lab.opts(), Watch(mpsc::channel().0))
        .unwrap_err();
    assert_eq!(e.to_string(), "interface nosuch0 does not exist");
    assert!(!reg.is_learning("nosuch0"));
    let e = reg
        .start("bad/name", mac, lab.opts(), Watch(mpsc::channel().0))
        .unwrap_err();
    assert!(matches!(e, LearnError::BadInterfaceName(_)));
}

#[test]
fn filter_update_adding_variables_is_refused_while_learning() {
    let Some(_t) = system_test(
        "filter_update_adding_variables_is_refused_while_learning",
        &needs(),
    ) else {
        return;
    };
    let mut lab = Lab::new();
    lab.guest("hu1", "52:54:00:11:00:0a");
    let reg = Registry::new();
    let opts = LearnOptions {
        filter_vars: ["IP", "MAC"].into_iter().map(String::from).collect(),
        ..lab.opts()
    };
    let h = reg
        .start(
            "hu1",
            "52:54:00:11:00:0a".parse().unwrap(),
            opts,
            Watch(mpsc::channel().0),
        )
        .unwrap();
    reg.check_filter_update("hu1", ["MAC", "IP"]).unwrap();
    let e = reg
        .check_filter_update("hu1", ["MAC", "IP", "DHCPSERVER", "CTRL_IP_LEARNING"])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "filter update on interface hu1 refused: it would add variable(s) CTRL_IP_LEARNING, DHCPSERVER \
         while the interface's IP address is being learned"
    );
    h.cancel();
    h.join().unwrap();
    reg.check_filter_update("hu1", ["MAC", "IP", "DHCPSERVER"])
        .unwrap();
}

/// A raw AF_PACKET socket on `ifname` in the calling thread's namespace, for injecting frames.
fn raw_sender(ifname: &str) -> (OwnedFd, libc::sockaddr_ll) {
    // SAFETY: plain socket(2), checked and owned at once.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    assert!(raw >= 0, "{}", std::io::Error::last_os_error());
    // SAFETY: fresh descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let name = std::ffi::CString::new(ifname).unwrap();
    // SAFETY: valid C string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    assert!(index > 0);
    // SAFETY: all-zero sockaddr_ll is valid.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = index as i32;
    sll.sll_halen = 6;
    (fd, sll)
}

fn inject(s: &(OwnedFd, libc::sockaddr_ll), frame: &[u8]) {
    // SAFETY: frame and sockaddr are valid for the call.
    let n = unsafe {
        libc::sendto(
            s.0.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&s.1 as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    assert_eq!(
        n,
        frame.len() as isize,
        "{}",
        std::io::Error::last_os_error()
    );
}

#[test]
fn kernel_bpf_passes_only_the_guests_frames() {
    let Some(_t) = system_test("kernel_bpf_passes_only_the_guests_frames", &needs()) else {
        return;
    };
    let mut lab = Lab::new();
    let guest: MacAddr = "52:54:00:11:00:0b".parse().unwrap();
    let other: MacAddr = "52:54:00:11:00:0c".parse().unwrap();
    let g = lab.guest("hb1", "52:54:00:11:00:0b");
    let cap = {
        let _in = lab.hub.enter().unwrap();
        Capture::open("hb1", guest).unwrap()
    };
    let gn = lab.g(g);
    gn.exec_ok(&["ip", "link", "set", "eth0", "up"]).unwrap();
    // Let the link settle (IPv6 link-local traffic from the bridge to multicast, all filtered).
    std::thread::sleep(Duration::from_millis(200));
    let s = {
        let _in = gn.enter().unwrap();
        raw_sender("eth0")
    };
    let server = MacAddr([2, 0, 0, 0, 0, 1]);
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let frames = [
        (
            synth::udp4(
                other,
                server,
                ip("198.51.100.70"),
                ip("198.51.100.1"),
                (1, 9),
                b"o",
            ),
            false,
        ),
        (
            synth::arp(other, BROADCAST, 1, ip("198.51.100.70"), ip("198.51.100.1")),
            false,
        ),
        (
            synth::udp4(
                guest,
                server,
                ip("198.51.100.71"),
                ip("198.51.100.1"),
                (1, 9),
                b"g",
            ),
            true,
        ),
        (
            synth::udp4(
                other,
                guest,
                ip("198.51.100.70"),
                ip("198.51.100.71"),
                (1, 9),
                b"t",
            ),
            true,
        ),
        (
            synth::dhcp_reply(
                server,
                BROADCAST,
                guest,
                ip("198.51.100.1"),
                ip("198.51.100.72"),
                5,
            ),
            true,
        ),
        (
            synth::udp4(
                other,
                BROADCAST,
                ip("198.51.100.70"),
                ip("255.255.255.255"),
                (67, 69),
                b"b",
            ),
            false,
        ),
        (
            synth::arp(guest, BROADCAST, 1, ip("198.51.100.71"), ip("198.51.100.1")),
            true,
        ),
    ];
    for (f, _) in &frames {
        inject(&s, f);
    }
    let expected: Vec<&Vec<u8>> = frames
        .iter()
        .filter(|(_, pass)| *pass)
        .map(|(f, _)| f)
        .collect();
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut buf = vec![0u8; 65536];
    let end = Instant::now() + Duration::from_secs(2);
    while got.len() < expected.len() + 2 && Instant::now() < end {
        match cap.try_recv(&mut buf).unwrap() {
            Some(n) => got.push(buf[..n].to_vec()),
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    // Each frame we sent that should pass arrived, in order; every frame that arrived is from or
    // to the guest (the guest's own IPv6 traffic, e.g. DAD and router solicitations, may be there
    // too) or a broadcast DHCP reply.
    let ours: Vec<&Vec<u8>> = got
        .iter()
        .filter(|f| frames.iter().any(|(s, _)| s == *f))
        .collect();
    assert_eq!(ours, expected);
    for f in &got {
        assert!(
            f[0..6] == guest.0 || f[6..12] == guest.0 || expected.contains(&f),
            "{f:02x?}"
        );
    }
    // The capture's ioctls act in the hub's namespace from this (host) thread.
    assert!(cap.index_of("br0").unwrap().is_some());
    assert!(cap.still_there().unwrap());
}

#[test]
fn learned_ip_clean_traffic_drops_spoofed_packets() {
    let needs = [needs(), vec![Facility::Command("nft")]].concat();
    let Some(_t) = system_test("learned_ip_clean_traffic_drops_spoofed_packets", &needs) else {
        return;
    };
    clean_traffic_with_learned_ip(
        std::sync::Arc::new(virt_nwfilter::instantiate::NftBackend),
        ("hc1", "52:54:00:11:00:0d"),
        ("hc2", "52:54:00:11:00:0e"),
    );
}

#[test]
fn learned_ip_clean_traffic_drops_spoofed_packets_ebiptables() {
    let needs = [
        needs(),
        vec![
            Facility::Command("ebtables"),
            Facility::Command("ebtables-restore"),
            Facility::Command("iptables-restore"),
        ],
    ]
    .concat();
    let Some(_t) = system_test(
        "learned_ip_clean_traffic_drops_spoofed_packets_ebiptables",
        &needs,
    ) else {
        return;
    };
    clean_traffic_with_learned_ip(
        std::sync::Arc::new(virt_nwfilter::instantiate::EbIptablesBackend),
        ("he1", "52:54:00:11:00:1d"),
        ("he2", "52:54:00:11:00:1e"),
    );
}

/// The learner learns a static guest's address by ARP and instantiates clean-traffic with it through
/// `backend`; then only the learned source address passes from the guest's port.
fn clean_traffic_with_learned_ip(
    backend: std::sync::Arc<dyn virt_nwfilter::instantiate::Backend>,
    (gname, mac_s): (&str, &str),
    (pname, peer_mac_s): (&str, &str),
) {
    use virt_nwfilter::instantiate::teardown;
    use virt_nwfilter::learner::InstantiateFilter;
    use virt_nwfilter::tree::{vars_from, FilterSet};

    let mut lab = Lab::new();
    let mac: MacAddr = mac_s.parse().unwrap();
    let g = lab.guest(gname, mac_s);
    let p = lab.guest(pname, peer_mac_s);
    let peer = lab.g(p);
    peer.exec_ok(&["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"])
        .unwrap();
    peer.exec_ok(&["ip", "link", "set", "eth0", "up"]).unwrap();
    let rx = {
        let _in = peer.enter().unwrap();
        let s = std::net::UdpSocket::bind("0.0.0.0:5555").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        s
    };

    let filters =
        FilterSet::load_dir(&virt_testkit::libvirt_data("nwfilter-standard")).expect("filters");
    let on_learned = InstantiateFilter {
        filter: virt_xml::nwfilter::FilterRef {
            filter: "clean-traffic".into(),
            params: Default::default(),
        },
        source: std::sync::Arc::new(filters),
        vars: vars_from([("MAC", mac_s)]),
        backend: backend.clone(),
    };
    assert_eq!(on_learned.vars_for(&[]).get("IP"), None);
    let gn = lab.g(g);
    gn.exec_ok(&["ip", "link", "set", "eth0", "up"]).unwrap();
    let s = {
        let _in = gn.enter().unwrap();
        raw_sender("eth0")
    };
    let peer_mac: MacAddr = peer_mac_s.parse().unwrap();
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let mut buf = [0u8; 64];
    // Control: without a filter a spoofed source gets through (retried while the new bridge
    // ports come up: the kernel notes carrier changes with a delay).
    let control = synth::udp4(
        mac,
        peer_mac,
        ip("198.51.100.97"),
        ip("198.51.100.2"),
        (4000, 5555),
        b"control",
    );
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        inject(&s, &control);
        if let Ok((n, _)) = rx.recv_from(&mut buf) {
            assert_eq!(&buf[..n], b"control");
            break;
        }
        assert!(
            Instant::now() < end,
            "the unfiltered control frame never arrived"
        );
    }
    // Drain duplicates of the control frame.
    while rx.recv_from(&mut buf).is_ok() {}

    let reg = Registry::new();
    let h = reg.start(gname, mac, lab.opts(), on_learned).unwrap();
    gn.exec_ok(&["ip", "addr", "add", "198.51.100.21/24", "dev", "eth0"])
        .unwrap();
    send_udp(gn, "198.51.100.2");
    let outcome = h.join().expect("learned and applied");
    assert_eq!(
        outcome,
        Outcome::Learned(vec![Learned {
            addr: "198.51.100.21".parse().unwrap(),
            how: How::Arp
        }])
    );
    // The rules are in place, on this interface.
    let ruleset = lab.hub.exec_ok(&["nft", "list", "ruleset"]).unwrap();
    assert!(ruleset.contains(gname), "{ruleset}");

    // From the guest's port: its learned address passes, another source address is dropped.
    let mut got = Vec::new();
    for (src, payload) in [
        ("198.51.100.99", "spoofed"),
        ("198.51.100.21", "legit"),
        ("198.51.100.98", "spoofed2"),
    ] {
        inject(
            &s,
            &synth::udp4(
                mac,
                peer_mac,
                ip(src),
                ip("198.51.100.2"),
                (4000, 5555),
                payload.as_bytes(),
            ),
        );
    }
    while let Ok((n, from)) = rx.recv_from(&mut buf) {
        got.push((
            String::from_utf8_lossy(&buf[..n]).into_owned(),
            from.ip().to_string(),
        ));
    }
    assert_eq!(got, [("legit".to_string(), "198.51.100.21".to_string())]);
    {
        let _in = lab.hub.enter().unwrap();
        teardown(gname, backend.as_ref()).unwrap();
    }
    let ruleset = lab.hub.exec_ok(&["nft", "list", "ruleset"]).unwrap();
    assert!(!ruleset.contains(gname), "left behind:\n{ruleset}");
}

#[test]
fn learns_dhcpv6_lease_from_dnsmasq() {
    let needs = [
        needs(),
        vec![
            Facility::Command("dnsmasq"),
            Facility::Command("dhclient"),
            Facility::Command("ss"),
        ],
    ]
    .concat();
    let Some(_t) = system_test("learns_dhcpv6_lease_from_dnsmasq", &needs) else {
        return;
    };
    let tmp = TempDir::new("learner-dhcp6").unwrap();
    let mut lab = Lab::new();
    let mac = "52:54:00:11:00:0f";
    let g = lab.guest("h6d", mac);
    let dnsmasq = lab
        .hub
        .command("dnsmasq")
        .args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--interface=br0",
            "--port=0",
        ])
        .arg("--dhcp-range=2001:db8::50,2001:db8::99,64")
        .arg(format!(
            "--dhcp-leasefile={}",
            tmp.path().join("leases").display()
        ))
        .arg(format!(
            "--pid-file={}",
            tmp.path().join("dnsmasq.pid").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq");
    let _dnsmasq = Daemon(dnsmasq);
    wait_for_udp_port(&lab.hub, ":547", "dnsmasq (DHCPv6)");

    // DHCP only, IPv6 too: the guest has no IPv4, so the learner applies the IPv6 lease and keeps
    // listening for an IPv4 address until cancelled.
    let reg = Registry::new();
    let (cb, rx) = reporter();
    let opts = LearnOptions {
        matching: MatchOptions {
            detect: virt_nwfilter::learner::Detect::Dhcp,
            ipv6: true,
        },
        ..lab.opts()
    };
    let h = reg.start("h6d", mac.parse().unwrap(), opts, cb).unwrap();
    let gn = lab.g(g);
    // No duplicate address detection: the link-local address is usable at once.
    gn.exec_ok(&["sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0"])
        .unwrap();
    gn.exec_ok(&["ip", "link", "set", "eth0", "up"]).unwrap();
    let dhclient = gn
        .command("dhclient")
        .args(["-6", "-d", "-1", "-v", "-sf", "/bin/true"])
        .arg("-lf")
        .arg(tmp.path().join("dhclient6.leases"))
        .arg("-pf")
        .arg(tmp.path().join("dhclient6.pid"))
        .arg("eth0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dhclient -6");
    let _dhclient = Daemon(dhclient);
    let (_, applied, _) = rx
        .recv_timeout(Duration::from_secs(25))
        .expect("DHCPv6 lease learned");
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0].how, How::Dhcpv6);
    let IpAddr::V6(a) = applied[0].addr else {
        panic!("{applied:?}")
    };
    let last = a.segments()[7];
    assert!(
        a.segments()[..7] == [0x2001, 0xdb8, 0, 0, 0, 0, 0] && (0x50..=0x99).contains(&last),
        "{a}"
    );
    assert!(reg.is_learning("h6d"));
    h.cancel();
    assert_eq!(h.join().unwrap(), Outcome::Learned(applied));
}
