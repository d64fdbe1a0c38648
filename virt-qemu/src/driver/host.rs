//! The runtime host context of a start: this root's directories, the QMP monitor as a UNIX socket
//! path QEMU creates, and fds numbered from 3 (the launcher places each at its number), a fresh
//! random master key with random IVs, and secrets read from this root's `secrets` directory.

use std::path::PathBuf;

use virt_xml::Domain;

use super::paths::DriverPaths;
use super::DriverError;
use crate::argv::host::short_name;
use crate::argv::{DriverConfig, FdNumbering, HostContext, MonitorSocket, QemuCaps};
use crate::secret::{IvSource, MasterKey, SecretError, SecretSource};

/// The emulator of a domain: its `<emulator>`, else the capabilities' binary.
pub fn emulator(def: &Domain, caps: &QemuCaps) -> PathBuf {
    def.devices
        .iter()
        .find_map(|d| match d {
            virt_xml::devices::Device::Emulator(e) => Some(PathBuf::from(e)),
            _ => None,
        })
        .unwrap_or_else(|| PathBuf::from(caps.emulator()))
}

/// The host facts for starting `def` as domain `id` under `paths`. The master key is drawn fresh
/// here; the start writes these same bytes to the guest's key file.
pub fn runtime_host(
    paths: &DriverPaths,
    def: &Domain,
    id: i32,
    caps: &QemuCaps,
) -> Result<HostContext, DriverError> {
    let short = short_name(id, &def.name);
    let state_dir = paths.guest_lib_dir(&short);
    let master_key = MasterKey::generate().map_err(|e| match e {
        SecretError::Io { path, source } => DriverError::io(&path, source),
        other => DriverError::io(
            std::path::Path::new("/dev/urandom"),
            std::io::Error::other(other.to_string()),
        ),
    })?;
    Ok(HostContext {
        domain_id: id,
        runtime_dir: paths.state_dir.join(format!("domain-{short}")),
        short_name: short,
        state_dir,
        emulator: emulator(def, caps),
        monitor: MonitorSocket::Path(paths.monitor_socket(&def.name)),
        fd_numbering: FdNumbering::Sequential { first: 3 },
        path_env: std::env::var("PATH")
            .unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_string()),
        user: "root".into(),
        config: runtime_config(paths),
        numa_max_node: None,
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
        fixed_generated_uuid: None,
        master_key,
        secret_iv: IvSource::Random,
        secrets: SecretSource::Dir(paths.config_dir.join("secrets")),
        // No storage driver yet: volume disks are refused by name.
        volumes: crate::argv::volume::VolumeSource::None,
    })
}

/// The driver options of a real start: libvirt's defaults, files under the driver's directories,
/// and the host audio settings of this process's environment (as libvirt's daemon reads its own).
pub(crate) fn runtime_config(paths: &DriverPaths) -> DriverConfig {
    DriverConfig {
        memory_backing_dir: paths.lib_dir.join("ram"),
        nvram_dir: paths.lib_dir.join("nvram"),
        ..DriverConfig::default()
    }
    .with_host_audio_env()
}
