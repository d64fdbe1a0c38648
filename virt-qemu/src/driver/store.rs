//! Files of the driver root: definitions (canonical XML), each guest's status record, the id
//! counter and the last stop reason. Every write is atomic (a fully written temporary file renamed
//! over the old one): a reader, or a process killed at any point, sees the old or the new content.
//! Definitions are also made durable ([`write_atomic`]: fsync of the file and the directory);
//! runtime files ([`write_runtime`]) are not: they describe processes that a host crash ends anyway
//! (libvirt keeps them on tmpfs under `/run`), and an fsync costs milliseconds on every step of a
//! start.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use super::paths::DriverPaths;
use super::DriverError;
use crate::status::RuntimeState;

/// Writes `data` to `path` atomically and durably: a reader sees the old or the new content, never
/// a mix, and the new content survives a host crash once this returns.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), DriverError> {
    replace(path, data, true)
}

/// Writes runtime state to `path` atomically (a reader, or a later process after this one was
/// killed, sees the old or the new content), without forcing it to disk.
pub fn write_runtime(path: &Path, data: &[u8]) -> Result<(), DriverError> {
    replace(path, data, false)
}

fn replace(path: &Path, data: &[u8], durable: bool) -> Result<(), DriverError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        if durable {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        if durable {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        DriverError::io(path, e)
    })
}

/// Reads a file, `None` when it does not exist.
pub fn read_opt(path: &Path) -> Result<Option<String>, DriverError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DriverError::io(path, e)),
    }
}

/// Removes a file; a missing one is fine.
pub fn remove_opt(path: &Path) -> Result<(), DriverError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DriverError::io(path, e)),
    }
}

/// The names of every defined domain (`NAME.xml` in the config dir), sorted.
pub fn config_names(paths: &DriverPaths) -> Result<Vec<String>, DriverError> {
    names_with_suffix(&paths.config_dir, ".xml")
}

/// The names of every domain with a status file, sorted.
pub fn status_names(paths: &DriverPaths) -> Result<Vec<String>, DriverError> {
    names_with_suffix(&paths.state_dir, ".status.json")
}

fn names_with_suffix(dir: &Path, suffix: &str) -> Result<Vec<String>, DriverError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(DriverError::io(dir, e)),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|e| DriverError::io(dir, e))?;
        if let Some(n) = e.file_name().to_str() {
            if let Some(base) = n.strip_suffix(suffix) {
                if !base.is_empty() && !base.starts_with('.') {
                    out.push(base.to_string());
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Allocates the next domain id (1, 2, ...; not reused within a root while the host runs). The
/// caller holds the driver lock. The counter is runtime state (not forced to disk): an empty file,
/// as a host crash can leave, counts from 1 again, as no guest of before the crash runs.
pub fn next_id(paths: &DriverPaths) -> Result<i32, DriverError> {
    let p = paths.id_counter();
    let cur = match read_opt(&p)? {
        Some(s) if s.trim().is_empty() => 1,
        Some(s) => s.trim().parse::<i32>().map_err(|_| DriverError::Corrupt {
            path: p.clone(),
            what: format!("id counter {:?} is not a number", s.trim()),
        })?,
        None => 1,
    };
    let next = cur.checked_add(1).ok_or_else(|| DriverError::Corrupt {
        path: p.clone(),
        what: "id counter overflow".into(),
    })?;
    write_runtime(&p, format!("{next}\n").as_bytes())?;
    Ok(cur)
}

/// Where a start has got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Host resources are being made and QEMU launched; a status file left in this phase by a dead
    /// process is a half-finished start to undo.
    Starting,
    /// The guest runs.
    Running,
    /// A graceful shutdown was asked for.
    ShuttingDown,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::ShuttingDown => "shutting-down",
        }
    }

    fn parse(s: &str) -> Option<Phase> {
        match s {
            "starting" => Some(Phase::Starting),
            "running" => Some(Phase::Running),
            "shutting-down" => Some(Phase::ShuttingDown),
            _ => None,
        }
    }
}

