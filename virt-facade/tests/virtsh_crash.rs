//! Crash safety of hot-plug and graceful shutdown, through the real `virtsh` binary on
//! `qemu:///embed?root=DIR` with a booted tiny TCG guest.
//!
//! A `virtsh attach-device ... --live` is SIGKILLed at chosen points of a NIC attach and of a disk
//! attach, and the next `virtsh` must leave the guest running and usable with the device either
//! fully there (status, live XML, QEMU, tap, audit) or fully gone (no tap, no netdev, device or
//! block node in QEMU, no QEMU fd to the tun device, audit `res=failed`). The points are reached
//! deterministically, with no hook in the code under test:
//! - "tap opened" and "pending record written": a FIFO is put where the killed process will write
//!   its next temporary file (the pending record's, then the status file's; both are named with the
//!   pid, so `virtsh` is started stopped, the FIFO made, then it is continued); opening the FIFO
//!   blocks it right there.
//! - "netdev added", "device added, status not yet updated", "block node added": the test puts a
//!   QMP proxy in place of the guest's monitor socket (passing fds through with SCM_RIGHTS); when
//!   QEMU's reply to the chosen command arrives, `virtsh` is killed before it can see it.
//!
//! Also: a block-device (loop) disk gets its major:minor allowed in the guest's devices cgroup on
//! attach and denied on detach (audited; QEMU cannot open the device outside that window), and
//! `virtsh shutdown` powers a guest off through ACPI while a guest that ignores the power button
//! makes the shutdown fail after its timeout, still running.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use virt_audit::records::{self, CgroupClass};
use virt_audit::{DevNum, Outcome, VirtType, VmIdentity};
use virt_qemu::qmp::Qmp;
use virt_testkit::guest::{
    TinyGuest, IGNORE_POWER_BUTTON, KERNEL_CMDLINE, POWER_BUTTON_LINE, READY_LINE,
};
use virt_testkit::{system_test, Facility, TempDir};

const NEEDS: &[Facility] = &[
    Facility::Root,
    Facility::Tun,
    Facility::Command("qemu-system-x86_64"),
    Facility::Command("qemu-img"),
    Facility::Command("losetup"),
    Facility::CgroupV2,
];

const UUID: &str = "0b6e4a3c-9d51-4f0e-8a27-5c3d2e1f4a6b";
const UUID_SHUT: &str = "1c7f5b4d-ae62-4011-9b38-6d4e3f205b7c";

// ---------------------------------------------------------------------------------------------
// virtsh and the guest

fn virtsh_cmd(uri: &str, audit: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_virtsh"));
    c.arg("-c")
        .arg(uri)
        .arg("--audit-file")
        .arg(audit)
        .stdin(Stdio::null());
    c
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

fn domain_xml(name: &str, uuid: &str, guest: &TinyGuest, disk: &Path, cmdline: &str) -> String {
    format!(
        "<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{}</kernel>
    <initrd>{}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='ethernet'><mac address='52:54:00:5c:00:01'/><model type='virtio'/></interface>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>",
        guest.kernel.display(),
        guest.initrd.display(),
        disk.display(),
    )
}

fn make_file(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let st = Command::new("qemu-img")
        .args(["create", "-q", "-f", "raw"])
        .arg(&p)
        .arg("8M")
        .status()
        .expect("qemu-img runs");
    assert!(st.success());
    p
}

fn uuid_bytes(uuid: &str) -> [u8; 16] {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    let mut u = [0u8; 16];
    for (i, b) in u.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    u
}

fn rdev(path: &str) -> DevNum {
    use std::os::unix::fs::MetadataExt;
    let r = std::fs::metadata(path).expect("device exists").rdev();
    DevNum::new(libc::major(r), libc::minor(r))
}

fn v2_mount() -> PathBuf {
    virt_testkit::system::cgroup_mount(|fstype, _| fstype == "cgroup2").expect("cgroup v2")
}

/// Reads the serial console `pty` until `want` shows (keeping the text seen).
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
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut t = termios::tcgetattr(&fd).expect("tcgetattr");
    termios::cfmakeraw(&mut t);
    termios::tcsetattr(&fd, termios::SetArg::TCSANOW, &t).expect("tcsetattr");
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
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

/// How many of `pid`'s fds are open on `/dev/net/tun`.
fn tun_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|l| l == Path::new("/dev/net/tun")))
        .count()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `BODY res=R` of each `--audit-file` line (process fields dropped), as `Record::summary` writes.
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

