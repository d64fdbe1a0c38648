//! Starting a guest: definition to a running QEMU, every host resource audited, everything undone
//! on failure.
//!
//! Order (libvirt's): status file (`starting`) → `VIRT_MACHINE_ID` → taps (audited opens) →
//! cgroup with the default device ACL (deny all; allow `/dev/null`, `/dev/full`, `/dev/zero`,
//! `/dev/random`, `/dev/urandom`, `/dev/ptmx`, `/dev/kvm` where they exist; the pty major) →
//! QEMU launched paused with the planned fds → placed in the cgroup → QMP → pty paths read back →
//! `reason=start` records → `cont` → `op=start reason=booted vm-pid=PID` → status `running`.
//! The status file is rewritten after every step that makes something, so a process killed at any
//! point leaves a record from which [`super::reconnect`] removes what was made.
//!
//! The monitor is a socket this process binds and listens on before QEMU starts, handed to QEMU as
//! fd 3 (`-chardev socket,fd=3,server=on`, as libvirt does); this process connects to it at once,
//! so no step polls for QEMU to create the socket: the greeting arrives when QEMU's monitor is up.

use std::collections::HashMap;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use virt_audit::{records, Outcome, VmIdentity};
use virt_cgroup::{Access, CgroupHost, GuestCgroup, GuestSpec, MajorClass};
use virt_net::{IfName, NetHost, NicFds, TapConfig, VhostPolicy};
use virt_xml::devices::chardev::source::{ChrSource, ChrType};
use virt_xml::devices::interface::NetBackend;
use virt_xml::devices::Device;
use virt_xml::domain::{DomainType, InterfaceType};
use virt_xml::Domain;

use super::store::{self, Phase, StatusRecord};
use super::{host, DriverError, QemuDriver, StateReason};
use crate::argv::{self, FdNumbering, FdPurpose, MonitorSocket};
use crate::process::{LaunchSpec, QemuProcess};
use crate::qmp::Qmp;
use crate::status::{process_start_time, RuntimeState};

/// libvirt's default device ACL (`cgroup_device_acl`), in its order.
pub const DEFAULT_DEVICE_ACL: &[&str] = &[
    "/dev/null",
    "/dev/full",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/dev/ptmx",
    "/dev/kvm",
];

/// The fd number QEMU gets its listening monitor socket at; the other fds follow it.
pub const MONITOR_FD: RawFd = 3;

/// What a start has made so far, undone in reverse order unless the start completes.
struct Made<'d> {
    drv: &'d QemuDriver,
    name: String,
    net: NetHost,
    nics: Vec<NicFds>,
    cgroup: Option<GuestCgroup>,
    process: Option<QemuProcess>,
    status: Option<PathBuf>,
    lib_dir: Option<PathBuf>,
}

impl Made<'_> {
    fn undo(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.destroy();
        }
        for nic in self.nics.drain(..) {
            if let Err(e) = self.net.release(nic) {
                eprintln!("domain '{}': releasing a tap: {e}", self.name);
            }
        }
        if let Some(mut cg) = self.cgroup.take() {
            if let Err(e) = cg.remove(Duration::from_secs(10)) {
                eprintln!("domain '{}': removing the cgroup: {e}", self.name);
            }
        }
        let _ = std::fs::remove_file(self.drv.paths.monitor_socket(&self.name));
        if let Some(d) = self.lib_dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
        if let Some(s) = self.status.take() {
            let _ = std::fs::remove_file(s);
        }
        let _ = self.drv.write_stop_reason(&self.name, StateReason::Failed);
    }
}

/// The live state of a start in progress, persisted at each change.
struct Progress {
    path: PathBuf,
    rec: StatusRecord,
}

impl Progress {
    fn save(&mut self, def: &Domain) -> Result<(), DriverError> {
        self.rec.live_xml = def.to_xml();
        self.rec.write(&self.path)
    }
}

fn tap_policy(def: &Domain, nic: &virt_xml::devices::interface::Interface) -> VhostPolicy {
    if def.domain_type != DomainType::Kvm {
        return VhostPolicy::Qemu;
    }
    match nic.driver.as_ref().and_then(|d| d.name) {
        Some(NetBackend::Qemu) => VhostPolicy::Qemu,
        Some(NetBackend::Vhost) => VhostPolicy::Vhost,
        None => VhostPolicy::Auto,
    }
}

/// Writes the key the command line's secrets were encrypted under (`host.master_key`).
fn write_master_key(host: &argv::HostContext) -> Result<(), DriverError> {
    let key_path = host.master_key_path();
    let key = host.master_key.as_bytes();
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&key_path)
        .map_err(|e| DriverError::io(&key_path, e))?;
    std::io::Write::write_all(&mut out, key).map_err(|e| DriverError::io(&key_path, e))
}

