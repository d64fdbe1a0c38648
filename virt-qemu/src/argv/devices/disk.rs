//! `<disk>`: floppy controller globals (`-global isa-fdc.bootindexA=...`), the `-blockdev` chain of
//! each disk (storage and format node of every image, backing links) and its frontend `-device`.
//!
//! Node names: every image of every disk gets a number (an empty drive takes one too); libvirt's
//! numbering walks the disks from the last to the first and each chain from the top down, so the
//! first disk holds the highest numbers and a backing image is one above the image it backs. The
//! nodes of a chain are written bottom first, then the disk's `-device`.

mod frontend;
mod secrets;
mod storage;

use virt_xml::devices::disk::{BackingStore, Disk, DiskBus, DiskDevice, DiskSource, SourceData};
use virt_xml::devices::disk::{
    CacheMode, DiscardMode, NetProtocol, ReservationsMode, StorageFormat,
};
use virt_xml::domain::OnOff;
use virt_xml::os::BootDev;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder, Chipset};
use crate::argv::props::Props;

use storage::{FormatOpts, NodeOpts};

pub(crate) use secrets::{lookup as lookup_secret, secret_object};

/// One image of a chain, top first.
struct Layer<'a> {
    source: &'a DiskSource,
    format: StorageFormat,
    metadata_cache: Option<u64>,
    backing: Option<&'a BackingStore>,
}

/// Whether the source names no data (an empty CD-ROM or floppy drive).
fn is_empty(src: &DiskSource) -> bool {
    match &src.data {
        SourceData::File { file, fdgroup } => file.is_none() && fdgroup.is_none(),
        SourceData::Block { dev } => dev.is_none(),
        SourceData::Dir { dir } => dir.is_none(),
        _ => false,
    }
}

/// Whether a disk whose chain is empty still takes a node number (an empty removable drive does:
/// its medium can be inserted later under that name).
fn takes_empty_number(disk: &Disk) -> bool {
    is_empty(&disk.source)
}

/// The images of the disk's chain, top first (empty for an empty drive or a vhost-user disk).
fn layers(disk: &Disk) -> Vec<Layer<'_>> {
    if is_empty(&disk.source) || matches!(disk.source.data, SourceData::Vhostuser { .. }) {
        return Vec::new();
    }
    let mut out = vec![Layer {
        source: &disk.source,
        format: disk.driver.format.unwrap_or(StorageFormat::Raw),
        metadata_cache: disk.driver.metadata_cache_max_size,
        backing: disk.backing_store.as_ref(),
    }];
    let mut next = disk.backing_store.as_ref();
    while let Some(BackingStore::Image(img)) = next {
        out.push(Layer {
            source: &img.source,
            format: img.format.map(|f| f.format).unwrap_or(StorageFormat::Raw),
            metadata_cache: img.format.and_then(|f| f.metadata_cache_max_size),
            backing: img.backing_store.as_ref(),
        });
        next = img.backing_store.as_ref();
    }
    out
}

/// The boot index each disk gets from `<os><boot dev>` when no device has its own order: the
/// first CD-ROM, the first floppy and the first disk/LUN take the position of their boot entry.
fn boot_indexes(b: &Builder<'_>, disks: &[(usize, &Disk)]) -> Vec<u32> {
    let (mut cd, mut fd, mut hd) = (0u32, 0u32, 0u32);
    if let Some(os) = &b.def.os_def {
        for (i, dev) in os.boot.iter().enumerate() {
            let pos = u32::try_from(i + 1).unwrap_or(u32::MAX);
            match dev {
                BootDev::Cdrom => cd = pos,
                BootDev::Fd => fd = pos,
                BootDev::Hd => hd = pos,
                BootDev::Network => {}
            }
        }
    }
    disks
        .iter()
        .map(|(_, d)| {
            if let Some(bo) = &d.info.boot {
                return bo.order;
            }
            let slot = match d.device {
                DiskDevice::Cdrom => &mut cd,
                DiskDevice::Floppy => &mut fd,
                DiskDevice::Disk | DiskDevice::Lun => &mut hd,
            };
            std::mem::take(slot)
        })
        .collect()
}

