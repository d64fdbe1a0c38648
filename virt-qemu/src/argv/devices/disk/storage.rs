//! The `-blockdev` nodes of one image: the storage (protocol) node and the format node, with
//! their node names (`libvirt-N-storage`, `libvirt-N-format`).

use virt_xml::devices::disk::{
    CacheMode, DetectZeroes, DiscardMode, DiskSource, HostTransport, IoMode, NetProtocol,
    NetworkSource, SourceData, StorageFormat,
};

use super::secrets::LayerSecrets;
use crate::argv::builder::ArgvError;
use crate::argv::props::{Props, Value};

/// The settings of the disk that reach its nodes.
pub(super) struct NodeOpts {
    pub cache: Option<CacheMode>,
    pub io: Option<IoMode>,
    pub cdrom: bool,
    pub floppy: bool,
    pub readonly: bool,
}

/// (writeback, direct, no-flush) of a cache mode.
pub(super) fn cache_flags(mode: CacheMode) -> (bool, bool, bool) {
    match mode {
        CacheMode::None => (true, true, false),
        CacheMode::Writeback | CacheMode::Default => (true, false, false),
        CacheMode::Writethrough => (false, false, false),
        CacheMode::Directsync => (false, true, false),
        CacheMode::Unsafe => (true, false, true),
    }
}

fn cache_obj(mode: CacheMode) -> Props {
    let (_, direct, noflush) = cache_flags(mode);
    Props::new()
        .bool("direct", direct)
        .bool("no-flush", noflush)
}

fn unsupported(what: String) -> ArgvError {
    ArgvError::unsupported(what)
}

fn inet_port(port: Option<u32>, default: u32) -> String {
    port.unwrap_or(default).to_string()
}

fn server_obj(h: &virt_xml::devices::disk::NetHost, default_port: u32, typed: bool) -> Props {
    let mut p = Props::new();
    if h.transport == HostTransport::Unix {
        p = p.str("type", "unix");
        p = p.opt_str("path", h.socket.clone());
    } else {
        if typed {
            p = p.str("type", "inet");
        }
        p = p
            .opt_str("host", h.name.clone())
            .str("port", inet_port(h.port, default_port));
    }
    p
}

/// The protocol-specific keys of a network source (before `node-name`).
fn network(net: &NetworkSource, sec: &LayerSecrets) -> Result<Props, ArgvError> {
    let name = net.name.clone().unwrap_or_default();
    let first = net.hosts.first();
    let mut p = Props::new();
    match net.protocol {
        NetProtocol::Nbd => {
            p = p.str("driver", "nbd");
            if let Some(h) = first {
                p = p.obj("server", server_obj(h, 10809, true));
            }
            if !name.is_empty() {
                p = p.str("export", name);
            }
            if let Some(creds) = &sec.tls_creds {
                p = p
                    .str("tls-creds", creds.clone())
                    .opt_str("tls-hostname", net.tls_hostname.clone());
            }
        }
        NetProtocol::Gluster => {
            let (vol, path) = name.split_once('/').unwrap_or((name.as_str(), ""));
            let servers: Vec<Value> = net
                .hosts
                .iter()
                .map(|h| Value::Obj(server_obj(h, 24007, true)))
                .collect();
            p = p
                .str("driver", "gluster")
                .str("volume", vol)
                .str("path", path)
                .add("server", Value::Arr(servers))
                .uint("debug", 4);
        }
        NetProtocol::Iscsi => {
            let h = first.ok_or_else(|| unsupported("iSCSI source needs a host".into()))?;
            let portal = format!(
                "{}:{}",
                h.name.clone().unwrap_or_default(),
                inet_port(h.port, 3260)
            );
            let (target, lun) = match name.rsplit_once('/') {
                Some((t, l)) => (t.to_string(), l.parse::<u64>().unwrap_or(0)),
                None => (name.clone(), 0),
            };
            p = p
                .str("driver", "iscsi")
                .str("portal", portal)
                .str("target", target)
                .uint("lun", lun)
                .str("transport", "tcp");
            if let Some((user, id)) = &sec.auth {
                p = p
                    .str("user", user.clone())
                    .str("password-secret", id.clone());
            }
            p = p.opt_str("initiator-name", net.initiator_iqn.clone());
        }
        NetProtocol::Rbd => {
            let (pool, image) = name.split_once('/').unwrap_or((name.as_str(), ""));
            p = p
                .str("driver", "rbd")
                .str("pool", pool)
                .str("image", image)
                .opt_str("snapshot", net.snapshot.clone())
                .opt_str("conf", net.config_file.clone());
            if !net.hosts.is_empty() {
                let servers: Vec<Value> = net
                    .hosts
                    .iter()
                    .map(|h| {
                        let mut s = Props::new().opt_str("host", h.name.clone());
                        if let Some(port) = h.port {
                            s = s.str("port", port.to_string());
                        }
                        Value::Obj(s)
                    })
                    .collect();
                p = p.add("server", Value::Arr(servers));
            }
            if let (Some(id), true) = (&sec.encryption, sec.encryption_by_librbd) {
                let format = sec.encryption_format.map(|f| f.as_str()).unwrap_or("luks");
                p = p.obj(
                    "encrypt",
                    Props::new()
                        .str("format", format)
                        .str("key-secret", id.clone()),
                );
            }
            if let Some((user, id)) = &sec.auth {
                p = p
                    .str("user", user.clone())
                    .add(
                        "auth-client-required",
                        Value::Arr(vec![Value::Str("cephx".into()), Value::Str("none".into())]),
                    )
                    .str("key-secret", id.clone());
            }
        }
        NetProtocol::Http | NetProtocol::Https | NetProtocol::Ftp | NetProtocol::Ftps => {
            let scheme = net.protocol.as_str();
            let default = match net.protocol {
                NetProtocol::Http => 80,
                NetProtocol::Https => 443,
                NetProtocol::Ftp => 21,
                _ => 990,
            };
            let h = first.ok_or_else(|| unsupported(format!("{scheme} source needs a host")))?;
            let path = if name.starts_with('/') {
                name.clone()
            } else {
                format!("/{name}")
            };
            let mut url = format!(
                "{scheme}://{}:{}{path}",
                h.name.clone().unwrap_or_default(),
                inet_port(h.port, default)
            );
            if let Some(q) = &net.query {
                url.push('?');
                url.push_str(q);
            }
            p = p.str("driver", scheme).str("url", url);
            if let Some((user, id)) = &sec.auth {
                p = p
                    .str("username", user.clone())
                    .str("password-secret", id.clone());
            }
            if let Some(v) = net.ssl_verify {
                p = p.bool("sslverify", bool::from(v));
            }
            if let Some(id) = &sec.cookie {
                p = p.str("cookie-secret", id.clone());
            }
            if let Some(t) = net.timeout.filter(|t| *t > 0) {
                p = p.uint("timeout", t);
            }
            if let Some(r) = net.readahead.filter(|r| *r > 0) {
                p = p.uint("readahead", r);
            }
        }
        NetProtocol::Nfs => {
            let h = first.ok_or_else(|| unsupported("NFS source needs a host".into()))?;
            p = p
                .str("driver", "nfs")
                .obj(
                    "server",
                    Props::new()
                        .opt_str("host", h.name.clone())
                        .str("type", "inet"),
                )
                .str("path", name);
            if let Some(u) = net.nfs_user.as_deref().and_then(nfs_id) {
                p = p.uint("user", u);
            }
            if let Some(g) = net.nfs_group.as_deref().and_then(nfs_id) {
                p = p.uint("group", g);
            }
        }
        other => {
            return Err(unsupported(format!(
                "disk protocol '{}' is not supported by this QEMU",
                other.as_str()
            )))
        }
    }
    Ok(p)
}

