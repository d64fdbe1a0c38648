//! Where the driver keeps definitions, runtime state, per-guest files and logs.

use std::path::{Path, PathBuf};

/// The directories of one driver root (`qemu:///embed?root=DIR` or `qemu:///system`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverPaths {
    /// Persistent definitions: `NAME.xml`.
    pub config_dir: PathBuf,
    /// Runtime state: status files, QMP sockets, lock files.
    pub state_dir: PathBuf,
    /// Per-guest private directories (`domain-ID-NAME`) and the id counter.
    pub lib_dir: PathBuf,
    /// QEMU's log per guest: `NAME.log`.
    pub log_dir: PathBuf,
}

impl DriverPaths {
    /// `qemu:///embed?root=DIR`: `DIR/etc/qemu`, `DIR/run/qemu`, `DIR/lib/qemu`, `DIR/log/qemu`.
    pub fn embed(root: &Path) -> DriverPaths {
        DriverPaths {
            config_dir: root.join("etc/qemu"),
            state_dir: root.join("run/qemu"),
            lib_dir: root.join("lib/qemu"),
            log_dir: root.join("log/qemu"),
        }
    }

    /// `qemu:///system`: `/etc/virtsh/qemu`, `/run/virtsh/qemu`, `/var/lib/virtsh/qemu`,
    /// `/var/log/virtsh/qemu`.
    pub fn system() -> DriverPaths {
        DriverPaths {
            config_dir: PathBuf::from("/etc/virtsh/qemu"),
            state_dir: PathBuf::from("/run/virtsh/qemu"),
            lib_dir: PathBuf::from("/var/lib/virtsh/qemu"),
            log_dir: PathBuf::from("/var/log/virtsh/qemu"),
        }
    }

    /// Makes every directory (mode 0700 for state and lib, which hold sockets and keys).
    pub fn create(&self) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        for (d, mode) in [
            (&self.config_dir, 0o755),
            (&self.state_dir, 0o700),
            (&self.lib_dir, 0o700),
            (&self.log_dir, 0o755),
        ] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(mode)
                .create(d)?;
        }
        Ok(())
    }

    pub fn config_file(&self, name: &str) -> PathBuf {
        self.config_dir.join(format!("{name}.xml"))
    }

    /// The guest's status file (phase, id, runtime state, live definition).
    pub fn status_file(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.status.json"))
    }

    /// How the guest last stopped (for `domstate --reason`).
    pub fn stop_reason_file(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.stopped"))
    }

    /// The QMP socket QEMU listens on.
    pub fn monitor_socket(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.monitor"))
    }

    /// A pending hot-plug record (see [`crate::hotplug`]).
    pub fn hotplug_file(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.hotplug.json"))
    }

    pub fn domain_lock(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.lock"))
    }

    pub fn driver_lock(&self) -> PathBuf {
        self.state_dir.join("driver.lock")
    }

    pub fn id_counter(&self) -> PathBuf {
        self.lib_dir.join("next-id")
    }

    /// The per-guest private directory `domain-ID-NAME` (HOME, master key).
    pub fn guest_lib_dir(&self, short_name: &str) -> PathBuf {
        self.lib_dir.join(format!("domain-{short_name}"))
    }

    pub fn log_file(&self, name: &str) -> PathBuf {
        self.log_dir.join(format!("{name}.log"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_layout() {
        let p = DriverPaths::embed(Path::new("/r"));
        assert_eq!(p.config_file("g"), Path::new("/r/etc/qemu/g.xml"));
        assert_eq!(p.status_file("g"), Path::new("/r/run/qemu/g.status.json"));
        assert_eq!(p.guest_lib_dir("3-g"), Path::new("/r/lib/qemu/domain-3-g"));
        assert_eq!(p.log_file("g"), Path::new("/r/log/qemu/g.log"));
        assert_eq!(
            DriverPaths::system().config_file("g"),
            Path::new("/etc/virtsh/qemu/g.xml")
        );
    }
}
