//! `virtsh` on `qemu:///embed?root=DIR` with real QEMU: the whole lifecycle of a tiny guest with
//! the `--audit-file` trail compared record for record with libvirt 9.0's; a `virtsh` killed with
//! SIGKILL in the middle of `start` repaired by the next one; many `virtsh` processes on one root
//! at once.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use virt_audit::records::{self, CgroupClass};
use virt_audit::{DevNum, Outcome, VirtType, VmIdentity};
use virt_testkit::guest::{TinyGuest, KERNEL_CMDLINE, READY_LINE};
use virt_testkit::{system_test, Facility, TempDir};

const NEEDS: &[Facility] = &[
    Facility::Root,
    Facility::Tun,
    Facility::Command("qemu-system-x86_64"),
    Facility::Command("qemu-img"),
    Facility::CgroupV2,
];

fn virtsh(uri: &str, extra: &[&str], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_virtsh"))
        .arg("-c")
        .arg(uri)
        .args(extra)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("virtsh runs")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "virtsh failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn domain_xml(name: &str, guest: &TinyGuest, disk: &Path, mac: &str) -> String {
    format!(
        "<domain type='qemu'>
  <name>{name}</name>
  <uuid>UUID</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{}</kernel>
    <initrd>{}</initrd>
    <cmdline>{KERNEL_CMDLINE}</cmdline>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='ethernet'><mac address='{mac}'/><model type='virtio'/></interface>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>",
        guest.kernel.display(),
        guest.initrd.display(),
        disk.display(),
    )
}

fn make_disk(dir: &Path) -> PathBuf {
    let p = dir.join("disk.img");
    let st = Command::new("qemu-img")
        .args(["create", "-q", "-f", "raw"])
        .arg(&p)
        .arg("8M")
        .status()
        .expect("qemu-img runs");
    assert!(st.success());
    p
}

fn rdev(path: &str) -> DevNum {
    use std::os::unix::fs::MetadataExt;
    let r = std::fs::metadata(path).expect("device exists").rdev();
    DevNum::new(libc::major(r), libc::minor(r))
}

fn v2_mount() -> PathBuf {
    virt_testkit::system::cgroup_mount(|fstype, _| fstype == "cgroup2").expect("cgroup v2")
}

/// `BODY res=R` of each `--audit-file` line (the process fields `exe= hostname= addr= terminal=`
/// dropped), as `Record::summary` writes it.
fn file_summaries(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| {
            let msg = &l[l.find("msg='").expect("msg") + 5..l.len() - 1];
            let body = &msg[..msg.find(" exe=").expect("exe field")];
            let res = &msg[msg.rfind(" res=").expect("res field")..];
            format!("{body}{res}")
        })
        .collect()
}

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
            let class = CgroupClass::Path {
                path: p,
                rdev: Some(rdev(p)),
                acl: "rw",
            };
            out.push(records::cgroup(
                vm,
                cgroup_dir,
                "allow",
                class,
                Outcome::Success,
            ));
        }
    }
    let pty_major = CgroupClass::Major {
        category: "pty",
        major: 136,
        acl: "rw",
    };
    out.push(records::cgroup(
        vm,
        cgroup_dir,
        "allow",
        pty_major,
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

fn wait_for_line(pty: &str, want: &str, timeout: Duration) {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    use nix::sys::termios;
    let fd = open(
        pty,
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_NONBLOCK,
        Mode::empty(),
    )
    .unwrap_or_else(|e| panic!("open {pty}: {e}"));
    // SAFETY: fd was just opened and is owned here only.
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
                    return;
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

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let i = s.find(start).unwrap_or_else(|| panic!("{start:?} in {s}")) + start.len();
    &s[i..i + s[i..].find(end).expect("end")]
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
                let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .map(|s| s.contains(") Z "))
                    .unwrap_or(true);
                if !zombie {
                    out.push(pid);
                }
            }
        }
    }
    out
}

