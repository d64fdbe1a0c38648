//! Stopping a guest: destroy (kill at once), graceful shutdown (ACPI power button, bounded wait),
//! and the cleanup both share with reconnection: QEMU gone, taps gone, cgroup removed, status file
//! removed last, then `op=stop`.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::json;
use virt_audit::{records, VmIdentity};
use virt_cgroup::{CgroupHost, GuestCgroup, GuestSpec};
use virt_xml::Domain;

use super::store::{self, Phase, StatusRecord};
use super::{DriverError, QemuDriver, StateReason};
use crate::qmp::Qmp;
use crate::status::pid_is_qemu;

/// Reaps `pid` if it is a child of this process (a no-op otherwise).
fn reap(pid: u32) {
    // SAFETY: waitpid with WNOHANG on a pid; fails harmlessly with ECHILD for non-children.
    unsafe {
        let mut st = 0;
        libc::waitpid(pid as libc::pid_t, &mut st, libc::WNOHANG);
    }
}

/// Sends `sig` to the recorded QEMU (if it is still that QEMU) and waits up to `wait` for it to go.
/// Returns whether it is gone.
pub fn kill_qemu(pid: u32, start_time: Option<u64>, sig: Signal, wait: Duration) -> bool {
    if !pid_is_qemu(pid, start_time) {
        reap(pid);
        return true;
    }
    let _ = kill(Pid::from_raw(pid as i32), sig);
    let deadline = Instant::now() + wait;
    loop {
        reap(pid);
        if !pid_is_qemu(pid, start_time) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGKILLs the guest's recorded QEMU and waits for it to go; an error names the guest when it
/// outlives the wait.
pub(super) fn kill_recorded_qemu(
    name: &str,
    pid: u32,
    start_time: Option<u64>,
) -> Result<(), DriverError> {
    if kill_qemu(pid, start_time, Signal::SIGKILL, Duration::from_secs(10)) {
        return Ok(());
    }
    Err(DriverError::BadState {
        name: name.to_string(),
        what: format!("QEMU pid {pid} did not die after SIGKILL"),
    })
}

/// QEMU processes whose `/proc/PID/<file>` (`cmdline`, `environ`) satisfies `matches`.
pub(super) fn qemu_pids_where(file: &str, matches: impl Fn(&[u8]) -> bool) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/{file}")).is_ok_and(|text| matches(&text))
                && pid_is_qemu(*pid, None)
        })
        .collect()
}

/// QEMU processes whose command line names this monitor socket (a QEMU launched by a start that
/// was killed before it could record the pid).
pub fn qemu_by_monitor(monitor: &Path) -> Vec<u32> {
    let needle = format!("path={},", monitor.display());
    qemu_pids_where("cmdline", |c| String::from_utf8_lossy(c).contains(&needle))
}

/// The host-side MAC of a tap made for guest MAC `mac` (first byte 0xFE).
fn host_side_mac(mac: &virt_xml::MacAddr) -> [u8; 6] {
    let mut b = mac.0;
    b[0] = 0xfe;
    b
}

