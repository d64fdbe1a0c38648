//! The QEMU driver end to end on the real host (root, tun, QEMU with TCG, cgroups): a tiny guest
//! defined and started on an embed root, its ready line read from its pty, the audit trail
//! compared record for record with libvirt 9.0's, destroy leaving nothing; failed starts leaving
//! nothing and audited `res=failed`.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use virt_audit::records::{self, CgroupClass};
use virt_audit::{Auditor, DevNum, MemorySink, Outcome, VirtType, VmIdentity};
use virt_qemu::driver::paths::DriverPaths;
use virt_qemu::driver::store::StatusRecord;
use virt_qemu::driver::{DriverOptions, GuestState, QemuDriver, StateReason};
use virt_testkit::guest::{TinyGuest, KERNEL_CMDLINE, READY_LINE};
use virt_testkit::{system_test, Facility, TempDir};

const NEEDS: &[Facility] = &[
    Facility::Root,
    Facility::Tun,
    Facility::Command("qemu-system-x86_64"),
    Facility::Command("qemu-img"),
    Facility::CgroupV2,
];

fn domain_xml(name: &str, guest: &TinyGuest, disk: &Path, mac: &str, nic: &str) -> String {
    format!(
        "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{}</kernel>
    <initrd>{}</initrd>
    <cmdline>{KERNEL_CMDLINE}</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    {nic}
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>",
        guest.kernel.display(),
        guest.initrd.display(),
        disk.display(),
    )
    .replace("MAC", mac)
}

const ETHERNET_NIC: &str =
    "<interface type='ethernet'><mac address='MAC'/><model type='virtio'/></interface>";

fn make_disk(dir: &Path) -> PathBuf {
    let p = dir.join("disk.img");
    let st = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "raw"])
        .arg(&p)
        .arg("8M")
        .status()
        .expect("qemu-img runs");
    assert!(st.success(), "qemu-img create failed");
    p
}

fn open_driver(root: &Path) -> (QemuDriver, std::sync::Arc<MemorySink>) {
    let (auditor, mem) = Auditor::memory();
    let d = QemuDriver::open(
        DriverPaths::embed(root),
        format!("qemu:///embed?root={}", root.display()),
        auditor,
        DriverOptions::default(),
    )
    .expect("driver opens");
    (d, mem)
}

/// Reads the guest's serial console until `want` appears (bounded).
fn wait_for_line(pty: &str, want: &str, timeout: Duration) -> String {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    use nix::sys::termios;
    let fd = open(
        pty,
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_NONBLOCK,
        Mode::empty(),
    )
    .unwrap_or_else(|e| panic!("open {pty}: {e}"));
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let mut t = termios::tcgetattr(fd.as_fd()).expect("tcgetattr");
    termios::cfmakeraw(&mut t);
    termios::tcsetattr(fd.as_fd(), termios::SetArg::TCSANOW, &t).expect("tcsetattr");
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&fd), &mut buf) {
            Ok(n) if n > 0 => {
                seen.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&seen).contains(want) {
                    return String::from_utf8_lossy(&seen).into_owned();
                }
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    panic!(
        "no {want:?} on {pty} within {timeout:?}; got: {}",
        String::from_utf8_lossy(&seen)
    );
}

fn rdev(path: &str) -> DevNum {
    use std::os::unix::fs::MetadataExt;
    let r = std::fs::metadata(path).expect("device exists").rdev();
    DevNum::new(libc::major(r), libc::minor(r))
}

fn v2_mount() -> PathBuf {
    let host = virt_cgroup::CgroupHost::discover().expect("cgroups");
    host.v2().expect("cgroup v2 mounted").mount_point.clone()
}

/// The records libvirt 9.0 writes for starting this guest (`pid`, `pty` from the run).
fn expected_start(
    vm: &VmIdentity,
    mac: &str,
    disk: &str,
    cgroup_dir: &str,
    pty: &str,
    pid: u32,
) -> Vec<String> {
    let mut out = vec![
        records::machine_id(
            vm,
            Some("+0:+0"),
            Some("+0:+0"),
            Some("dac"),
            Outcome::Success,
        ),
        records::net_open(
            vm,
            &mac,
            "/dev/net/tun",
            Some(rdev("/dev/net/tun")),
            Outcome::Success,
        ),
        records::cgroup(vm, cgroup_dir, "deny", CgroupClass::All, Outcome::Success),
    ];
    for p in [
        "/dev/null",
        "/dev/full",
        "/dev/zero",
        "/dev/random",
        "/dev/urandom",
        "/dev/ptmx",
        "/dev/kvm",
    ] {
        if Path::new(p).exists() {
            out.push(records::cgroup(
                vm,
                cgroup_dir,
                "allow",
                CgroupClass::Path {
                    path: p,
                    rdev: Some(rdev(p)),
                    acl: "rw",
                },
                Outcome::Success,
            ));
        }
    }
    out.push(records::cgroup(
        vm,
        cgroup_dir,
        "allow",
        CgroupClass::Major {
            category: "pty",
            major: 136,
            acl: "rw",
        },
        Outcome::Success,
    ));
    let m: &dyn std::fmt::Display = &mac;
    out.extend(records::disk(
        vm,
        "start",
        None,
        Some(disk),
        Outcome::Success,
    ));
    out.extend(records::net(vm, "start", None, Some(m), Outcome::Success));
    out.extend(records::chardev(
        vm,
        "start",
        None,
        Some(pty),
        Outcome::Success,
    ));
    out.push(records::memory(vm, "start", 0, 262144, Outcome::Success));
    out.push(records::vcpu(vm, "start", 0, 2, Outcome::Success));
    out.push(records::start(vm, "booted", pid as i64, Outcome::Success));
    out.iter().map(|r| r.summary()).collect()
}