/// Interfaces whose MAC is the host side (0xFE first byte) of guest MAC `mac`.
fn taps_with_host_mac(mac: &str) -> Vec<String> {
    let want = format!("fe{}", &mac[2..]);
    let mut out = Vec::new();
    for e in std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(a) = std::fs::read_to_string(e.path().join("address")) {
            if a.trim() == want {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out
}

fn guest_cgroups(name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for base in [
        v2_mount(),
        PathBuf::from("/sys/fs/cgroup/memory"),
        PathBuf::from("/sys/fs/cgroup/devices"),
        PathBuf::from("/sys/fs/cgroup/pids"),
    ] {
        for e in std::fs::read_dir(base.join("machine"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.ends_with(&format!("-{name}.libvirt-qemu")) {
                out.push(e.path());
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

fn assert_nothing_left(root: &Path, name: &str, mac: &str) {
    wait_until("QEMU gone", Duration::from_secs(10), || {
        qemu_of(name).is_empty()
    });
    wait_until("tap gone", Duration::from_secs(10), || {
        taps_with_host_mac(mac).is_empty()
    });
    assert_eq!(guest_cgroups(name), Vec::<PathBuf>::new());
    assert!(!root.join(format!("run/qemu/{name}.status.json")).exists());
    assert!(!root.join(format!("run/qemu/{name}.monitor")).exists());
}

#[test]
fn virtsh_runs_a_tiny_guest_with_the_libvirt_audit_trail() {
    let Some(_t) = system_test("virtsh_qemu_lifecycle", NEEDS) else {
        return;
    };
    let dir = TempDir::new("qdrv-virtsh").unwrap();
    let guest = TinyGuest::build(dir.path()).expect("tiny guest");
    let disk = make_disk(dir.path());
    let root = dir.path().join("root");
    let uri = format!("qemu:///embed?root={}", root.display());
    let name = format!("qdrv-sh-{}", std::process::id());
    let mac = "52:54:00:5b:01:02";
    let uuid = "6a1c7e52-54b0-4a8b-9d7e-1f2e3d4c5b6a";
    let xml_path = dir.path().join("dom.xml");
    std::fs::write(
        &xml_path,
        domain_xml(&name, &guest, &disk, mac).replace("UUID", uuid),
    )
    .unwrap();
    let audit = dir.path().join("audit.log");
    let af = ["--audit-file", audit.to_str().unwrap()];

    assert!(
        ok(&virtsh(&uri, &af, &["define", xml_path.to_str().unwrap()]))
            .contains(&format!("Domain '{name}' defined"))
    );
    assert!(ok(&virtsh(&uri, &af, &["start", &name])).contains("started"));
    let _guard = DestroyOnDrop(uri.clone(), name.clone());
    let list = ok(&virtsh(&uri, &af, &["list"]));
    assert!(
        list.lines()
            .any(|l| l.contains(&name) && l.contains("running")),
        "{list}"
    );
    assert_eq!(
        ok(&virtsh(&uri, &af, &["domstate", &name])).trim(),
        "running"
    );
    let live = ok(&virtsh(&uri, &af, &["dumpxml", &name]));
    let pty = format!(
        "/dev/pts/{}",
        between(&live, "<source path='/dev/pts/", "'")
    );
    let status =
        std::fs::read_to_string(root.join(format!("run/qemu/{name}.status.json"))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    let pid = v["runtime"]["pid"].as_u64().unwrap() as u32;
    let placement = v["runtime"]["cgroup"].as_str().unwrap().to_string();
    assert_eq!(qemu_of(&name), [pid]);

    wait_for_line(&pty, READY_LINE, Duration::from_secs(120));

    let mut u = [0u8; 16];
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    for (i, b) in u.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    let vm = VmIdentity::new(VirtType::Qemu, name.clone(), u);
    let cgroup_dir = format!("{}{placement}/", v2_mount().display());
    let mut want = expected_start(
        &vm,
        mac,
        &disk.display().to_string(),
        &cgroup_dir,
        &pty,
        pid,
    );
    assert_eq!(file_summaries(&audit), want);

    assert!(ok(&virtsh(&uri, &af, &["destroy", &name])).contains("destroyed"));
    want.push(records::stop(&vm, "destroyed", 0).summary());
    assert_eq!(file_summaries(&audit), want);
    assert_nothing_left(&root, &name, mac);
    assert_eq!(
        ok(&virtsh(&uri, &af, &["domstate", "--reason", &name])).trim(),
        "shut off (destroyed)"
    );
    ok(&virtsh(&uri, &af, &["undefine", &name]));
    assert!(!ok(&virtsh(&uri, &af, &["list", "--all"])).contains(&name));
}

/// Destroys the guest if a test fails while it may run.
struct DestroyOnDrop(String, String);

impl Drop for DestroyOnDrop {
    fn drop(&mut self) {
        let _ = virtsh(&self.0, &[], &["destroy", &self.1]);
    }
}

/// Whether a status record shows the stage a test waits for.
type StageReached = fn(&serde_json::Value) -> bool;

/// Starts `virtsh start NAME` and SIGKILLs it once `ready(status JSON)` holds.
fn kill_start_when(uri: &str, root: &Path, name: &str, ready: impl Fn(&serde_json::Value) -> bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_virtsh"))
        .args(["-c", uri, "start", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = root.join(format!("run/qemu/{name}.status.json"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let hit = std::fs::read_to_string(&status)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| ready(&v));
        if hit {
            break;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("virtsh start ended ({st}) before the state wanted appeared");
        }
        assert!(
            Instant::now() < deadline,
            "status never reached the wanted state"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_virtsh_killed_during_start_is_repaired_by_the_next() {
    let Some(_t) = system_test("virtsh_qemu_kill_during_start", NEEDS) else {
        return;
    };
    let dir = TempDir::new("qdrv-kill").unwrap();
    let guest = TinyGuest::build(dir.path()).expect("tiny guest");
    let disk = make_disk(dir.path());
    let root = dir.path().join("root");
    let uri = format!("qemu:///embed?root={}", root.display());
    let name = format!("qdrv-kill-{}", std::process::id());
    let mac = "52:54:00:5b:02:03";
    let xml_path = dir.path().join("dom.xml");
    let xml = domain_xml(&name, &guest, &disk, mac).replace("<uuid>UUID</uuid>", "");
    std::fs::write(&xml_path, xml).unwrap();
    ok(&virtsh(&uri, &[], &["define", xml_path.to_str().unwrap()]));
    let _guard = DestroyOnDrop(uri.clone(), name.clone());

    // Killed as soon as the start is recorded; then once QEMU has been launched.
    let stages: [(&str, StageReached); 2] = [
        ("status written", |_| true),
        ("QEMU launched", |v| {
            v["runtime"]["pid"].as_u64().unwrap_or(0) != 0
        }),
    ];
    for (stage, ready) in stages {
        kill_start_when(&uri, &root, &name, ready);
        let list = ok(&virtsh(&uri, &[], &["list", "--all"]));
        let line = list
            .lines()
            .find(|l| l.contains(&name))
            .unwrap_or_else(|| panic!("{stage}: not listed: {list}"));
        if line.contains("running") {
            // The start had finished: the guest must be usable.
            assert!(ok(&virtsh(&uri, &[], &["dumpxml", &name])).contains("/dev/pts/"));
            ok(&virtsh(&uri, &[], &["destroy", &name]));
        } else {
            assert!(line.contains("shut off"), "{stage}: {line}");
        }
        assert_nothing_left(&root, &name, mac);
        // And it starts again normally.
        ok(&virtsh(&uri, &[], &["start", &name]));
        assert!(ok(&virtsh(&uri, &[], &["list"])).contains(&name));
        ok(&virtsh(&uri, &[], &["destroy", &name]));
        assert_nothing_left(&root, &name, mac);
    }
    ok(&virtsh(&uri, &[], &["undefine", &name]));
}

#[test]
fn many_virtsh_processes_on_one_root_keep_it_consistent() {
    let dir = TempDir::new("qdrv-conc").unwrap();
    let root = dir.path().join("root");
    let uri = format!("qemu:///embed?root={}", root.display());
    let procs = 6;
    let per = 4;
    let mut children = Vec::new();
    for p in 0..procs {
        let mut script = String::new();
        for d in 0..per {
            let xml = dir.path().join(format!("d{p}-{d}.xml"));
            std::fs::write(
                &xml,
                format!(
                    "<domain type='qemu'><name>c{p}-{d}</name><memory>65536</memory>\
                     <os><type arch='x86_64' machine='pc'>hvm</type></os></domain>"
                ),
            )
            .unwrap();
            script.push_str(&format!("define {}\nlist --all\n", xml.display()));
        }
        // Every process also redefines and undefines one shared name.
        let shared = dir.path().join(format!("shared{p}.xml"));
        std::fs::write(
            &shared,
            "<domain type='qemu'><name>shared</name><uuid>11111111-2222-3333-4444-555555555555</uuid>\
             <memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>",
        )
        .unwrap();
        script.push_str(&format!("define {}\n", shared.display()));
        let mut c = Command::new(env!("CARGO_BIN_EXE_virtsh"))
            .args(["-c", &uri])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        c.stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        children.push(c);
    }
    for c in children {
        let o = c.wait_with_output().unwrap();
        ok(&o);
    }
    let list = ok(&virtsh(&uri, &[], &["list", "--all", "--name"]));
    let mut names: Vec<&str> = list.lines().filter(|l| !l.is_empty()).collect();
    names.sort();
    let mut want: Vec<String> = (0..procs)
        .flat_map(|p| (0..per).map(move |d| format!("c{p}-{d}")))
        .collect();
    want.push("shared".into());
    want.sort();
    assert_eq!(names, want);
    // Every stored definition is whole.
    for n in &want {
        let x = ok(&virtsh(&uri, &[], &["dumpxml", n]));
        assert!(x.starts_with("<domain type='qemu'>") && x.trim_end().ends_with("</domain>"));
    }
    let leftovers: Vec<_> = std::fs::read_dir(root.join("etc/qemu"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".xml"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
