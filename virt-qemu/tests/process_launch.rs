//! The launcher's descriptor plumbing, environment and log, checked with `/bin/sh` as the program.

use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

use virt_qemu::{LaunchSpec, ProcessError, QemuProcess};
use virt_testkit::TempDir;

fn pipe_at(n: i32) -> (OwnedFd, OwnedFd, String) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 gives two fresh descriptors; dup3 places the read end at `n` (unused here).
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        assert_eq!(libc::dup3(fds[0], n, libc::O_CLOEXEC), n);
        libc::close(fds[0]);
        let r = OwnedFd::from_raw_fd(n);
        let w = OwnedFd::from_raw_fd(fds[1]);
        let ino = std::fs::read_link(format!("/proc/self/fd/{n}"))
            .unwrap()
            .display()
            .to_string();
        (r, w, ino)
    }
}

#[test]
fn fds_land_at_their_targets_even_when_swapped() {
    let dir = TempDir::new("vq-launch").unwrap();
    // Two descriptors at 900 and 901, passed crosswise: 900 -> 901 and 901 -> 900.
    let (a, _aw, a_ino) = pipe_at(900);
    let (b, _bw, b_ino) = pipe_at(901);
    let log = dir.path().join("out.log");
    let spec = LaunchSpec {
        argv: vec![
            "sh".into(),
            "-c".into(),
            "readlink /proc/self/fd/900 /proc/self/fd/901; ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; env | sort".into(),
        ],
        fds: vec![(a, 901), (b, 900)],
        log: log.clone(),
        home: Some(dir.path().to_path_buf()),
        env: vec![("EXTRA".into(), "1".into())],
    };
    let mut p = QemuProcess::spawn(spec).unwrap();
    let st = p
        .wait_timeout(Duration::from_secs(20))
        .unwrap()
        .expect("sh exits");
    assert!(st.success());
    let out = std::fs::read_to_string(&log).unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(b_ino.as_str()), "{out}");
    assert_eq!(lines.next(), Some(a_ino.as_str()), "{out}");
    // Only 0-2, the two passed, and the one `ls` opens for /proc/self/fd.
    let fds: Vec<i32> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    let extra: Vec<i32> = fds
        .iter()
        .copied()
        .filter(|f| ![0, 1, 2, 900, 901].contains(f))
        .collect();
    assert!(extra.len() <= 1, "leaked descriptors: {fds:?}");
    let env: Vec<&str> = lines.collect();
    assert!(env.contains(&"LC_ALL=C"), "{env:?}");
    assert!(env.contains(&"EXTRA=1"), "{env:?}");
    assert!(
        env.contains(&format!("HOME={}", dir.path().display()).as_str()),
        "{env:?}"
    );
    assert!(
        env.iter().all(|l| {
            let k = l.split('=').next().unwrap();
            [
                "LC_ALL", "PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "EXTRA", "PWD", "SHLVL", "_",
            ]
            .contains(&k)
        }),
        "{env:?}"
    );
}

#[test]
fn bad_specs_are_refused() {
    let dir = TempDir::new("vq-launch-bad").unwrap();
    let log = dir.path().join("l");
    let e = QemuProcess::spawn(LaunchSpec::new(vec![], &log)).unwrap_err();
    assert!(matches!(e, ProcessError::EmptyArgv));
    let null = || OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
    let e = QemuProcess::spawn(LaunchSpec::new(vec!["true".into()], &log).pass_fd(null(), 1))
        .unwrap_err();
    assert!(
        matches!(e, ProcessError::BadTarget { target: 1, .. }),
        "{e}"
    );
    let e = QemuProcess::spawn(
        LaunchSpec::new(vec!["true".into()], &log)
            .pass_fd(null(), 5)
            .pass_fd(null(), 5),
    )
    .unwrap_err();
    assert!(
        matches!(e, ProcessError::BadTarget { target: 5, .. }),
        "{e}"
    );
    let e = QemuProcess::spawn(LaunchSpec::new(
        vec!["/nonexistent/qemu-system-x86_64".into()],
        &log,
    ))
    .unwrap_err();
    assert!(
        e.to_string().contains("/nonexistent/qemu-system-x86_64"),
        "{e}"
    );
    let e = QemuProcess::spawn(LaunchSpec::new(vec!["true".into()], "/nonexistent/dir/log"))
        .unwrap_err();
    assert!(matches!(e, ProcessError::Log { .. }), "{e}");
}

#[test]
fn exit_is_detected_with_the_log_tail() {
    let dir = TempDir::new("vq-launch-exit").unwrap();
    let mut p = QemuProcess::spawn(LaunchSpec::new(
        vec![
            "sh".into(),
            "-c".into(),
            "echo 'qemu: bad option' >&2; exit 3".into(),
        ],
        dir.path().join("l"),
    ))
    .unwrap();
    p.wait_timeout(Duration::from_secs(20)).unwrap().unwrap();
    assert!(!p.is_alive());
    let e = p.check_alive().unwrap_err().to_string();
    assert!(
        e.contains("exit code 3") && e.contains("qemu: bad option"),
        "{e}"
    );
    // Signals to a reaped process are a no-op, not an error (the pid may be reused).
    p.signal(nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(p.pid() > 0);
}