/// Whether a host block device is an optical drive (`/dev/cdrom*`, `/dev/sr*`): QEMU's
/// `host_cdrom` driver then tracks its tray.
fn is_host_cdrom(dev: &str) -> bool {
    dev.starts_with("/dev/cdrom") || dev.starts_with("/dev/sr")
}

/// `+N` numeric ids only (names would need the host's user database).
fn nfs_id(s: &str) -> Option<u64> {
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

/// The storage node of `src`, named `node`.
pub(super) fn storage_props(
    src: &DiskSource,
    node: &str,
    o: &NodeOpts,
    sec: &LayerSecrets,
) -> Result<Props, ArgvError> {
    let mut p = match &src.data {
        SourceData::File { file, .. } => Props::new()
            .str("driver", "file")
            .str("filename", file.clone().unwrap_or_default()),
        SourceData::Block { dev } => Props::new()
            .str(
                "driver",
                if o.cdrom && dev.as_deref().is_some_and(is_host_cdrom) {
                    "host_cdrom"
                } else {
                    "host_device"
                },
            )
            .str("filename", dev.clone().unwrap_or_default()),
        SourceData::Dir { dir } => Props::new()
            .str("driver", "vvfat")
            .str("dir", dir.clone().unwrap_or_default())
            .bool("floppy", o.floppy)
            .bool("rw", !o.readonly),
        SourceData::Network(net) => network(net, sec)?,
        SourceData::Nvme {
            namespace, address, ..
        } => {
            let a = address.ok_or_else(|| unsupported("NVMe source needs an address".into()))?;
            Props::new()
                .str("driver", "nvme")
                .str(
                    "device",
                    format!(
                        "{:04x}:{:02x}:{:02x}.{:x}",
                        a.domain, a.bus, a.slot, a.function
                    ),
                )
                .uint("namespace", *namespace)
        }
        SourceData::Volume { .. } => {
            return Err(unsupported(
                "storage pool volumes need the storage driver to resolve".into(),
            ))
        }
        SourceData::Vhostuser { .. } => {
            return Err(unsupported("vhost-user disks have no storage node".into()))
        }
    };
    if matches!(src.data, SourceData::File { .. } | SourceData::Block { .. }) {
        if let Some(io) = o.io {
            p = p.str("aio", io.as_str());
        }
        if let Some(r) = &src.reservations {
            if r.managed.is_some_and(bool::from) {
                p = p.str("pr-manager", "pr-helper0");
            } else {
                p = p.str("pr-manager", format!("pr-helper-{node}"));
            }
        }
    }
    p = p.str("node-name", node);
    if let Some(c) = o.cache {
        p = p.obj("cache", cache_obj(c));
    }
    Ok(p.bool("auto-read-only", true).str("discard", "unmap"))
}

/// Whether this format keeps a backing-file link.
pub(super) fn has_backing(f: StorageFormat) -> bool {
    matches!(
        f,
        StorageFormat::Qcow2
            | StorageFormat::Qcow
            | StorageFormat::Qed
            | StorageFormat::Vmdk
            | StorageFormat::Cow
    )
}

/// QEMU's driver name of an image format.
pub(super) fn format_driver(f: StorageFormat) -> Result<&'static str, ArgvError> {
    Ok(match f {
        StorageFormat::Raw | StorageFormat::Iso | StorageFormat::Fat => "raw",
        StorageFormat::Qcow2 => "qcow2",
        StorageFormat::Qcow => "qcow",
        StorageFormat::Qed => "qed",
        StorageFormat::Vmdk => "vmdk",
        StorageFormat::Luks => "luks",
        StorageFormat::Vpc => "vpc",
        StorageFormat::Vdi => "vdi",
        StorageFormat::Bochs => "bochs",
        StorageFormat::Cloop => "cloop",
        StorageFormat::Dmg => "dmg",
        StorageFormat::Vhd => "vhdx",
        StorageFormat::Ploop => "parallels",
        other => {
            return Err(unsupported(format!(
                "image format '{}' is not supported by QEMU",
                other.as_str()
            )))
        }
    })
}

