//! The resource knobs the drivers set: memory limit, CPU shares/weight, and the pids limit, written
//! to the v1 or v2 file of whichever hierarchy carries the controller.

use std::path::Path;

use crate::guest::GuestCgroup;
use crate::hierarchy::{Controller, Version};
use crate::CgroupError;

/// v1 reports "no limit" as the largest page-aligned counter value; anything this large is "none".
const V1_UNLIMITED_FLOOR: u64 = 1 << 62;

fn read(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| CgroupError::io("read", path, e))
}

fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| CgroupError::io("open", path, e))?;
    f.write_all(value.as_bytes()).map_err(|e| CgroupError::Io {
        op: "write",
        path: path.to_path_buf(),
        source: std::io::Error::new(e.kind(), format!("{value:?}: {e}")),
    })
}

fn parse_u64(path: &Path, text: &str) -> Result<u64, CgroupError> {
    text.parse::<u64>().map_err(|_| CgroupError::Parse {
        file: "cgroup knob",
        line: 1,
        reason: format!("{}: {text:?} is not a number", path.display()),
    })
}

/// `max` or a number (v2 `memory.max`, `pids.max`).
fn parse_max(path: &Path, text: &str) -> Result<Option<u64>, CgroupError> {
    if text == "max" {
        Ok(None)
    } else {
        parse_u64(path, text).map(Some)
    }
}

impl GuestCgroup {
    /// Sets the memory hard limit in bytes (`None`: no limit). v2 `memory.max`, v1
    /// `memory.limit_in_bytes` (which the kernel rounds down to whole pages).
    pub fn set_memory_limit(&self, bytes: Option<u64>) -> Result<(), CgroupError> {
        let (v, dir) = self.knob_dir(Controller::Memory)?;
        match (v, bytes) {
            (Version::V2, None) => write(&dir.join("memory.max"), "max"),
            (Version::V2, Some(b)) => write(&dir.join("memory.max"), &b.to_string()),
            (Version::V1, None) => write(&dir.join("memory.limit_in_bytes"), "-1"),
            (Version::V1, Some(b)) => write(&dir.join("memory.limit_in_bytes"), &b.to_string()),
        }
    }

    /// The memory hard limit in bytes (`None`: no limit).
    pub fn memory_limit(&self) -> Result<Option<u64>, CgroupError> {
        let (v, dir) = self.knob_dir(Controller::Memory)?;
        match v {
            Version::V2 => {
                let p = dir.join("memory.max");
                parse_max(&p, &read(&p)?)
            }
            Version::V1 => {
                let p = dir.join("memory.limit_in_bytes");
                let n = parse_u64(&p, &read(&p)?)?;
                Ok((n < V1_UNLIMITED_FLOOR).then_some(n))
            }
        }
    }

    /// Sets the CPU share as libvirt's `<cputune><shares>` does: v1 `cpu.shares` (2..=262144), v2
    /// `cpu.weight` (1..=10000) with the value written as is.
    pub fn set_cpu_shares(&self, shares: u64) -> Result<(), CgroupError> {
        let (v, dir) = self.knob_dir(Controller::Cpu)?;
        let (file, range) = match v {
            Version::V1 => ("cpu.shares", 2..=262_144),
            Version::V2 => ("cpu.weight", 1..=10_000),
        };
        if !range.contains(&shares) {
            return Err(CgroupError::invalid(
                "cpu shares",
                format!(
                    "{shares} is outside {}..={} accepted by {file}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        write(&dir.join(file), &shares.to_string())
    }

    /// The CPU share (`cpu.shares` on v1, `cpu.weight` on v2).
    pub fn cpu_shares(&self) -> Result<u64, CgroupError> {
        let (v, dir) = self.knob_dir(Controller::Cpu)?;
        let p = dir.join(match v {
            Version::V1 => "cpu.shares",
            Version::V2 => "cpu.weight",
        });
        parse_u64(&p, &read(&p)?)
    }

    /// Sets the most processes/threads the guest may have (`None`: no limit), `pids.max`.
    pub fn set_pids_max(&self, max: Option<u64>) -> Result<(), CgroupError> {
        let (_, dir) = self.knob_dir(Controller::Pids)?;
        let value = max.map_or("max".to_string(), |m| m.to_string());
        write(&dir.join("pids.max"), &value)
    }

    /// The pids limit (`None`: no limit).
    pub fn pids_max(&self) -> Result<Option<u64>, CgroupError> {
        let (_, dir) = self.knob_dir(Controller::Pids)?;
        let p = dir.join("pids.max");
        parse_max(&p, &read(&p)?)
    }
}
