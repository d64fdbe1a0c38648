//! System tests: real cgroupfs (v1 devices and v2 with BPF), real processes, as root.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{test_uuid, Cleanup, Prober};
use virt_audit::{Auditor, VirtType, VmIdentity};
use virt_cgroup::{
    bpf, Access, AclEntry, CgroupError, CgroupHost, DeviceAclMode, DeviceKind, GuestCgroup,
    GuestSpec, MajorClass, Version,
};
use virt_testkit::{system_test, Facility};

const UUID: &str = "4dea22b3-1d52-d8f3-2b0a-1f4c3e5a1f7e";

fn setup(
    tag: &str,
    mode: DeviceAclMode,
) -> (Cleanup, std::sync::Arc<virt_audit::MemorySink>, String) {
    let host = CgroupHost::discover().unwrap();
    let partition = format!("/machine-test-{}-{tag}", std::process::id());
    let spec = GuestSpec::new("qemu", 1, &format!("acl-{tag}"))
        .partition(&partition)
        .device_acl(mode);
    let vm = VmIdentity::new(VirtType::Kvm, format!("acl-{tag}"), test_uuid());
    let (auditor, sink) = Auditor::memory();
    let mut guard = Cleanup {
        host: host.clone(),
        partition: partition.clone(),
        cg: None,
    };
    guard.cg = Some(GuestCgroup::create(&host, &spec, &vm, &auditor).unwrap());
    let (_, dir) = guard.cg.as_ref().unwrap().device_acl().unwrap();
    let cgroup = format!("{}/", dir.display());
    (guard, sink, cgroup)
}

fn acl_roundtrip(tag: &str, mode: DeviceAclMode, version: Version) {
    let (mut guard, sink, cgroup) = setup(tag, mode);
    let cg = guard.cg.as_ref().unwrap();
    assert_eq!(cg.device_acl().unwrap().0, version);
    let expect_dir = match version {
        Version::V1 => guard.host.v1("devices").unwrap().mount_point.clone(),
        Version::V2 => guard.host.v2().unwrap().mount_point.clone(),
    };
    assert_eq!(
        cgroup,
        format!(
            "{}/machine-test-{}-{tag}/qemu-1-acl-{tag}.libvirt-qemu/",
            expect_dir.display(),
            std::process::id()
        )
    );

    let probe = Prober::spawn(&["/dev/null", "/dev/zero"]);
    cg.place(probe.pid).unwrap();
    assert_eq!(cg.pids().unwrap(), vec![probe.pid]);
    assert_eq!(probe.open(0), 0, "before any ACL");

    cg.deny_all().unwrap();
    assert_eq!(probe.open(0), libc::EPERM, "/dev/null after deny all");
    cg.allow_path(Path::new("/dev/null"), Access::RW).unwrap();
    assert_eq!(probe.open(0), 0, "/dev/null after allow");
    assert_eq!(probe.open(1), libc::EPERM, "/dev/zero never allowed");
    cg.allow_major(MajorClass::PTY, Access::RW).unwrap();
    cg.deny_path(Path::new("/dev/null"), Access::RW).unwrap();
    assert_eq!(probe.open(0), libc::EPERM, "/dev/null after revoke");

    let head = "virt=kvm resrc=cgroup";
    let vm = format!("vm=\"acl-{tag}\" uuid={UUID} cgroup=\"{cgroup}\"");
    assert_eq!(
        sink.summaries(),
        vec![
            format!("{head} reason=deny {vm} class=all res=success"),
            format!("{head} reason=allow {vm} class=path path=\"/dev/null\" rdev=01:03 acl=rw res=success"),
            format!("{head} reason=allow {vm} class=major category=pty maj=88 acl=rw res=success"),
            format!("{head} reason=deny {vm} class=path path=\"/dev/null\" rdev=01:03 acl=rw res=success"),
        ]
    );

    // Busy: the prober is still inside.
    let mut cg = guard.cg.take().unwrap();
    let err = cg.remove(Duration::from_millis(200)).unwrap_err();
    match &err {
        CgroupError::Busy { pids, .. } => assert_eq!(pids, &vec![probe.pid]),
        e => panic!("expected Busy, got {e}"),
    }
    assert!(err.to_string().contains("still holds process(es)"), "{err}");
    for p in cg.paths() {
        assert!(p.is_dir(), "{} must survive a refused removal", p.display());
    }
    let ids = cg.bpf_ids();
    if version == Version::V2 {
        let (prog, map) = ids.unwrap();
        let dir = cg.device_acl().unwrap().1.to_path_buf();
        assert_eq!(bpf::attached_device_programs(&dir).unwrap(), vec![prog]);
        assert!(bpf::prog_exists(prog).unwrap());
        assert!(bpf::map_exists(map).unwrap());
    }
    assert_eq!(
        probe.open(1),
        libc::EPERM,
        "ACL still in force after a refused removal"
    );

    drop(probe);
    let paths: Vec<_> = cg.paths().iter().map(|p| p.to_path_buf()).collect();
    cg.remove(Duration::from_secs(2)).unwrap();
    for p in &paths {
        assert!(!p.exists(), "{} left behind", p.display());
    }
    if let Some((prog, map)) = ids {
        // The kernel frees the map after an RCU grace period: bounded wait.
        let start = std::time::Instant::now();
        while (bpf::prog_exists(prog).unwrap() || bpf::map_exists(map).unwrap())
            && start.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !bpf::prog_exists(prog).unwrap(),
            "program {prog} left behind"
        );
        assert!(!bpf::map_exists(map).unwrap(), "map {map} left behind");
    }
}

