//! Reconnection: what a newly opened driver does with each status file it finds.
//!
//! A guest whose status says `running` (or `shutting-down`), whose QEMU process still lives (pid
//! and start time match) and whose monitor answers stays running. Anything else is cleaned up:
//! QEMU killed if it still lives, taps and cgroup removed, the status file removed, and `op=stop`
//! audited with `reason=failed` for a start that never finished, `shutdown` for a guest that was
//! shutting down, `crashed` otherwise. A domain whose lock another process holds is being worked
//! on and is left alone.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::lock::FileLock;
use super::stop::{kill_qemu, kill_recorded_qemu, monitor_answers};
use super::store::Phase;
use super::{DriverError, QemuDriver, StateReason};

impl QemuDriver {
    /// Checks every guest with a status file (see the module documentation).
    pub fn reconnect_all(&self) -> Result<(), DriverError> {
        for name in super::store::status_names(&self.paths)? {
            let Some(_lock) = FileLock::try_acquire(&self.paths.domain_lock(&name))? else {
                continue;
            };
            if let Err(e) = self.reconnect_locked(&name) {
                eprintln!("reconnecting to domain '{name}': {e}");
            }
        }
        Ok(())
    }

    /// Checks one guest whose domain lock the caller holds. Returns whether it is running.
    pub(crate) fn reconnect_locked(&self, name: &str) -> Result<bool, DriverError> {
        let Some(st) = self.read_status(name)? else {
            return Ok(false);
        };
        let rt = &st.runtime;
        let lives = crate::status::pid_is_qemu(rt.pid, rt.start_time);
        if st.phase != Phase::Starting
            && lives
            && monitor_answers(&rt.monitor, Duration::from_secs(5))
        {
            // An attach interrupted by a killed process is finished or rolled back.
            if st.phase == Phase::Running {
                if let Err(e) = self.repair_hotplug(name) {
                    eprintln!("domain '{name}': repairing an interrupted attach: {e}");
                }
            }
            return Ok(true);
        }
        if lives {
            kill_recorded_qemu(name, rt.pid, rt.start_time)?;
        }
        if st.phase == Phase::Starting && rt.pid == 0 {
            // A QEMU launched by a start killed before it recorded the pid: found by its monitor
            // path (older starts) or by its private HOME, the guest's directory.
            let home = self
                .paths
                .guest_lib_dir(&crate::argv::host::short_name(st.id, name));
            let mut orphans = super::stop::qemu_by_monitor(&rt.monitor);
            orphans.extend(qemu_with_home(&home));
            for pid in orphans {
                kill_qemu(pid, None, Signal::SIGKILL, Duration::from_secs(10));
            }
        }
        let (audit, reason) = match st.phase {
            Phase::Starting => ("failed", StateReason::Failed),
            Phase::ShuttingDown => ("shutdown", StateReason::Shutdown),
            Phase::Running => ("crashed", StateReason::Crashed),
        };
        self.cleanup(name, &st, audit, reason)?;
        Ok(false)
    }
}

/// Live QEMU processes whose environment has `HOME=home` (each guest's QEMU gets its own directory
/// as `HOME`, unique within a root and across roots).
pub(crate) fn qemu_with_home(home: &Path) -> Vec<u32> {
    let mut want = b"HOME=".to_vec();
    want.extend_from_slice(home.as_os_str().as_bytes());
    super::stop::qemu_pids_where("environ", |env| {
        env.split(|&b| b == 0).any(|v| v == want.as_slice())
    })
}
