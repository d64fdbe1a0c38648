//! `<filesystem>`: host directories shared with the guest.
//!
//! - 9p (`<driver type='path'|'handle'>` or none): `-fsdev local|handle,...` (QEMU's keyval
//!   syntax: security model, multidevs, create modes, write-out policy, the `fsdev-ALIAS` id,
//!   the exported path, read-only) followed by its `-device virtio-9p-pci` (transitional models,
//!   virtio options, mount tag, address).
//! - virtiofs (`<driver type='virtiofs'>`): a `-chardev socket` connecting to virtiofsd (its
//!   socket `ALIAS-fs.sock` in the guest's private directory, or the `<source socket>` of an
//!   externally started daemon), then `-device vhost-user-fs-pci` (queue size, tag, boot index).
//!
//! What QEMU cannot run is refused first, with libvirt's wording.

use virt_xml::address::Address;
use virt_xml::cpu::MemAccess;
use virt_xml::devices::controller::VirtioModel;
use virt_xml::devices::filesystem::{
    Filesystem, FsAccessMode, FsDriverType, FsMultidevs, FsSource, FsType,
};
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::devices::chardev::addr::virtio_opts;
use crate::argv::devices::net::common::push_address;
use crate::argv::props::{escape_comma, Props};
use crate::argv::view;

/// How QEMU serves one file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// virtio-9p with QEMU's `local` fsdev driver.
    Local,
    /// virtio-9p with the (long removed from QEMU) `handle` driver.
    Handle,
    /// vhost-user-fs served by virtiofsd.
    Virtiofs,
}

fn backend_of(fs: &Filesystem) -> Result<Backend, ArgvError> {
    match fs.driver.as_ref().and_then(|d| d.kind) {
        None | Some(FsDriverType::Path) => Ok(Backend::Local),
        Some(FsDriverType::Handle) => Ok(Backend::Handle),
        Some(FsDriverType::Virtiofs) => Ok(Backend::Virtiofs),
        Some(_) => Err(ArgvError::unsupported(
            "Filesystem driver type not supported",
        )),
    }
}

/// The access mode after libvirt's post-parse default (`passthrough`, unless virtiofsd is
/// started by someone else).
fn accessmode(fs: &Filesystem) -> Option<FsAccessMode> {
    match (fs.accessmode, &fs.source) {
        (Some(m), _) => Some(m),
        (None, Some(FsSource::Socket(_))) => None,
        (None, _) => Some(FsAccessMode::Passthrough),
    }
}

/// The file systems of the domain with their index in `def.devices`.
fn filesystems<'d>(b: &Builder<'d>) -> Vec<(usize, &'d Filesystem)> {
    b.def
        .devices
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            Device::Filesystem(fs) => Some((i, fs)),
            _ => None,
        })
        .collect()
}

/// Writes `-fsdev`/`-chardev` and `-device` for every file system, in document order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    for (i, fs) in filesystems(b) {
        let backend = backend_of(fs)?;
        validate(b, fs, backend)?;
        let alias = b.alias(i).to_string();
        match backend {
            Backend::Local | Backend::Handle => emit_9p(b, fs, backend, &alias)?,
            Backend::Virtiofs => emit_virtiofs(b, fs, &alias)?,
        }
    }
    Ok(())
}

fn unsupported(msg: &str) -> ArgvError {
    ArgvError::unsupported(msg)
}

/// libvirt's refusals for a file system on QEMU.
fn validate(b: &Builder<'_>, fs: &Filesystem, backend: Backend) -> Result<(), ArgvError> {
    if fs.kind.unwrap_or(FsType::Mount) != FsType::Mount {
        return Err(unsupported("only supports mount filesystem type"));
    }
    if fs.multidevs.is_some_and(|m| m != FsMultidevs::Default)
        && !b.caps.has_flag("fsdev.multidevs")
    {
        return Err(unsupported(
            "multidevs is not supported with this QEMU binary",
        ));
    }
    let mode = accessmode(fs);
    if (fs.fmode.is_some_and(|m| m != 0) || fs.dmode.is_some_and(|m| m != 0))
        && mode != Some(FsAccessMode::Mapped)
    {
        return Err(unsupported(
            "fmode and dmode must be used with accessmode=mapped",
        ));
    }
    let sandbox = fs.binary.as_ref().and_then(|bin| bin.sandbox);
    if backend != Backend::Virtiofs && sandbox.is_some() {
        return Err(unsupported("sandbox can only be used with driver=virtiofs"));
    }
    match backend {
        Backend::Local => Ok(()),
        Backend::Handle => {
            if mode != Some(FsAccessMode::Passthrough) {
                return Err(unsupported("only supports passthrough accessmode"));
            }
            Ok(())
        }
        Backend::Virtiofs => validate_virtiofs(b, fs, mode),
    }
}