/// Destroys the guest if a test fails while it may run.
struct DestroyOnDrop(String, String, PathBuf);

impl Drop for DestroyOnDrop {
    fn drop(&mut self) {
        let _ = virtsh_cmd(&self.0, &self.2)
            .args(["destroy", &self.1])
            .output();
    }
}

/// A loop device over a file, detached again on drop.
struct Loop(String);

impl Loop {
    fn new(file: &Path) -> Loop {
        let o = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(file)
            .output()
            .expect("losetup runs");
        assert!(o.status.success(), "losetup: {o:?}");
        Loop(String::from_utf8_lossy(&o.stdout).trim().to_string())
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

/// One defined and started guest, driven through virtsh with an audit file.
struct Rig {
    dir: TempDir,
    uri: String,
    root: PathBuf,
    name: String,
    audit: PathBuf,
    vm: VmIdentity,
    /// Audit records already checked.
    seen: usize,
}

impl Rig {
    fn new(tag: &str, uuid: &str, cmdline: &str) -> Rig {
        let dir = TempDir::new(&format!("crash-{tag}")).unwrap();
        let guest = TinyGuest::build(dir.path()).expect("tiny guest");
        let disk = make_file(dir.path(), "disk.img");
        let root = dir.path().join("root");
        let uri = format!("qemu:///embed?root={}", root.display());
        let name = format!("crash-{tag}-{}", std::process::id());
        let xml = dir.path().join("dom.xml");
        std::fs::write(&xml, domain_xml(&name, uuid, &guest, &disk, cmdline)).unwrap();
        let audit = dir.path().join("audit.log");
        let vm = VmIdentity::new(VirtType::Qemu, name.clone(), uuid_bytes(uuid));
        let r = Rig {
            dir,
            uri,
            root,
            name,
            audit,
            vm,
            seen: 0,
        };
        ok(&r.sh(&["define", xml.to_str().unwrap()]));
        r
    }

    fn sh(&self, args: &[&str]) -> Output {
        virtsh_cmd(&self.uri, &self.audit)
            .args(args)
            .output()
            .expect("virtsh runs")
    }

    fn state_dir(&self) -> PathBuf {
        self.root.join("run/qemu")
    }

    fn monitor(&self) -> PathBuf {
        self.state_dir().join(format!("{}.monitor", self.name))
    }

    fn pending(&self) -> PathBuf {
        self.state_dir().join(format!("{}.hotplug.json", self.name))
    }

    fn pending_disk(&self) -> PathBuf {
        self.state_dir()
            .join(format!("{}.hotplug.disk.json", self.name))
    }

    fn status(&self) -> Value {
        let p = self.state_dir().join(format!("{}.status.json", self.name));
        serde_json::from_str(&std::fs::read_to_string(p).expect("status file")).unwrap()
    }

    /// Starts the guest and waits for its ready line (and `also`, when given). Returns QEMU's pid.
    fn start(&mut self, also: Option<&str>) -> u32 {
        assert!(ok(&self.sh(&["start", &self.name])).contains("started"));
        let live = ok(&self.sh(&["dumpxml", &self.name]));
        let pty = format!(
            "/dev/pts/{}",
            between(&live, "<source path='/dev/pts/", "'")
        );
        wait_for_line(&pty, READY_LINE, Duration::from_secs(180));
        if let Some(line) = also {
            wait_for_line(&pty, line, Duration::from_secs(120));
        }
        self.seen = file_summaries(&self.audit).len();
        self.status()["runtime"]["pid"].as_u64().unwrap() as u32
    }

    /// The audit records written since the last call.
    fn new_records(&mut self) -> Vec<String> {
        let all = file_summaries(&self.audit);
        let out = all[self.seen.min(all.len())..].to_vec();
        self.seen = all.len();
        out
    }

    fn cgroup_dir(&self) -> String {
        let placement = self.status()["runtime"]["cgroup"]
            .as_str()
            .expect("cgroup")
            .to_string();
        format!("{}{placement}/", v2_mount().display())
    }

    /// A short QMP session with the guest (no virtsh may hold the monitor meanwhile).
    fn qmp<T>(&self, f: impl FnOnce(&Qmp) -> T) -> T {
        let q = Qmp::connect(&self.monitor(), Duration::from_secs(30)).expect("monitor");
        f(&q)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn nic_records(&self, mac: &str, attach: Outcome) -> Vec<String> {
        let m: &dyn std::fmt::Display = &mac;
        vec![
            records::net_open(
                &self.vm,
                &mac,
                "/dev/net/tun",
                Some(rdev("/dev/net/tun")),
                Outcome::Success,
            )
            .summary(),
            records::net(&self.vm, "attach", None, Some(m), attach)
                .unwrap()
                .summary(),
        ]
    }

    fn acl_record(&self, reason: &str, dev: &str, acl: &str) -> String {
        let class = CgroupClass::Path {
            path: dev,
            rdev: Some(rdev(dev)),
            acl,
        };
        records::cgroup(
            &self.vm,
            &self.cgroup_dir(),
            reason,
            class,
            Outcome::Success,
        )
        .summary()
    }

    fn disk_record(&self, reason: &str, dev: &str, outcome: Outcome) -> String {
        let (old, new) = if reason == "detach" {
            (Some(dev), None)
        } else {
            (None, Some(dev))
        };
        records::disk(&self.vm, reason, old, new, outcome)
            .unwrap()
            .summary()
    }
}

fn nic_xml(mac: &str) -> String {
    format!("<interface type='ethernet'><mac address='{mac}'/><model type='virtio'/></interface>")
}

fn disk_xml(dev: &str) -> String {
    format!(
        "<disk type='block' device='disk'><driver name='qemu' type='raw'/>\
         <source dev='{dev}'/><target dev='vdb' bus='virtio'/></disk>"
    )
}

// ---------------------------------------------------------------------------------------------
// Stopping virtsh at a chosen point

/// Starts `virtsh ARGS` stopped (a shell that stops itself, then execs virtsh under the same pid),
/// so files named with its pid can be prepared. Continue it with SIGCONT.
fn spawn_stopped(rig: &Rig, args: &[&str]) -> Child {
    let mut words = vec![
        env!("CARGO_BIN_EXE_virtsh").to_string(),
        "-c".into(),
        rig.uri.clone(),
        "--audit-file".into(),
        rig.audit.display().to_string(),
    ];
    words.extend(args.iter().map(|a| a.to_string()));
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg("kill -STOP $$; exec \"$@\"")
        .arg("sh")
        .args(&words)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh runs");
    let pid = child.id();
    wait_until("virtsh stopped", Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('T'))
        })
    });
    child
}

