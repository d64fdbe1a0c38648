//! Disks whose source is a storage pool volume (`<disk type='volume'><source pool volume mode>`).
//!
//! A volume is only a name; before the command line can be written it is turned into the storage
//! it stands for, from the pool's definition and the volume's kind and path:
//! - pools of local storage (dir, fs, netfs, logical, disk, scsi, zfs, vstorage): the volume's
//!   path, as a file, directory or block device by the volume's kind;
//! - iSCSI pools: `mode='host'` (the default) is the block device the host's initiator made,
//!   `mode='direct'` is QEMU's own iSCSI login to the pool's host and target, with the LUN from
//!   the volume name `unit:B:T:LUN` and the pool's login (the disk's own `<auth>` is dropped);
//! - iscsi-direct pools: always the direct form;
//! - other pools (mpath, rbd, sheepdog, gluster) are refused.
//!
//! The resolution happens when the command line is built: the domain XML keeps its volume.
//! Where the pools come from is [`VolumeSource`] in the host context: the runtime has no storage
//! driver yet and refuses such disks by name; libvirt's test program has a fixed set of pools.

use std::borrow::Cow;

use virt_xml::devices::disk::{
    Auth, AuthSecretType, BackingStore, Disk, DiskSource, NetHost, NetProtocol, NetworkSource,
    SecretLookup, SourceData, VolumeMode,
};
use virt_xml::Uuid;

use crate::argv::builder::ArgvError;

/// Where the storage pools that volume disks name are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeSource {
    /// No storage driver: every volume disk is refused, naming the disk, pool and volume.
    None,
    /// The fake storage driver of libvirt's `qemuxml2argvtest`: the pools of its pool test
    /// data, a pool named `inactive` that is not running, and volumes named `KIND+NAME` (or just
    /// `NAME`, a block volume) with the path `/some/KIND/device/NAME`; `nonexistent` is missing.
    LibvirtTestHarness,
}

/// The kind of a storage pool, as far as volume disks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Dir,
    Fs,
    Netfs,
    Logical,
    Disk,
    Scsi,
    Zfs,
    Vstorage,
    Iscsi,
    IscsiDirect,
    Mpath,
    Rbd,
    Sheepdog,
    Gluster,
}

impl PoolKind {
    /// libvirt's name of the pool type.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolKind::Dir => "dir",
            PoolKind::Fs => "fs",
            PoolKind::Netfs => "netfs",
            PoolKind::Logical => "logical",
            PoolKind::Disk => "disk",
            PoolKind::Scsi => "scsi",
            PoolKind::Zfs => "zfs",
            PoolKind::Vstorage => "vstorage",
            PoolKind::Iscsi => "iscsi",
            PoolKind::IscsiDirect => "iscsi-direct",
            PoolKind::Mpath => "mpath",
            PoolKind::Rbd => "rbd",
            PoolKind::Sheepdog => "sheepdog",
            PoolKind::Gluster => "gluster",
        }
    }
}

/// The kind of a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeKind {
    File,
    Block,
    Dir,
    Network,
    Netdir,
    Ploop,
}

impl VolumeKind {
    /// Parses libvirt's volume type name.
    pub fn parse(s: &str) -> Option<VolumeKind> {
        Some(match s {
            "file" => VolumeKind::File,
            "block" => VolumeKind::Block,
            "dir" => VolumeKind::Dir,
            "network" => VolumeKind::Network,
            "netdir" => VolumeKind::Netdir,
            "ploop" => VolumeKind::Ploop,
            _ => return None,
        })
    }

    /// libvirt's name of the volume type.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeKind::File => "file",
            VolumeKind::Block => "block",
            VolumeKind::Dir => "dir",
            VolumeKind::Network => "network",
            VolumeKind::Netdir => "netdir",
            VolumeKind::Ploop => "ploop",
        }
    }
}

/// The login a pool's `<source><auth>` gives (CHAP user and its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolAuth {
    pub username: String,
    pub secret: SecretLookup,
}

/// What a pool's definition says that volume disks use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDef {
    pub kind: PoolKind,
    pub active: bool,
    /// `<source><host name port>`.
    pub hosts: Vec<(String, Option<u32>)>,
    /// `<source><device path>` (the iSCSI target).
    pub device_path: Option<String>,
    pub auth: Option<PoolAuth>,
    /// `<source><initiator><iqn name>`.
    pub initiator_iqn: Option<String>,
}

/// One volume of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    pub kind: VolumeKind,
    pub path: String,
}

fn local_pool(kind: PoolKind) -> PoolDef {
    PoolDef {
        kind,
        active: true,
        hosts: Vec::new(),
        device_path: None,
        auth: None,
        initiator_iqn: None,
    }
}

fn iscsi_pool(kind: PoolKind, target: &str) -> PoolDef {
    PoolDef {
        hosts: vec![("iscsi.example.com".into(), None)],
        device_path: Some(target.into()),
        ..local_pool(kind)
    }
}