fn validate_virtiofs(
    b: &Builder<'_>,
    fs: &Filesystem,
    mode: Option<FsAccessMode>,
) -> Result<(), ArgvError> {
    let external = matches!(fs.source, Some(FsSource::Socket(_)));
    let driver = fs.driver.unwrap_or_default();
    if !external {
        if fs.readonly {
            return Err(unsupported("virtiofs does not yet support read-only mode"));
        }
        if mode != Some(FsAccessMode::Passthrough) {
            return Err(unsupported("virtiofs only supports passthrough accessmode"));
        }
        if driver.wrpolicy.is_some() {
            return Err(unsupported("virtiofs does not support wrpolicy"));
        }
    }
    if fs.model.is_some() {
        return Err(unsupported("virtiofs does not support model"));
    }
    if driver.format.is_some() {
        return Err(unsupported("virtiofs does not support format"));
    }
    if !b.caps.has_flag("vhost-user-fs") {
        return Err(unsupported(
            "virtiofs is not supported with this QEMU binary",
        ));
    }
    if fs.multidevs.is_some_and(|m| m != FsMultidevs::Default) {
        return Err(unsupported("virtiofs does not support multidevs"));
    }
    if fs.fmode.is_some_and(|m| m != 0) || fs.dmode.is_some_and(|m| m != 0) {
        return Err(unsupported("virtiofs does not support fmode and dmode"));
    }
    require_shared_memory(b, "virtiofs")?;
    if fs.info.boot.is_some() && !b.caps.has_flag("vhost-user-fs.bootindex") {
        return Err(unsupported(
            "setting virtiofs boot order is not supported with this QEMU binary",
        ));
    }
    Ok(())
}

/// A vhost-user backend maps guest RAM, so all of it must be shared: every NUMA cell (by its
/// own `memAccess` or the domain's `<memoryBacking><access>`), or without cells the whole RAM
/// (which needs the machine's memory backend object).
pub(crate) fn require_shared_memory(b: &Builder<'_>, what: &str) -> Result<(), ArgvError> {
    let refuse = || ArgvError::unsupported(format!("'{what}' requires shared memory"));
    let domain_shared = view::memory_backing(b.def).access.as_deref() == Some("shared");
    let cells = b
        .def
        .cpu
        .as_ref()
        .and_then(|c| c.numa.as_ref())
        .map(|n| n.cells.as_slice())
        .unwrap_or_default();
    if cells.is_empty() {
        let has_ram_id = b
            .caps
            .machine(&b.machine, b.accel)
            .is_some_and(|m| m.default_ram_id.is_some());
        if !(has_ram_id && domain_shared) {
            return Err(refuse());
        }
        return Ok(());
    }
    for cell in cells {
        match cell.mem_access {
            Some(MemAccess::Shared) => {}
            Some(MemAccess::Private) => return Err(refuse()),
            None if !domain_shared => return Err(refuse()),
            None => {}
        }
    }
    Ok(())
}

fn source_dir(fs: &Filesystem) -> Result<&str, ArgvError> {
    match &fs.source {
        Some(FsSource::Dir(d)) => Ok(d),
        _ => Err(ArgvError::Device {
            device: format!("filesystem '{}'", fs.target),
            reason: "a host directory (<source dir>) is required".into(),
        }),
    }
}