/// Whether `pid`'s main thread sits in `openat` (the open of a FIFO without a reader blocks).
fn blocked_in_open(pid: u32) -> bool {
    let check = || {
        std::fs::read_to_string(format!("/proc/{pid}/syscall"))
            .is_ok_and(|s| s.split_whitespace().next() == Some("257"))
    };
    // Held across several looks: other opens are short.
    (0..4).all(|_| {
        let b = check();
        std::thread::sleep(Duration::from_millis(25));
        b
    })
}

/// Runs `virtsh ARGS` until it blocks opening the FIFO made at `fifo(pid)` after `reached()`
/// holds, then SIGKILLs it.
fn kill_at_fifo(
    rig: &Rig,
    args: &[&str],
    fifo: impl Fn(u32) -> PathBuf,
    reached: impl Fn() -> bool,
) {
    let mut child = spawn_stopped(rig, args);
    let pid = child.id();
    let path = fifo(pid);
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::SIGCONT,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(reached() && blocked_in_open(pid)) {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("virtsh {args:?} ended ({st}) before the point was reached");
        }
        assert!(Instant::now() < deadline, "virtsh {args:?} never got there");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(&path).unwrap();
}

/// A QMP man-in-the-middle on the guest's monitor path: forwards everything (fds included) and
/// SIGKILLs the victim when QEMU's reply to the `nth` `command` arrives, before it is passed on.
struct Proxy {
    public: PathBuf,
    real: PathBuf,
    stop: Arc<AtomicBool>,
    fired: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(monitor: &Path, command: &'static str, nth: usize, victim: Arc<AtomicI32>) -> Proxy {
        let real = monitor.with_extension("monitor-real");
        std::fs::rename(monitor, &real).expect("move the monitor socket aside");
        let listener = UnixListener::bind(monitor).expect("bind the proxy");
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let fired = Arc::new(AtomicBool::new(false));
        let (s, f, r) = (stop.clone(), fired.clone(), real.clone());
        let thread = std::thread::spawn(move || {
            let mut count = 0usize;
            while !s.load(Ordering::SeqCst) && !f.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let upstream = UnixStream::connect(&r).expect("real monitor");
                        relay(client, upstream, command, nth, &mut count, &victim, &f);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy {
            public: monitor.to_path_buf(),
            real,
            stop,
            fired,
            thread: Some(thread),
        }
    }

    /// Stops proxying and puts the real socket back. Returns whether the victim was killed.
    fn finish(mut self) -> bool {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("proxy thread");
        }
        let _ = std::fs::remove_file(&self.public);
        std::fs::rename(&self.real, &self.public).expect("monitor socket back");
        self.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if self.real.exists() {
            self.stop.store(true, Ordering::SeqCst);
            let _ = std::fs::remove_file(&self.public);
            let _ = std::fs::rename(&self.real, &self.public);
        }
    }
}

/// Relays one client connection until either side closes or the kill fires.
fn relay(
    client: UnixStream,
    upstream: UnixStream,
    command: &'static str,
    nth: usize,
    count: &mut usize,
    victim: &AtomicI32,
    fired: &AtomicBool,
) {
    let ids: Arc<Mutex<std::collections::HashMap<String, String>>> = Arc::default();
    // Client to QEMU: bytes with their fds; commands noted by id.
    let (c, u, ids2) = (
        client.try_clone().unwrap(),
        upstream.try_clone().unwrap(),
        ids.clone(),
    );
    let up = std::thread::spawn(move || {
        let mut pending = Vec::new();
        loop {
            let mut buf = vec![0u8; 65536];
            let mut cmsg = nix::cmsg_space!([RawFd; 8]);
            let (n, fds) = {
                let mut iov = [IoSliceMut::new(&mut buf)];
                let msg = match nix::sys::socket::recvmsg::<()>(
                    c.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    nix::sys::socket::MsgFlags::empty(),
                ) {
                    Ok(m) => m,
                    Err(_) => break,
                };
                let mut fds: Vec<OwnedFd> = Vec::new();
                for m in msg.cmsgs().into_iter().flatten() {
                    if let nix::sys::socket::ControlMessageOwned::ScmRights(r) = m {
                        // SAFETY: the fds were just received and are owned here only.
                        fds.extend(r.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
                    }
                }
                (msg.bytes, fds)
            };
            if n == 0 {
                break;
            }
            pending.extend_from_slice(&buf[..n]);
            while let Some(i) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=i).collect();
                if let Ok(v) = serde_json::from_slice::<Value>(&line) {
                    if let (Some(cmd), Some(id)) = (v["execute"].as_str(), v.get("id")) {
                        ids2.lock().unwrap().insert(id.to_string(), cmd.to_string());
                    }
                }
            }
            let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
            let cm = [nix::sys::socket::ControlMessage::ScmRights(&raw)];
            let sent = nix::sys::socket::sendmsg::<()>(
                u.as_raw_fd(),
                &[IoSlice::new(&buf[..n])],
                if raw.is_empty() { &[] } else { &cm },
                nix::sys::socket::MsgFlags::empty(),
                None,
            );
            if sent.is_err() {
                break;
            }
        }
        let _ = u.shutdown(std::net::Shutdown::Write);
    });
    // QEMU to client, line by line; the wanted reply is held back and the client killed.
    let mut from_qemu = upstream.try_clone().unwrap();
    let mut to_client = client.try_clone().unwrap();
    let mut pending = Vec::new();
    let mut buf = [0u8; 65536];
    'outer: loop {
        let n = match from_qemu.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(i) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            let is_it = serde_json::from_slice::<Value>(&line)
                .ok()
                .and_then(|v| v.get("id").map(|id| id.to_string()))
                .and_then(|id| ids.lock().unwrap().get(&id).cloned())
                .is_some_and(|cmd| cmd == command);
            if is_it {
                *count += 1;
                if *count == nth {
                    let pid = victim.load(Ordering::SeqCst);
                    assert!(pid > 0, "the victim's pid is known");
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::SIGKILL,
                    );
                    fired.store(true, Ordering::SeqCst);
                    break 'outer;
                }
            }
            if to_client.write_all(&line).is_err() {
                break 'outer;
            }
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
    let _ = upstream.shutdown(std::net::Shutdown::Both);
    let _ = up.join();
}

