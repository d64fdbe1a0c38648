//! Faults: each gives a clear error and leaves no interface and no fd behind. These tests count the
//! process's open descriptors, so they run one at a time.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use virt_audit::{AuditError, AuditLevel, AuditSink, Auditor, Record};
use virt_net::{
    IfName, MacvtapConfig, MacvtapMode, NetError, NetHost, NicFds, TapConfig, VhostPolicy,
};
use virt_testkit::{system_test, NetNs};

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `op` in `ns` and checks it fails as `check` says, with the namespace's links and this
/// process's fd count as they were before. Returns the audit summaries written.
fn fault(
    ns: &NetNs,
    op: impl FnOnce(&NetHost) -> Result<NicFds, NetError>,
    check: impl FnOnce(&NetError) -> bool,
) -> (String, Vec<String>) {
    let (auditor, sink) = Auditor::memory();
    let msg = fault_with(ns, auditor, op, check);
    (msg, sink.summaries())
}

fn fault_with(
    ns: &NetNs,
    auditor: Auditor,
    op: impl FnOnce(&NetHost) -> Result<NicFds, NetError>,
    check: impl FnOnce(&NetError) -> bool,
) -> String {
    let _in = ns.enter().expect("enter netns");
    let links_before = links(ns);
    let host = NetHost::new(auditor);
    let fds_before = fd_count();
    let err = match op(&host) {
        Ok(nic) => panic!("unexpected success: {nic:?}"),
        Err(e) => e,
    };
    assert_eq!(fd_count(), fds_before, "fds left behind after: {err}");
    assert!(check(&err), "wrong error: {err:?}");
    assert_eq!(
        links(ns),
        links_before,
        "interfaces left behind after: {err}"
    );
    err.to_string()
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn tap_name_collision() {
    let Some(_t) = system_test("tap_name_collision", NEEDS) else {
        return;
    };
    let _l = lock();
    let ns = netns("vfc");
    ns.exec_ok(&[
        "ip", "link", "add", "taken0", "type", "veth", "peer", "name", "taken0p",
    ])
    .unwrap();
    ns.exec_ok(&["ip", "tuntap", "add", "dev", "taken1", "mode", "tap"])
        .unwrap();
    for name in ["taken0", "taken1"] {
        let mut cfg = TapConfig::new(mac());
        cfg.name = IfName::Exact(name.into());
        cfg.queues = 2;
        let (msg, recs) = fault(
            &ns,
            |h| h.open_tap(&vm(), &cfg, VhostPolicy::Auto),
            |e| matches!(e, NetError::NameInUse(n) if n == name),
        );
        assert_eq!(msg, format!("interface \"{name}\" already exists"));
        assert!(recs.is_empty(), "nothing opened, nothing audited: {recs:?}");
    }
}

#[test]
fn tap_missing_bridge_and_not_a_bridge() {
    let Some(_t) = system_test("tap_missing_bridge_and_not_a_bridge", NEEDS) else {
        return;
    };
    let _l = lock();
    let ns = netns("vfb");
    ns.exec_ok(&[
        "ip", "link", "add", "notbr", "type", "veth", "peer", "name", "notbrp",
    ])
    .unwrap();
    let mut cfg = TapConfig::new(mac());
    cfg.bridge = Some("nobr0".into());
    let (msg, recs) = fault(
        &ns,
        |h| h.open_tap(&vm(), &cfg, VhostPolicy::Auto),
        |e| matches!(e, NetError::BridgeMissing(b) if b == "nobr0"),
    );
    assert_eq!(msg, "bridge \"nobr0\" does not exist");
    assert!(recs.is_empty());
    cfg.bridge = Some("notbr".into());
    let (msg, _) = fault(
        &ns,
        |h| h.open_tap(&vm(), &cfg, VhostPolicy::Auto),
        |e| matches!(e, NetError::NotABridge(b) if b == "notbr"),
    );
    assert_eq!(msg, "interface \"notbr\" is not a bridge");
}

#[test]
fn tap_failure_midway_rolls_back() {
    let Some(_t) = system_test("tap_failure_midway_rolls_back", NEEDS) else {
        return;
    };
    let _l = lock();
    let ns = netns("vfm");
    ns.exec_ok(&["ip", "link", "add", "br-m", "type", "bridge"])
        .unwrap();
    // Four queues opened, persistent, attached to the bridge: then the MTU is refused.
    let mut cfg = TapConfig::new(mac());
    cfg.queues = 4;
    cfg.persistent = true;
    cfg.bridge = Some("br-m".into());
    cfg.mtu = Some(70000);
    let (msg, recs) = fault(
        &ns,
        |h| h.open_tap(&vm(), &cfg, VhostPolicy::Qemu),
        |e| matches!(e, NetError::Netlink { op: "set MTU", .. }),
    );
    assert!(msg.starts_with("netlink set MTU for \"vnet0\": "), "{msg}");
    // The opens did happen and are on record.
    assert_eq!(
        recs,
        vec![rec("52:54:00:12:34:56", "/dev/net/tun", "0A:C8", true); 4]
    );
    assert!(ns
        .exec_ok(&["ls", "/sys/class/net/br-m/brif"])
        .unwrap()
        .trim()
        .is_empty());
}

#[test]
fn vhost_required_but_missing_rolls_back() {
    let Some(_t) = system_test("vhost_required_but_missing_rolls_back", NEEDS) else {
        return;
    };
    if std::path::Path::new("/dev/vhost-net").exists() {
        eprintln!("note: /dev/vhost-net exists; this fault cannot be made here");
        return;
    }
    let _l = lock();
    let ns = netns("vfv");
    let mut cfg = TapConfig::new(mac());
    cfg.queues = 4;
    cfg.vnet_hdr = true;
    let (msg, recs) = fault(
        &ns,
        |h| h.open_tap(&vm(), &cfg, VhostPolicy::Vhost),
        |e| matches!(e, NetError::VhostUnavailable { .. }),
    );
    assert_eq!(
        msg,
        "vhost-net was required (driver name='vhost') but /dev/vhost-net cannot be opened: No such file or directory (os error 2)"
    );
    assert_eq!(recs.len(), 5);
    assert_eq!(
        recs[4],
        rec("52:54:00:12:34:56", "/dev/vhost-net", "?", false)
    );
}

#[test]
fn macvtap_missing_parent_collision_and_midway() {
    let Some(_t) = system_test("macvtap_missing_parent_collision_and_midway", NEEDS) else {
        return;
    };
    let _l = lock();
    let ns = netns("vfp");
    ns.exec_ok(&[
        "ip", "link", "add", "fp0", "type", "veth", "peer", "name", "fp1",
    ])
    .unwrap();
    ns.exec_ok(&[
        "ip", "link", "add", "taken0", "type", "veth", "peer", "name", "taken0p",
    ])
    .unwrap();

    let cfg = MacvtapConfig::new(mac(), "noparent", MacvtapMode::Bridge);
    let (msg, recs) = fault(
        &ns,
        |h| h.open_macvtap(&vm(), &cfg, VhostPolicy::Auto),
        |e| matches!(e, NetError::ParentMissing(p) if p == "noparent"),
    );
    assert_eq!(msg, "parent interface \"noparent\" does not exist");
    assert!(recs.is_empty());

    let mut cfg = MacvtapConfig::new(mac(), "fp0", MacvtapMode::Vepa);
    cfg.name = IfName::Exact("taken0".into());
    let (_, recs) = fault(
        &ns,
        |h| h.open_macvtap(&vm(), &cfg, VhostPolicy::Auto),
        |e| matches!(e, NetError::NameInUse(n) if n == "taken0"),
    );
    assert!(recs.is_empty());

    // Created, then the MTU (above the parent's) is refused: the macvtap is deleted again.
    let mut cfg = MacvtapConfig::new(mac(), "fp0", MacvtapMode::Bridge);
    cfg.mtu = Some(9000);
    cfg.queues = 2;
    let (msg, recs) = fault(
        &ns,
        |h| h.open_macvtap(&vm(), &cfg, VhostPolicy::Auto),
        |e| matches!(e, NetError::Netlink { op: "set MTU", .. }),
    );
    assert!(msg.contains("\"macvtap0\""), "{msg}");
    assert!(recs.is_empty());
}

#[test]
fn invalid_input_is_refused_before_anything() {
    let Some(_t) = system_test("invalid_input_is_refused_before_anything", NEEDS) else {
        return;
    };
    let _l = lock();
    let ns = netns("vfi");
    let mut cfg = TapConfig::new(mac());
    cfg.queues = 0;
    fault(
        &ns,
        |h| h.open_tap(&vm(), &cfg, VhostPolicy::Auto),
        |e| matches!(e, NetError::InvalidQueues(0)),
    );
    let mut cfg = TapConfig::new("01:00:5e:00:00:01".parse().unwrap());
    cfg.name = IfName::Exact("ok0".into());
    fault(
        &ns,
        |h| h.open_tap(&vm(), &cfg, VhostPolicy::Auto),
        |e| matches!(e, NetError::MulticastMac(_)),
    );
    let mut cfg = TapConfig::new(mac());
    cfg.name = IfName::Exact("bad/name".into());
    fault(
        &ns,
        |h| h.open_tap(&vm(), &cfg, VhostPolicy::Auto),
        |e| matches!(e, NetError::InvalidName { .. }),
    );
}

/// Accepts a number of records, then refuses every one.
#[derive(Debug)]
struct FailingSink {
    accept: AtomicUsize,
    sent: Mutex<Vec<String>>,
}

impl AuditSink for FailingSink {
    fn send(&self, record: &Record) -> Result<(), AuditError> {
        if self
            .accept
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_err()
        {
            return Err(AuditError::Io {
                sink: "test".into(),
                source: std::io::Error::other("sink full"),
            });
        }
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record.summary());
        Ok(())
    }
}

#[test]
fn strict_audit_failure_midway_rolls_back() {
    let Some(_t) = system_test("strict_audit_failure_midway_rolls_back", NEEDS) else {
        return;
    };
    let _l = lock();
    let ns = netns("vfs");
    let sink = Arc::new(FailingSink {
        accept: AtomicUsize::new(2),
        sent: Mutex::new(Vec::new()),
    });
    let auditor = Auditor::new(sink.clone(), AuditLevel::Strict);
    let mut cfg = TapConfig::new(mac());
    cfg.queues = 4;
    cfg.persistent = true;
    let msg = fault_with(
        &ns,
        auditor,
        |h| h.open_tap(&vm(), &cfg, VhostPolicy::Qemu),
        |e| matches!(e, NetError::Audit(AuditError::Strict(_))),
    );
    assert!(msg.starts_with("audit record could not be sent"), "{msg}");
    assert_eq!(
        *sink.sent.lock().unwrap(),
        vec![rec("52:54:00:12:34:56", "/dev/net/tun", "0A:C8", true); 2]
    );
}