#[test]
fn v1_device_acl() {
    let Some(_t) = system_test(
        "v1_device_acl",
        &[Facility::Root, Facility::CgroupV1Devices],
    ) else {
        return;
    };
    acl_roundtrip("v1", DeviceAclMode::V1, Version::V1);
}

#[test]
fn v2_device_acl_bpf() {
    let Some(_t) = system_test("v2_device_acl_bpf", &[Facility::Root, Facility::CgroupV2]) else {
        return;
    };
    acl_roundtrip("v2", DeviceAclMode::V2, Version::V2);
}

#[test]
fn v2_program_is_adopted_after_restart_and_capacity_is_enforced() {
    let Some(_t) = system_test("v2_adopt", &[Facility::Root, Facility::CgroupV2]) else {
        return;
    };
    let host = CgroupHost::discover().unwrap();
    let partition = format!("/machine-test-{}-adopt", std::process::id());
    let mut spec = GuestSpec::new("qemu", 2, "adopt")
        .partition(&partition)
        .device_acl(DeviceAclMode::V2);
    spec.acl_capacity = 2;
    let vm = VmIdentity::new(VirtType::Kvm, "adopt", test_uuid());
    let (auditor, sink) = Auditor::memory();
    let mut guard = Cleanup {
        host: host.clone(),
        partition: partition.clone(),
        cg: None,
    };
    let cg = GuestCgroup::create(&host, &spec, &vm, &auditor).unwrap();
    cg.deny_all().unwrap();
    cg.allow_path(Path::new("/dev/null"), Access::RW).unwrap();
    cg.allow_major(MajorClass::PTY, Access::RW).unwrap();
    // The map holds two entries: a third is refused, audited as failed, and changes nothing.
    let e = cg
        .allow_path(Path::new("/dev/zero"), Access::READ)
        .unwrap_err();
    assert!(matches!(e, CgroupError::AclFull { capacity: 2, .. }), "{e}");
    let last = sink.summaries().pop().unwrap();
    assert!(
        last.ends_with("class=path path=\"/dev/zero\" rdev=01:05 acl=r res=failed"),
        "{last}"
    );
    let ids = cg.bpf_ids().unwrap();
    let dir = cg.device_acl().unwrap().1.to_path_buf();
    drop(cg); // a daemon restart: fds closed, the program stays attached

    assert_eq!(bpf::attached_device_programs(&dir).unwrap(), vec![ids.0]);
    let probe = Prober::spawn(&["/dev/null", "/dev/zero"]);
    let cg = GuestCgroup::open(&host, &spec, &vm, &auditor).unwrap();
    guard.cg = Some(cg);
    let cg = guard.cg.as_ref().unwrap();
    assert_eq!(cg.bpf_ids(), Some(ids));
    let mut entries = cg.v2_entries().unwrap();
    entries.sort_by_key(|e| (e.major, e.minor));
    let entry = |major, minor| AclEntry {
        kind: DeviceKind::Char,
        major,
        minor,
        access: Access::RW,
    };
    assert_eq!(entries, vec![entry(1, Some(3)), entry(136, None)]);
    cg.place(probe.pid).unwrap();
    assert_eq!(probe.open(0), 0);
    assert_eq!(probe.open(1), libc::EPERM);
    cg.deny_path(Path::new("/dev/null"), Access::WRITE).unwrap();
    assert_eq!(probe.open(0), 0, "read stays allowed after revoking write");
    cg.deny_path(Path::new("/dev/null"), Access::READ).unwrap();
    assert_eq!(probe.open(0), libc::EPERM);
    assert_eq!(
        cg.v2_entries().unwrap().len(),
        1,
        "an entry with no access left is deleted"
    );
    drop(probe);
}