/// Runs `virtsh ARGS` through a [`Proxy`] that kills it at QEMU's reply to the `nth` `command`.
fn kill_at_reply(rig: &Rig, args: &[&str], command: &'static str, nth: usize) {
    let victim = Arc::new(AtomicI32::new(0));
    let proxy = Proxy::start(&rig.monitor(), command, nth, victim.clone());
    let mut child = virtsh_cmd(&rig.uri, &rig.audit)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("virtsh runs");
    victim.store(child.id() as i32, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let fired = proxy.finish();
    assert!(
        fired,
        "virtsh {args:?} ended ({status}) without QEMU answering {command} #{nth}"
    );
}

// ---------------------------------------------------------------------------------------------
// What QEMU holds

fn peripherals(q: &Qmp) -> Vec<String> {
    let v = q
        .execute("qom-list", Some(json!({"path": "/machine/peripheral"})))
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"].as_str().is_some_and(|t| t.starts_with("child<")))
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

fn pci_ids(q: &Qmp) -> Vec<String> {
    let v = q.execute("query-pci", None).unwrap();
    let mut out = Vec::new();
    for bus in v.as_array().unwrap() {
        for d in bus["devices"].as_array().into_iter().flatten() {
            if let Some(id) = d["qdev_id"].as_str() {
                if !id.is_empty() {
                    out.push(id.to_string());
                }
            }
        }
    }
    out
}

fn netdev_exists(q: &Qmp, id: &str) -> bool {
    q.execute("set_link", Some(json!({"name": id, "up": true})))
        .is_ok()
}

fn block_nodes(q: &Qmp) -> Vec<String> {
    let v = q
        .execute("query-named-block-nodes", Some(json!({"flat": true})))
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["node-name"].as_str().map(str::to_string))
        .collect()
}

/// Whether QEMU (inside the guest's cgroup) may open the block device `dev`.
fn qemu_may_open(q: &Qmp, dev: &str) -> bool {
    let r = q.execute(
        "blockdev-add",
        Some(json!({"driver": "host_device", "filename": dev, "node-name": "probe"})),
    );
    match r {
        Ok(_) => {
            q.execute("blockdev-del", Some(json!({"node-name": "probe"})))
                .unwrap();
            true
        }
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains("Operation not permitted"), "{e}");
            false
        }
    }
}