/// Boot indexes of the floppy drives go on the controller.
fn emit_floppy_controller(b: &mut Builder<'_>, disks: &[(usize, &Disk)], boot: &[u32]) {
    let (mut a, mut bb, mut any) = (0u32, 0u32, false);
    for ((_, d), idx) in disks.iter().zip(boot) {
        if d.target.bus != DiskBus::Fdc {
            continue;
        }
        any = true;
        let unit = match &d.info.address {
            Some(virt_xml::address::Address::Drive { unit, .. }) => unit.unwrap_or(0),
            _ => 0,
        };
        if unit != 0 {
            bb = *idx;
        } else {
            a = *idx;
        }
    }
    if !any {
        return;
    }
    if b.chipset == Chipset::Q35 {
        let mut p = Props::new().str("driver", "isa-fdc");
        if a > 0 {
            p = p.uint("bootindexA", u64::from(a));
        }
        if bb > 0 {
            p = p.uint("bootindexB", u64::from(bb));
        }
        b.device(&p);
    } else {
        if a > 0 {
            b.arg("-global", format!("isa-fdc.bootindexA={a}"));
        }
        if bb > 0 {
            b.arg("-global", format!("isa-fdc.bootindexB={bb}"));
        }
    }
}

/// The cache mode a disk's nodes get: its own, else `none` for a shareable writable disk (the
/// host page cache would hide the other users' writes).
fn effective_cache(disk: &Disk) -> Option<CacheMode> {
    disk.driver.cache.or_else(|| {
        (disk.shareable && !disk.readonly && disk.device != DiskDevice::Cdrom)
            .then_some(CacheMode::None)
    })
}

