//! Unit tests on made cgroupfs trees (regular files and directories under a temp dir): layout,
//! knob files, v1 ACL file writes, audit texts of refused ACL changes, bounded removal.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use virt_audit::{Auditor, VirtType, VmIdentity};
use virt_cgroup::{
    parse_mountinfo, Access, CgroupError, CgroupHost, Controller, DeviceAclMode, GuestCgroup,
    GuestSpec, MajorClass, Version,
};
use virt_testkit::TempDir;

const UUID: &str = "4dea22b3-1d52-d8f3-2b0a-1f4c3e5a1f7e";

fn vm() -> VmIdentity {
    VmIdentity::new(
        VirtType::Kvm,
        "demo",
        [
            0x4d, 0xea, 0x22, 0xb3, 0x1d, 0x52, 0xd8, 0xf3, 0x2b, 0x0a, 0x1f, 0x4c, 0x3e, 0x5a,
            0x1f, 0x7e,
        ],
    )
}

/// A hybrid host like the test machine: v1 cpu, memory, devices, pids, name=systemd; v2 unified.
fn hybrid(root: &Path) -> CgroupHost {
    let base = root.join("sys/fs/cgroup");
    let mut mi = String::new();
    for (i, (dir, fstype, opts)) in [
        ("cpu", "cgroup", "rw,cpu"),
        ("memory", "cgroup", "rw,memory"),
        ("devices", "cgroup", "rw,devices"),
        ("pids", "cgroup", "rw,pids"),
        ("systemd", "cgroup", "rw,name=systemd"),
        ("unified", "cgroup2", "rw"),
    ]
    .iter()
    .enumerate()
    {
        fs::create_dir_all(base.join(dir)).unwrap();
        mi.push_str(&format!(
            "{} 31 0:{} / {} rw,relatime - {fstype} {fstype} {opts}\n",
            32 + i,
            29 + i,
            base.join(dir).display()
        ));
    }
    fs::write(base.join("unified/cgroup.controllers"), "hugetlb\n").unwrap();
    CgroupHost::from_mounts(&parse_mountinfo(&mi).unwrap(), |p| {
        fs::read_to_string(p.join("cgroup.controllers")).ok()
    })
}

fn touch(dir: &Path, files: &[(&str, &str)]) {
    for (f, content) in files {
        fs::write(dir.join(f), content).unwrap();
    }
}

fn read(p: PathBuf) -> String {
    fs::read_to_string(p).unwrap()
}