/// What the format node of one layer carries.
pub(super) struct FormatOpts<'a> {
    pub node: &'a str,
    pub readonly: bool,
    pub discard: Option<DiscardMode>,
    pub detect_zeroes: Option<DetectZeroes>,
    pub cache: Option<CacheMode>,
    pub format: StorageFormat,
    pub metadata_cache: Option<u64>,
    pub file: &'a str,
    /// `<slice type='storage' offset size>` of a raw image.
    pub slice: Option<(u64, u64)>,
    /// `None`: no key; `Some(None)`: `null`; `Some(Some(n))`: the backing node.
    pub backing: Option<Option<String>>,
    /// The id of the LUKS passphrase secret when QEMU decrypts the image.
    pub luks_secret: Option<String>,
}

/// Whether the slice of an image needs its own `raw` node under the format node (any format
/// but plain raw); plain raw images take the slice's offset and size on the format node.
pub(super) fn slice_needs_node(format: StorageFormat, luks: bool) -> bool {
    luks || !matches!(
        format,
        StorageFormat::Raw | StorageFormat::Iso | StorageFormat::Fat
    )
}

/// The `raw` node that exposes the slice `(offset, size)` of the storage node `file`.
pub(super) fn slice_props(
    node: &str,
    file: &str,
    (offset, size): (u64, u64),
    cache: Option<CacheMode>,
) -> Props {
    let mut p = Props::new()
        .str("driver", "raw")
        .str("node-name", node)
        .uint("offset", offset)
        .uint("size", size)
        .str("file", file)
        .bool("auto-read-only", true)
        .str("discard", "unmap");
    if let Some(c) = cache {
        p = p.obj("cache", cache_obj(c));
    }
    p
}

/// The format node.
pub(super) fn format_props(o: &FormatOpts<'_>) -> Result<Props, ArgvError> {
    let mut p = Props::new()
        .str("node-name", o.node)
        .bool("read-only", o.readonly);
    if let Some(d) = o.discard {
        p = p.str("discard", d.as_str());
    }
    if let Some(z) = o.detect_zeroes {
        let z = if z == DetectZeroes::Unmap && o.discard != Some(DiscardMode::Unmap) {
            DetectZeroes::On
        } else {
            z
        };
        p = p.str("detect-zeroes", z.as_str());
    }
    if let Some(c) = o.cache {
        p = p.obj("cache", cache_obj(c));
    }
    let luks_raw = o.luks_secret.is_some() && !has_backing(o.format);
    if let (Some(id), true) = (&o.luks_secret, luks_raw) {
        p = p.str("driver", "luks").str("key-secret", id.clone());
    } else {
        p = p.str("driver", format_driver(o.format)?);
        if let Some(id) = &o.luks_secret {
            p = p.obj(
                "encrypt",
                Props::new()
                    .str("format", "luks")
                    .str("key-secret", id.clone()),
            );
        }
    }
    if let (Some(size), StorageFormat::Qcow2) = (o.metadata_cache, o.format) {
        p = p.uint("cache-size", size);
    }
    if let Some((offset, size)) = o.slice.filter(|_| !slice_needs_node(o.format, luks_raw)) {
        p = p.uint("offset", offset).uint("size", size);
    }
    p = p.str("file", o.file);
    if has_backing(o.format) {
        match &o.backing {
            None => {}
            Some(None) => p = p.add("backing", Value::Null),
            Some(Some(n)) => p = p.str("backing", n.clone()),
        }
    }
    Ok(p)
}