fn pty_of(live_xml: &str) -> String {
    let i = live_xml
        .find("<source path='/dev/pts/")
        .expect("pty path in live XML");
    let rest = &live_xml[i + "<source path='".len()..];
    rest[..rest.find('\'').expect("quote")].to_string()
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn qemu_of(name: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(c) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let c = String::from_utf8_lossy(&c);
            if c.starts_with("/usr/bin/qemu-system") && c.contains(&format!("guest={name},")) {
                if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                    if !s.contains(") Z ") {
                        out.push(pid);
                    }
                }
            }
        }
    }
    out
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Destroys the guest if a test fails while it runs (so no QEMU, tap or cgroup outlives it).
struct DestroyOnDrop<'a>(&'a QemuDriver, String);

impl Drop for DestroyOnDrop<'_> {
    fn drop(&mut self) {
        if self.0.is_active(&self.1).unwrap_or(false) {
            let _ = self.0.destroy(&self.1);
        }
    }
}

fn uuid_bytes(d: &QemuDriver, name: &str) -> [u8; 16] {
    *d.list()
        .unwrap()
        .into_iter()
        .find(|x| x.name == name)
        .expect("listed")
        .uuid
        .as_bytes()
}

#[test]
fn tiny_guest_boots_audited_like_libvirt_and_destroy_leaves_nothing() {
    let Some(_t) = system_test("driver_tiny_guest_lifecycle", NEEDS) else {
        return;
    };
    let dir = TempDir::new("qdrv-life").unwrap();
    let guest = TinyGuest::build(dir.path()).expect("tiny guest");
    let disk = make_disk(dir.path());
    let root = dir.path().join("root");
    let name = format!("qdrv-life-{}", std::process::id());
    let mac = "52:54:00:5a:01:02";
    let (drv, mem) = open_driver(&root);
    drv.define(&domain_xml(&name, &guest, &disk, mac, ETHERNET_NIC))
        .expect("define");
    assert_eq!(
        drv.state(&name).unwrap(),
        (GuestState::Shutoff, StateReason::Unknown)
    );
    let vm = VmIdentity::new(VirtType::Qemu, name.clone(), uuid_bytes(&drv, &name));

    drv.start(&name).expect("start");
    let _guard = DestroyOnDrop(&drv, name.clone());
    let paths = DriverPaths::embed(&root);
    let st = StatusRecord::read(&paths.status_file(&name))
        .unwrap()
        .expect("status file while running");
    let pid = st.runtime.pid;
    let tap = st.runtime.nics[0].ifname.clone().expect("tap name");
    let placement = st.runtime.cgroup.clone().expect("cgroup");
    let pty = pty_of(&st.live_xml);
    assert!(link_exists(&tap), "tap {tap} exists while running");
    assert_eq!(qemu_of(&name), [pid]);
    assert_eq!(
        drv.state(&name).unwrap(),
        (GuestState::Running, StateReason::Booted)
    );
    assert!(drv
        .xml(&name, false)
        .unwrap()
        .contains(&format!("id='{}'", st.id)));

    let console = wait_for_line(&pty, READY_LINE, Duration::from_secs(120));
    assert!(console.contains(READY_LINE));

    let cgroup_dir = format!("{}{placement}/", v2_mount().display());
    let want = expected_start(
        &vm,
        mac,
        &disk.display().to_string(),
        &cgroup_dir,
        &pty,
        pid,
    );
    assert_eq!(mem.summaries(), want);

    // Hot-plug a second NIC, then unplug it (the booted guest releases it).
    mem.clear();
    let mac2 = "52:54:00:5a:01:03";
    let nic2 = virt_xml::domain::parse_device(&ETHERNET_NIC.replace("MAC", mac2)).unwrap();
    drv.attach_live(&name, &nic2).expect("attach interface");
    let st = StatusRecord::read(&paths.status_file(&name))
        .unwrap()
        .unwrap();
    let tap2 = st
        .runtime
        .nics
        .iter()
        .find(|n| n.mac.to_string() == mac2)
        .and_then(|n| n.ifname.clone())
        .expect("second NIC recorded");
    assert!(link_exists(&tap2));
    assert!(drv.xml(&name, false).unwrap().contains(mac2));
    let m2: &dyn std::fmt::Display = &mac2;
    let attach = vec![
        records::net_open(
            &vm,
            &mac2,
            "/dev/net/tun",
            Some(rdev("/dev/net/tun")),
            Outcome::Success,
        )
        .summary(),
        records::net(&vm, "attach", None, Some(m2), Outcome::Success)
            .unwrap()
            .summary(),
    ];
    assert_eq!(mem.summaries(), attach);
    mem.clear();
    drv.detach_live(&name, &nic2).expect("detach interface");
    assert_eq!(
        mem.summaries(),
        [
            records::net(&vm, "detach", Some(m2), None, Outcome::Success)
                .unwrap()
                .summary()
        ]
    );
    wait_until("second tap gone", Duration::from_secs(10), || {
        !link_exists(&tap2)
    });
    assert!(!drv.xml(&name, false).unwrap().contains(mac2));

    mem.clear();
    drv.destroy(&name).expect("destroy");
    assert_eq!(
        mem.summaries(),
        [records::stop(&vm, "destroyed", 0).summary()]
    );
    wait_until("QEMU gone", Duration::from_secs(10), || {
        qemu_of(&name).is_empty()
    });
    wait_until("tap gone", Duration::from_secs(10), || !link_exists(&tap));
    assert!(
        !Path::new(&format!("{}{placement}", v2_mount().display())).exists(),
        "cgroup {placement} removed"
    );
    for h in ["memory", "cpu", "pids", "devices"] {
        let p = PathBuf::from(format!("/sys/fs/cgroup/{h}{placement}"));
        assert!(!p.exists(), "{} removed", p.display());
    }
    assert!(!paths.status_file(&name).exists());
    assert!(!paths.monitor_socket(&name).exists());
    assert_eq!(
        drv.state(&name).unwrap(),
        (GuestState::Shutoff, StateReason::Destroyed)
    );
    drv.undefine(&name).unwrap();
    assert!(drv.list().unwrap().iter().all(|d| d.name != name));
}

