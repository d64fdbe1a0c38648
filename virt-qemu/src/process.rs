//! Launching and stopping a QEMU process.
//!
//! The child gets exactly the descriptors asked for, at the numbers asked for: every other
//! descriptor of ours is marked close-on-exec in the child before `exec`, so none leaks into QEMU.
//! Its environment is cleared to a small fixed set (`LC_ALL=C`, `PATH`, `HOME`, `USER`, `LOGNAME`,
//! `TMPDIR` when set, plus what the caller adds), standard input is `/dev/null`, and standard output
//! and error go to a log file (appended).

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::qmp::{Qmp, QmpError};

/// The `PATH` QEMU gets when the caller's environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What went wrong starting or stopping QEMU.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("empty QEMU command line")]
    EmptyArgv,
    #[error("descriptor target {target} is invalid: {reason}")]
    BadTarget { target: RawFd, reason: &'static str },
    #[error("cannot open QEMU log file {path}: {source}")]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare descriptor for target {target}: {source}")]
    Dup {
        target: RawFd,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("QEMU (pid {pid}) exited ({status}); log {log}: {tail}")]
    Exited {
        pid: u32,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("cannot signal QEMU pid {pid}: {source}")]
    Signal {
        pid: u32,
        #[source]
        source: nix::Error,
    },
    #[error("waiting for QEMU pid {pid}: {source}")]
    Wait {
        pid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("QEMU pid {pid} still running after SIGKILL and {after:?}")]
    Unkillable { pid: u32, after: Duration },
    #[error(transparent)]
    Qmp(#[from] QmpError),
}

/// How to start QEMU.
#[derive(Debug)]
pub struct LaunchSpec {
    /// `argv[0]` is the program (looked up on the child's `PATH` when it has no slash).
    pub argv: Vec<String>,
    /// Descriptors QEMU gets, each at its target number (3 or more); the only ones it inherits
    /// besides standard input, output and error.
    pub fds: Vec<(OwnedFd, RawFd)>,
    /// Standard output and error are appended here.
    pub log: PathBuf,
    /// `HOME` for QEMU (libvirt gives each guest its own); `/` when `None`.
    pub home: Option<PathBuf>,
    /// Further environment variables, added to the fixed set.
    pub env: Vec<(String, String)>,
}

impl LaunchSpec {
    pub fn new(argv: Vec<String>, log: impl Into<PathBuf>) -> Self {
        LaunchSpec {
            argv,
            fds: Vec::new(),
            log: log.into(),
            home: None,
            env: Vec::new(),
        }
    }

    /// Passes `fd` to QEMU as descriptor `target`.
    pub fn pass_fd(mut self, fd: OwnedFd, target: RawFd) -> Self {
        self.fds.push((fd, target));
        self
    }

    /// The environment QEMU will get.
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("LC_ALL".to_string(), "C".to_string()),
            (
                "PATH".to_string(),
                std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_string()),
            ),
            (
                "HOME".to_string(),
                self.home
                    .as_deref()
                    .unwrap_or(Path::new("/"))
                    .display()
                    .to_string(),
            ),
        ];
        for k in ["USER", "LOGNAME", "TMPDIR"] {
            if let Ok(v) = std::env::var(k) {
                env.push((k.to_string(), v));
            }
        }
        for (k, v) in &self.env {
            env.retain(|(ek, _)| ek != k);
            env.push((k.clone(), v.clone()));
        }
        env
    }
}

/// How a graceful shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOutcome {
    /// The guest powered off after `system_powerdown` (or QEMU had already exited).
    PoweredDown(ExitStatus),
    /// QEMU exited on SIGTERM after the guest ignored the power button.
    Terminated(ExitStatus),
    /// QEMU had to be killed.
    Killed(ExitStatus),
}

/// A running QEMU; killed and reaped on drop unless already reaped.
#[derive(Debug)]
pub struct QemuProcess {
    child: Child,
    pid: u32,
    log: PathBuf,
    status: Option<ExitStatus>,
}

