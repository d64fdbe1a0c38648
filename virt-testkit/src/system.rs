//! The system-test rule.
//!
//! A system test needs real facilities (root, `/dev/kvm`, auditd, network namespaces, ...). It calls
//! [`system_test`] first: when every facility is present it gets a [`SystemTest`] and runs; when one is
//! missing it prints `SKIP <test>: <reason>` on standard error and returns early, except under
//! `VIRT_SYSTEM_TESTS=require`, where a missing facility fails the test. `VIRT_SYSTEM_TESTS=off` skips
//! every system test.
//!
//! ```no_run
//! use virt_testkit::{system_test, Facility};
//! let Some(_t) = system_test("tap_roundtrip", &[Facility::Root, Facility::Tun]) else { return };
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

/// Something a system test needs from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Facility {
    /// Effective uid 0.
    Root,
    /// `/dev/kvm` opens read-write.
    Kvm,
    /// `/dev/net/tun` opens read-write.
    Tun,
    /// Network namespaces can be made (root and `ip` on PATH).
    Netns,
    /// `auditd` and `ausearch` on PATH, the kernel audit netlink socket reachable, and root.
    Auditd,
    /// A cgroup v1 hierarchy with the `devices` controller is mounted.
    CgroupV1Devices,
    /// A cgroup v2 hierarchy is mounted.
    CgroupV2,
    /// A program found on PATH.
    Command(&'static str),
    /// A path that must exist.
    Path(&'static str),
}

impl Facility {
    /// `None` when present, else why not.
    pub fn missing(&self) -> Option<String> {
        match self {
            Facility::Root => {
                (!nix::unistd::geteuid().is_root()).then(|| "not running as root".to_string())
            }
            Facility::Kvm => open_rw("/dev/kvm"),
            Facility::Tun => open_rw("/dev/net/tun"),
            Facility::Netns => Facility::Root
                .missing()
                .or_else(|| Facility::Command("ip").missing()),
            Facility::Auditd => Facility::Root
                .missing()
                .or_else(|| Facility::Command("auditd").missing())
                .or_else(|| Facility::Command("ausearch").missing())
                .or_else(audit_netlink_missing),
            Facility::CgroupV1Devices => cgroup_mount(|fstype, opts| {
                fstype == "cgroup" && opts.split(',').any(|o| o == "devices")
            })
            .is_none()
            .then(|| "no cgroup v1 hierarchy with the devices controller is mounted".into()),
            Facility::CgroupV2 => cgroup_mount(|fstype, _| fstype == "cgroup2")
                .is_none()
                .then(|| "no cgroup v2 hierarchy is mounted".into()),
            Facility::Command(name) => which(name)
                .is_none()
                .then(|| format!("`{name}` is not on PATH")),
            Facility::Path(p) => (!Path::new(p).exists()).then(|| format!("{p} does not exist")),
        }
    }
}

fn open_rw(path: &str) -> Option<String> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(_) => None,
        Err(e) => Some(format!("cannot open {path}: {e}")),
    }
}

fn audit_netlink_missing() -> Option<String> {
    // SAFETY: plain socket(2); the descriptor is closed right away.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 9) };
    if fd < 0 {
        return Some(format!(
            "kernel audit netlink socket unavailable: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: fd was returned by socket(2) above and is owned here.
    unsafe { libc::close(fd) };
    None
}

/// The mount point of the first cgroup mount whose fstype and super options match.
pub fn cgroup_mount(pred: impl Fn(&str, &str) -> bool) -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        let mount_point = pre.split(' ').nth(4)?;
        let mut post = post.split(' ');
        let fstype = post.next()?;
        let _source = post.next()?;
        let opts = post.next().unwrap_or("");
        pred(fstype, opts).then(|| PathBuf::from(mount_point))
    })
}

/// The full path of a program found on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// What `VIRT_SYSTEM_TESTS` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Run when the facilities are present, else skip with a reason (the default).
    Auto,
    /// A missing facility is a failure (`require`).
    Require,
    /// Skip every system test (`off`).
    Off,
}

impl Mode {
    pub fn from_env() -> Mode {
        match std::env::var("VIRT_SYSTEM_TESTS").as_deref() {
            Ok("require") | Ok("1") | Ok("yes") => Mode::Require,
            Ok("off") | Ok("0") | Ok("no") => Mode::Off,
            _ => Mode::Auto,
        }
    }
}

/// Proof that a system test's facilities were present.
#[derive(Debug)]
pub struct SystemTest {
    name: String,
}

impl SystemTest {
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Applies the system-test rule: `Some` when every facility is present; otherwise prints the reason
/// and returns `None`, or panics under `VIRT_SYSTEM_TESTS=require`.
pub fn system_test(name: &str, needs: &[Facility]) -> Option<SystemTest> {
    decide(name, needs, Mode::from_env())
}

/// [`system_test`] with the mode given.
pub fn decide(name: &str, needs: &[Facility], mode: Mode) -> Option<SystemTest> {
    if mode == Mode::Off {
        say(&format!("SKIP {name}: VIRT_SYSTEM_TESTS=off"));
        return None;
    }
    let missing: Vec<String> = needs.iter().filter_map(Facility::missing).collect();
    if missing.is_empty() {
        return Some(SystemTest {
            name: name.to_string(),
        });
    }
    let reason = missing.join("; ");
    if mode == Mode::Require {
        panic!("system test {name} cannot run and VIRT_SYSTEM_TESTS=require: {reason}");
    }
    say(&format!("SKIP {name}: {reason}"));
    None
}

/// Writes straight to the process's standard error, past the test harness's output capture, so a skip
/// is always seen.
fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