fn chap(user: &str, uuid: &str) -> Option<PoolAuth> {
    let uuid: Uuid = uuid.parse().ok()?;
    Some(PoolAuth {
        username: user.into(),
        secret: SecretLookup::Uuid(uuid),
    })
}

/// The pools of libvirt's pool test data that its argv test program serves.
fn harness_pool(name: &str) -> Option<PoolDef> {
    const DIRECT_TARGET: &str = "iqn.2013-06.com.example:iscsi-pool";
    const DIRECT_INITIATOR: &str = "iqn.2013-06.com.example:iscsi-initiator";
    Some(match name {
        "inactive" => PoolDef {
            active: false,
            ..local_pool(PoolKind::Dir)
        },
        "pool-dir" | "pool-dir-naming" | "pool-dir-cow" => local_pool(PoolKind::Dir),
        "pool-disk" | "pool-disk-device-nopartsep" => local_pool(PoolKind::Disk),
        "pool-fs" => local_pool(PoolKind::Fs),
        "pool-netfs" => local_pool(PoolKind::Netfs),
        "pool-logical" => local_pool(PoolKind::Logical),
        "pool-scsi" => local_pool(PoolKind::Scsi),
        "pool-zfs" => local_pool(PoolKind::Zfs),
        "pool-vstorage" => local_pool(PoolKind::Vstorage),
        "pool-mpath" => local_pool(PoolKind::Mpath),
        "pool-rbd" => local_pool(PoolKind::Rbd),
        "pool-gluster" => local_pool(PoolKind::Gluster),
        "pool-iscsi" => iscsi_pool(PoolKind::Iscsi, "demo-target"),
        "pool-iscsi-auth" => PoolDef {
            auth: chap("admin", "2ec115d7-3a88-3ceb-bc12-0ac909a6fd87"),
            ..iscsi_pool(PoolKind::Iscsi, "demo-target")
        },
        "pool-iscsi-multiiqn" => PoolDef {
            initiator_iqn: Some("initiator0".into()),
            ..iscsi_pool(PoolKind::Iscsi, "demo-target")
        },
        "pool-iscsi-direct" => PoolDef {
            initiator_iqn: Some(DIRECT_INITIATOR.into()),
            ..iscsi_pool(PoolKind::IscsiDirect, DIRECT_TARGET)
        },
        "pool-iscsi-direct-auth" => PoolDef {
            initiator_iqn: Some(DIRECT_INITIATOR.into()),
            auth: chap("user", "10ed4ad4-c7b0-4696-b574-b40e04fea84b"),
            ..iscsi_pool(PoolKind::IscsiDirect, DIRECT_TARGET)
        },
        _ => return None,
    })
}

/// Why a volume cannot be used.
fn refuse(disk: &Disk, reason: impl Into<String>) -> ArgvError {
    ArgvError::Device {
        device: format!("disk '{}'", disk.target.dev),
        reason: reason.into(),
    }
}

impl VolumeSource {
    /// The pool named `name`.
    fn pool(self, disk: &Disk, name: &str, volume: &str) -> Result<PoolDef, ArgvError> {
        match self {
            VolumeSource::None => Err(refuse(
                disk,
                format!(
                    "storage pool '{name}' volume '{volume}' cannot be resolved: \
                     this host has no storage pools"
                ),
            )),
            VolumeSource::LibvirtTestHarness => harness_pool(name).ok_or_else(|| {
                refuse(disk, format!("no storage pool with matching name '{name}'"))
            }),
        }
    }

    /// The volume named `name` in the (active) pool `pool`.
    fn volume(self, disk: &Disk, name: &str) -> Result<VolumeInfo, ArgvError> {
        match self {
            VolumeSource::None => Err(refuse(disk, format!("no storage vol '{name}'"))),
            VolumeSource::LibvirtTestHarness => {
                if name == "nonexistent" {
                    return Err(refuse(
                        disk,
                        format!("no storage vol with matching name '{name}'"),
                    ));
                }
                let (kind, vol) = match name.split_once('+') {
                    Some((k, v)) => (
                        VolumeKind::parse(k)
                            .ok_or_else(|| refuse(disk, format!("invalid volume type '{k}'")))?,
                        v,
                    ),
                    None => (VolumeKind::Block, name),
                };
                Ok(VolumeInfo {
                    kind,
                    path: format!("/some/{}/device/{vol}", kind.as_str()),
                })
            }
        }
    }
}

/// The direct iSCSI source of volume `volume` (`unit:B:T:LUN`) of an iSCSI pool.
fn iscsi_direct(disk: &Disk, pool: &PoolDef, volume: &str) -> Result<SourceData, ArgvError> {
    let [(host, port)] = pool.hosts.as_slice() else {
        return Err(refuse(disk, "expected exactly 1 host for the storage pool"));
    };
    let parts: Vec<&str> = volume.split(':').collect();
    let [_, _, _, lun] = parts.as_slice() else {
        return Err(refuse(
            disk,
            format!("unexpected iscsi volume name '{volume}'"),
        ));
    };
    let target = pool.device_path.as_deref().unwrap_or_default();
    let mut net = NetworkSource::new(NetProtocol::Iscsi);
    net.name = Some(format!("{target}/{lun}"));
    net.hosts = vec![NetHost {
        transport: virt_xml::devices::disk::HostTransport::Tcp,
        name: Some(host.clone()),
        port: Some(port.unwrap_or(3260)),
        socket: None,
    }];
    net.initiator_iqn = pool.initiator_iqn.clone();
    Ok(SourceData::Network(Box::new(net)))
}

