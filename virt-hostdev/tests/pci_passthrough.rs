//! PCI passthrough on made sysfs trees: every file written is checked, in order.

mod common;

use std::time::Duration;

use common::{pci, FakeSysfs};
use virt_audit::{Auditor, MemorySink, VirtType, VmIdentity};
use virt_hostdev::{AssignReason, Assigned, HostdevError, HostdevId, HostdevManager};
use virt_testkit::TempDir;

const UUID_A: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";
const UUID_B: &str = "c7a5fdbd-cdaf-9455-926a-d65c16db1809";

fn vm(name: &str, uuid: &str) -> VmIdentity {
    let u: virt_xml::Uuid = uuid.parse().expect("uuid");
    VmIdentity::new(VirtType::Kvm, name, u.0)
}

fn w(path: &str, value: &str) -> (String, String) {
    (path.to_string(), value.to_string())
}

fn manager(fs: &FakeSysfs, state: &TempDir) -> (HostdevManager, std::sync::Arc<MemorySink>) {
    let (auditor, sink) = Auditor::memory();
    let m = HostdevManager::new(fs.sysfs(), state.path(), auditor)
        .expect("manager")
        .with_bind_timeout(Duration::from_millis(50));
    (m, sink)
}

/// Two functions of one NIC in IOMMU group 10: .0 on e1000e, .1 already on vfio-pci.
fn nic_tree(name: &str) -> FakeSysfs {
    let fs = FakeSysfs::new(name);
    fs.add_driver("vfio-pci");
    fs.add_pci("0001:01:00.0", Some("e1000e"), true, Some(10));
    let b = fs.add_pci("0001:01:00.1", Some("e1000e"), false, Some(10));
    fs.bind(b, "vfio-pci");
    fs
}

fn state_files(state: &TempDir) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(state.path())
        .expect("state dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lock")
        .collect();
    v.sort();
    v
}

#[test]
fn detach_attach_detach_reattach() {
    let fs = nic_tree("cycle");
    let state = TempDir::new("hostdev-cycle-state").expect("state");
    let (mgr, audit) = manager(&fs, &state);
    let a = pci("0001:01:00.0");
    let guest = vm("guest-a", UUID_A);

    // 1. Detach from the host driver.
    let d = mgr.detach_host(a).expect("detach");
    assert_eq!(d.original_driver.as_deref(), Some("e1000e"));
    assert_eq!(d.iommu_group, 10);
    assert_eq!(
        fs.kernel.journal(),
        vec![
            w("bus/pci/devices/0001:01:00.0/driver_override", "vfio-pci"),
            w("bus/pci/drivers/e1000e/unbind", "0001:01:00.0"),
            w("bus/pci/drivers_probe", "0001:01:00.0"),
        ]
    );
    assert_eq!(fs.driver_of(a).as_deref(), Some("vfio-pci"));
    assert_eq!(
        fs.read("bus/pci/devices/0001:01:00.0/driver_override"),
        "vfio-pci"
    );
    assert!(fs
        .root()
        .join("bus/pci/drivers/vfio-pci/0001:01:00.0")
        .exists());
    assert!(!fs
        .root()
        .join("bus/pci/drivers/e1000e/0001:01:00.0")
        .exists());
    assert!(
        audit.summaries().is_empty(),
        "host-side detach is not a guest change"
    );
    fs.kernel.clear_journal();

    // 2. Attach to a guest (unmanaged: it is on vfio-pci already). No sysfs write.
    let got = mgr
        .assign(&guest, &HostdevId::Pci(a), AssignReason::Attach, false)
        .expect("attach");
    assert_eq!(
        got,
        Assigned::Pci {
            addr: a,
            iommu_group: 10,
            vfio_group: "/dev/vfio/10".into(),
            original_driver: None,
        }
    );
    assert!(fs.kernel.journal().is_empty());
    assert_eq!(state_files(&state), vec!["pci-0001:01:00.0"]);
    assert_eq!(
        std::fs::read_to_string(state.path().join("pci-0001:01:00.0")).expect("state"),
        format!("virt=kvm\nname=guest-a\nuuid={UUID_A}\nmanaged=no\ndriver=\n")
    );

    // A second detach while a guest holds it is refused.
    assert!(matches!(
        mgr.detach_host(a),
        Err(HostdevError::InUse { .. })
    ));
    assert!(matches!(
        mgr.reattach_host(a, None),
        Err(HostdevError::InUse { ref owner, .. }) if owner == "guest-a"
    ));

    // 3. Detach from the guest: ownership ends, the device stays on vfio-pci.
    mgr.release(&guest, &HostdevId::Pci(a))
        .expect("detach from guest");
    assert!(fs.kernel.journal().is_empty());
    assert!(state_files(&state).is_empty());
    assert_eq!(fs.driver_of(a).as_deref(), Some("vfio-pci"));

    // 4. Reattach to the host driver.
    mgr.reattach_host(a, Some("e1000e")).expect("reattach");
    assert_eq!(
        fs.kernel.journal(),
        vec![
            w("bus/pci/drivers/vfio-pci/unbind", "0001:01:00.0"),
            w("bus/pci/devices/0001:01:00.0/driver_override", "\n"),
            w("bus/pci/drivers_probe", "0001:01:00.0"),
        ]
    );
    assert_eq!(fs.driver_of(a).as_deref(), Some("e1000e"));
    assert_eq!(
        fs.read("bus/pci/devices/0001:01:00.0/driver_override"),
        "(null)\n"
    );
    assert!(!fs
        .root()
        .join("bus/pci/drivers/vfio-pci/0001:01:00.0")
        .exists());

    let u = UUID_A;
    assert_eq!(
        audit.summaries(),
        vec![
            format!("virt=kvm resrc=dev reason=attach vm=\"guest-a\" uuid={u} bus=pci device=\"0001:01:00.0\" res=success"),
            format!("virt=kvm resrc=dev reason=detach vm=\"guest-a\" uuid={u} bus=pci device=\"0001:01:00.0\" res=success"),
        ]
    );
    // The sibling on vfio-pci was never touched.
    assert_eq!(
        fs.driver_of(pci("0001:01:00.1")).as_deref(),
        Some("vfio-pci")
    );
}

