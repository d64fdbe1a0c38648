//! The host state the command-line builder needs: ids, paths, how fds are numbered, and the driver
//! options (qemu.conf) that change the command line.

use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use virt_xml::Domain;

/// The longest name part of a domain's short name (`ID-NAME`), in characters.
const SHORT_NAME_MAX: usize = 20;

/// How fd numbers are chosen for the fds QEMU receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdNumbering {
    /// The fixed numbers libvirt's argv test harness uses: monitor 1729, TPM 1730/1731, vhost-vdpa
    /// 1732, tap fds `3 + queue`, vhost-net fds `44 + queue`, vhost-scsi 3, chardev files from 1750.
    LibvirtTestHarness,
    /// Fresh numbers counted up from `first` (a runtime then dup2()s each real fd to its number).
    Sequential { first: RawFd },
}

/// Driver options (libvirt's qemu.conf) that change the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverConfig {
    /// Hugetlbfs mounts as (page size KiB, mount point); the first is the default.
    pub hugetlbfs: Vec<(u64, PathBuf)>,
    /// Where file-backed guest RAM lives (`memory_backing_dir`).
    pub memory_backing_dir: PathBuf,
    /// The seccomp sandbox (`seccomp_sandbox`): `-sandbox on,...` when true.
    pub seccomp_sandbox: bool,
    /// Whether guest memory is left out of core dumps (`dump_guest_core = 0`).
    pub dump_guest_core: bool,
    /// SPICE TLS certificate directory, when TLS is enabled for SPICE.
    pub spice_tls_dir: Option<PathBuf>,
    /// VNC TLS certificate directory, when TLS is enabled for VNC.
    pub vnc_tls_dir: Option<PathBuf>,
    /// VNC SASL config directory, when SASL is enabled for VNC.
    pub vnc_sasl_dir: Option<PathBuf>,
    /// SPICE SASL enabled.
    pub spice_sasl: bool,
    /// Chardev TLS certificate directory and whether clients are verified, when enabled.
    pub chardev_tls: Option<(PathBuf, bool)>,
    /// `nbd_tls_x509_cert_dir`: the certificate directory of NBD disks that use TLS.
    pub nbd_tls_dir: Option<PathBuf>,
    /// Where per-guest UEFI variable stores live (`nvram_dir`).
    pub nvram_dir: PathBuf,
    /// `-msg timestamp=on` (`log_timestamp`).
    pub log_timestamp: bool,
    /// Where firmware descriptors for `<os firmware=...>` autoselection are read from, earlier
    /// directories first (QEMU's interop search path).
    pub firmware_dirs: Vec<PathBuf>,
    /// Descriptors to use instead of reading `firmware_dirs` (libvirt's test harness has its own).
    pub firmware_descriptors: Option<Vec<crate::argv::firmware::FirmwareDescriptor>>,
    /// `vnc_tls_x509_verify`: VNC clients must show a certificate (with `vnc_tls_dir`).
    pub vnc_tls_verify: bool,
    /// `vnc_tls_x509_secret_uuid`: the secret holding the password of the VNC server key.
    pub vnc_tls_secret_uuid: Option<virt_xml::Uuid>,
    /// `vnc_auto_unix_socket`: a VNC display without a listen address listens on a UNIX socket
    /// in the guest's state directory instead.
    pub vnc_auto_unix_socket: bool,
    /// `vnc_listen`: the address a VNC display without one listens on.
    pub vnc_listen: Option<String>,
    /// `vnc_password`: a password for every VNC display (set later through the monitor).
    pub vnc_password: Option<String>,
    /// `spice_sasl_dir`: the SASL config directory for SPICE (with `spice_sasl`).
    pub spice_sasl_dir: Option<PathBuf>,
    /// `spice_auto_unix_socket`, as `vnc_auto_unix_socket` for SPICE.
    pub spice_auto_unix_socket: bool,
    /// `spice_listen`: the address a SPICE display without one listens on.
    pub spice_listen: Option<String>,
    /// `spice_password`: a password for every SPICE display (without one, ticketing is off).
    pub spice_password: Option<String>,
    /// `vnc_allow_host_audio`: a guest with VNC may use the host's audio driver.
    pub vnc_allow_host_audio: bool,
    /// `nographics_allow_host_audio`: a guest without graphics may use the host's audio driver.
    pub nographics_allow_host_audio: bool,
    /// The host audio driver (`QEMU_AUDIO_DRV` of the daemon's environment) used by the implicit
    /// audio backend when host audio is allowed; `None`: no implicit host audio.
    pub host_audio_driver: Option<String>,
    /// The SDL audio driver (`SDL_AUDIODRIVER` of the daemon's environment) of an implicit SDL
    /// audio backend.
    pub host_sdl_audio_driver: Option<String>,
    /// `chardev_tls_x509_secret_uuid`: the secret holding the password of the chardev TLS key.
    pub chardev_tls_secret_uuid: Option<virt_xml::Uuid>,
    /// `nbd_tls_x509_secret_uuid`: the secret holding the password of the NBD TLS key.
    pub nbd_tls_secret_uuid: Option<virt_xml::Uuid>,
    /// How graphics ports asked for with `autoport` are chosen (`remote_display_port_min/max`).
    pub display_ports: DisplayPorts,
}

