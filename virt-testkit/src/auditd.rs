//! A private audit daemon: `auditd` run in the foreground on a configuration and log file of the test's
//! own, so records sent to the kernel can be read back with `ausearch -if LOG`.
//!
//! Only one audit daemon can be registered with the kernel at a time, so [`Auditd::start`] first takes
//! the host-wide lock `auditd` (held until the daemon is stopped) and refuses to start while another
//! daemon is registered.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::lock::{host_lock, HostLock};
use crate::TempDir;

/// A running private auditd; stopped (SIGTERM, then waited for) on drop.
#[derive(Debug)]
pub struct Auditd {
    child: Child,
    dir: TempDir,
    _lock: HostLock,
}

impl Auditd {
    /// Starts auditd with its log in a fresh directory; returns once the daemon has registered and
    /// written its start record. Enables kernel auditing (`auditctl -e 1`) for the daemon's lifetime.
    pub fn start() -> std::io::Result<Self> {
        let lock = host_lock("auditd")?;
        if let Some(pid) = registered_pid()? {
            if pid != 0 {
                return Err(std::io::Error::other(format!(
                    "another audit daemon (pid {pid}) is registered with the kernel; stop it first"
                )));
            }
        }
        let dir = TempDir::new("virt-auditd")?;
        let log = dir.path().join("audit.log");
        std::fs::write(dir.path().join("auditd.conf"), config(&log))?;
        std::fs::create_dir_all(dir.path().join("plugins.d"))?;
        let child = Command::new("auditd")
            .args(["-n", "-c"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut me = Auditd {
            child,
            dir,
            _lock: lock,
        };
        me.wait_started()?;
        run(&["auditctl", "-e", "1"])?;
        Ok(me)
    }

    fn wait_started(&mut self) -> std::io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(std::io::Error::other(format!(
                    "auditd exited early: {status}"
                )));
            }
            let started = std::fs::read_to_string(self.log_path())
                .map(|s| s.contains("type=DAEMON_START"))
                .unwrap_or(false);
            if started && registered_pid()? == Some(self.child.id()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(std::io::Error::other("auditd did not start within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("audit.log")
    }

    /// `ausearch -if LOG ARGS...` (for example `["-i", "-m", "VIRT_RESOURCE"]`); its standard output.
    /// An empty result (ausearch's "no matches") is an empty string.
    pub fn ausearch(&self, args: &[&str]) -> std::io::Result<String> {
        let out = Command::new("ausearch")
            .arg("-if")
            .arg(self.log_path())
            .args(args)
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Waits until the log holds `n` records whose text contains `needle`, or the timeout passes;
    /// returns the matching lines seen.
    pub fn wait_for(&self, needle: &str, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let lines: Vec<String> = std::fs::read_to_string(self.log_path())
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(needle))
                .map(str::to_string)
                .collect();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Auditd {
    fn drop(&mut self) {
        let _ = run(&["auditctl", "-e", "0"]);
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(log: &Path) -> String {
    format!(
        "local_events = yes\n\
         write_logs = yes\n\
         log_file = {}\n\
         log_group = root\n\
         log_format = ENRICHED\n\
         flush = SYNC\n\
         freq = 0\n\
         max_log_file = 64\n\
         num_logs = 1\n\
         max_log_file_action = IGNORE\n\
         space_left = 2\n\
         space_left_action = IGNORE\n\
         admin_space_left = 1\n\
         admin_space_left_action = IGNORE\n\
         disk_full_action = IGNORE\n\
         disk_error_action = IGNORE\n\
         priority_boost = 0\n\
         name_format = NONE\n\
         use_libwrap = no\n\
         tcp_listen_queue = 5\n\
         tcp_max_per_addr = 1\n\
         tcp_client_max_idle = 0\n\
         transport = TCP\n\
         distribute_network = no\n\
         q_depth = 1200\n\
         overflow_action = IGNORE\n\
         max_restarts = 0\n\
         plugin_dir = {}\n\
         end_of_event_timeout = 2\n",
        log.display(),
        log.parent()
            .unwrap_or(Path::new("/"))
            .join("plugins.d")
            .display(),
    )
}

/// The pid of the audit daemon the kernel has registered (`auditctl -s`), `Some(0)` for none.
pub fn registered_pid() -> std::io::Result<Option<u32>> {
    let out = run(&["auditctl", "-s"])?;
    Ok(out
        .lines()
        .find_map(|l| l.strip_prefix("pid "))
        .and_then(|p| p.trim().parse().ok()))
}

fn run(argv: &[&str]) -> std::io::Result<String> {
    let out = Command::new(argv[0]).args(&argv[1..]).output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "{:?}: {}",
            argv,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