/// Refusals libvirt makes for one disk.
fn validate(disk: &Disk, chain: &[Layer<'_>]) -> Result<(), ArgvError> {
    let err = |reason: String| ArgvError::Unsupported(reason);
    for (i, layer) in chain.iter().enumerate() {
        match layer.format {
            StorageFormat::Iso => {
                return Err(err(
                    "storage format 'iso' is not directly supported by QEMU, use 'raw' instead"
                        .into(),
                ))
            }
            StorageFormat::Dir => {
                return Err(err(
                    "'directory' storage format is not directly supported by \
                     QEMU, use 'dir' disk type instead"
                        .into(),
                ))
            }
            StorageFormat::Cow => return Err(err("'cow' storage format is not supported".into())),
            _ => {}
        }
        secrets::validate(disk, layer.source, layer.format, i == 0)?;
    }
    if disk.shareable && !disk.readonly {
        if let Some(top) = chain.first() {
            if top.format != StorageFormat::Raw {
                return Err(err(format!(
                    "shared access for disk '{}' requires use of supported storage format",
                    disk.target.dev
                )));
            }
        }
    }
    // A target names a whole disk: trailing digits would name one of its partitions.
    let dev = disk.target.dev.as_str();
    let digits = dev.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    if digits.parse::<u32>().is_ok_and(|n| n > 0) {
        return Err(err(format!(
            "invalid disk target '{dev}', partitions can't appear in disk targets"
        )));
    }
    if disk.device == DiskDevice::Lun {
        validate_lun(disk, chain)?;
    }
    if (disk.vendor.is_some() || disk.product.is_some()) && disk.target.bus != DiskBus::Scsi {
        return Err(err("Only scsi disk supports vendor and product".into()));
    }
    Ok(())
}

/// A LUN passes SCSI commands through: its source must be a host block device (or an iSCSI
/// LUN), given as raw data.
fn validate_lun(disk: &Disk, chain: &[Layer<'_>]) -> Result<(), ArgvError> {
    let err = |reason: String| ArgvError::Unsupported(reason);
    match &disk.source.data {
        SourceData::Network(n) if n.protocol != NetProtocol::Iscsi => {
            return Err(err(format!(
                "disk device='lun' is not supported for protocol='{}'",
                n.protocol.as_str()
            )))
        }
        SourceData::Network(_) | SourceData::Block { .. } | SourceData::Volume { .. } => {}
        _ => {
            return Err(err(format!(
                "disk '{}': device='lun' needs a block device source",
                disk.target.dev
            )))
        }
    }
    if chain
        .first()
        .is_some_and(|top| top.format != StorageFormat::Raw)
    {
        return Err(err(format!(
            "disk '{}': device='lun' needs the 'raw' format",
            disk.target.dev
        )));
    }
    Ok(())
}

/// The `pr-manager-helper` object of the managed persistent-reservation helper (`pr-helper0`,
/// its socket in the guest's state directory), when a disk asks for it. libvirt writes it right
/// after the master key.
pub fn emit_managed_pr_helper(b: &mut Builder<'_>) {
    let managed = b.def.devices.iter().any(|d| match d {
        Device::Disk(disk) => layers(disk).iter().any(|l| {
            l.source
                .reservations
                .as_ref()
                .is_some_and(|r| r.managed.is_some_and(bool::from))
        }),
        _ => false,
    });
    if managed {
        let path = b.host.state_dir.join("pr-helper0.sock");
        b.object(
            &Props::new()
                .str("qom-type", "pr-manager-helper")
                .str("id", "pr-helper0")
                .str("path", path.to_string_lossy()),
        );
    }
}

/// Writes this family's options for every disk of `b.def`, in document order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    // A transient disk sharing its backing image gets its overlay after QEMU starts: it is
    // hot-plugged then, not written here (it still takes its boot position).
    // Storage pool volumes become the storage they stand for first (the XML keeps them).
    let resolved = def
        .devices
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            Device::Disk(disk) => Some((i, disk)),
            _ => None,
        })
        .map(|(i, disk)| Ok((i, crate::argv::volume::resolve_disk(b.host.volumes, disk)?)))
        .collect::<Result<Vec<_>, ArgvError>>()?;
    let disks: Vec<(usize, &Disk)> = resolved.iter().map(|(i, d)| (*i, d.as_ref())).collect();
    if disks.is_empty() {
        return Ok(());
    }
    let boot = boot_indexes(b, &disks);
    emit_floppy_controller(b, &disks, &boot);
    let hotplugged = |d: &Disk| d.transient == Some(true);
    let chains: Vec<Vec<Layer<'_>>> = disks
        .iter()
        .map(|(_, d)| {
            if hotplugged(d) || d.target.bus == DiskBus::Sd {
                Vec::new()
            } else {
                layers(d)
            }
        })
        .collect();
    for ((_, d), c) in disks.iter().zip(&chains) {
        validate(d, c)?;
    }
    // Numbers: from the last disk to the first, each chain top down.
    let mut base = vec![0usize; chains.len()];
    let mut n = 0usize;
    for (i, c) in chains.iter().enumerate().rev() {
        base[i] = n;
        let sd = disks[i].1.target.bus == DiskBus::Sd;
        n += c
            .len()
            .max(usize::from(!sd && takes_empty_number(disks[i].1)));
    }
    for (k, ((index, disk), chain)) in disks.iter().zip(&chains).enumerate() {
        if hotplugged(disk) {
            continue;
        }
        if disk.target.bus == DiskBus::Sd {
            let drive = sd_drive(disk)?;
            b.arg("-drive", drive);
            continue;
        }
        let alias = b.alias(*index).to_string();
        if let SourceData::Vhostuser { path, reconnect } = &disk.source.data {
            let mut c = format!(
                "socket,id=chr-vu-{alias},path={}",
                crate::argv::props::escape_comma(path.as_deref().unwrap_or_default())
            );
            if let Some(r) = reconnect.filter(|r| r.enabled) {
                c.push_str(&format!(",reconnect={}", r.timeout.unwrap_or(0)));
            }
            b.arg("-chardev", c);
        }
        let mut top = emit_chain(b, disk, chain, base[k])?;
        if let (Some(file), Some(OnOff::On)) = (&top, disk.driver.copy_on_read) {
            let node = format!("libvirt-CoR-{}", disk.target.dev);
            b.blockdev(
                &Props::new()
                    .str("driver", "copy-on-read")
                    .str("node-name", node.clone())
                    .str("file", file.clone())
                    .str("discard", "unmap"),
            );
            top = Some(node);
        }
        let dev = frontend::device_props(b, disk, &alias, top.as_deref(), boot[k])?;
        b.device(&dev);
    }
    Ok(())
}

/// The card's position among the SD slots: its target name's letters after `sd` (or another
/// disk prefix) counted in base 26 (`a` = 0, `z` = 25, `aa` = 26).
fn sd_slot(dev: &str) -> Option<u32> {
    if !dev.bytes().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let tail = ["xvd", "ubd", "hd", "sd", "vd", "fd"]
        .iter()
        .find_map(|p| dev.strip_prefix(p))
        .filter(|t| !t.is_empty())?;
    let mut n: u32 = 0;
    for c in tail.bytes() {
        n = n.checked_mul(26)?.checked_add(u32::from(c - b'a') + 1)?;
    }
    Some(n - 1)
}