/// How the ports of graphics with `autoport` are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayPorts {
    /// libvirt's pretend start (its argv test): VNC gets 5900, SPICE 5901 and TLS 5902, without
    /// looking at the host.
    Pretend,
    /// The lowest port of `min..=max` that this guest has not taken yet and that can be bound on
    /// the host right now (checked by binding and releasing it).
    FirstFree { min: u16, max: u16 },
}

impl DriverConfig {
    /// The settings of the post-parse stage ([`crate::prepare::prepare_with`]) these options
    /// decide (the default audio backend).
    pub fn prepare_options(&self) -> crate::prepare::PrepareOptions {
        crate::prepare::PrepareOptions {
            vnc_allow_host_audio: self.vnc_allow_host_audio,
            nographics_allow_host_audio: self.nographics_allow_host_audio,
            host_audio: self.host_audio_driver.clone(),
            host_sdl_audio: self.host_sdl_audio_driver.clone(),
        }
    }

    /// The host audio settings from this process's environment (`QEMU_AUDIO_DRV`,
    /// `SDL_AUDIODRIVER`), as libvirt's daemon reads its own.
    pub fn with_host_audio_env(mut self) -> DriverConfig {
        self.host_audio_driver = std::env::var("QEMU_AUDIO_DRV").ok();
        self.host_sdl_audio_driver = std::env::var("SDL_AUDIODRIVER").ok();
        self
    }
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            hugetlbfs: Vec::new(),
            memory_backing_dir: PathBuf::from("/var/lib/libvirt/qemu/ram"),
            seccomp_sandbox: true,
            dump_guest_core: false,
            spice_tls_dir: None,
            vnc_tls_dir: None,
            vnc_sasl_dir: None,
            spice_sasl: false,
            chardev_tls: None,
            nbd_tls_dir: None,
            nvram_dir: PathBuf::from("/var/lib/libvirt/qemu/nvram"),
            log_timestamp: true,
            firmware_dirs: vec![
                PathBuf::from("/etc/qemu/firmware"),
                PathBuf::from("/usr/share/qemu/firmware"),
            ],
            firmware_descriptors: None,
            vnc_tls_verify: false,
            vnc_tls_secret_uuid: None,
            vnc_auto_unix_socket: false,
            vnc_listen: Some("127.0.0.1".into()),
            vnc_password: None,
            spice_sasl_dir: None,
            spice_auto_unix_socket: false,
            spice_listen: Some("127.0.0.1".into()),
            spice_password: None,
            vnc_allow_host_audio: false,
            nographics_allow_host_audio: false,
            host_audio_driver: None,
            host_sdl_audio_driver: None,
            chardev_tls_secret_uuid: None,
            nbd_tls_secret_uuid: None,
            display_ports: DisplayPorts::FirstFree {
                min: 5900,
                max: 65535,
            },
        }
    }
}

/// Where the QMP monitor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorSocket {
    /// An already listening socket passed at this fd number.
    Fd(RawFd),
    /// A UNIX socket path QEMU creates.
    Path(PathBuf),
}

/// Host facts for one guest start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostContext {
    /// The domain id (`-1` in libvirt's harness).
    pub domain_id: i32,
    /// `ID-NAME` with the name cut to 20 characters.
    pub short_name: String,
    /// The per-guest private directory (`HOME` and friends, master key).
    pub state_dir: PathBuf,
    /// The per-guest runtime directory for sockets.
    pub runtime_dir: PathBuf,
    pub emulator: PathBuf,
    pub monitor: MonitorSocket,
    pub fd_numbering: FdNumbering,
    /// `PATH` given to QEMU.
    pub path_env: String,
    /// The user name given to QEMU (`USER`, `LOGNAME`).
    pub user: String,
    pub config: DriverConfig,
    /// The highest host NUMA node id, when the host has NUMA (policies naming other nodes are
    /// refused).
    pub numa_max_node: Option<u32>,
    /// The current time (UNIX seconds) used for a variable guest clock.
    pub now: i64,
    /// A fixed value for ids libvirt generates (VM generation id); `None` draws a random one.
    pub fixed_generated_uuid: Option<String>,
    /// The guest's master key: the runtime writes it to [`HostContext::master_key_path`], and
    /// every secret on the command line is encrypted under it.
    pub master_key: crate::secret::MasterKey,
    /// Where the IVs of encrypted secrets come from.
    pub secret_iv: crate::secret::IvSource,
    /// Where the values of secrets the domain names (disk auth, passphrases, TLS key passwords)
    /// are looked up.
    pub secrets: crate::secret::SecretSource,
    /// Where the storage pools and volumes of `type='volume'` disks are looked up.
    pub volumes: crate::argv::volume::VolumeSource,
}

