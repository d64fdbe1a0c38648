//! System tests on the real kernel, each in a network namespace it makes and removes: taps (1 and 4
//! queues, vnet_hdr), bridge attach, macvtap, vhost-net policies, and the exact audit records.

mod common;

use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use common::*;
use virt_audit::{Auditor, DevNum};
use virt_net::{
    DevicePaths, IfName, MacvtapConfig, MacvtapMode, NetError, NetHost, TapConfig, VhostPolicy,
};
use virt_testkit::{system_test, TempDir};
use virt_xml::status::{NicHostState, OpenedDevice};

const BCAST: [u8; 6] = [0xff; 6];

/// Macvtap nodes (`/dev/tapN`) are shared by all namespaces: the macvtap tests here run one at a
/// time so that one's nodes do not come and go under another's checks.
static MACVTAP: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn macvtap_lock() -> std::sync::MutexGuard<'static, ()> {
    MACVTAP.lock().unwrap_or_else(|p| p.into_inner())
}
const MAC: &str = "52:54:00:12:34:56";

fn tun_device(fds: u32) -> OpenedDevice {
    OpenedDevice {
        path: "/dev/net/tun".into(),
        rdev: Some((10, 200)),
        fds,
    }
}

fn tap_roundtrip(test: &str, queues: u32, vnet_hdr: bool) {
    let Some(_t) = system_test(test, NEEDS) else {
        return;
    };
    let ns = netns("vnt");
    let _in = ns.enter().expect("enter netns");
    let (auditor, sink) = Auditor::memory();
    let host = NetHost::new(auditor);
    let mut cfg = TapConfig::new(mac());
    cfg.queues = queues;
    cfg.vnet_hdr = vnet_hdr;
    let nic = host
        .open_tap(&vm(), &cfg, VhostPolicy::Qemu)
        .expect("open tap");

    assert_eq!(nic.ifname, "vnet0");
    assert_eq!(nic.tap.len(), queues as usize);
    assert!(nic.vhost.is_empty());
    assert_eq!(
        nic.state,
        NicHostState {
            mac: mac(),
            ifname: Some("vnet0".into()),
            devices: vec![tun_device(queues)],
        }
    );
    assert_eq!(
        sink.summaries(),
        vec![rec(MAC, "/dev/net/tun", "0A:C8", true); queues as usize]
    );
    assert_eq!(sysfs(&ns, "vnet0/address"), "fe:54:00:12:34:56");
    let tun_flags =
        u32::from_str_radix(sysfs(&ns, "vnet0/tun_flags").trim_start_matches("0x"), 16).unwrap();
    assert_eq!(tun_flags & 0x4000 != 0, vnet_hdr, "IFF_VNET_HDR");
    assert_eq!(tun_flags & 0x0100 != 0, queues > 1, "IFF_MULTI_QUEUE");
    assert_eq!(tun_flags & 0x1002, 0x1002, "IFF_TAP|IFF_NO_PI");
    assert_eq!(
        sysfs(&ns, "vnet0/flags")
            .trim_start_matches("0x")
            .parse::<u32>()
            .ok()
            .map(|f| f & 1),
        Some(1),
        "link up"
    );

    let pkt = packet_socket(nic.ifindex() as i32);
    let hdr = if vnet_hdr { 10 } else { 0 };
    // A frame written to each queue's fd appears on the interface (the vnet header stripped).
    for (i, fd) in nic.tap.iter().enumerate() {
        let marker = format!("to-host-{i}");
        let f = frame(BCAST, mac().0, marker.as_bytes());
        let mut buf = vec![0u8; hdr];
        buf.extend_from_slice(&f);
        write_all(fd.as_fd(), &buf);
        let (_, got) = read_until(&[pkt.as_fd()], |d| is_ours(d, 0, marker.as_bytes()))
            .unwrap_or_else(|| panic!("frame from queue {i} not seen on vnet0"));
        assert_eq!(got, f, "queue {i}");
    }
    // A frame sent on the interface is read from one of the fds (with a vnet header if asked).
    let f = frame(mac().0, [0x02, 0, 0, 0, 0, 1], b"to-guest");
    write_all(pkt.as_fd(), &f);
    let fds: Vec<_> = nic.tap.iter().map(|f| f.as_fd()).collect();
    let (_, got) =
        read_until(&fds, |d| is_ours(d, hdr, b"to-guest")).expect("frame read from a tap fd");
    assert_eq!(got.len(), hdr + f.len());
    assert_eq!(&got[hdr..], &f[..]);
    if vnet_hdr {
        assert_eq!(got[1], 0, "gso_type NONE in the virtio_net_hdr");
    }

    let released = host.release(nic).expect("release");
    assert_eq!(released.devices, vec![tun_device(queues)]);
    assert!(!links(&ns).contains(&"vnet0".to_string()));
}

