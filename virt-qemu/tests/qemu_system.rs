//! System tests against a real QEMU 7.2 (TCG, paused, no guest OS).

mod common;

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use serde_json::{json, Value};
use virt_qemu::{QmpError, ShutdownOutcome};
use virt_testkit::{system_test, Facility};

const QEMU: Facility = Facility::Command("qemu-system-x86_64");

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fresh descriptors that we own from here on.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: as above.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn fd_links(pid: u32) -> Vec<(i32, String)> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let n = e.file_name().to_str()?.parse().ok()?;
            let l = std::fs::read_link(e.path()).ok()?;
            Some((n, l.display().to_string()))
        })
        .collect()
}

#[test]
fn greeting_status_cont_and_environment() {
    let Some(_t) = system_test("qemu_greeting_status_cont", &[Facility::Root, QEMU]) else {
        return;
    };
    // A descriptor passed on purpose (at 12) and one that must not leak (opened without CLOEXEC).
    let (r, _w) = pipe();
    let pipe_ino = std::fs::read_link(format!("/proc/self/fd/{}", r.as_raw_fd()))
        .unwrap()
        .display()
        .to_string();
    // SAFETY: plain open(2) without O_CLOEXEC; the descriptor is owned by the OwnedFd.
    let leak = unsafe { OwnedFd::from_raw_fd(libc::open(c"/dev/zero".as_ptr(), libc::O_RDONLY)) };
    assert!(leak.as_raw_fd() >= 0);
    let vm = common::start("status", &[], vec![(r, 12)]);
    let mut vm = vm;

    let g = vm.qmp.greeting();
    assert_eq!((g.version.major, g.version.minor), (7, 2), "{g:?}");
    assert!(g.capabilities.iter().any(|c| c == "oob"), "{g:?}");

    // Descriptors: 12 is our pipe; /dev/zero did not leak.
    let links = fd_links(vm.proc.pid());
    assert!(
        links.contains(&(12, pipe_ino.clone())),
        "{links:?} lacks 12 -> {pipe_ino}"
    );
    assert!(!links.iter().any(|(_, l)| l == "/dev/zero"), "{links:?}");
    // Environment: exactly the fixed set.
    let environ = std::fs::read(format!("/proc/{}/environ", vm.proc.pid())).unwrap();
    let mut keys: Vec<String> = environ
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| {
            String::from_utf8_lossy(s)
                .split('=')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    keys.sort();
    let mut want: Vec<String> = ["LC_ALL", "PATH", "HOME"].map(String::from).to_vec();
    for k in ["USER", "LOGNAME", "TMPDIR"] {
        if std::env::var_os(k).is_some() {
            want.push(k.into());
        }
    }
    want.sort();
    assert_eq!(keys, want);
    let env_text = String::from_utf8_lossy(&environ).to_string();
    assert!(env_text.contains("LC_ALL=C\0"), "{env_text}");

    let st = vm.qmp.execute("query-status", None).unwrap();
    assert_eq!(st["status"], "prelaunch", "{st}");
    assert_eq!(st["running"], false);

    // Several threads at once over one monitor.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..5 {
                    let r = vm.qmp.execute("query-status", None).unwrap();
                    assert!(r.get("status").is_some(), "{r}");
                }
            });
        }
    });

    let e = vm.qmp.execute("no-such-command", None).unwrap_err();
    assert_eq!(e.class(), Some("CommandNotFound"), "{e}");
    assert!(e.to_string().contains("no-such-command"), "{e}");
    let e = vm
        .qmp
        .execute("device_del", Some(json!({"id": "nope"})))
        .unwrap_err();
    assert_eq!(e.class(), Some("DeviceNotFound"), "{e}");

    vm.proc.start_cpus(&vm.qmp).unwrap();
    let ev = vm
        .qmp
        .wait_event_named("RESUME", &Value::Null, Duration::from_secs(5))
        .unwrap();
    assert!(ev.timestamp.seconds > 0, "{ev:?}");
    let st = vm.qmp.execute("query-status", None).unwrap();
    assert_eq!(st["status"], "running", "{st}");

    vm.qmp.execute("stop", None).unwrap();
    vm.qmp
        .wait_event_named("STOP", &Value::Null, Duration::from_secs(5))
        .unwrap();
    assert_eq!(
        vm.qmp.execute("query-status", None).unwrap()["status"],
        "paused"
    );

    // The state file's liveness check recognises this QEMU.
    let st = virt_qemu::RuntimeState {
        pid: vm.proc.pid(),
        start_time: virt_qemu::status::process_start_time(vm.proc.pid()),
        monitor: vm.socket.clone(),
        cgroup: None,
        nics: vec![],
    };
    assert!(st.is_alive());
    let path = vm.dir.path().join("state.json");
    st.write(&path).unwrap();
    let back = virt_qemu::RuntimeState::read(&path).unwrap();
    assert_eq!(back, st);
    assert!(back.is_alive());
    let mut reused = back.clone();
    reused.start_time = reused.start_time.map(|t| t + 1);
    assert!(
        !reused.is_alive(),
        "a different start time means a reused pid"
    );
    vm.proc.destroy().unwrap();
    assert!(!back.is_alive());
}

