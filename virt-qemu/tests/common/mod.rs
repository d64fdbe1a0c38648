//! Starting a paused, OS-less QEMU for system tests; always killed and reaped on drop.

#![allow(dead_code)]

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::Duration;

use virt_qemu::{LaunchSpec, QemuProcess, Qmp};
use virt_testkit::TempDir;

/// The descriptor number the monitor's listening socket gets inside QEMU (not 3, to show remapping).
pub const MONITOR_FD: i32 = 7;

pub struct Vm {
    // Field order is drop order: monitor first, then the process (killed + reaped), then the dir.
    pub qmp: Qmp,
    pub proc: QemuProcess,
    pub socket: PathBuf,
    pub dir: TempDir,
}

pub fn base_argv() -> Vec<String> {
    [
        "qemu-system-x86_64",
        "-S",
        "-nodefaults",
        "-display",
        "none",
        "-machine",
        "q35,accel=tcg",
        "-m",
        "64",
        "-chardev",
        &format!("socket,id=monitor,fd={MONITOR_FD},server=on,wait=off"),
        "-mon",
        "chardev=monitor,id=monitor,mode=control",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Starts QEMU with `extra` arguments and `fds` passed, the monitor listening socket made here
/// and passed as [`MONITOR_FD`] (as libvirt does), and connects QMP.
pub fn start(name: &str, extra: &[&str], fds: Vec<(OwnedFd, i32)>) -> Vm {
    let dir = TempDir::new(&format!("vq-{name}")).expect("temp dir");
    let socket = dir.path().join("monitor.sock");
    let listener = UnixListener::bind(&socket).expect("bind monitor socket");
    let mut argv = base_argv();
    argv.extend(extra.iter().map(|s| s.to_string()));
    let mut spec = LaunchSpec::new(argv, dir.path().join("qemu.log"));
    spec.home = Some(dir.path().to_path_buf());
    spec = spec.pass_fd(OwnedFd::from(listener), MONITOR_FD);
    for (fd, t) in fds {
        spec = spec.pass_fd(fd, t);
    }
    let mut proc = QemuProcess::spawn(spec).expect("spawn qemu");
    let qmp = match Qmp::connect(&socket, Duration::from_secs(20)) {
        Ok(q) => q,
        Err(e) => {
            let _ = proc.wait_timeout(Duration::from_millis(200));
            panic!(
                "QMP connect: {e}; alive={}; log: {}",
                proc.is_alive(),
                virt_qemu::process::log_tail(proc.log_path(), 2000)
            );
        }
    };
    Vm {
        qmp,
        proc,
        socket,
        dir,
    }
}