#[test]
fn tap_one_queue() {
    tap_roundtrip("tap_one_queue", 1, false);
}

#[test]
fn tap_one_queue_vnet_hdr() {
    tap_roundtrip("tap_one_queue_vnet_hdr", 1, true);
}

#[test]
fn tap_four_queues_vnet_hdr() {
    tap_roundtrip("tap_four_queues_vnet_hdr", 4, true);
}

#[test]
fn tap_four_queues() {
    tap_roundtrip("tap_four_queues", 4, false);
}

#[test]
fn tap_bridge_persistent_mtu() {
    let Some(_t) = system_test("tap_bridge_persistent_mtu", NEEDS) else {
        return;
    };
    let ns = netns("vnb");
    ns.exec_ok(&["ip", "link", "add", "br-t", "type", "bridge"])
        .unwrap();
    ns.exec_ok(&["ip", "link", "set", "br-t", "mtu", "1400"])
        .unwrap();
    let _in = ns.enter().expect("enter netns");
    let host = NetHost::new(Auditor::off());
    let mut cfg = TapConfig::new(mac());
    cfg.name = IfName::Exact("tap-guest".into());
    cfg.bridge = Some("br-t".into());
    cfg.persistent = true;
    let mut nic = host.open_tap(&vm(), &cfg, VhostPolicy::Qemu).expect("open");
    assert_eq!(nic.ifname, "tap-guest");
    let brif = ns.exec_ok(&["ls", "/sys/class/net/br-t/brif"]).unwrap();
    assert_eq!(brif.split_whitespace().collect::<Vec<_>>(), ["tap-guest"]);
    assert_eq!(sysfs(&ns, "tap-guest/mtu"), "1400", "bridge MTU taken");
    assert_eq!(sysfs(&ns, "tap-guest/address"), "fe:54:00:12:34:56");

    // Persistent: the tap outlives its fds...
    drop(std::mem::take(&mut nic.tap));
    assert!(links(&ns).contains(&"tap-guest".to_string()));
    // ...until released.
    let state = host.release(nic).expect("release");
    assert_eq!(state.ifname.as_deref(), Some("tap-guest"));
    assert!(!links(&ns).contains(&"tap-guest".to_string()));
    assert!(ns
        .exec_ok(&["ls", "/sys/class/net/br-t/brif"])
        .unwrap()
        .trim()
        .is_empty());
}

#[test]
fn tap_explicit_mtu_template_and_delete_from_state() {
    let Some(_t) = system_test("tap_explicit_mtu_template_and_delete_from_state", NEEDS) else {
        return;
    };
    let ns = netns("vnd");
    let _in = ns.enter().expect("enter netns");
    let host = NetHost::new(Auditor::off());
    let mut cfg = TapConfig::new(mac());
    cfg.name = IfName::parse("gst%d").unwrap();
    cfg.mtu = Some(9000);
    cfg.persistent = true;
    let a = host
        .open_tap(&vm(), &cfg, VhostPolicy::Qemu)
        .expect("first");
    let b = host
        .open_tap(&vm(), &cfg, VhostPolicy::Qemu)
        .expect("second");
    assert_eq!((a.ifname.as_str(), b.ifname.as_str()), ("gst0", "gst1"));
    assert_eq!(sysfs(&ns, "gst1/mtu"), "9000");
    // The driver keeps only the state (the fds went to QEMU, here: closed).
    let state = b.state.clone();
    drop(b);
    assert!(
        links(&ns).contains(&"gst1".to_string()),
        "persistent tap kept"
    );
    assert_eq!(host.delete(&state).expect("delete"), state);
    // Deleting what is already gone is not an error.
    host.delete(&state).expect("delete again");
    host.release(a).expect("release");
    let names = links(&ns);
    assert!(!names.iter().any(|n| n.starts_with("gst")), "{names:?}");
}