#[test]
fn failed_starts_leave_nothing_and_are_audited() {
    let Some(_t) = system_test("driver_failed_start", NEEDS) else {
        return;
    };
    let dir = TempDir::new("qdrv-fail").unwrap();
    let guest = TinyGuest::build(dir.path()).expect("tiny guest");
    let root = dir.path().join("root");
    let (drv, mem) = open_driver(&root);
    let paths = DriverPaths::embed(&root);

    // A disk file that does not exist: QEMU itself refuses, after taps and cgroup were made.
    let name = format!("qdrv-nodisk-{}", std::process::id());
    let missing = dir.path().join("missing.img");
    let mac = "52:54:00:5a:02:01";
    drv.define(&domain_xml(&name, &guest, &missing, mac, ETHERNET_NIC))
        .unwrap();
    let vm = VmIdentity::new(VirtType::Qemu, name.clone(), uuid_bytes(&drv, &name));
    let e = drv.start(&name).unwrap_err().to_string();
    assert!(e.contains("missing.img"), "{e}");
    let got = mem.summaries();
    assert_eq!(
        got.last().unwrap(),
        &records::start(&vm, "booted", 0, Outcome::Failed).summary()
    );
    assert!(got.iter().any(|r| r.contains("reason=open")), "{got:?}");
    assert!(!paths.status_file(&name).exists());
    assert!(qemu_of(&name).is_empty());
    assert!(!Path::new(&format!("{}/machine", v2_mount().display()))
        .join(format!("qemu-1-{name}.libvirt-qemu"))
        .exists());
    assert_eq!(
        drv.state(&name).unwrap(),
        (GuestState::Shutoff, StateReason::Failed)
    );

    // A bridge that does not exist: the tap open fails, nothing else is made.
    mem.clear();
    let disk = make_disk(dir.path());
    let name2 = format!("qdrv-nobr-{}", std::process::id());
    let nic = format!(
        "<interface type='bridge'><mac address='MAC'/><source bridge='nobr{}'/><model type='virtio'/></interface>",
        std::process::id() % 100000
    );
    drv.define(&domain_xml(
        &name2,
        &guest,
        &disk,
        "52:54:00:5a:02:02",
        &nic,
    ))
    .unwrap();
    let vm2 = VmIdentity::new(VirtType::Qemu, name2.clone(), uuid_bytes(&drv, &name2));
    let e = drv.start(&name2).unwrap_err().to_string();
    assert!(e.contains("nobr"), "{e}");
    let got = mem.summaries();
    assert_eq!(
        got.last().unwrap(),
        &records::start(&vm2, "booted", 0, Outcome::Failed).summary()
    );
    assert!(!got.iter().any(|r| r.contains("resrc=cgroup")), "{got:?}");
    assert!(!paths.status_file(&name2).exists());
    assert!(qemu_of(&name2).is_empty());
}