/// The NIC with `mac` is nowhere: not in status or live XML, no tap, nothing in QEMU, no fd.
fn assert_nic_gone(rig: &Rig, mac: &str, qemu: u32, tun_baseline: usize, alias: &str) {
    let st = rig.status();
    assert!(
        !st["runtime"]["nics"].to_string().contains(mac),
        "{mac} left in the runtime state: {st}"
    );
    assert!(!ok(&rig.sh(&["dumpxml", &rig.name])).contains(mac));
    wait_until("tap gone", Duration::from_secs(10), || {
        taps_with_host_mac(mac).is_empty()
    });
    assert_eq!(tun_fds(qemu), tun_baseline, "QEMU's tun fds");
    rig.qmp(|q| {
        assert!(!peripherals(q).contains(&alias.to_string()));
        assert!(!pci_ids(q).contains(&alias.to_string()));
        assert!(!netdev_exists(q, &format!("host{alias}")));
    });
    assert!(!rig.pending().exists());
}

/// The NIC with `mac` is fully there: status, live XML, tap, QEMU device and netdev.
fn assert_nic_there(rig: &Rig, mac: &str, qemu: u32, tun_baseline: usize) -> String {
    let st = rig.status();
    assert!(st["runtime"]["nics"].to_string().contains(mac), "{st}");
    let live = ok(&rig.sh(&["dumpxml", &rig.name]));
    let at = live.find(mac).expect("MAC in the live XML");
    let alias = between(&live[at..], "<alias name='", "'").to_string();
    assert_eq!(taps_with_host_mac(mac).len(), 1);
    assert_eq!(tun_fds(qemu), tun_baseline + 1, "QEMU's tun fds");
    rig.qmp(|q| {
        assert!(peripherals(q).contains(&alias));
        assert!(pci_ids(q).contains(&alias));
        assert!(netdev_exists(q, &format!("host{alias}")));
    });
    assert!(!rig.pending().exists());
    alias
}