fn veth_pair(ns: &virt_testkit::NetNs, a: &str, b: &str) {
    ns.exec_ok(&["ip", "link", "add", a, "type", "veth", "peer", "name", b])
        .unwrap();
    ns.exec_ok(&["ip", "link", "set", a, "up"]).unwrap();
    ns.exec_ok(&["ip", "link", "set", b, "up"]).unwrap();
}

#[test]
fn macvtap_bridge_mode_on_veth() {
    let Some(_t) = system_test("macvtap_bridge_mode_on_veth", NEEDS) else {
        return;
    };
    let _l = macvtap_lock();
    let ns = netns("vnm");
    veth_pair(&ns, "vp0", "vp1");
    let _in = ns.enter().expect("enter netns");
    let (auditor, sink) = Auditor::memory();
    let host = NetHost::new(auditor);
    let mut cfg = MacvtapConfig::new(mac(), "vp0", MacvtapMode::Bridge);
    cfg.queues = 2;
    cfg.vnet_hdr = true;
    let nic = host
        .open_macvtap(&vm(), &cfg, VhostPolicy::Qemu)
        .expect("open macvtap");
    assert_eq!(nic.ifname, "macvtap0");
    let path = format!("/dev/tap{}", nic.ifindex());
    let rdev = DevNum::from_rdev(std::fs::metadata(&path).expect("node").rdev());
    assert_eq!(
        sink.summaries(),
        vec![rec(MAC, &path, &rdev.to_string(), true); 2]
    );
    assert_eq!(
        nic.state.devices,
        vec![OpenedDevice {
            path: path.clone(),
            rdev: Some((rdev.major, rdev.minor)),
            fds: 2
        }]
    );
    assert_eq!(
        sysfs(&ns, "macvtap0/address"),
        MAC,
        "macvtap takes the guest MAC"
    );
    let detail = ns
        .exec_ok(&["ip", "-d", "link", "show", "macvtap0"])
        .unwrap();
    assert!(detail.contains("macvtap mode bridge"), "{detail}");

    // A frame arriving on the parent for the guest MAC is read from a macvtap fd.
    let peer = packet_socket(ifindex(&ns, "vp1"));
    let f = frame(mac().0, [0x02, 0, 0, 0, 0, 2], b"to-macvtap");
    write_all(peer.as_fd(), &f);
    let fds: Vec<_> = nic.tap.iter().map(|f| f.as_fd()).collect();
    let (_, got) = read_until(&fds, |d| is_ours(d, 10, b"to-macvtap")).expect("frame on macvtap");
    assert_eq!(&got[10..], &f[..]);
    // And a frame the guest writes leaves through the parent.
    let g = frame(BCAST, mac().0, b"from-guest");
    let mut buf = vec![0u8; 10];
    buf.extend_from_slice(&g);
    write_all(nic.tap[1].as_fd(), &buf);
    let (_, got) = read_until(&[peer.as_fd()], |d| is_ours(d, 0, b"from-guest")).expect("on vp1");
    assert_eq!(got, g);

    host.release(nic).expect("release");
    let names = links(&ns);
    assert!(!names.iter().any(|n| n.starts_with("macvtap")), "{names:?}");
}

#[test]
fn macvtap_modes() {
    let Some(_t) = system_test("macvtap_modes", NEEDS) else {
        return;
    };
    let _l = macvtap_lock();
    let ns = netns("vnx");
    veth_pair(&ns, "mp0", "mp1");
    let _in = ns.enter().expect("enter netns");
    let host = NetHost::new(Auditor::off());
    let parent_mac = sysfs(&ns, "mp0/address");
    for (mode, shown) in [
        (MacvtapMode::Vepa, "vepa"),
        (MacvtapMode::Private, "private"),
        (MacvtapMode::Passthrough, "passthru"),
        (MacvtapMode::Bridge, "bridge"),
    ] {
        let mut cfg = MacvtapConfig::new(mac(), "mp0", mode);
        cfg.name = IfName::Exact("mvt-g".into());
        cfg.mtu = Some(1400);
        let nic = host
            .open_macvtap(&vm(), &cfg, VhostPolicy::Qemu)
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
        let detail = ns.exec_ok(&["ip", "-d", "link", "show", "mvt-g"]).unwrap();
        assert!(
            detail.contains(&format!("macvtap mode {shown}")),
            "{detail}"
        );
        assert!(detail.contains("mtu 1400"), "{detail}");
        assert_eq!(sysfs(&ns, "mvt-g/address"), MAC, "{shown}");
        if mode == MacvtapMode::Passthrough {
            assert_eq!(
                sysfs(&ns, "mp0/address"),
                MAC,
                "passthrough: the parent takes the guest MAC"
            );
        }
        let state = host.release(nic).expect("release");
        assert_eq!(state.devices.len(), 1);
        assert!(!links(&ns).contains(&"mvt-g".to_string()));
        assert_eq!(
            sysfs(&ns, "mp0/address"),
            parent_mac,
            "{shown}: parent MAC as before"
        );
    }
}