#[test]
fn fd_passing_getfd_and_add_fd() {
    let Some(_t) = system_test("qemu_fd_passing", &[Facility::Root, QEMU]) else {
        return;
    };
    let vm = common::start("fds", &[], vec![]);
    let (r, _w) = pipe();
    vm.qmp.getfd("pipe0", r.as_fd()).unwrap();
    // QEMU has its own copy: closing ours does not matter, and it can close it by name once.
    drop(r);
    vm.qmp.closefd("pipe0").unwrap();
    let e = vm.qmp.closefd("pipe0").unwrap_err();
    assert_eq!(e.class(), Some("GenericError"), "{e}");

    let null = std::fs::File::open("/dev/null").unwrap();
    let (set, fd) = vm
        .qmp
        .add_fd(null.as_fd(), Some(5), Some("test-null"))
        .unwrap();
    assert_eq!(set, 5);
    let links = fd_links(vm.proc.pid());
    assert!(
        links.contains(&(fd as i32, "/dev/null".to_string())),
        "{links:?} lacks {fd} -> /dev/null"
    );
    let sets = vm.qmp.execute("query-fdsets", None).unwrap();
    let found = sets.as_array().unwrap().iter().any(|s| {
        s["fdset-id"] == 5
            && s["fds"].as_array().is_some_and(|f| {
                f.iter()
                    .any(|e| e["fd"] == fd && e["opaque"] == "test-null")
            })
    });
    assert!(found, "{sets}");
    // A second fd into the same set, then remove the set.
    let (r2, _w2) = pipe();
    let (set2, fd2) = vm.qmp.add_fd(r2.as_fd(), Some(5), None).unwrap();
    assert_eq!(set2, 5);
    assert_ne!(fd2, fd);
    // remove-fd marks the set's fds removed; QEMU 7.2 closes them only once the VM runs, so the
    // set is still listed here. Removing an unknown set is refused.
    vm.qmp
        .execute("remove-fd", Some(json!({"fdset-id": 5})))
        .unwrap();
    let e = vm
        .qmp
        .execute("remove-fd", Some(json!({"fdset-id": 77})))
        .unwrap_err();
    assert_eq!(e.class(), Some("GenericError"), "{e}");
}