/// An SD card: QEMU has no `-device` for it, so it is a legacy `-drive if=sd` naming the image
/// directly (local files and block devices only).
fn sd_drive(disk: &Disk) -> Result<String, ArgvError> {
    let dev = disk.target.dev.as_str();
    let unsupported =
        |what: &str| ArgvError::Unsupported(format!("disk '{dev}': an SD card needs {what}"));
    let mut out = match &disk.source.data {
        SourceData::File {
            file: Some(path), ..
        }
        | SourceData::Block { dev: Some(path) } => format!(
            "file={},format={},",
            crate::argv::props::escape_comma(path),
            disk.driver.format.unwrap_or(StorageFormat::Raw).as_str()
        ),
        SourceData::Dir { dir: Some(path) } => {
            format!("file=fat:{},", crate::argv::props::escape_comma(path))
        }
        _ => {
            return Err(unsupported(
                "a local file, block device or directory source",
            ))
        }
    };
    let slot = sd_slot(dev).ok_or_else(|| unsupported("a target name like 'sda'"))?;
    out.push_str(&format!("if=sd,index={slot}"));
    if disk.readonly {
        out.push_str(",readonly=on");
    }
    let dr = &disk.driver;
    if let Some(c) = dr.cache.filter(|c| *c != CacheMode::Default) {
        out.push_str(&format!(",cache={}", c.as_str()));
    }
    if let Some(v) = dr.copy_on_read {
        out.push_str(&format!(",copy-on-read={}", v.as_str()));
    }
    if let Some(d) = dr.discard {
        out.push_str(&format!(",discard={}", d.as_str()));
    }
    if let Some(z) = dr.detect_zeroes {
        // Unmapping zeroes needs discard=unmap; without it QEMU only detects them.
        let z = match z.as_str() {
            "unmap" if dr.discard != Some(DiscardMode::Unmap) => "on",
            other => other,
        };
        out.push_str(&format!(",detect-zeroes={z}"));
    }
    if let Some(io) = dr.io {
        out.push_str(&format!(",aio={}", io.as_str()));
    }
    Ok(out)
}

/// Writes the nodes of one chain, bottom first; returns the top format node's name.
fn emit_chain(
    b: &mut Builder<'_>,
    disk: &Disk,
    chain: &[Layer<'_>],
    base: usize,
) -> Result<Option<String>, ArgvError> {
    let name = |i: usize| format!("libvirt-{}", base + i + 1);
    // A CD-ROM is read-only whether or not <readonly/> is given.
    let read_only = disk.readonly || disk.device == DiskDevice::Cdrom;
    for (i, layer) in chain.iter().enumerate().rev() {
        let prefix = name(i);
        let storage_node = format!("{prefix}-storage");
        let format_node = format!("{prefix}-format");
        if let Some(r) = &layer.source.reservations {
            let managed = r.managed.is_some_and(bool::from);
            if !managed && r.mode == Some(ReservationsMode::Client) {
                if let Some(path) = &r.socket {
                    b.object(
                        &Props::new()
                            .str("qom-type", "pr-manager-helper")
                            .str("id", format!("pr-helper-{storage_node}"))
                            .str("path", path.clone()),
                    );
                }
            }
        }
        let sec = secrets::emit(b, disk, layer.source, i == 0, &storage_node, &format_node)?;
        let cache = effective_cache(disk);
        let opts = NodeOpts {
            cache,
            io: disk.driver.io,
            cdrom: disk.device == DiskDevice::Cdrom,
            floppy: disk.device == DiskDevice::Floppy,
            readonly: read_only || i > 0,
        };
        let sp = storage::storage_props(layer.source, &storage_node, &opts, &sec)?;
        b.blockdev(&sp);
        let luks_secret = sec.encryption.clone().filter(|_| !sec.encryption_by_librbd);
        let luks_raw = luks_secret.is_some() && !storage::has_backing(layer.format);
        let slice = layer.source.slice.map(|s| (s.offset, s.size));
        let mut file = storage_node.clone();
        if let Some(range) = slice.filter(|_| storage::slice_needs_node(layer.format, luks_raw)) {
            let node = format!("{prefix}-slice-sto");
            b.blockdev(&storage::slice_props(&node, &storage_node, range, cache));
            file = node;
        }
        let backing = match layer.backing {
            None => None,
            Some(BackingStore::End) => Some(None),
            Some(BackingStore::Image(_)) => Some(Some(format!("{}-format", name(i + 1)))),
        };
        let fp = storage::format_props(&FormatOpts {
            node: &format_node,
            readonly: read_only || i > 0,
            discard: if i == 0 { disk.driver.discard } else { None },
            detect_zeroes: if i == 0 {
                disk.driver.detect_zeroes
            } else {
                None
            },
            cache,
            format: layer.format,
            metadata_cache: layer.metadata_cache,
            file: &file,
            slice,
            backing,
            luks_secret,
        })?;
        b.blockdev(&fp);
    }
    Ok(chain.first().map(|_| format!("{}-format", name(0))))
}