/// `/dev/vhost-net` does not exist on this machine's kernel; if it does elsewhere, a path that is
/// certainly missing stands in.
fn missing_vhost(dir: &TempDir) -> DevicePaths {
    let mut p = DevicePaths::default();
    if p.vhost_net.exists() {
        eprintln!(
            "note: {} exists here; using a missing path",
            p.vhost_net.display()
        );
        p.vhost_net = dir.path().join("vhost-net");
    }
    p
}

#[test]
fn vhost_auto_unavailable_falls_back_and_claims_nothing() {
    let Some(_t) = system_test("vhost_auto_unavailable", NEEDS) else {
        return;
    };
    let dir = TempDir::new("vnet-vh").unwrap();
    let paths = missing_vhost(&dir);
    let vpath = paths.vhost_net.to_string_lossy().into_owned();
    let ns = netns("vna");
    let _in = ns.enter().expect("enter netns");
    let (auditor, sink) = Auditor::memory();
    let host = NetHost::with_paths(auditor, paths);
    let mut cfg = TapConfig::new(mac());
    cfg.queues = 2;
    let nic = host
        .open_tap(&vm(), &cfg, VhostPolicy::Auto)
        .expect("auto falls back");
    assert!(nic.vhost.is_empty());
    assert_eq!(nic.state.devices, vec![tun_device(2)]);
    // One failed record for the one vhost-net attempt, and no success claimed for it.
    assert_eq!(
        sink.summaries(),
        vec![
            rec(MAC, "/dev/net/tun", "0A:C8", true),
            rec(MAC, "/dev/net/tun", "0A:C8", true),
            rec(MAC, &vpath, "?", false),
        ]
    );
    host.release(nic).unwrap();
}

#[test]
fn vhost_explicit_unavailable_is_an_error_and_rolls_back() {
    let Some(_t) = system_test("vhost_explicit_unavailable", NEEDS) else {
        return;
    };
    let dir = TempDir::new("vnet-vh").unwrap();
    let paths = missing_vhost(&dir);
    let vpath = paths.vhost_net.to_string_lossy().into_owned();
    let ns = netns("vne");
    let _in = ns.enter().expect("enter netns");
    let before = links(&ns);
    let (auditor, sink) = Auditor::memory();
    let host = NetHost::with_paths(auditor, paths);
    let mut cfg = TapConfig::new(mac());
    cfg.queues = 2;
    cfg.persistent = true;
    let err = host
        .open_tap(&vm(), &cfg, VhostPolicy::Vhost)
        .expect_err("vhost required");
    match &err {
        NetError::VhostUnavailable { path, source } => {
            assert_eq!(path, &vpath);
            assert_eq!(source.raw_os_error(), Some(libc::ENOENT));
        }
        e => panic!("wrong error {e:?}"),
    }
    assert!(err.to_string().contains("vhost-net was required"), "{err}");
    assert_eq!(
        sink.summaries(),
        vec![
            rec(MAC, "/dev/net/tun", "0A:C8", true),
            rec(MAC, "/dev/net/tun", "0A:C8", true),
            rec(MAC, &vpath, "?", false),
        ]
    );
    assert_eq!(links(&ns), before, "the persistent tap was deleted");
}