impl QemuDriver {
    /// Removes everything a (dead) guest held and its status file, then writes `op=stop
    /// reason=REASON vm-pid=0`. The caller holds the domain lock and has made sure QEMU is gone.
    pub(crate) fn cleanup(
        &self,
        name: &str,
        st: &StatusRecord,
        audit_reason: &str,
        state_reason: StateReason,
    ) -> Result<(), DriverError> {
        let def = Domain::parse(&st.live_xml).ok();
        let vm = match &def {
            Some(d) => super::identity(d),
            None => VmIdentity::new(
                if st.virt == "kvm" {
                    virt_audit::VirtType::Kvm
                } else {
                    virt_audit::VirtType::Qemu
                },
                name,
                [0; 16],
            ),
        };
        let mut problems: Vec<String> = Vec::new();
        // Taps: a tap dies with its last fd; one still there with our host-side MAC is ours.
        if let Ok(mut nl) = virt_net::netlink::Netlink::open() {
            for nic in &st.runtime.nics {
                let Some(ifname) = &nic.ifname else { continue };
                let want = host_side_mac(&nic.mac);
                let deadline = Instant::now() + Duration::from_secs(2);
                loop {
                    match nl.link_by_name(ifname) {
                        Ok(Some(l)) if l.mac == Some(want) => {
                            if Instant::now() < deadline {
                                // The kernel may still be tearing it down after QEMU's exit.
                                std::thread::sleep(Duration::from_millis(20));
                                continue;
                            }
                            if let Err(e) = nl.delete_name(ifname) {
                                problems.push(format!("tap {ifname}: {e:?}"));
                            }
                        }
                        _ => {}
                    }
                    break;
                }
            }
        }
        // A start killed between making the cgroup and recording it still has it at the place its
        // id and name give.
        let placement = st.runtime.cgroup.clone().or_else(|| {
            let part = self.opts.cgroup_partition.as_deref()?;
            GuestSpec::new("qemu", st.id as u32, name)
                .partition(part)
                .placement()
                .ok()
                .filter(|_| st.phase == Phase::Starting)
        });
        if let Some(placement) = &placement {
            let r = (|| -> Result<(), virt_cgroup::CgroupError> {
                let chost = CgroupHost::discover()?;
                let partition = placement
                    .rsplit_once('/')
                    .map(|(p, _)| if p.is_empty() { "/" } else { p })
                    .unwrap_or("/machine");
                let spec = GuestSpec::new("qemu", st.id as u32, name).partition(partition);
                let mut cg = GuestCgroup::open(&chost, &spec, &vm, &self.auditor)?;
                cg.remove(Duration::from_secs(10))
            })();
            if let Err(e) = r {
                // Without a recorded cgroup the guess may name nothing: best effort.
                let gone = e.to_string().contains("No such file") || st.runtime.cgroup.is_none();
                if !gone {
                    problems.push(format!("cgroup {placement}: {e}"));
                }
            }
        }
        let _ = store::remove_opt(&st.runtime.monitor);
        let _ = store::remove_opt(&self.paths.hotplug_file(name));
        let _ = store::remove_opt(&crate::hotplug::disk_pending_path(
            &self.paths.hotplug_file(name),
        ));
        let short = crate::argv::host::short_name(st.id, name);
        let _ = std::fs::remove_dir_all(self.paths.guest_lib_dir(&short));
        store::remove_opt(&self.paths.status_file(name))?;
        self.write_stop_reason(name, state_reason)?;
        let _ = self.auditor.emit(&records::stop(&vm, audit_reason, 0));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(DriverError::Start {
                name: name.to_string(),
                what: format!("stopped, but cleanup left: {}", problems.join("; ")),
            })
        }
    }

    fn running_status(&self, name: &str) -> Result<StatusRecord, DriverError> {
        match self.read_status(name)? {
            Some(s) => Ok(s),
            None if self.paths.config_file(name).exists() => Err(DriverError::BadState {
                name: name.to_string(),
                what: "is not running".into(),
            }),
            None => Err(DriverError::NoDomain(name.to_string())),
        }
    }

    /// Kills the guest's QEMU at once and cleans up (`op=stop reason=destroyed vm-pid=0`).
    pub fn destroy(&self, name: &str) -> Result<(), DriverError> {
        let _lock = self.lock_domain(name)?;
        let st = self.running_status(name)?;
        let rt = &st.runtime;
        if rt.pid != 0 {
            kill_recorded_qemu(name, rt.pid, rt.start_time)?;
        }
        self.cleanup(name, &st, "destroyed", StateReason::Destroyed)
    }

    /// Presses the guest's power button and waits (up to the shutdown timeout) for it to power
    /// off; then QEMU is stopped and cleaned up (`op=stop reason=shutdown`). A guest that does
    /// not power off in time keeps running and the call fails saying so.
    pub fn shutdown(&self, name: &str) -> Result<(), DriverError> {
        let _lock = self.lock_domain(name)?;
        let mut st = self.running_status(name)?;
        let qmp_err = |source| DriverError::Qmp {
            name: name.to_string(),
            source: Box::new(source),
        };
        let qmp = Qmp::connect(&st.runtime.monitor, self.opts.monitor_timeout).map_err(qmp_err)?;
        st.phase = Phase::ShuttingDown;
        st.write(&self.paths.status_file(name))?;
        qmp.execute("system_powerdown", None).map_err(qmp_err)?;
        let (pid, start) = (st.runtime.pid, st.runtime.start_time);
        let deadline = Instant::now() + self.opts.shutdown_timeout;
        let mut powered_off = false;
        while Instant::now() < deadline {
            if !pid_is_qemu(pid, start) {
                powered_off = true;
                break;
            }
            match qmp.wait_event_named("SHUTDOWN", &json!({}), Duration::from_millis(200)) {
                Ok(_) => {
                    powered_off = true;
                    break;
                }
                Err(crate::qmp::QmpError::EventTimeout { .. }) => {}
                Err(_) => {
                    // Monitor closed: QEMU is exiting.
                    powered_off = kill_qemu(pid, start, Signal::SIGCONT, Duration::from_secs(5));
                    break;
                }
            }
        }
        drop(qmp);
        if !powered_off {
            st.phase = Phase::Running;
            st.write(&self.paths.status_file(name))?;
            return Err(DriverError::BadState {
                name: name.to_string(),
                what: format!(
                    "did not power off within {:?}; it is still running (use destroy)",
                    self.opts.shutdown_timeout
                ),
            });
        }
        if !kill_qemu(pid, start, Signal::SIGTERM, Duration::from_secs(10))
            && !kill_qemu(pid, start, Signal::SIGKILL, Duration::from_secs(10))
        {
            return Err(DriverError::BadState {
                name: name.to_string(),
                what: format!("QEMU pid {pid} did not exit after the guest powered off"),
            });
        }
        self.cleanup(name, &st, "shutdown", StateReason::Shutdown)
    }
}

/// Whether the monitor at `path` answers `query-status` within `timeout`.
pub fn monitor_answers(path: &Path, timeout: Duration) -> bool {
    match Qmp::connect(path, timeout) {
        Ok(q) => q.execute_timeout("query-status", None, timeout).is_ok(),
        Err(_) => false,
    }
}