#[test]
fn knobs_on_the_real_hierarchy() {
    let Some(_t) = system_test("knobs_on_the_real_hierarchy", &[Facility::Root]) else {
        return;
    };
    let host = CgroupHost::discover().unwrap();
    let partition = format!("/machine-test-{}-knobs", std::process::id());
    let spec = GuestSpec::new("qemu", 4, "knobs").partition(&partition);
    let vm = VmIdentity::new(VirtType::Kvm, "knobs", test_uuid());
    let (auditor, _) = Auditor::memory();
    let mut guard = Cleanup {
        host: host.clone(),
        partition,
        cg: None,
    };
    guard.cg = Some(GuestCgroup::create(&host, &spec, &vm, &auditor).unwrap());
    let cg = guard.cg.as_ref().unwrap();
    let mut checked = 0;
    if host.controller(virt_cgroup::Controller::Memory).is_some() {
        cg.set_memory_limit(Some(256 << 20)).unwrap();
        assert_eq!(cg.memory_limit().unwrap(), Some(256 << 20));
        cg.set_memory_limit(None).unwrap();
        assert_eq!(cg.memory_limit().unwrap(), None);
        checked += 1;
    }
    if host.controller(virt_cgroup::Controller::Cpu).is_some() {
        cg.set_cpu_shares(512).unwrap();
        assert_eq!(cg.cpu_shares().unwrap(), 512);
        checked += 1;
    }
    if host.controller(virt_cgroup::Controller::Pids).is_some() {
        cg.set_pids_max(Some(64)).unwrap();
        assert_eq!(cg.pids_max().unwrap(), Some(64));
        cg.set_pids_max(None).unwrap();
        assert_eq!(cg.pids_max().unwrap(), None);
        checked += 1;
    }
    assert!(checked > 0, "no resource controller on this host");
}

#[test]
fn acl_records_reach_the_kernel_audit_log() {
    let Some(_t) = system_test(
        "acl_records_reach_the_kernel_audit_log",
        &[Facility::Root, Facility::CgroupV2, Facility::Auditd],
    ) else {
        return;
    };
    let auditd = virt_testkit::auditd::Auditd::start().expect("start private auditd");
    let auditor = Auditor::kernel(virt_audit::AuditLevel::Strict).expect("kernel audit socket");
    let host = CgroupHost::discover().unwrap();
    let partition = format!("/machine-test-{}-audit", std::process::id());
    let spec = GuestSpec::new("qemu", 5, "audited")
        .partition(&partition)
        .device_acl(DeviceAclMode::V2);
    let vm = VmIdentity::new(VirtType::Kvm, "audited", test_uuid());
    let mut guard = Cleanup {
        host: host.clone(),
        partition,
        cg: None,
    };
    guard.cg = Some(GuestCgroup::create(&host, &spec, &vm, &auditor).unwrap());
    let cg = guard.cg.as_ref().unwrap();
    let cgroup = format!("{}/", cg.device_acl().unwrap().1.display());
    let tmp = virt_testkit::TempDir::new("virt-cgroup-audit").unwrap();
    let link = tmp.path().join("kvm-looking-name");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();

    cg.deny_all().unwrap();
    cg.allow_path(&link, Access::RW).unwrap();
    cg.allow_path(&tmp.path().join("missing"), Access::RW)
        .unwrap_err();

    let needle = format!("cgroup=\"{cgroup}\"");
    let lines = auditd.wait_for(&needle, 3, Duration::from_secs(10));
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines.iter().all(|l| l.starts_with("type=VIRT_RESOURCE ")),
        "{lines:#?}"
    );
    let body = |l: &str| {
        // The message between `msg='` and the libaudit fields it appends (` exe=`).
        let start = l.find("msg='").map(|i| i + 5).unwrap_or(0);
        let end = l.find(" exe=").unwrap_or(l.len());
        l[start..end].to_string()
    };
    let head = "virt=kvm resrc=cgroup";
    let vmf = format!("vm=\"audited\" uuid={UUID} {needle}");
    assert_eq!(
        body(&lines[0]),
        format!("{head} reason=deny {vmf} class=all")
    );
    assert_eq!(
        body(&lines[1]),
        format!(
            "{head} reason=allow {vmf} class=path path=\"{}\" rdev=01:03 acl=rw",
            link.display()
        )
    );
    assert_eq!(
        body(&lines[2]),
        format!(
            "{head} reason=allow {vmf} class=path path=\"{}\" rdev=? acl=rw",
            tmp.path().join("missing").display()
        )
    );
    assert!(lines[0].contains("res=success") && lines[1].contains("res=success"));
    assert!(lines[2].contains("res=failed"), "{}", lines[2]);
}