/// libvirt's short name of a domain: `ID-NAME`, the name cut to 20 characters.
pub fn short_name(id: i32, name: &str) -> String {
    let cut: String = name.chars().take(SHORT_NAME_MAX).collect();
    format!("{id}-{cut}")
}

impl HostContext {
    /// The fake host of libvirt's `qemuxml2argvtest` for the test case named `case`: the base
    /// host of [`HostContext::libvirt_test_harness`] with the driver options the test program
    /// changes around that case ([`crate::argv::harness`]).
    pub fn libvirt_test_case(def: &Domain, case: &str) -> HostContext {
        let mut host = HostContext::libvirt_test_harness(def);
        crate::argv::harness::apply(crate::argv::harness::options_for(case), &mut host.config);
        host
    }

    /// The fake host of libvirt's `qemuxml2argvtest`: id -1, state under `/tmp/lib/domain--1-NAME`,
    /// monitor at fd 1729, the harness's fixed fd numbers and driver options (hugetlbfs at
    /// `/dev/hugepages2M` (default) and `/dev/hugepages1G`, SPICE TLS in `/etc/pki/libvirt-spice`
    /// with a SPICE password, the NBD certificate directory, graphics ports as in a pretend start).
    pub fn libvirt_test_harness(def: &Domain) -> HostContext {
        let short = short_name(-1, &def.name);
        let state_dir = PathBuf::from(format!("/tmp/lib/domain-{short}"));
        let emulator = crate::argv::view::emulator(def)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/qemu-system-x86_64"));
        HostContext {
            domain_id: -1,
            runtime_dir: PathBuf::from(format!("/tmp/run/domain-{short}")),
            short_name: short,
            state_dir,
            emulator,
            monitor: MonitorSocket::Fd(1729),
            fd_numbering: FdNumbering::LibvirtTestHarness,
            path_env: "/bin".into(),
            user: "test".into(),
            config: DriverConfig {
                hugetlbfs: vec![
                    (2048, PathBuf::from("/dev/hugepages2M")),
                    (1_048_576, PathBuf::from("/dev/hugepages1G")),
                ],
                spice_tls_dir: Some(PathBuf::from("/etc/pki/libvirt-spice")),
                spice_password: Some("123456".into()),
                nbd_tls_dir: Some(PathBuf::from("/etc/pki/libvirt-nbd/dummy,path")),
                firmware_descriptors: Some(crate::argv::firmware::libvirt_test_descriptors()),
                display_ports: DisplayPorts::Pretend,
                ..DriverConfig::default()
            },
            numa_max_node: Some(7),
            now: 1_234_567_890,
            fixed_generated_uuid: Some("00010203-0405-4607-8809-0a0b0c0d0e0f".into()),
            master_key: crate::secret::MasterKey::libvirt_test_harness(),
            secret_iv: crate::secret::IvSource::libvirt_test_harness(),
            secrets: crate::secret::SecretSource::LibvirtTestHarness,
            volumes: crate::argv::volume::VolumeSource::LibvirtTestHarness,
        }
    }