#[test]
fn hybrid_v1_layout_knobs_and_acl_files() {
    let tmp = TempDir::new("virt-cgroup-made").unwrap();
    let host = hybrid(tmp.path());
    let base = tmp.path().join("sys/fs/cgroup");
    let spec = GuestSpec::new("qemu", 1, "demo").device_acl(DeviceAclMode::V1);
    let (auditor, sink) = Auditor::memory();
    let cg = GuestCgroup::create(&host, &spec, &vm(), &auditor).unwrap();
    assert_eq!(cg.placement(), "/machine/qemu-1-demo.libvirt-qemu");
    let mut paths: Vec<PathBuf> = cg.paths().iter().map(|p| p.to_path_buf()).collect();
    paths.sort();
    let want: Vec<PathBuf> = ["cpu", "devices", "memory", "pids", "unified"]
        .iter()
        .map(|h| base.join(h).join("machine/qemu-1-demo.libvirt-qemu"))
        .collect();
    assert_eq!(paths, want);
    assert!(
        !base.join("systemd/machine").exists(),
        "named hierarchies are left alone"
    );

    // Knobs (the made tree has no kernel to create the files, so the test does).
    touch(
        &base.join("memory/machine/qemu-1-demo.libvirt-qemu"),
        &[("memory.limit_in_bytes", "")],
    );
    touch(
        &base.join("cpu/machine/qemu-1-demo.libvirt-qemu"),
        &[("cpu.shares", "")],
    );
    touch(
        &base.join("pids/machine/qemu-1-demo.libvirt-qemu"),
        &[("pids.max", "")],
    );
    cg.set_memory_limit(Some(1 << 30)).unwrap();
    assert_eq!(
        read(base.join("memory/machine/qemu-1-demo.libvirt-qemu/memory.limit_in_bytes")),
        "1073741824"
    );
    assert_eq!(cg.memory_limit().unwrap(), Some(1 << 30));
    fs::write(
        base.join("memory/machine/qemu-1-demo.libvirt-qemu/memory.limit_in_bytes"),
        "9223372036854771712\n",
    )
    .unwrap();
    assert_eq!(cg.memory_limit().unwrap(), None);
    cg.set_cpu_shares(2048).unwrap();
    assert_eq!(cg.cpu_shares().unwrap(), 2048);
    let e = cg.set_cpu_shares(1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid cpu shares: 1 is outside 2..=262144 accepted by cpu.shares"
    );
    cg.set_pids_max(Some(100)).unwrap();
    assert_eq!(cg.pids_max().unwrap(), Some(100));

    // Device ACL through the v1 files.
    let dev = base.join("devices/machine/qemu-1-demo.libvirt-qemu");
    let reset = || touch(&dev, &[("devices.allow", ""), ("devices.deny", "")]);
    reset();
    cg.deny_all().unwrap();
    assert_eq!(read(dev.join("devices.deny")), "a");
    let link = tmp.path().join("null-link");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    reset();
    let node = cg.allow_path(&link, Access::RW).unwrap();
    assert_eq!(node.rdev, virt_audit::DevNum::new(1, 3));
    assert_eq!(read(dev.join("devices.allow")), "c 1:3 rw");
    reset();
    cg.allow_major(MajorClass::PTY, Access::RW).unwrap();
    assert_eq!(read(dev.join("devices.allow")), "c 136:* rw");
    reset();
    cg.deny_path(Path::new("/dev/null"), Access::parse("rwm").unwrap())
        .unwrap();
    assert_eq!(read(dev.join("devices.deny")), "c 1:3 rwm");

    // Refused changes: a regular file, a missing path, a bad category.
    let file = tmp.path().join("plain");
    fs::write(&file, "x").unwrap();
    let e = cg.allow_path(&file, Access::RW).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{} is not a device node (it is a regular file)",
            file.display()
        )
    );
    let missing = tmp.path().join("missing");
    let e = cg.allow_path(&missing, Access::READ).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "device path {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    let e = cg
        .allow_major(
            MajorClass {
                category: "bad cat",
                ..MajorClass::SOUND
            },
            Access::RW,
        )
        .unwrap_err();
    assert!(matches!(e, CgroupError::Invalid { .. }), "{e}");

    let pre = format!(
        "virt=kvm resrc=cgroup reason=REASON vm=\"demo\" uuid={UUID} cgroup=\"{}/\"",
        dev.display()
    );
    let r = |reason: &str, rest: &str| format!("{} {rest}", pre.replace("REASON", reason));
    assert_eq!(
        sink.summaries(),
        vec![
            r("deny", "class=all res=success"),
            r(
                "allow",
                &format!(
                    "class=path path=\"{}\" rdev=01:03 acl=rw res=success",
                    link.display()
                )
            ),
            r(
                "allow",
                "class=major category=pty maj=88 acl=rw res=success"
            ),
            r(
                "deny",
                "class=path path=\"/dev/null\" rdev=01:03 acl=rwm res=success"
            ),
            r(
                "allow",
                &format!(
                    "class=path path=\"{}\" rdev=? acl=rw res=failed",
                    file.display()
                )
            ),
            r(
                "allow",
                &format!(
                    "class=path path=\"{}\" rdev=? acl=r res=failed",
                    missing.display()
                )
            ),
            r("allow", "class=major category=? maj=74 acl=rw res=failed"),
        ]
    );

    // A second guest of the same name is refused and leaves the first alone.
    let e = GuestCgroup::create(&host, &spec, &vm(), &auditor).unwrap_err();
    assert!(e.to_string().starts_with("cannot create "), "{e}");
    assert!(e.to_string().ends_with("File exists (os error 17)"), "{e}");
    for p in &want {
        assert!(p.is_dir());
    }

    // Bounded removal with a process inside.
    for p in &want {
        touch(p, &[("cgroup.procs", "")]);
    }
    touch(&want[0], &[("cgroup.procs", "4242\n")]);
    let mut cg = cg;
    let start = std::time::Instant::now();
    let e = cg.remove(Duration::from_millis(50)).unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert!(
        matches!(&e, CgroupError::Busy { pids, .. } if pids == &vec![4242]),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "cgroup {} still holds process(es) [4242] after waiting 50ms; stop them before removing it",
            want[0].display()
        )
    );
}

#[test]
fn acl_off_is_refused_and_audited() {
    let tmp = TempDir::new("virt-cgroup-made").unwrap();
    let host = hybrid(tmp.path());
    let spec = GuestSpec::new("lxc", 7, "box").device_acl(DeviceAclMode::Off);
    let (auditor, sink) = Auditor::memory();
    let vm = VmIdentity::new(VirtType::Lxc, "box", [0; 16]);
    let cg = GuestCgroup::create(&host, &spec, &vm, &auditor).unwrap();
    assert!(cg.device_acl().is_none());
    let e = cg.deny_all().unwrap_err();
    assert!(matches!(e, CgroupError::NoDeviceAcl { .. }), "{e}");
    assert_eq!(
        sink.summaries(),
        vec![
            "virt=lxc resrc=cgroup reason=deny vm=\"box\" uuid=00000000-0000-0000-0000-000000000000 cgroup=\"?\" class=all res=failed"
        ]
    );
}