#[test]
fn managed_start_survives_restart_and_releases_on_stop() {
    let fs = nic_tree("managed");
    let state = TempDir::new("hostdev-managed-state").expect("state");
    let a = pci("0001:01:00.0");
    let guest = vm("guest-a", UUID_A);
    {
        let (mgr, audit) = manager(&fs, &state);
        mgr.assign(&guest, &HostdevId::Pci(a), AssignReason::Start, true)
            .expect("start");
        assert_eq!(
            audit.summaries(),
            vec![format!("virt=kvm resrc=dev reason=start vm=\"guest-a\" uuid={UUID_A} bus=pci device=\"0001:01:00.0\" res=success")]
        );
    }
    assert_eq!(
        fs.kernel.journal(),
        vec![
            w("bus/pci/devices/0001:01:00.0/driver_override", "vfio-pci"),
            w("bus/pci/drivers/e1000e/unbind", "0001:01:00.0"),
            w("bus/pci/drivers_probe", "0001:01:00.0"),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(state.path().join("pci-0001:01:00.0")).expect("state"),
        format!("virt=kvm\nname=guest-a\nuuid={UUID_A}\nmanaged=yes\ndriver=e1000e\n")
    );
    fs.kernel.clear_journal();

    // A restarted manager knows who holds what, and gives it back when the guest stops.
    let (mgr2, audit2) = manager(&fs, &state);
    let owner = mgr2
        .owner_of(&HostdevId::Pci(a))
        .expect("owner")
        .expect("held");
    assert_eq!(owner.vm, guest);
    assert_eq!(owner.original_driver.as_deref(), Some("e1000e"));
    assert_eq!(mgr2.held_by(&guest).expect("held"), vec![HostdevId::Pci(a)]);
    assert_eq!(
        mgr2.release_guest(&guest).expect("stop"),
        vec![HostdevId::Pci(a)]
    );
    assert_eq!(
        fs.kernel.journal(),
        vec![
            w("bus/pci/drivers/vfio-pci/unbind", "0001:01:00.0"),
            w("bus/pci/devices/0001:01:00.0/driver_override", "\n"),
            w("bus/pci/drivers_probe", "0001:01:00.0"),
        ]
    );
    assert_eq!(fs.driver_of(a).as_deref(), Some("e1000e"));
    assert!(state_files(&state).is_empty());
    assert!(
        audit2.summaries().is_empty(),
        "stop is covered by the guest's stop record"
    );
}

#[test]
fn two_guests_contend_for_one_device() {
    let fs = nic_tree("contend");
    let state = TempDir::new("hostdev-contend-state").expect("state");
    let a = pci("0001:01:00.0");
    let (ga, gb) = (vm("guest-a", UUID_A), vm("guest-b", UUID_B));
    let id = HostdevId::Pci(a);

    // Two managers (as two processes would) race for the device from two threads: exactly one wins.
    let (m1, s1) = manager(&fs, &state);
    let (m2, s2) = manager(&fs, &state);
    let (r1, r2) = std::thread::scope(|s| {
        let t1 = s.spawn(|| m1.assign(&ga, &id, AssignReason::Attach, true));
        let t2 = s.spawn(|| m2.assign(&gb, &id, AssignReason::Attach, true));
        (t1.join().expect("t1"), t2.join().expect("t2"))
    });
    assert!(
        r1.is_ok() != r2.is_ok(),
        "exactly one guest gets it: {r1:?} {r2:?}"
    );
    let (winner, loser, loser_err, wsink, lsink) = if r1.is_ok() {
        (&ga, &gb, r2.expect_err("loser"), &s1, &s2)
    } else {
        (&gb, &ga, r1.expect_err("loser"), &s2, &s1)
    };
    match &loser_err {
        HostdevError::InUse {
            device,
            owner,
            owner_uuid,
        } => {
            assert_eq!(device, "PCI device 0001:01:00.0");
            assert_eq!(owner, &winner.name);
            assert_eq!(owner_uuid, &winner.uuid_string());
        }
        e => panic!("expected InUse, got {e}"),
    }
    assert_eq!(
        loser_err.to_string(),
        format!(
            "PCI device 0001:01:00.0 is in use by guest {} (uuid {})",
            winner.name,
            winner.uuid_string()
        )
    );
    // The host was changed once, by the winner.
    assert_eq!(fs.kernel.journal().len(), 3);
    assert_eq!(fs.driver_of(a).as_deref(), Some("vfio-pci"));
    let rec = |g: &VmIdentity, reason: &str, res: &str| {
        format!(
            "virt=kvm resrc=dev reason={reason} vm=\"{}\" uuid={} bus=pci device=\"0001:01:00.0\" res={res}",
            g.name,
            g.uuid_string()
        )
    };
    assert_eq!(wsink.summaries(), vec![rec(winner, "attach", "success")]);
    assert_eq!(lsink.summaries(), vec![rec(loser, "attach", "failed")]);

    // The loser cannot release what it does not hold.
    assert!(matches!(
        m1.release(loser, &id),
        Err(HostdevError::NotHeld { .. })
    ));
    // Once the winner lets go, the other guest gets it.
    m1.release(winner, &id).expect("release");
    assert_eq!(fs.driver_of(a).as_deref(), Some("e1000e"));
    m2.assign(loser, &id, AssignReason::Attach, true)
        .expect("second guest");
    assert_eq!(
        m2.owner_of(&id).expect("owner").map(|o| o.vm.name),
        Some(loser.name.clone())
    );
}

#[test]
fn iommu_group_member_on_host_driver_is_refused() {
    let fs = FakeSysfs::new("group-host");
    fs.add_driver("vfio-pci");
    let a = fs.add_pci("0000:06:12.0", Some("ohci-pci"), true, Some(6));
    fs.add_pci("0000:06:12.1", Some("ohci-pci"), true, Some(6));
    fs.add_pci("0000:06:12.2", Some("ohci-pci"), false, Some(6));
    let state = TempDir::new("hostdev-group-host-state").expect("state");
    let (mgr, audit) = manager(&fs, &state);
    let guest = vm("guest-a", UUID_A);

    let e = mgr
        .assign(&guest, &HostdevId::Pci(a), AssignReason::Start, true)
        .expect_err("group not viable");
    assert_eq!(
        e.to_string(),
        "IOMMU group 6 of 0000:06:12.0 is not viable: 0000:06:12.1 is bound to host driver ohci-pci"
    );
    assert!(fs.kernel.journal().is_empty(), "nothing written");
    assert!(state_files(&state).is_empty());
    assert_eq!(fs.driver_of(a).as_deref(), Some("ohci-pci"));
    assert_eq!(
        audit.summaries(),
        vec![format!("virt=kvm resrc=dev reason=start vm=\"guest-a\" uuid={UUID_A} bus=pci device=\"0000:06:12.0\" res=failed")]
    );
    // The host-side detach applies the same rule.
    assert!(matches!(
        mgr.detach_host(a),
        Err(HostdevError::GroupHostDriver { group: 6, .. })
    ));
    assert!(fs.kernel.journal().is_empty());
}

#[test]
fn iommu_group_member_held_by_another_guest_is_refused() {
    let fs = FakeSysfs::new("group-owned");
    fs.add_driver("vfio-pci");
    for f in ["0000:06:12.0", "0000:06:12.1", "0000:06:12.2"] {
        let d = fs.add_pci(f, Some("ohci-pci"), false, Some(6));
        fs.bind(d, "vfio-pci");
    }
    let state = TempDir::new("hostdev-group-owned-state").expect("state");
    let (mgr, audit) = manager(&fs, &state);
    let (ga, gb) = (vm("guest-a", UUID_A), vm("guest-b", UUID_B));
    mgr.assign(
        &gb,
        &HostdevId::Pci(pci("0000:06:12.1")),
        AssignReason::Start,
        false,
    )
    .expect("guest-b takes .1");
    let e = mgr
        .assign(
            &ga,
            &HostdevId::Pci(pci("0000:06:12.0")),
            AssignReason::Attach,
            false,
        )
        .expect_err("shared group");
    assert_eq!(
        e.to_string(),
        "IOMMU group 6 of 0000:06:12.0 is shared: 0000:06:12.1 is held by guest guest-b"
    );
    // The same guest may take another function of its group.
    mgr.assign(
        &gb,
        &HostdevId::Pci(pci("0000:06:12.2")),
        AssignReason::Attach,
        false,
    )
    .expect("guest-b takes .2");
    assert_eq!(
        state_files(&state),
        vec!["pci-0000:06:12.1", "pci-0000:06:12.2"]
    );
    assert!(fs.kernel.journal().is_empty());
    assert_eq!(
        audit.summaries(),
        vec![
            format!("virt=kvm resrc=dev reason=start vm=\"guest-b\" uuid={UUID_B} bus=pci device=\"0000:06:12.1\" res=success"),
            format!("virt=kvm resrc=dev reason=attach vm=\"guest-a\" uuid={UUID_A} bus=pci device=\"0000:06:12.0\" res=failed"),
            format!("virt=kvm resrc=dev reason=attach vm=\"guest-b\" uuid={UUID_B} bus=pci device=\"0000:06:12.2\" res=success"),
        ]
    );
}

#[test]
fn bridge_on_pcieport_does_not_spoil_the_group() {
    let fs = FakeSysfs::new("bridge");
    fs.add_driver("vfio-pci");
    fs.add_pci("0005:80:00.0", Some("pcieport"), true, Some(3));
    let a = fs.add_pci("0005:90:01.0", Some("ohci-pci"), true, Some(3));
    let state = TempDir::new("hostdev-bridge-state").expect("state");
    let (mgr, _audit) = manager(&fs, &state);
    let d = mgr.detach_host(a).expect("bridge is harmless");
    assert_eq!(d.iommu_group, 3);
    assert_eq!(fs.driver_of(a).as_deref(), Some("vfio-pci"));
    assert_eq!(
        fs.driver_of(pci("0005:80:00.0")).as_deref(),
        Some("pcieport")
    );
}

#[test]
fn device_vanishing_before_detach() {
    let fs = nic_tree("vanish-before");
    let state = TempDir::new("hostdev-vanish-before-state").expect("state");
    let (mgr, audit) = manager(&fs, &state);
    let a = pci("0001:01:00.0");
    let guest = vm("guest-a", UUID_A);

    let found = mgr.sysfs().pci_device(a).expect("discovered");
    assert_eq!(found.driver.as_deref(), Some("e1000e"));
    fs.kernel.unplug(a);
    let e = mgr
        .assign(&guest, &HostdevId::Pci(a), AssignReason::Attach, true)
        .expect_err("gone");
    assert_eq!(
        e.to_string(),
        format!(
            "PCI device 0001:01:00.0 not found: {}/bus/pci/devices/0001:01:00.0 does not exist",
            fs.root().display()
        )
    );
    assert!(fs.kernel.journal().is_empty());
    assert!(state_files(&state).is_empty());
    assert_eq!(
        audit.summaries(),
        vec![format!("virt=kvm resrc=dev reason=attach vm=\"guest-a\" uuid={UUID_A} bus=pci device=\"0001:01:00.0\" res=failed")]
    );
}

#[test]
fn device_vanishing_during_detach() {
    let fs = nic_tree("vanish-during");
    let state = TempDir::new("hostdev-vanish-during-state").expect("state");
    let (mgr, audit) = manager(&fs, &state);
    let a = pci("0001:01:00.0");
    let guest = vm("guest-a", UUID_A);
    *fs.kernel.vanish_after.lock().expect("lock") =
        Some(("bus/pci/drivers/e1000e/unbind".into(), a));

    let e = mgr
        .assign(&guest, &HostdevId::Pci(a), AssignReason::Attach, true)
        .expect_err("vanished");
    match &e {
        HostdevError::Vanished { addr, step, .. } => {
            assert_eq!(*addr, a);
            assert_eq!(step, "probing");
        }
        other => panic!("expected Vanished, got {other}"),
    }
    assert!(e
        .to_string()
        .starts_with("PCI device 0001:01:00.0 vanished while probing: "));
    // What was written before it went; nothing after (there is nothing left to restore).
    assert_eq!(
        fs.kernel.journal(),
        vec![
            w("bus/pci/devices/0001:01:00.0/driver_override", "vfio-pci"),
            w("bus/pci/drivers/e1000e/unbind", "0001:01:00.0"),
            w("bus/pci/drivers_probe", "0001:01:00.0"),
        ]
    );
    // No ownership left behind, no dangling driver links, a failed record.
    assert!(state_files(&state).is_empty());
    assert!(!fs
        .root()
        .join("bus/pci/drivers/e1000e/0001:01:00.0")
        .exists());
    assert!(!fs
        .root()
        .join("bus/pci/drivers/vfio-pci/0001:01:00.0")
        .exists());
    assert_eq!(
        audit.summaries(),
        vec![format!("virt=kvm resrc=dev reason=attach vm=\"guest-a\" uuid={UUID_A} bus=pci device=\"0001:01:00.0\" res=failed")]
    );
}

#[test]
fn vfio_probe_failure_restores_the_host_driver() {
    let fs = nic_tree("probe-fail");
    fs.kernel
        .refuse
        .lock()
        .expect("lock")
        .insert("vfio-pci".into());
    let state = TempDir::new("hostdev-probe-fail-state").expect("state");
    let (mgr, audit) = manager(&fs, &state);
    let a = pci("0001:01:00.0");
    let guest = vm("guest-a", UUID_A);

    let e = mgr
        .assign(&guest, &HostdevId::Pci(a), AssignReason::Start, true)
        .expect_err("vfio refuses");
    assert_eq!(
        e.to_string(),
        "PCI device 0001:01:00.0: after drivers_probe it is bound to no driver, expected vfio-pci"
    );
    assert_eq!(
        fs.kernel.journal(),
        vec![
            w("bus/pci/devices/0001:01:00.0/driver_override", "vfio-pci"),
            w("bus/pci/drivers/e1000e/unbind", "0001:01:00.0"),
            w("bus/pci/drivers_probe", "0001:01:00.0"),
            // Undo: clear the override and probe again; the native driver comes back.
            w("bus/pci/devices/0001:01:00.0/driver_override", "\n"),
            w("bus/pci/drivers_probe", "0001:01:00.0"),
        ]
    );
    assert_eq!(fs.driver_of(a).as_deref(), Some("e1000e"));
    assert_eq!(
        fs.read("bus/pci/devices/0001:01:00.0/driver_override"),
        "(null)\n"
    );
    assert!(state_files(&state).is_empty());
    assert_eq!(
        audit.summaries(),
        vec![format!("virt=kvm resrc=dev reason=start vm=\"guest-a\" uuid={UUID_A} bus=pci device=\"0001:01:00.0\" res=failed")]
    );
}

#[test]
fn missing_vfio_driver_and_unmanaged_on_host_driver() {
    let fs = FakeSysfs::new("no-vfio");
    let a = fs.add_pci("0000:00:02.0", Some("i915"), true, Some(1));
    let state = TempDir::new("hostdev-no-vfio-state").expect("state");
    let (mgr, _audit) = manager(&fs, &state);
    let guest = vm("guest-a", UUID_A);
    let e = mgr
        .assign(&guest, &HostdevId::Pci(a), AssignReason::Start, true)
        .expect_err("no vfio-pci");
    assert_eq!(
        e.to_string(),
        format!(
            "driver vfio-pci is not loaded: {}/bus/pci/drivers/vfio-pci does not exist (load it with `modprobe vfio-pci`)",
            fs.root().display()
        )
    );
    let e = mgr
        .assign(&guest, &HostdevId::Pci(a), AssignReason::Start, false)
        .expect_err("unmanaged on i915");
    assert!(matches!(e, HostdevError::NotVfio { ref found, .. } if found == "i915"));
    assert!(fs.kernel.journal().is_empty());
    assert!(state_files(&state).is_empty());
}

#[test]
fn assign_all_is_all_or_nothing() {
    let fs = nic_tree("all");
    fs.add_pci("0000:06:12.0", Some("ohci-pci"), true, Some(6));
    fs.add_pci("0000:06:12.1", Some("ohci-pci"), true, Some(6));
    let state = TempDir::new("hostdev-all-state").expect("state");
    let (mgr, audit) = manager(&fs, &state);
    let guest = vm("guest-a", UUID_A);
    let devs = [
        (HostdevId::Pci(pci("0001:01:00.0")), true),
        (HostdevId::Pci(pci("0000:06:12.0")), true),
    ];
    assert!(mgr.assign_all(&guest, &devs, AssignReason::Start).is_err());
    assert_eq!(fs.driver_of(pci("0001:01:00.0")).as_deref(), Some("e1000e"));
    assert!(state_files(&state).is_empty());
    let u = UUID_A;
    assert_eq!(
        audit.summaries(),
        vec![
            format!("virt=kvm resrc=dev reason=start vm=\"guest-a\" uuid={u} bus=pci device=\"0001:01:00.0\" res=success"),
            format!("virt=kvm resrc=dev reason=start vm=\"guest-a\" uuid={u} bus=pci device=\"0000:06:12.0\" res=failed"),
        ]
    );
}

#[test]
fn reattach_binds_explicitly_when_the_probe_does_not() {
    let fs = nic_tree("explicit-bind");
    let state = TempDir::new("hostdev-explicit-bind-state").expect("state");
    let (mgr, _audit) = manager(&fs, &state);
    let a = pci("0001:01:00.0");
    mgr.detach_host(a).expect("detach");
    fs.kernel.clear_journal();
    fs.kernel.probe_skips.lock().expect("lock").insert(a);
    mgr.reattach_host(a, Some("e1000e")).expect("reattach");
    assert_eq!(
        fs.kernel.journal(),
        vec![
            w("bus/pci/drivers/vfio-pci/unbind", "0001:01:00.0"),
            w("bus/pci/devices/0001:01:00.0/driver_override", "\n"),
            w("bus/pci/drivers_probe", "0001:01:00.0"),
            w("bus/pci/drivers/e1000e/bind", "0001:01:00.0"),
        ]
    );
    assert_eq!(fs.driver_of(a).as_deref(), Some("e1000e"));

    // A driver that will not take it is a clear error, and the device is left unbound, not on vfio.
    fs.kernel.probe_skips.lock().expect("lock").clear();
    mgr.detach_host(a).expect("detach again");
    fs.kernel.clear_journal();
    fs.kernel
        .refuse
        .lock()
        .expect("lock")
        .insert("e1000e".into());
    let e = mgr.reattach_host(a, Some("e1000e")).expect_err("refused");
    assert!(
        e.to_string().starts_with(&format!(
            "writing \"0001:01:00.0\" to {}/bus/pci/drivers/e1000e/bind: ",
            fs.root().display()
        )),
        "{e}"
    );
    assert_eq!(fs.driver_of(a), None);
    assert_eq!(
        fs.read("bus/pci/devices/0001:01:00.0/driver_override"),
        "(null)\n"
    );
}