    /// A freshly generated UUID (or the fixed one the harness uses).
    pub fn generated_uuid(&self) -> String {
        if let Some(u) = &self.fixed_generated_uuid {
            return u.clone();
        }
        std::fs::read_to_string("/proc/sys/kernel/random/uuid")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    /// Whether host NUMA node `n` exists.
    pub fn numa_node_exists(&self, n: u32) -> bool {
        self.numa_max_node.is_none_or(|max| n <= max)
    }

    /// The environment QEMU runs with (in libvirt's order).
    pub fn environment(&self) -> Vec<(String, String)> {
        let home = self.state_dir.to_string_lossy().into_owned();
        let sub = |p: &str| self.state_dir.join(p).to_string_lossy().into_owned();
        vec![
            ("LC_ALL".into(), "C".into()),
            ("PATH".into(), self.path_env.clone()),
            ("HOME".into(), home),
            ("USER".into(), self.user.clone()),
            ("LOGNAME".into(), self.user.clone()),
            ("XDG_DATA_HOME".into(), sub(".local/share")),
            ("XDG_CACHE_HOME".into(), sub(".cache")),
            ("XDG_CONFIG_HOME".into(), sub(".config")),
        ]
    }

    /// The master key file (`master-key.aes` in the state dir).
    pub fn master_key_path(&self) -> PathBuf {
        self.state_dir.join("master-key.aes")
    }

    /// The hugetlbfs mount for a page size (KiB), or the default mount when `None`.
    pub fn hugetlbfs_mount(&self, page_kib: Option<u64>) -> Option<&Path> {
        match page_kib {
            None => self.config.hugetlbfs.first().map(|(_, p)| p.as_path()),
            Some(s) => self
                .config
                .hugetlbfs
                .iter()
                .find(|(k, _)| *k == s)
                .map(|(_, p)| p.as_path()),
        }
    }

    /// The per-guest directory inside a hugetlbfs mount (`MOUNT/libvirt/qemu/SHORTNAME`).
    pub fn hugepage_dir(&self, mount: &Path) -> PathBuf {
        mount.join("libvirt/qemu").join(&self.short_name)
    }

    /// The per-guest directory for file-backed RAM (`memory_backing_dir/SHORTNAME`).
    pub fn memory_backing_dir(&self) -> PathBuf {
        self.config.memory_backing_dir.join(&self.short_name)
    }
}

/// Hands out fd numbers as the chosen [`FdNumbering`] says.
#[derive(Debug, Clone)]
pub struct FdAllocator {
    numbering: FdNumbering,
    next_seq: RawFd,
    next_chardev_file: RawFd,
    next_fdset: u32,
}

/// What kind of fd is asked for (only the test harness numbering tells them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdKind {
    /// A listening UNIX socket for a chardev or the monitor.
    UnixListener,
    /// A tap fd for queue `n` of a NIC.
    Tap(u32),
    /// A vhost-net fd for queue `n` of a NIC.
    Vhost(u32),
    /// A vhost-scsi fd.
    VhostScsi,
    /// A vhost-vdpa device.
    Vdpa,
    /// A TPM passthrough device and its cancel file.
    TpmDevice,
    TpmCancel,
    /// A file opened for a chardev (source or log).
    ChardevFile,
}

impl FdAllocator {
    pub fn new(numbering: FdNumbering) -> FdAllocator {
        let first = match numbering {
            FdNumbering::Sequential { first } => first,
            FdNumbering::LibvirtTestHarness => 3,
        };
        FdAllocator {
            numbering,
            next_seq: first,
            next_chardev_file: 1750,
            next_fdset: 0,
        }
    }

    /// The number for the next fd of this kind.
    pub fn number(&mut self, kind: FdKind) -> RawFd {
        match self.numbering {
            FdNumbering::Sequential { .. } => {
                let n = self.next_seq;
                self.next_seq += 1;
                n
            }
            FdNumbering::LibvirtTestHarness => match kind {
                FdKind::UnixListener => 1729,
                FdKind::Tap(q) => 3 + q as RawFd,
                FdKind::Vhost(q) => 44 + q as RawFd,
                FdKind::VhostScsi => 3,
                FdKind::Vdpa => 1732,
                FdKind::TpmDevice => 1730,
                FdKind::TpmCancel => 1731,
                FdKind::ChardevFile => {
                    let n = self.next_chardev_file;
                    self.next_chardev_file += 1;
                    n
                }
            },
        }
    }

    /// The next `-add-fd` set id (0, 1, ...).
    pub fn next_fdset(&mut self) -> u32 {
        let s = self.next_fdset;
        self.next_fdset += 1;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(
            short_name(-1, "SomeDummyHugepagesGuest"),
            "-1-SomeDummyHugepagesGu"
        );
        assert_eq!(short_name(7, "a"), "7-a");
    }

    #[test]
    fn harness_numbers() {
        let mut a = FdAllocator::new(FdNumbering::LibvirtTestHarness);
        assert_eq!(a.number(FdKind::Tap(1)), 4);
        assert_eq!(a.number(FdKind::Vhost(0)), 44);
        assert_eq!(a.number(FdKind::ChardevFile), 1750);
        assert_eq!(a.number(FdKind::ChardevFile), 1751);
        assert_eq!(a.next_fdset(), 0);
        let mut s = FdAllocator::new(FdNumbering::Sequential { first: 10 });
        assert_eq!(s.number(FdKind::Tap(0)), 10);
        assert_eq!(s.number(FdKind::Vdpa), 11);
    }
}