/// The virtio `-device` driver of a file system: `BASE-pci` (with the transitional suffixes)
/// on PCI, `BASE-ccw` and `BASE-device` on the other transports.
fn virtio_driver(fs: &Filesystem, base: &str) -> String {
    match fs.info.address {
        Some(Address::Ccw { .. }) => format!("{base}-ccw"),
        Some(Address::VirtioMmio) => format!("{base}-device"),
        _ => match fs.model {
            Some(VirtioModel::VirtioTransitional) => format!("{base}-pci-transitional"),
            Some(VirtioModel::VirtioNonTransitional) => format!("{base}-pci-non-transitional"),
            _ => format!("{base}-pci"),
        },
    }
}

/// The `-fsdev` value of a 9p export.
fn fsdev_value(fs: &Filesystem, backend: Backend, alias: &str) -> Result<String, ArgvError> {
    let mut s = String::new();
    if backend == Backend::Handle {
        s.push_str("handle");
    } else {
        s.push_str("local");
        match accessmode(fs) {
            Some(FsAccessMode::Mapped) => s.push_str(",security_model=mapped"),
            Some(FsAccessMode::Passthrough) => s.push_str(",security_model=passthrough"),
            Some(FsAccessMode::Squash) => s.push_str(",security_model=none"),
            None => {}
        }
        match fs.multidevs {
            Some(FsMultidevs::Remap) => s.push_str(",multidevs=remap"),
            Some(FsMultidevs::Forbid) => s.push_str(",multidevs=forbid"),
            Some(FsMultidevs::Warn) => s.push_str(",multidevs=warn"),
            Some(FsMultidevs::Default) | None => {}
        }
        if let Some(m) = fs.fmode.filter(|m| *m != 0) {
            s.push_str(&format!(",fmode={m:04o}"));
        }
        if let Some(m) = fs.dmode.filter(|m| *m != 0) {
            s.push_str(&format!(",dmode={m:04o}"));
        }
    }
    if let Some(w) = fs.driver.as_ref().and_then(|d| d.wrpolicy) {
        s.push_str(&format!(",writeout={}", w.as_str()));
    }
    s.push_str(&format!(",id=fsdev-{alias},path="));
    s.push_str(&escape_comma(source_dir(fs)?));
    if fs.readonly {
        s.push_str(",readonly");
    }
    Ok(s)
}

fn emit_9p(
    b: &mut Builder<'_>,
    fs: &Filesystem,
    backend: Backend,
    alias: &str,
) -> Result<(), ArgvError> {
    let fsdev = fsdev_value(fs, backend, alias)?;
    b.arg("-fsdev", fsdev);
    let driver = fs.driver.unwrap_or_default();
    let mut p = virtio_opts(
        Some(&driver.virtio),
        Props::new().str("driver", virtio_driver(fs, "virtio-9p")),
    )
    .str("id", alias)
    .str("fsdev", format!("fsdev-{alias}"))
    .str("mount_tag", fs.target.clone());
    push_address(b, &fs.info, &mut p)?;
    b.device(&p);
    Ok(())
}

fn emit_virtiofs(b: &mut Builder<'_>, fs: &Filesystem, alias: &str) -> Result<(), ArgvError> {
    let socket = match &fs.source {
        Some(FsSource::Socket(s)) => s.clone(),
        _ => b
            .host
            .state_dir
            .join(format!("{alias}-fs.sock"))
            .to_string_lossy()
            .into_owned(),
    };
    let chardev = format!("chr-vu-{alias}");
    b.arg(
        "-chardev",
        format!("socket,id={chardev},path={}", escape_comma(&socket)),
    );
    let driver = fs.driver.unwrap_or_default();
    let mut p = virtio_opts(
        Some(&driver.virtio),
        Props::new().str("driver", virtio_driver(fs, "vhost-user-fs")),
    )
    .str("id", alias)
    .str("chardev", chardev)
    .opt_uint(
        "queue-size",
        driver.queue.filter(|q| *q != 0).map(u64::from),
    )
    .str("tag", fs.target.clone())
    .opt_uint(
        "bootindex",
        fs.info.boot.as_ref().map(|o| u64::from(o.order)),
    );
    push_address(b, &fs.info, &mut p)?;
    b.device(&p);
    Ok(())
}