/// Everything the driver keeps about an active guest, in one file so it changes atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRecord {
    pub phase: Phase,
    pub id: i32,
    /// `qemu` (TCG) or `kvm`: the audit identity's virt type.
    pub virt: String,
    pub runtime: RuntimeState,
    /// The live definition (with id, aliases and pty paths once known).
    pub live_xml: String,
}

impl StatusRecord {
    pub fn to_json(&self) -> Value {
        json!({
            "phase": self.phase.as_str(),
            "id": self.id,
            "virt": self.virt,
            "runtime": self.runtime.to_json(),
            "live_xml": self.live_xml,
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), DriverError> {
        let text =
            serde_json::to_vec_pretty(&self.to_json()).map_err(|e| DriverError::Corrupt {
                path: path.to_path_buf(),
                what: e.to_string(),
            })?;
        write_runtime(path, &text)
    }

    /// Reads a status file; `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<StatusRecord>, DriverError> {
        let Some(text) = read_opt(path)? else {
            return Ok(None);
        };
        let bad = |what: &str| DriverError::Corrupt {
            path: path.to_path_buf(),
            what: what.to_string(),
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        let phase = v
            .get("phase")
            .and_then(Value::as_str)
            .and_then(Phase::parse)
            .ok_or_else(|| bad("'phase' missing or unknown"))?;
        let id = v
            .get("id")
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| bad("'id' missing"))?;
        let virt = v
            .get("virt")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("'virt' missing"))?
            .to_string();
        // RuntimeState's reader takes real pids only; a start that has not launched QEMU yet is
        // stored with pid 0, read through a copy holding a placeholder.
        let mut rt = v
            .get("runtime")
            .ok_or_else(|| bad("'runtime' missing"))?
            .clone();
        let unlaunched = rt.get("pid").and_then(Value::as_u64) == Some(0);
        if unlaunched {
            rt["pid"] = json!(1);
        }
        let mut runtime = RuntimeState::from_json(&rt, path).map_err(|e| bad(&e.to_string()))?;
        if unlaunched {
            runtime.pid = 0;
        }
        let live_xml = v
            .get("live_xml")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("'live_xml' missing"))?
            .to_string();
        Ok(Some(StatusRecord {
            phase,
            id,
            virt,
            runtime,
            live_xml,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip_and_ids() {
        let dir = virt_testkit::TempDir::new("store").unwrap();
        let paths = DriverPaths::embed(dir.path());
        paths.create().unwrap();
        assert_eq!(next_id(&paths).unwrap(), 1);
        assert_eq!(next_id(&paths).unwrap(), 2);
        // A counter emptied by a host crash counts again; garbage is an error naming the file.
        std::fs::write(paths.id_counter(), "").unwrap();
        assert_eq!(next_id(&paths).unwrap(), 1);
        std::fs::write(paths.id_counter(), "x").unwrap();
        assert!(next_id(&paths).unwrap_err().to_string().contains("next-id"));
        std::fs::write(paths.id_counter(), "2\n").unwrap();
        let rec = StatusRecord {
            phase: Phase::Starting,
            id: 2,
            virt: "qemu".into(),
            runtime: RuntimeState {
                pid: 0,
                start_time: Some(7),
                monitor: "/r/m".into(),
                cgroup: Some("/machine/x".into()),
                nics: Vec::new(),
            },
            live_xml: "<domain/>".into(),
        };
        let p = paths.status_file("g");
        rec.write(&p).unwrap();
        assert_eq!(StatusRecord::read(&p).unwrap(), Some(rec));
        assert_eq!(status_names(&paths).unwrap(), ["g"]);
        std::fs::write(&p, "{").unwrap();
        assert!(StatusRecord::read(&p)
            .unwrap_err()
            .to_string()
            .contains("g.status.json"));
        assert_eq!(
            StatusRecord::read(&paths.status_file("none")).unwrap(),
            None
        );
    }
}