#[test]
fn killed_qemu_gives_a_clear_error() {
    let Some(_t) = system_test("qemu_killed", &[Facility::Root, QEMU]) else {
        return;
    };
    let mut vm = common::start("killed", &[], vec![]);
    assert!(vm.proc.is_alive());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(vm.proc.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let e = vm
        .qmp
        .execute_timeout("query-status", None, Duration::from_secs(10))
        .unwrap_err();
    match &e {
        QmpError::Closed { reason, path } => {
            assert!(reason.contains("QEMU exited"), "{e}");
            assert!(path.contains("monitor.sock"), "{e}");
        }
        other => panic!("expected Closed, got {other:?}"),
    }
    // Every later call fails at once, too.
    let t0 = std::time::Instant::now();
    assert!(matches!(
        vm.qmp.wait_event(Duration::from_secs(10), |_| true),
        Err(QmpError::Closed { .. })
    ));
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(vm.qmp.closed_reason().is_some());
    let status = vm.proc.wait_timeout(Duration::from_secs(10)).unwrap();
    assert!(status.is_some());
    let e = vm.proc.check_alive().unwrap_err().to_string();
    assert!(e.contains("killed by SIGKILL"), "{e}");
    assert!(matches!(
        vm.proc.start_cpus(&vm.qmp),
        Err(virt_qemu::ProcessError::Exited { .. })
    ));
}

#[test]
fn graceful_shutdown_without_guest_os_falls_back_to_sigterm() {
    let Some(_t) = system_test("qemu_shutdown_fallback", &[Facility::Root, QEMU]) else {
        return;
    };
    let mut vm = common::start("shutdown", &[], vec![]);
    vm.proc.start_cpus(&vm.qmp).unwrap();
    let t0 = std::time::Instant::now();
    let out = vm
        .proc
        .shutdown(
            Some(&vm.qmp),
            Duration::from_millis(400),
            Duration::from_secs(10),
        )
        .unwrap();
    assert!(matches!(out, ShutdownOutcome::Terminated(_)), "{out:?}");
    assert!(t0.elapsed() >= Duration::from_millis(400));
    // QEMU said why it shut down before closing the monitor.
    let ev = vm
        .qmp
        .wait_event_named(
            "SHUTDOWN",
            &json!({"reason": "host-signal"}),
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(ev.data["guest"], false, "{ev:?}");
    assert!(!vm.proc.is_alive());
    let log = std::fs::read_to_string(vm.proc.log_path()).unwrap();
    assert!(log.contains("terminating on signal 15"), "{log}");
}

#[test]
fn destroy_kills_and_reaps() {
    let Some(_t) = system_test("qemu_destroy", &[Facility::Root, QEMU]) else {
        return;
    };
    let mut vm = common::start("destroy", &[], vec![]);
    let pid = vm.proc.pid();
    let status = vm.proc.destroy().unwrap();
    assert_eq!(virt_qemu::process::describe(status), "killed by SIGKILL");
    // Reaped: no zombie left.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

/// The other monitor form: QEMU makes the socket itself (`path=`); connecting retries until it
/// exists.
#[test]
fn monitor_socket_made_by_qemu() {
    let Some(_t) = system_test("qemu_monitor_path", &[Facility::Root, QEMU]) else {
        return;
    };
    let dir = virt_testkit::TempDir::new("vq-path").unwrap();
    let sock = dir.path().join("qmp.sock");
    let mut argv: Vec<String> = common::base_argv();
    let chardev = argv
        .iter()
        .position(|a| a.starts_with("socket,id=monitor"))
        .unwrap();
    argv[chardev] = format!(
        "socket,id=monitor,path={},server=on,wait=off",
        sock.display()
    );
    let mut p =
        virt_qemu::QemuProcess::spawn(virt_qemu::LaunchSpec::new(argv, dir.path().join("log")))
            .unwrap();
    let qmp = virt_qemu::Qmp::connect(&sock, Duration::from_secs(20)).unwrap();
    assert_eq!(
        qmp.execute("query-status", None).unwrap()["status"],
        "prelaunch"
    );
    let out = p
        .shutdown(
            Some(&qmp),
            Duration::from_millis(200),
            Duration::from_secs(10),
        )
        .unwrap();
    // Paused in prelaunch, the power button does nothing either.
    assert!(matches!(out, ShutdownOutcome::Terminated(_)), "{out:?}");
}