/// The storage a volume source stands for, or `None` when `src` is no volume. An empty volume
/// source (no pool or volume) is an empty drive.
fn resolve_source(
    from: VolumeSource,
    disk: &Disk,
    src: &DiskSource,
) -> Result<Option<DiskSource>, ArgvError> {
    let SourceData::Volume { pool, volume, mode } = &src.data else {
        return Ok(None);
    };
    let mut out = src.clone();
    out.auth = None;
    let (Some(pool_name), Some(vol_name)) = (pool, volume) else {
        out.data = SourceData::Block { dev: None };
        return Ok(Some(out));
    };
    let def = from.pool(disk, pool_name, vol_name)?;
    if !def.active {
        return Err(ArgvError::Unsupported(format!(
            "storage pool '{pool_name}' containing volume '{vol_name}' is not active"
        )));
    }
    let vol = from.volume(disk, vol_name)?;
    if mode.is_some() && def.kind != PoolKind::Iscsi {
        return Err(refuse(
            disk,
            "disk source mode is only valid when storage pool is of iscsi type",
        ));
    }
    let direct = |out: &mut DiskSource| -> Result<(), ArgvError> {
        out.data = iscsi_direct(disk, &def, vol_name)?;
        out.auth = def.auth.as_ref().map(|a| Auth {
            username: a.username.clone(),
            secret_type: AuthSecretType::Iscsi,
            secret: a.secret.clone(),
        });
        Ok(())
    };
    match def.kind {
        PoolKind::Dir
        | PoolKind::Fs
        | PoolKind::Netfs
        | PoolKind::Logical
        | PoolKind::Disk
        | PoolKind::Scsi
        | PoolKind::Zfs
        | PoolKind::Vstorage => {
            let path = Some(vol.path);
            out.data = match vol.kind {
                VolumeKind::File | VolumeKind::Ploop => SourceData::File {
                    file: path,
                    fdgroup: None,
                },
                VolumeKind::Dir => SourceData::Dir { dir: path },
                VolumeKind::Block => SourceData::Block { dev: path },
                VolumeKind::Network | VolumeKind::Netdir => {
                    return Err(refuse(
                        disk,
                        format!(
                            "unexpected storage volume type '{}' for storage pool type '{}'",
                            vol.kind.as_str(),
                            def.kind.as_str()
                        ),
                    ))
                }
            };
        }
        PoolKind::IscsiDirect => direct(&mut out)?,
        PoolKind::Iscsi => match mode.unwrap_or(VolumeMode::Host) {
            VolumeMode::Host => {
                out.data = SourceData::Block {
                    dev: Some(vol.path),
                }
            }
            VolumeMode::Direct => direct(&mut out)?,
        },
        PoolKind::Mpath | PoolKind::Rbd | PoolKind::Sheepdog | PoolKind::Gluster => {
            return Err(ArgvError::Unsupported(format!(
                "using '{}' pools for backing 'volume' disks isn't yet supported",
                def.kind.as_str()
            )))
        }
    }
    Ok(Some(out))
}

/// The disk with every volume of its chain turned into the storage it stands for; the disk
/// itself when it has none. The disk's own `<auth>` belongs to its top image and goes with a
/// resolved top volume (a direct iSCSI volume logs in with the pool's credentials).
pub fn resolve_disk(from: VolumeSource, disk: &Disk) -> Result<Cow<'_, Disk>, ArgvError> {
    let mut out: Option<Disk> = None;
    if let Some(top) = resolve_source(from, disk, &disk.source)? {
        let d = out.get_or_insert_with(|| disk.clone());
        d.source = top;
        d.auth = None;
    }
    let mut depth = 0usize;
    let mut next = disk.backing_store.as_ref();
    while let Some(BackingStore::Image(img)) = next {
        if let Some(src) = resolve_source(from, disk, &img.source)? {
            let d = out.get_or_insert_with(|| disk.clone());
            if let Some(slot) = backing_image_mut(d, depth) {
                slot.source = src;
            }
        }
        depth += 1;
        next = img.backing_store.as_ref();
    }
    Ok(out.map_or(Cow::Borrowed(disk), Cow::Owned))
}

/// The backing image `depth` levels below the top of `disk`'s chain.
fn backing_image_mut(
    disk: &mut Disk,
    depth: usize,
) -> Option<&mut virt_xml::devices::disk::BackingImage> {
    let mut cur = match disk.backing_store.as_mut() {
        Some(BackingStore::Image(img)) => img,
        _ => return None,
    };
    for _ in 0..depth {
        cur = match cur.backing_store.as_mut() {
            Some(BackingStore::Image(img)) => img,
            _ => return None,
        };
    }
    Some(cur)
}