/// The pty path of each chardev QEMU reports (`query-chardev`), by chardev label.
fn pty_paths(qmp: &Qmp) -> Result<HashMap<String, String>, crate::qmp::QmpError> {
    let v = qmp.execute("query-chardev", None)?;
    let mut out = HashMap::new();
    if let Some(list) = v.as_array() {
        for c in list {
            let label = c.get("label").and_then(Value::as_str);
            let file = c.get("filename").and_then(Value::as_str);
            if let (Some(l), Some(f)) = (label, file) {
                if let Some(p) = f.strip_prefix("pty:") {
                    out.insert(l.to_string(), p.to_string());
                }
            }
        }
    }
    Ok(out)
}

/// Writes the pty paths QEMU chose into the live definition's pty chardevs.
fn fill_pty_paths(def: &mut Domain, ptys: &HashMap<String, String>) {
    // libvirt's aliases when the definition has none: serialN, parallelN, channelN, consoleN
    // (the first console of a serial port shares the port's chardev, `serial0`).
    let mut counts = [0usize; 4];
    for d in def.devices.iter_mut() {
        let (c, kind, prefix) = match d {
            Device::Serial(c) => (c, 0, "serial"),
            Device::Parallel(c) => (c, 1, "parallel"),
            Device::Channel(c) => (c, 2, "channel"),
            Device::Console(c) => (c, 3, "console"),
            _ => continue,
        };
        let n = counts[kind];
        counts[kind] += 1;
        if c.source.chr_type() != ChrType::Pty {
            continue;
        }
        let alias = match &c.info.alias {
            Some(a) => a.clone(),
            None if kind == 3 && n == 0 => "serial0".to_string(),
            None => format!("{prefix}{n}"),
        };
        if let Some(p) = ptys.get(&format!("char{alias}")) {
            match c.source.sources.first_mut() {
                Some(s) => s.path = Some(p.clone()),
                None => c.source.sources.push(ChrSource {
                    path: Some(p.clone()),
                    ..Default::default()
                }),
            }
            c.tty = Some(p.clone());
        }
    }
}

impl QemuDriver {
    /// Starts a defined domain (see the module documentation for the order of work).
    pub fn start(&self, name: &str) -> Result<(), DriverError> {
        let _lock = self.lock_domain(name)?;
        if self.read_status(name)?.is_some() && self.reconnect_locked(name)? {
            return Err(DriverError::BadState {
                name: name.to_string(),
                what: "is already active".into(),
            });
        }
        let Some(mut def) = self.read_config(name)? else {
            return Err(DriverError::NoDomain(name.to_string()));
        };
        let vm = super::identity(&def);
        let id = {
            let _g = self.lock_driver()?;
            store::next_id(&self.paths)?
        };
        let mut made = Made {
            drv: self,
            name: name.to_string(),
            net: NetHost::new(self.auditor.clone()),
            nics: Vec::new(),
            cgroup: None,
            process: None,
            status: None,
            lib_dir: None,
        };
        match self.start_steps(&mut def, id, &vm, &mut made) {
            Ok(()) => {
                // QEMU outlives this process: forget the handle (its drop would kill QEMU).
                if let Some(p) = made.process.take() {
                    std::mem::forget(p);
                }
                made.nics.clear();
                made.cgroup = None;
                let _ = store::remove_opt(&self.paths.stop_reason_file(name));
                Ok(())
            }
            Err(e) => {
                made.undo();
                let _ = self
                    .auditor
                    .emit(&records::start(&vm, "booted", 0, Outcome::Failed));
                Err(e)
            }
        }
    }