#[test]
fn vhost_on_substituted_node() {
    let Some(_t) = system_test("vhost_on_substituted_node", NEEDS) else {
        return;
    };
    // A real character device node with /dev/null's numbers stands in for /dev/vhost-net.
    let dir = TempDir::new("vnet-vh").unwrap();
    let node = dir.path().join("vhost-net");
    nix::sys::stat::mknod(
        &node,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
        nix::sys::stat::makedev(1, 3),
    )
    .expect("mknod");
    let vpath = node.to_string_lossy().into_owned();
    let paths = DevicePaths {
        vhost_net: node.clone(),
        ..DevicePaths::default()
    };
    let ns = netns("vns");
    let _in = ns.enter().expect("enter netns");
    let (auditor, sink) = Auditor::memory();
    let host = NetHost::with_paths(auditor, paths);
    for policy in [VhostPolicy::Vhost, VhostPolicy::Auto] {
        sink.clear();
        let mut cfg = TapConfig::new(mac());
        cfg.queues = 2;
        cfg.vnet_hdr = true;
        let nic = host.open_tap(&vm(), &cfg, policy).expect("open");
        assert_eq!(nic.vhost.len(), 2);
        assert_eq!(
            nic.state.devices,
            vec![
                tun_device(2),
                OpenedDevice {
                    path: vpath.clone(),
                    rdev: Some((1, 3)),
                    fds: 2
                }
            ]
        );
        assert_eq!(
            sink.summaries(),
            vec![
                rec(MAC, "/dev/net/tun", "0A:C8", true),
                rec(MAC, "/dev/net/tun", "0A:C8", true),
                rec(MAC, &vpath, "01:03", true),
                rec(MAC, &vpath, "01:03", true),
            ]
        );
        host.release(nic).unwrap();
    }
    // `qemu` never touches vhost-net.
    sink.clear();
    let nic = host
        .open_tap(&vm(), &TapConfig::new(mac()), VhostPolicy::Qemu)
        .unwrap();
    assert!(nic.vhost.is_empty());
    assert_eq!(
        sink.summaries(),
        vec![rec(MAC, "/dev/net/tun", "0A:C8", true)]
    );
    host.release(nic).unwrap();
}

#[test]
fn failed_tun_open_is_audited() {
    let Some(_t) = system_test("failed_tun_open_is_audited", NEEDS) else {
        return;
    };
    let dir = TempDir::new("vnet-tun").unwrap();
    let tun = dir.path().join("tun");
    let paths = DevicePaths {
        tun: tun.clone(),
        ..DevicePaths::default()
    };
    let ns = netns("vnf");
    let _in = ns.enter().expect("enter netns");
    let before = links(&ns);
    let (auditor, sink) = Auditor::memory();
    let host = NetHost::with_paths(auditor, paths);
    let err = host
        .open_tap(&vm(), &TapConfig::new(mac()), VhostPolicy::Auto)
        .expect_err("no tun device");
    assert!(
        matches!(&err, NetError::Open { path, .. } if path == &tun.to_string_lossy()),
        "{err:?}"
    );
    assert_eq!(
        sink.summaries(),
        vec![rec(MAC, &tun.to_string_lossy(), "?", false)]
    );
    assert_eq!(links(&ns), before);
}

#[test]
fn macvtap_node_of_another_namespace_is_not_taken() {
    let Some(_t) = system_test("macvtap_node_of_another_namespace_is_not_taken", NEEDS) else {
        return;
    };
    let _l = macvtap_lock();
    // Namespace A holds a macvtap whose ifindex names /dev/tapN; B's macvtap must not get index N
    // (its node would be A's).
    let a = netns("vno");
    veth_pair(&a, "oa0", "oa1");
    a.exec_ok(&[
        "ip", "link", "add", "link", "oa0", "name", "theirs", "type", "macvtap",
    ])
    .unwrap();
    let theirs = ifindex(&a, "theirs");
    assert!(std::path::Path::new(&format!("/dev/tap{theirs}")).exists());
    let b = netns("vno");
    veth_pair(&b, "ob0", "ob1");
    let _in = b.enter().expect("enter netns");
    let (auditor, sink) = Auditor::memory();
    let host = NetHost::new(auditor);
    let nic = host
        .open_macvtap(
            &vm(),
            &MacvtapConfig::new(mac(), "ob0", MacvtapMode::Vepa),
            VhostPolicy::Qemu,
        )
        .expect("open macvtap");
    assert_ne!(nic.ifindex() as i32, theirs);
    let path = format!("/dev/tap{}", nic.ifindex());
    assert_eq!(nic.state.devices[0].path, path);
    let recs = sink.summaries();
    assert_eq!(recs.len(), 1);
    assert!(recs[0].contains(&format!("path=\"{path}\"")), "{recs:?}");
    host.release(nic).expect("release");
}