fn listed_running(rig: &Rig) {
    let list = ok(&rig.sh(&["list"]));
    assert!(
        list.lines()
            .any(|l| l.contains(&rig.name) && l.contains("running")),
        "{list}"
    );
}

// ---------------------------------------------------------------------------------------------

#[test]
fn virtsh_killed_during_attach_is_repaired_by_the_next() {
    let Some(_t) = system_test("virtsh_crash_attach", NEEDS) else {
        return;
    };
    let mut rig = Rig::new("att", UUID, KERNEL_CMDLINE);
    let _guard = DestroyOnDrop(rig.uri.clone(), rig.name.clone(), rig.audit.clone());
    let qemu = rig.start(None);
    let base_tun = tun_fds(qemu);
    let name = rig.name.clone();
    let state_dir = rig.state_dir();

    // 1. Killed with the tap open, before anything is recorded: the tap dies with the process.
    let mac = "52:54:00:5c:01:01";
    let x = rig.file("nic1.xml", &nic_xml(mac));
    let args = ["attach-device", &name, x.to_str().unwrap(), "--live"];
    kill_at_fifo(
        &rig,
        &args,
        |pid| state_dir.join(format!("{name}.hotplug.tmp.{pid}")),
        || !taps_with_host_mac(mac).is_empty(),
    );
    listed_running(&rig);
    assert_nic_gone(&rig, mac, qemu, base_tun, "net1");
    assert_eq!(
        rig.new_records(),
        rig.nic_records(mac, Outcome::Success)[..1]
    );

    // 2. Killed once the pending record is written, before the state names the NIC: rolled back.
    let mac = "52:54:00:5c:02:01";
    let x = rig.file("nic2.xml", &nic_xml(mac));
    let args = ["attach-device", &name, x.to_str().unwrap(), "--live"];
    let pending = rig.pending();
    kill_at_fifo(
        &rig,
        &args,
        |pid| state_dir.join(format!(".{name}.status.json.tmp{pid}")),
        || pending.exists(),
    );
    assert!(
        rig.pending().exists(),
        "the pending record survives the kill"
    );
    listed_running(&rig);
    assert_nic_gone(&rig, mac, qemu, base_tun, "net1");
    assert_eq!(rig.new_records(), rig.nic_records(mac, Outcome::Failed));

    // 3. Killed once QEMU has the netdev (and the tap fd), before the device: rolled back.
    let mac = "52:54:00:5c:03:01";
    let x = rig.file("nic3.xml", &nic_xml(mac));
    let args = ["attach-device", &name, x.to_str().unwrap(), "--live"];
    kill_at_reply(&rig, &args, "netdev_add", 1);
    assert!(rig.pending().exists());
    assert_eq!(taps_with_host_mac(mac).len(), 1, "QEMU holds the tap");
    assert_eq!(tun_fds(qemu), base_tun + 1);
    // The next command repairs, whatever it is.
    assert!(ok(&rig.sh(&["domstate", &name])).contains("running"));
    assert_nic_gone(&rig, mac, qemu, base_tun, "net1");
    assert_eq!(rig.new_records(), rig.nic_records(mac, Outcome::Failed));

    // 4. Killed once QEMU has added the device, before the status says so: completed.
    let mac = "52:54:00:5c:04:01";
    let x = rig.file("nic4.xml", &nic_xml(mac));
    let args = ["attach-device", &name, x.to_str().unwrap(), "--live"];
    kill_at_reply(&rig, &args, "device_add", 1);
    assert!(rig.pending().exists());
    listed_running(&rig);
    let alias = assert_nic_there(&rig, mac, qemu, base_tun);
    assert_eq!(rig.new_records(), rig.nic_records(mac, Outcome::Success));
    // The completed NIC detaches normally.
    ok(&rig.sh(&["detach-device", &name, x.to_str().unwrap(), "--live"]));
    assert_nic_gone(&rig, mac, qemu, base_tun, &alias);
    let m: &dyn std::fmt::Display = &mac;
    assert_eq!(
        rig.new_records(),
        [
            records::net(&rig.vm, "detach", Some(m), None, Outcome::Success)
                .unwrap()
                .summary()
        ]
    );

    // A block-device disk: QEMU may not open it until it is attached.
    let lo = Loop::new(&make_file(rig.dir.path(), "lo.img"));
    let dev = lo.0.clone();
    let (nodes, may) = rig.qmp(|q| (block_nodes(q), qemu_may_open(q, &dev)));
    assert!(!may, "{dev} denied at start");
    let x = rig.file("disk.xml", &disk_xml(&dev));
    let args = ["attach-device", &name, x.to_str().unwrap(), "--live"];

    // 5. Killed once QEMU has the storage node (the ACL already widened): rolled back.
    kill_at_reply(&rig, &args, "blockdev-add", 1);
    assert!(rig.pending_disk().exists());
    assert!(ok(&rig.sh(&["dumpxml", &name])).contains("vda"));
    assert!(!rig.pending_disk().exists());
    rig.qmp(|q| {
        assert_eq!(block_nodes(q), nodes);
        assert!(!qemu_may_open(q, &dev), "{dev} denied again");
    });
    assert!(!ok(&rig.sh(&["dumpxml", &name])).contains(&dev));
    assert_eq!(
        rig.new_records(),
        [
            rig.acl_record("allow", &dev, "rw"),
            rig.acl_record("deny", &dev, "rwm"),
            rig.disk_record("attach", &dev, Outcome::Failed),
        ]
    );

    // 6. Killed once QEMU has added the disk device, before the status says so: completed.
    kill_at_reply(&rig, &args, "device_add", 1);
    assert!(rig.pending_disk().exists());
    listed_running(&rig);
    assert!(!rig.pending_disk().exists());
    let live = ok(&rig.sh(&["dumpxml", &name]));
    assert!(live.contains(&format!("<source dev='{dev}'/>")), "{live}");
    rig.qmp(|q| {
        assert!(peripherals(q).contains(&"virtio-disk1".to_string()));
        assert!(qemu_may_open(q, &dev), "{dev} allowed while attached");
    });
    assert_eq!(
        rig.new_records(),
        [
            rig.acl_record("allow", &dev, "rw"),
            rig.disk_record("attach", &dev, Outcome::Success),
        ]
    );
    ok(&rig.sh(&["detach-device", &name, x.to_str().unwrap(), "--live"]));
    rig.qmp(|q| {
        assert!(!peripherals(q).contains(&"virtio-disk1".to_string()));
        assert_eq!(block_nodes(q), nodes);
        assert!(!qemu_may_open(q, &dev), "{dev} denied after detach");
    });
    assert_eq!(
        rig.new_records(),
        [
            rig.disk_record("detach", &dev, Outcome::Success),
            rig.acl_record("deny", &dev, "rwm"),
        ]
    );

    // The guest stays usable: a plain attach and detach of a NIC and of the disk.
    let mac = "52:54:00:5c:05:01";
    let x = rig.file("nic5.xml", &nic_xml(mac));
    ok(&rig.sh(&["attach-device", &name, x.to_str().unwrap(), "--live"]));
    let alias = assert_nic_there(&rig, mac, qemu, base_tun);
    ok(&rig.sh(&["detach-device", &name, x.to_str().unwrap(), "--live"]));
    assert_nic_gone(&rig, mac, qemu, base_tun, &alias);
    let m: &dyn std::fmt::Display = &mac;
    let mut want = rig.nic_records(mac, Outcome::Success);
    want.extend(
        records::net(&rig.vm, "detach", Some(m), None, Outcome::Success).map(|r| r.summary()),
    );
    assert_eq!(rig.new_records(), want);
    let d = rig.file("disk.xml", &disk_xml(&dev));
    ok(&rig.sh(&["attach-device", &name, d.to_str().unwrap(), "--live"]));
    ok(&rig.sh(&["detach-device", &name, d.to_str().unwrap(), "--live"]));
    assert_eq!(
        rig.new_records(),
        [
            rig.acl_record("allow", &dev, "rw"),
            rig.disk_record("attach", &dev, Outcome::Success),
            rig.disk_record("detach", &dev, Outcome::Success),
            rig.acl_record("deny", &dev, "rwm"),
        ]
    );

    // Destroy leaves nothing: QEMU, taps, cgroups, sockets, state files.
    ok(&rig.sh(&["destroy", &name]));
    assert_eq!(
        rig.new_records(),
        [records::stop(&rig.vm, "destroyed", 0).summary()]
    );
    assert_nothing_left(
        &rig,
        &[
            "52:54:00:5c:00:01",
            "52:54:00:5c:01:01",
            "52:54:00:5c:02:01",
            "52:54:00:5c:03:01",
            "52:54:00:5c:04:01",
            "52:54:00:5c:05:01",
        ],
    );
    ok(&rig.sh(&["undefine", &name]));
}