    fn start_steps(
        &self,
        def: &mut Domain,
        id: i32,
        vm: &VmIdentity,
        made: &mut Made<'_>,
    ) -> Result<(), DriverError> {
        let name = def.name.clone();
        crate::prepare::prepare_with(
            def,
            &self.opts.caps,
            &host::runtime_config(&self.paths).prepare_options(),
        )
        .map_err(|source| DriverError::Prepare {
            name: name.clone(),
            source: Box::new(source),
        })?;
        def.id = Some(id);
        let mut host = host::runtime_host(&self.paths, def, id, &self.opts.caps)?;
        host.monitor = MonitorSocket::Fd(MONITOR_FD);
        host.fd_numbering = FdNumbering::Sequential {
            first: MONITOR_FD + 1,
        };
        let argv_err = |source| DriverError::Argv {
            name: name.clone(),
            source: Box::new(source),
        };
        // Start-time steps of the argv pipeline (as `argv::prepare_and_build`): USB ports, then
        // firmware autoselection from the host's descriptors.
        crate::prepare::assign_usb_ports(def).map_err(|source| DriverError::Prepare {
            name: name.clone(),
            source: Box::new(source),
        })?;
        argv::select_firmware(def, &host).map_err(argv_err)?;
        let cmd = argv::build(def, &self.opts.caps, &host).map_err(argv_err)?;

        // The live definition names every device by the alias QEMU knows it by (hot-plug picks
        // fresh aliases from these).
        let aliases = crate::prepare::aliases(def);
        for (d, a) in def.devices.iter_mut().zip(aliases) {
            if let Some(info) = d.info_mut() {
                if info.alias.is_none() && !a.is_empty() {
                    info.alias = Some(a);
                }
            }
        }

        // Per-guest directory and master key.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&host.state_dir)
            .map_err(|e| DriverError::io(&host.state_dir, e))?;
        made.lib_dir = Some(host.state_dir.clone());
        write_master_key(&host)?;
        let monitor = self.paths.monitor_socket(&name);
        if monitor.as_os_str().len() >= 108 {
            return Err(DriverError::Start {
                name,
                what: format!(
                    "monitor socket path {} is too long for a UNIX socket",
                    monitor.display()
                ),
            });
        }
        store::remove_opt(&monitor)?;

        let mut progress = Progress {
            path: self.paths.status_file(&name),
            rec: StatusRecord {
                phase: Phase::Starting,
                id,
                virt: vm.virt.as_str().to_string(),
                runtime: RuntimeState {
                    pid: 0,
                    start_time: None,
                    monitor: monitor.clone(),
                    cgroup: None,
                    nics: Vec::new(),
                },
                live_xml: String::new(),
            },
        };
        made.status = Some(progress.path.clone());
        progress.save(def)?;

        // The security label (DAC: the uid:gid QEMU runs as).
        let label = format!("+{}:+{}", nix::unistd::getuid(), nix::unistd::getgid());
        let _ = self.auditor.emit(&records::machine_id(
            vm,
            Some(&label),
            Some(&label),
            Some("dac"),
            Outcome::Success,
        ));

        // Taps.
        let mut nic_alias: Vec<String> = Vec::new();
        for (i, nic) in def.interfaces().enumerate() {
            let alias = nic.info.alias.clone().unwrap_or_else(|| format!("net{i}"));
            match nic.iface_type {
                InterfaceType::Ethernet | InterfaceType::Bridge => {}
                InterfaceType::User | InterfaceType::Null => continue,
                other => {
                    return Err(DriverError::Unsupported(format!(
                        "domain '{name}': interface {alias}: type '{other}' is not supported by this driver yet"
                    )))
                }
            }
            let mac = nic
                .mac
                .as_ref()
                .map(|m| m.address)
                .ok_or_else(|| DriverError::Start {
                    name: name.clone(),
                    what: format!("interface {alias} has no MAC address"),
                })?;
            let mut cfg = TapConfig::new(mac);
            if let Some(t) = &nic.target {
                cfg.name = IfName::parse(&t.dev).map_err(|source| DriverError::Net {
                    name: name.clone(),
                    what: format!("interface {alias}: target dev '{}'", t.dev),
                    source: Box::new(source),
                })?;
            }
            cfg.queues = nic.driver.as_ref().and_then(|d| d.queues).unwrap_or(1);
            cfg.vnet_hdr = nic.model.as_deref() == Some("virtio");
            cfg.mtu = nic.mtu;
            if nic.iface_type == InterfaceType::Bridge {
                cfg.bridge = nic.source.as_ref().and_then(|s| s.bridge.clone());
            }
            let fds = made
                .net
                .open_tap(vm, &cfg, tap_policy(def, nic))
                .map_err(|source| DriverError::Net {
                    name: name.clone(),
                    what: format!("interface {alias}"),
                    source: Box::new(source),
                })?;
            progress.rec.runtime.nics.push(fds.state.clone());
            made.nics.push(fds);
            nic_alias.push(alias);
            progress.save(def)?;
        }

        // The cgroup and its device ACL.
        if let Some(partition) = &self.opts.cgroup_partition {
            let cg_err = |source| DriverError::Cgroup {
                name: name.clone(),
                source: Box::new(source),
            };
            let chost = CgroupHost::discover().map_err(cg_err)?;
            let spec = GuestSpec::new("qemu", id as u32, &name).partition(partition);
            let cg = GuestCgroup::create(&chost, &spec, vm, &self.auditor).map_err(cg_err)?;
            progress.rec.runtime.cgroup = Some(cg.placement().to_string());
            made.cgroup = Some(cg);
            progress.save(def)?;
            let cg = made.cgroup.as_ref().ok_or_else(|| DriverError::Start {
                name: name.clone(),
                what: "cgroup vanished".into(),
            })?;
            cg.deny_all().map_err(cg_err)?;
            for p in DEFAULT_DEVICE_ACL {
                if Path::new(p).exists() {
                    cg.allow_path(Path::new(p), Access::RW).map_err(cg_err)?;
                }
            }
            cg.allow_major(MajorClass::PTY, Access::RW)
                .map_err(cg_err)?;
        }

        // The fds QEMU gets, at the numbers the command line names.
        // The monitor: listening before QEMU starts, and connected to at once (the connection waits
        // in the backlog until QEMU accepts it). Once QEMU has its copy, ours is closed, so a QEMU
        // that dies before accepting ends the connection instead of leaving it waiting.
        let bind_err = |e| DriverError::io(&monitor, e);
        let listener = UnixListener::bind(&monitor).map_err(bind_err)?;
        let client = UnixStream::connect(&monitor).map_err(bind_err)?;
        let mut listener = Some(OwnedFd::from(listener));

        let mut spec = LaunchSpec::new(cmd.argv(), self.paths.log_file(&name));
        spec.home = Some(host.state_dir.clone());
        spec.env = cmd.env.clone();
        let mut taps: HashMap<(String, u32), OwnedFd> = HashMap::new();
        let mut vhosts: HashMap<(String, u32), OwnedFd> = HashMap::new();
        for (alias, nic) in nic_alias.iter().zip(made.nics.iter_mut()) {
            for (q, fd) in std::mem::take(&mut nic.tap).into_iter().enumerate() {
                taps.insert((alias.clone(), q as u32), fd);
            }
            for (q, fd) in std::mem::take(&mut nic.vhost).into_iter().enumerate() {
                vhosts.insert((alias.clone(), q as u32), fd);
            }
        }
        for pf in &cmd.fds {
            let fd = match &pf.purpose {
                FdPurpose::Tap { nic_alias, queue } => taps.remove(&(nic_alias.clone(), *queue)),
                FdPurpose::Vhost { nic_alias, queue } => {
                    vhosts.remove(&(nic_alias.clone(), *queue))
                }
                FdPurpose::Monitor => listener.take(),
                _ => None,
            };
            match fd {
                Some(fd) => spec = spec.pass_fd(fd, pf.number),
                None => {
                    return Err(DriverError::Start {
                        name: name.clone(),
                        what: format!("no host fd for {:?} (fd {})", pf.purpose, pf.number),
                    })
                }
            }
        }
        // Fds opened but not asked for by the command line (e.g. vhost-net when QEMU is told
        // not to use it) are closed here.
        drop(taps);
        drop(vhosts);
        if listener.is_some() {
            return Err(DriverError::Start {
                name: name.clone(),
                what: "the command line does not take the monitor socket fd".into(),
            });
        }

        let log = self.paths.log_file(&name);
        let process = QemuProcess::spawn(spec).map_err(|source| DriverError::Process {
            name: name.clone(),
            source: Box::new(source),
        })?;
        let pid = process.pid();
        progress.rec.runtime.pid = pid;
        progress.rec.runtime.start_time = process_start_time(pid);
        made.process = Some(process);
        progress.save(def)?;
        if let Some(cg) = &made.cgroup {
            cg.place(pid).map_err(|source| DriverError::Cgroup {
                name: name.clone(),
                source: Box::new(source),
            })?;
        }

        // The monitor.
        let process = made.process.as_mut().ok_or_else(|| DriverError::Start {
            name: name.clone(),
            what: "QEMU handle vanished".into(),
        })?;
        let qmp = match Qmp::from_stream(
            client,
            &monitor.display().to_string(),
            self.opts.monitor_timeout,
        ) {
            Ok(q) => q,
            Err(e) => {
                // A QEMU that exited (bad option, missing file) says why in its log: report that
                // rather than the closed monitor.
                let _ = process.wait_timeout(Duration::from_secs(1));
                process
                    .check_alive()
                    .map_err(|source| DriverError::Process {
                        name: name.clone(),
                        source: Box::new(source),
                    })?;
                return Err(DriverError::Qmp {
                    name: name.clone(),
                    source: Box::new(e),
                });
            }
        };
        let qmp_err = |source| DriverError::Qmp {
            name: name.clone(),
            source: Box::new(source),
        };
        let ptys = pty_paths(&qmp).map_err(qmp_err)?;
        fill_pty_paths(def, &ptys);
        progress.save(def)?;

        for r in super::audit_trail::start_records(vm, def, Outcome::Success) {
            let _ = self.auditor.emit(&r);
        }
        process
            .start_cpus(&qmp)
            .map_err(|source| DriverError::Process {
                name: name.clone(),
                source: Box::new(source),
            })?;
        let _ = self
            .auditor
            .emit(&records::start(vm, "booted", pid as i64, Outcome::Success));
        progress.rec.phase = Phase::Running;
        progress.save(def)?;
        drop(qmp);
        let _ = log;
        Ok(())
    }
}