fn cloexec_all_from_3() {
    // close_range(3, ~0, CLOSE_RANGE_CLOEXEC) where the kernel has it (5.11+); otherwise per fd.
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: raw syscalls on descriptor numbers only; async-signal-safe, no allocation.
    unsafe {
        if libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        ) == 0
        {
            return;
        }
        let max = match libc::sysconf(libc::_SC_OPEN_MAX) {
            n if n > 0 => n.min(1 << 20) as RawFd,
            _ => 65536,
        };
        for fd in 3..max {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

impl QemuProcess {
    /// Starts QEMU. The descriptors in `spec` are consumed (closed here once QEMU has its copies).
    pub fn spawn(spec: LaunchSpec) -> Result<QemuProcess, ProcessError> {
        let program = spec.argv.first().ok_or(ProcessError::EmptyArgv)?.clone();
        let mut targets: Vec<RawFd> = Vec::new();
        for (_, t) in &spec.fds {
            if *t < 3 {
                return Err(ProcessError::BadTarget {
                    target: *t,
                    reason: "0, 1 and 2 are standard input, output and error",
                });
            }
            if targets.contains(t) {
                return Err(ProcessError::BadTarget {
                    target: *t,
                    reason: "given twice",
                });
            }
            targets.push(*t);
        }
        // Move every source above all targets so no dup2 in the child overwrites a source not yet
        // placed. The copies are close-on-exec; dup2 clears that flag on the target only.
        let floor = targets.iter().copied().max().unwrap_or(2) + 1;
        let mut moved: Vec<(OwnedFd, RawFd)> = Vec::with_capacity(spec.fds.len());
        for (fd, target) in &spec.fds {
            // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a descriptor we own; the result is a new descriptor
            // owned by the OwnedFd made from it.
            let n = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, floor) };
            if n < 0 {
                return Err(ProcessError::Dup {
                    target: *target,
                    source: std::io::Error::last_os_error(),
                });
            }
            // SAFETY: n is a fresh descriptor from fcntl above.
            moved.push((unsafe { OwnedFd::from_raw_fd(n) }, *target));
        }
        let plan: Vec<(RawFd, RawFd)> = moved.iter().map(|(f, t)| (f.as_raw_fd(), *t)).collect();

        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .map_err(|source| ProcessError::Log {
                path: spec.log.clone(),
                source,
            })?;
        let log2 = log.try_clone().map_err(|source| ProcessError::Log {
            path: spec.log.clone(),
            source,
        })?;

        let mut cmd = Command::new(&program);
        cmd.args(&spec.argv[1..])
            .env_clear()
            .envs(spec.environment())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        // SAFETY: the closure only makes async-signal-safe syscalls (close_range/fcntl/dup2) on
        // descriptor numbers prepared before fork; it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                cloexec_all_from_3();
                for &(src, target) in &plan {
                    if libc::dup2(src, target) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|source| ProcessError::Spawn {
            program: program.clone(),
            source,
        })?;
        drop(moved);
        drop(spec.fds);
        let pid = child.id();
        Ok(QemuProcess {
            child,
            pid,
            log: spec.log,
            status: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The exit status once QEMU has exited (reaping it), `None` while it runs.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, ProcessError> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let s = self.child.try_wait().map_err(|source| ProcessError::Wait {
            pid: self.pid,
            source,
        })?;
        self.status = s;
        Ok(s)
    }

    /// Whether QEMU is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for QEMU to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>, ProcessError> {
        let deadline = Instant::now() + timeout;
        let mut nap = Duration::from_millis(1);
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(Some(s));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(nap.min(deadline - now));
            nap = (nap * 2).min(Duration::from_millis(20));
        }
    }

    /// An error saying QEMU has exited, with the end of its log, when it has; `Ok` while it runs.
    pub fn check_alive(&mut self) -> Result<(), ProcessError> {
        match self.try_wait()? {
            None => Ok(()),
            Some(status) => Err(ProcessError::Exited {
                pid: self.pid,
                status: describe(status),
                log: self.log.clone(),
                tail: log_tail(&self.log, 400),
            }),
        }
    }

    /// Sends a signal (unless QEMU was already reaped).
    pub fn signal(&mut self, sig: Signal) -> Result<(), ProcessError> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        match kill(Pid::from_raw(self.pid as i32), sig) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(source) => Err(ProcessError::Signal {
                pid: self.pid,
                source,
            }),
        }
    }

    /// Resumes a QEMU started with `-S` (`cont`).
    pub fn start_cpus(&mut self, qmp: &Qmp) -> Result<(), ProcessError> {
        self.check_alive()?;
        qmp.execute("cont", None)?;
        Ok(())
    }

    /// Graceful shutdown: `system_powerdown`, up to `powerdown_timeout` for the guest to power off,
    /// then SIGTERM and up to `term_timeout`, then SIGKILL.
    pub fn shutdown(
        &mut self,
        qmp: Option<&Qmp>,
        powerdown_timeout: Duration,
        term_timeout: Duration,
    ) -> Result<ShutdownOutcome, ProcessError> {
        if let Some(s) = self.try_wait()? {
            return Ok(ShutdownOutcome::PoweredDown(s));
        }
        if let Some(qmp) = qmp {
            // A monitor already closed means QEMU is going away: fall through to the waits.
            match qmp.execute_timeout("system_powerdown", None, powerdown_timeout) {
                Ok(_) | Err(QmpError::Closed { .. }) | Err(QmpError::Timeout { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            if let Some(s) = self.wait_timeout(powerdown_timeout)? {
                return Ok(ShutdownOutcome::PoweredDown(s));
            }
        }
        self.signal(Signal::SIGTERM)?;
        if let Some(s) = self.wait_timeout(term_timeout)? {
            return Ok(ShutdownOutcome::Terminated(s));
        }
        Ok(ShutdownOutcome::Killed(self.destroy()?))
    }

    /// SIGKILL and reap.
    pub fn destroy(&mut self) -> Result<ExitStatus, ProcessError> {
        self.signal(Signal::SIGKILL)?;
        let after = Duration::from_secs(10);
        match self.wait_timeout(after)? {
            Some(s) => Ok(s),
            None => Err(ProcessError::Unkillable {
                pid: self.pid,
                after,
            }),
        }
    }
}

impl Drop for QemuProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `exit code N` or `killed by SIGNAME`.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(sig)) => match Signal::try_from(sig) {
            Ok(s) => format!("killed by {}", s.as_str()),
            Err(_) => format!("killed by signal {sig}"),
        },
        _ => format!("{status}"),
    }
}

/// The last `max` bytes of a log file, on one line.
pub fn log_tail(path: &Path, max: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let start = bytes.len().saturating_sub(max);
            String::from_utf8_lossy(&bytes[start..])
                .trim()
                .replace('\n', " | ")
        }
        Err(e) => format!("(log unreadable: {e})"),
    }
}
