//! A running guest's runtime state, kept in a small JSON file so a restarted driver can find its
//! QEMU again: pid (with the process start time, so a reused pid is noticed), monitor socket,
//! cgroup, and what the host holds for each NIC.
//!
//! Writes are atomic: a temporary file in the same directory is written, synced and renamed over
//! the old one, so a reader sees either the old or the new state, never half of one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use virt_xml::status::{NicHostState, OpenedDevice};
use virt_xml::MacAddr;

/// The runtime state of one running guest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimeState {
    pub pid: u32,
    /// The process start time (`/proc/PID/stat` field 22, clock ticks since boot), when known.
    pub start_time: Option<u64>,
    /// The QMP socket.
    pub monitor: PathBuf,
    /// The guest's cgroup, when it has one.
    pub cgroup: Option<String>,
    pub nics: Vec<NicHostState>,
}

/// A state file that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("state file {path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("state file {path}: {what}")]
    Invalid { path: PathBuf, what: String },
}

fn invalid(path: &Path, what: impl Into<String>) -> StatusError {
    StatusError::Invalid {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

impl RuntimeState {
    /// The state as a JSON value.
    pub fn to_json(&self) -> Value {
        let nics: Vec<Value> = self
            .nics
            .iter()
            .map(|n| {
                json!({
                    "mac": n.mac.to_string(),
                    "ifname": n.ifname,
                    "devices": n.devices.iter().map(|d| json!({
                        "path": d.path,
                        "rdev": d.rdev.map(|(ma, mi)| json!([ma, mi])),
                        "fds": d.fds,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "pid": self.pid,
            "start_time": self.start_time,
            "monitor": self.monitor.to_string_lossy(),
            "cgroup": self.cgroup,
            "nics": nics,
        })
    }

    /// Parses the JSON form; `path` names the file in errors.
    pub fn from_json(v: &Value, path: &Path) -> Result<RuntimeState, StatusError> {
        let obj = v
            .as_object()
            .ok_or_else(|| invalid(path, "not a JSON object"))?;
        let pid = obj
            .get("pid")
            .and_then(Value::as_u64)
            .filter(|&p| p > 0 && p <= i32::MAX as u64)
            .ok_or_else(|| invalid(path, "'pid' missing or not a process id"))?
            as u32;
        let start_time = opt(obj, "start_time", path, Value::as_u64)?;
        let monitor = obj
            .get("monitor")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(path, "'monitor' missing or not a string"))?;
        let cgroup = opt(obj, "cgroup", path, |v| v.as_str().map(str::to_string))?;
        let mut nics = Vec::new();
        if let Some(list) = obj.get("nics") {
            let list = list
                .as_array()
                .ok_or_else(|| invalid(path, "'nics' is not an array"))?;
            for (i, n) in list.iter().enumerate() {
                nics.push(nic_from_json(n, path, i)?);
            }
        }
        Ok(RuntimeState {
            pid,
            start_time,
            monitor: PathBuf::from(monitor),
            cgroup,
            nics,
        })
    }

    /// Writes the state atomically (temporary file, fsync, rename).
    pub fn write(&self, path: &Path) -> Result<(), StatusError> {
        let io = |op| {
            move |source| StatusError::Io {
                path: path.to_path_buf(),
                op,
                source,
            }
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| invalid(path, "no file name"))?;
        let tmp = dir.join(format!(
            ".{}.tmp.{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let mut text = serde_json::to_string_pretty(&self.to_json())
            .map_err(|e| invalid(path, e.to_string()))?;
        text.push('\n');
        let result = (|| {
            let mut f = std::fs::File::create(&tmp).map_err(io("create temporary"))?;
            f.write_all(text.as_bytes()).map_err(io("write"))?;
            f.sync_all().map_err(io("sync"))?;
            std::fs::rename(&tmp, path).map_err(io("rename"))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Reads a state file written by [`write`](Self::write).
    pub fn read(path: &Path) -> Result<RuntimeState, StatusError> {
        let text = std::fs::read(path).map_err(|source| StatusError::Io {
            path: path.to_path_buf(),
            op: "read",
            source,
        })?;
        let v: Value = serde_json::from_slice(&text).map_err(|e| invalid(path, e.to_string()))?;
        RuntimeState::from_json(&v, path)
    }

    /// Whether the recorded process still runs and is the same QEMU: it exists, is not a zombie,
    /// its command line names a QEMU binary, and (when recorded) its start time matches.
    pub fn is_alive(&self) -> bool {
        pid_is_qemu(self.pid, self.start_time)
    }
}

fn opt<T>(
    obj: &Map<String, Value>,
    key: &str,
    path: &Path,
    get: impl Fn(&Value) -> Option<T>,
) -> Result<Option<T>, StatusError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => get(v)
            .map(Some)
            .ok_or_else(|| invalid(path, format!("'{key}' has the wrong type"))),
    }
}

fn nic_from_json(v: &Value, path: &Path, i: usize) -> Result<NicHostState, StatusError> {
    let ctx = |what: &str| invalid(path, format!("nics[{i}]: {what}"));
    let obj = v.as_object().ok_or_else(|| ctx("not an object"))?;
    let mac_s = obj
        .get("mac")
        .and_then(Value::as_str)
        .ok_or_else(|| ctx("'mac' missing"))?;
    let mac: MacAddr = mac_s
        .parse()
        .map_err(|_| ctx(&format!("'mac' {mac_s:?} is not a MAC address")))?;
    let ifname = opt(obj, "ifname", path, |v| v.as_str().map(str::to_string))?;
    let mut devices = Vec::new();
    if let Some(list) = obj.get("devices") {
        let list = list
            .as_array()
            .ok_or_else(|| ctx("'devices' is not an array"))?;
        for d in list {
            let d = d
                .as_object()
                .ok_or_else(|| ctx("device is not an object"))?;
            let dpath = d
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| ctx("device 'path' missing"))?;
            let rdev = match d.get("rdev") {
                None | Some(Value::Null) => None,
                Some(r) => {
                    let pair = r
                        .as_array()
                        .filter(|a| a.len() == 2)
                        .and_then(|a| {
                            let ma = u32::try_from(a[0].as_u64()?).ok()?;
                            let mi = u32::try_from(a[1].as_u64()?).ok()?;
                            Some((ma, mi))
                        })
                        .ok_or_else(|| ctx("device 'rdev' is not [major, minor]"))?;
                    Some(pair)
                }
            };
            let fds = d
                .get("fds")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| ctx("device 'fds' missing or not a count"))?;
            devices.push(OpenedDevice {
                path: dpath.to_string(),
                rdev,
                fds,
            });
        }
    }
    Ok(NicHostState {
        mac,
        ifname,
        devices,
    })
}

/// The start time (clock ticks since boot) of process `pid`, from `/proc/PID/stat`.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; fields after it are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    // rest starts with field 3 (state); start time is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// Whether `pid` is a live (not zombie) process whose `argv[0]` names a QEMU binary
/// (`qemu-system-*` or `qemu-kvm`), started at `start_time` when that is given.
pub fn pid_is_qemu(pid: u32, start_time: Option<u64>) -> bool {
    if pid == 0 {
        return false;
    }
    if matches!(process_state(pid), None | Some('Z') | Some('X')) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let base = argv0.rsplit(|&b| b == b'/').next().unwrap_or_default();
    let is_qemu = base.starts_with(b"qemu-system-") || base == b"qemu-kvm";
    is_qemu && (start_time.is_none() || process_start_time(pid) == start_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RuntimeState {
        RuntimeState {
            pid: 4242,
            start_time: Some(99),
            monitor: PathBuf::from("/run/x/monitor.sock"),
            cgroup: Some("/machine.slice/vm1".into()),
            nics: vec![NicHostState {
                mac: "52:54:00:12:34:56".parse().unwrap(),
                ifname: Some("vnet0".into()),
                devices: vec![
                    OpenedDevice {
                        path: "/dev/net/tun".into(),
                        rdev: Some((10, 200)),
                        fds: 2,
                    },
                    OpenedDevice {
                        path: "/dev/vhost-net".into(),
                        rdev: None,
                        fds: 1,
                    },
                ],
            }],
        }
    }

    #[test]
    fn write_read_roundtrip() {
        let dir = virt_testkit::TempDir::new("vq-status").unwrap();
        let p = dir.path().join("vm1.state");
        let st = sample();
        st.write(&p).unwrap();
        assert_eq!(RuntimeState::read(&p).unwrap(), st);
        // overwrite atomically, no temporary left behind
        let mut st2 = st.clone();
        st2.nics.clear();
        st2.cgroup = None;
        st2.write(&p).unwrap();
        assert_eq!(RuntimeState::read(&p).unwrap(), st2);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("vm1.state")]);
    }

    #[test]
    fn bad_files_are_named_errors() {
        let p = Path::new("/x/s");
        for (text, what) in [
            (json!([]), "not a JSON object"),
            (json!({"monitor": "m"}), "'pid'"),
            (json!({"pid": 0, "monitor": "m"}), "'pid'"),
            (json!({"pid": 1}), "'monitor'"),
            (
                json!({"pid": 1, "monitor": "m", "nics": [{"mac": "zz"}]}),
                "nics[0]",
            ),
            (
                json!({"pid": 1, "monitor": "m", "nics": [{"mac": "52:54:00:00:00:01", "devices": [{"path": "/d", "rdev": [1], "fds": 1}]}]}),
                "rdev",
            ),
            (json!({"pid": 1, "monitor": "m", "cgroup": 5}), "'cgroup'"),
        ] {
            let e = RuntimeState::from_json(&text, p).unwrap_err().to_string();
            assert!(e.contains(what) && e.contains("/x/s"), "{e} lacks {what}");
        }
        let dir = virt_testkit::TempDir::new("vq-status-bad").unwrap();
        let f = dir.path().join("s");
        std::fs::write(&f, "{").unwrap();
        assert!(matches!(
            RuntimeState::read(&f),
            Err(StatusError::Invalid { .. })
        ));
        assert!(matches!(
            RuntimeState::read(&dir.path().join("missing")),
            Err(StatusError::Io { op: "read", .. })
        ));
    }

    #[test]
    fn liveness_rejects_non_qemu_and_dead_pids() {
        // This test process is alive but is not QEMU.
        let me = std::process::id();
        assert!(process_start_time(me).is_some());
        assert!(!pid_is_qemu(me, None));
        assert!(!pid_is_qemu(0, None));
        assert!(!pid_is_qemu(i32::MAX as u32, None));
    }
}