#[test]
fn pure_v2_enables_controllers_and_writes_v2_knobs() {
    let tmp = TempDir::new("virt-cgroup-made").unwrap();
    let root = tmp.path().join("sys/fs/cgroup");
    fs::create_dir_all(&root).unwrap();
    touch(
        &root,
        &[
            ("cgroup.controllers", "cpuset cpu io memory pids\n"),
            ("cgroup.subtree_control", ""),
        ],
    );
    let mi = format!(
        "30 23 0:26 / {} rw - cgroup2 cgroup2 rw,nsdelegate\n",
        root.display()
    );
    let host = CgroupHost::from_mounts(&parse_mountinfo(&mi).unwrap(), |p| {
        fs::read_to_string(p.join("cgroup.controllers")).ok()
    });
    assert_eq!(
        host.controller(Controller::Memory).unwrap().version,
        Version::V2
    );
    let spec = GuestSpec::new("qemu", 3, "v2 guest").device_acl(DeviceAclMode::Off);
    let (auditor, _) = Auditor::memory();
    let cg = GuestCgroup::create(&host, &spec, &vm(), &auditor).unwrap();
    assert_eq!(cg.placement(), "/machine/qemu-3-v2guest.libvirt-qemu");
    assert_eq!(
        read(root.join("cgroup.subtree_control")),
        "+cpu +memory +pids"
    );
    let dir = root.join("machine/qemu-3-v2guest.libvirt-qemu");
    assert_eq!(cg.paths(), vec![dir.as_path()]);
    touch(
        &dir,
        &[
            ("memory.max", "max\n"),
            ("cpu.weight", "100\n"),
            ("pids.max", "max\n"),
        ],
    );
    assert_eq!(cg.memory_limit().unwrap(), None);
    assert_eq!(cg.pids_max().unwrap(), None);
    cg.set_memory_limit(Some(4096)).unwrap();
    assert_eq!(read(dir.join("memory.max")), "4096");
    cg.set_cpu_shares(500).unwrap();
    assert_eq!(cg.cpu_shares().unwrap(), 500);
    assert!(cg.set_cpu_shares(20_000).is_err());
    fs::write(dir.join("pids.max"), "").unwrap();
    cg.set_pids_max(None).unwrap();
    assert_eq!(read(dir.join("pids.max")), "max");
}

#[test]
fn missing_controller_is_a_clear_error() {
    let tmp = TempDir::new("virt-cgroup-made").unwrap();
    let root = tmp.path().join("cg");
    fs::create_dir_all(&root).unwrap();
    let mi = format!(
        "30 23 0:26 / {} rw - cgroup cgroup rw,devices\n",
        root.display()
    );
    let host = CgroupHost::from_mounts(&parse_mountinfo(&mi).unwrap(), |_| None);
    let (auditor, _) = Auditor::memory();
    let cg = GuestCgroup::create(&host, &GuestSpec::new("qemu", 1, "x"), &vm(), &auditor).unwrap();
    let e = cg.set_memory_limit(Some(1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the memory controller is not available on this host for cgroup /machine/qemu-1-x.libvirt-qemu"
    );
    let e = GuestCgroup::create(
        &host,
        &GuestSpec::new("qemu", 2, "y").device_acl(DeviceAclMode::V2),
        &vm(),
        &auditor,
    )
    .unwrap_err();
    assert!(e.to_string().contains("devices (cgroup v2 BPF)"), "{e}");
}

#[test]
fn v2_acl_on_a_non_cgroup_dir_fails_audited() {
    // A made v2 tree is a plain directory: the BPF program cannot be attached to it (or, without
    // privileges, not even made). The change fails, is audited as failed, and nothing is left set.
    let tmp = TempDir::new("virt-cgroup-made").unwrap();
    let root = tmp.path().join("cg2");
    fs::create_dir_all(&root).unwrap();
    let mi = format!("30 23 0:26 / {} rw - cgroup2 cgroup2 rw\n", root.display());
    let host = CgroupHost::from_mounts(&parse_mountinfo(&mi).unwrap(), |_| None);
    let (auditor, sink) = Auditor::memory();
    let cg =
        GuestCgroup::create(&host, &GuestSpec::new("qemu", 9, "nobpf"), &vm(), &auditor).unwrap();
    let (version, dir) = cg.device_acl().unwrap();
    assert_eq!(version, Version::V2);
    let e = cg.deny_all().unwrap_err();
    assert!(matches!(e, CgroupError::Bpf { .. }), "{e}");
    assert!(cg.bpf_ids().is_none());
    assert_eq!(
        sink.summaries(),
        vec![format!(
            "virt=kvm resrc=cgroup reason=deny vm=\"demo\" uuid={UUID} cgroup=\"{}/\" class=all res=failed",
            dir.display()
        )]
    );
    // Opening a guest that was never made names the missing directory.
    let e = GuestCgroup::open(
        &host,
        &GuestSpec::new("qemu", 10, "absent"),
        &vm(),
        &auditor,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cannot open {}/machine/qemu-10-absent.libvirt-qemu: No such file or directory (os error 2)",
            root.display()
        )
    );
}