fn assert_nothing_left(rig: &Rig, macs: &[&str]) {
    wait_until("QEMU gone", Duration::from_secs(10), || {
        qemu_of(&rig.name).is_empty()
    });
    for mac in macs {
        wait_until("taps gone", Duration::from_secs(10), || {
            taps_with_host_mac(mac).is_empty()
        });
    }
    assert_eq!(guest_cgroups(&rig.name), Vec::<PathBuf>::new());
    let left: Vec<String> = std::fs::read_dir(rig.state_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // The lock and the stop reason (for `domstate --reason`) stay while it is defined.
        .filter(|n| n.contains(&rig.name) && !n.ends_with(".lock") && !n.ends_with(".stopped"))
        .collect();
    assert!(left.is_empty(), "left in the state directory: {left:?}");
}

#[test]
fn virtsh_shutdown_powers_the_guest_off_through_acpi() {
    let Some(_t) = system_test("virtsh_crash_shutdown", NEEDS) else {
        return;
    };
    let mut rig = Rig::new("shut", UUID_SHUT, KERNEL_CMDLINE);
    let _guard = DestroyOnDrop(rig.uri.clone(), rig.name.clone(), rig.audit.clone());
    let name = rig.name.clone();

    // A guest that listens to the power button powers off; QEMU is stopped and cleaned up.
    rig.start(Some(POWER_BUTTON_LINE));
    assert!(ok(&rig.sh(&["shutdown", &name])).contains("is being shutdown"));
    assert_eq!(
        ok(&rig.sh(&["domstate", "--reason", &name])).trim(),
        "shut off (shutdown)"
    );
    assert_eq!(
        rig.new_records(),
        [records::stop(&rig.vm, "shutdown", 0).summary()]
    );
    assert_nothing_left(&rig, &["52:54:00:5c:00:01"]);

    // A guest that ignores it: the shutdown fails after its timeout and the guest keeps running
    // (usable, destroyable). The driver is used directly for a short timeout.
    ok(&rig.sh(&["undefine", &name]));
    let guest = TinyGuest {
        kernel: virt_testkit::guest::find_kernel().unwrap(),
        initrd: rig.dir.path().join("initramfs.cpio"),
    };
    let disk = rig.dir.path().join("disk.img");
    let cmdline = format!("{KERNEL_CMDLINE} {IGNORE_POWER_BUTTON}");
    let xml = rig.file(
        "dom-ignore.xml",
        &domain_xml(&name, UUID_SHUT, &guest, &disk, &cmdline),
    );
    ok(&rig.sh(&["define", xml.to_str().unwrap()]));
    let qemu = rig.start(None);
    let auditor = virt_audit::Auditor::memory();
    let drv = virt_qemu::driver::QemuDriver::open(
        virt_qemu::driver::paths::DriverPaths::embed(&rig.root),
        rig.uri.clone(),
        auditor.0,
        virt_qemu::driver::DriverOptions {
            shutdown_timeout: Duration::from_secs(4),
            ..Default::default()
        },
    )
    .unwrap();
    let e = drv.shutdown(&name).unwrap_err().to_string();
    assert!(
        e.contains("did not power off within 4s; it is still running"),
        "{e}"
    );
    assert!(auditor.1.summaries().is_empty());
    drop(drv);
    assert_eq!(qemu_of(&name), [qemu]);
    assert_eq!(ok(&rig.sh(&["domstate", &name])).trim(), "running");
    assert!(rig.new_records().is_empty());
    ok(&rig.sh(&["destroy", &name]));
    assert_eq!(
        rig.new_records(),
        [records::stop(&rig.vm, "destroyed", 0).summary()]
    );
    assert_nothing_left(&rig, &["52:54:00:5c:00:01"]);
    ok(&rig.sh(&["undefine", &name]));
}
