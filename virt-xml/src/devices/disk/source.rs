//! libvirt's storage source (`<source>` of a disk, of a backing store, of a mirror, of an
//! `<os><nvram>`): where the data lives (file, block device, directory, network export, storage
//! pool volume, NVMe namespace, vhost-user socket) and what goes with it (slices, security labels,
//! authentication, encryption, persistent reservations).

use crate::domain::{attr_parse, num_attr, pci_from_attrs, str_enum};
use crate::error::XmlError;
use crate::os::{SourceType, YesNo};
use crate::tree::Element;
use crate::values::{PciAddr, Uuid};
use crate::writer::{Tag, Writer};

use super::{missing, required};

str_enum!(
    /// `<source protocol>` of a network source.
    NetProtocol {
        Nbd = "nbd", Rbd = "rbd", Sheepdog = "sheepdog", Gluster = "gluster", Iscsi = "iscsi",
        Http = "http", Https = "https", Ftp = "ftp", Ftps = "ftps", Tftp = "tftp", Ssh = "ssh",
        Vxhs = "vxhs", Nfs = "nfs",
    }
);

str_enum!(
    /// `<host transport>`.
    HostTransport { Tcp = "tcp", Rdma = "rdma", Unix = "unix" }
);

str_enum!(
    /// `<source startupPolicy>`: what to do when the source is missing at start.
    StartupPolicy { Mandatory = "mandatory", Requisite = "requisite", Optional = "optional" }
);

str_enum!(
    /// `<source mode>` of a storage pool volume.
    VolumeMode { Host = "host", Direct = "direct" }
);

str_enum!(
    /// `<encryption format>`.
    EncryptionFormat { Default = "default", Qcow = "qcow", Luks = "luks", Luks2 = "luks2" }
);

str_enum!(
    /// `<encryption engine>`.
    EncryptionEngine { Qemu = "qemu", Librbd = "librbd" }
);

str_enum!(
    /// `<auth><secret type>`.
    AuthSecretType { Ceph = "ceph", Iscsi = "iscsi" }
);

str_enum!(
    /// `<reservations><source mode>`.
    ReservationsMode { Server = "server", Client = "client" }
);

/// How a secret is found: by its UUID or by its usage name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretLookup {
    Uuid(Uuid),
    Usage(String),
}

impl SecretLookup {
    fn from_element(el: &Element) -> Result<SecretLookup, XmlError> {
        if let Some(u) = attr_parse::<Uuid>(el, "uuid")? {
            return Ok(SecretLookup::Uuid(u));
        }
        match el.attr("usage") {
            Some(u) => Ok(SecretLookup::Usage(u.to_string())),
            None => Err(missing(el, "attribute 'uuid' or 'usage'")),
        }
    }

    fn add_to(&self, tag: Tag) -> Tag {
        match self {
            SecretLookup::Uuid(u) => tag.attr("uuid", u),
            SecretLookup::Usage(u) => tag.attr("usage", u),
        }
    }
}

/// `<auth username><secret type uuid|usage/></auth>`: credentials for a network source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub username: String,
    pub secret_type: AuthSecretType,
    pub secret: SecretLookup,
}

impl Auth {
    /// Parses `<auth>`.
    pub fn from_element(el: &Element) -> Result<Auth, XmlError> {
        let s = el
            .child("secret")
            .ok_or_else(|| missing(el, "element <secret>"))?;
        Ok(Auth {
            username: el
                .attr("username")
                .ok_or_else(|| missing(el, "attribute 'username'"))?
                .to_string(),
            secret_type: required(s, "type")?,
            secret: SecretLookup::from_element(s)?,
        })
    }

    /// Writes `<auth>`.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("auth").attr("username", &self.username), |w| {
            w.empty(
                self.secret
                    .add_to(Tag::new("secret").attr("type", self.secret_type)),
            );
        });
    }
}

/// `<encryption><cipher name size mode hash/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cipher {
    pub name: String,
    pub size: u32,
    pub mode: Option<String>,
    pub hash: Option<String>,
}

/// `<encryption><ivgen name hash/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ivgen {
    pub name: String,
    pub hash: Option<String>,
}

/// `<encryption>`: how the image is encrypted and where its passphrase is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    pub format: EncryptionFormat,
    pub engine: Option<EncryptionEngine>,
    /// `<secret type='passphrase' .../>` entries.
    pub secrets: Vec<SecretLookup>,
    pub cipher: Option<Cipher>,
    pub ivgen: Option<Ivgen>,
}

impl Encryption {
    /// Parses `<encryption>`.
    pub fn from_element(el: &Element) -> Result<Encryption, XmlError> {
        let mut secrets = Vec::new();
        for s in el.children_named("secret") {
            secrets.push(SecretLookup::from_element(s)?);
        }
        let cipher = match el.child("cipher") {
            None => None,
            Some(c) => Some(Cipher {
                name: c.attr("name").unwrap_or_default().to_string(),
                size: num_attr(c, "size")?.ok_or_else(|| missing(c, "attribute 'size'"))?,
                mode: c.attr("mode").map(str::to_string),
                hash: c.attr("hash").map(str::to_string),
            }),
        };
        let ivgen = el.child("ivgen").map(|i| Ivgen {
            name: i.attr("name").unwrap_or_default().to_string(),
            hash: i.attr("hash").map(str::to_string),
        });
        Ok(Encryption {
            format: required(el, "format")?,
            engine: attr_parse(el, "engine")?,
            secrets,
            cipher,
            ivgen,
        })
    }

    /// Writes `<encryption>`.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("encryption")
            .attr("format", self.format)
            .opt_attr("engine", self.engine);
        w.element(tag, |w| {
            for s in &self.secrets {
                w.empty(s.add_to(Tag::new("secret").attr("type", "passphrase")));
            }
            if let Some(c) = &self.cipher {
                w.empty(
                    Tag::new("cipher")
                        .attr("name", &c.name)
                        .attr("size", c.size)
                        .opt_attr("mode", c.mode.as_deref())
                        .opt_attr("hash", c.hash.as_deref()),
                );
            }
            if let Some(i) = &self.ivgen {
                w.empty(
                    Tag::new("ivgen")
                        .attr("name", &i.name)
                        .opt_attr("hash", i.hash.as_deref()),
                );
            }
        });
    }
}

/// A per-source security label (`<seclabel>` inside `<source>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSeclabel {
    pub model: Option<String>,
    /// `relabel` (libvirt's default: yes).
    pub relabel: bool,
    /// `labelskip='yes'`: the label was not applied (status output).
    pub labelskip: bool,
    pub label: Option<String>,
}

impl SourceSeclabel {
    /// Parses a device `<seclabel>`.
    pub fn from_element(el: &Element) -> Result<SourceSeclabel, XmlError> {
        let labelskip = attr_parse::<YesNo>(el, "labelskip")?.is_some_and(bool::from);
        Ok(SourceSeclabel {
            model: el.attr("model").map(str::to_string),
            // A skipped label says nothing of relabelling; libvirt's default (yes) stands.
            relabel: labelskip || attr_parse::<YesNo>(el, "relabel")?.is_none_or(bool::from),
            labelskip,
            label: el.child("label").map(Element::text),
        })
    }

    /// Writes `<seclabel>`.
    pub fn write(&self, w: &mut Writer) {
        let mut tag = Tag::new("seclabel").opt_attr("model", self.model.as_deref());
        if self.labelskip {
            tag.push("labelskip", "yes");
        } else {
            tag.push("relabel", YesNo::from(self.relabel));
        }
        w.element(tag, |w| {
            if let Some(l) = &self.label {
                w.leaf(Tag::new("label"), l);
            }
        });
    }
}

/// `<reservations>`: SCSI persistent reservations through a helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservations {
    pub managed: Option<YesNo>,
    /// `<source type='unix' path mode/>`: the helper's socket.
    pub socket: Option<String>,
    pub mode: Option<ReservationsMode>,
}

/// `<slices><slice type='storage' offset size/></slices>`: the part of the source used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub offset: u64,
    pub size: u64,
}

/// `<host>` of a network source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetHost {
    /// `transport` (tcp, libvirt's default, is not written).
    pub transport: HostTransport,
    pub name: Option<String>,
    pub port: Option<u32>,
    /// The socket path for `transport='unix'`.
    pub socket: Option<String>,
}

/// `<cookie name>VALUE</cookie>` of an http(s) source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub name: String,
    pub value: String,
}

/// A network source's own parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSource {
    pub protocol: NetProtocol,
    /// `name`: the image, export or target (`pool/image`, `iqn.../lun`, a path).
    pub name: Option<String>,
    /// `query` of an http(s) URL.
    pub query: Option<String>,
    pub tls: Option<YesNo>,
    pub tls_hostname: Option<String>,
    pub hosts: Vec<NetHost>,
    /// `<snapshot name>` (rbd).
    pub snapshot: Option<String>,
    /// `<config file>` (rbd).
    pub config_file: Option<String>,
    /// `<initiator><iqn name>` (iscsi).
    pub initiator_iqn: Option<String>,
    /// `<ssl verify>` (https, ftps).
    pub ssl_verify: Option<YesNo>,
    pub cookies: Vec<Cookie>,
    /// `<readahead size>` in bytes.
    pub readahead: Option<u64>,
    /// `<timeout seconds>`.
    pub timeout: Option<u64>,
    /// `<identity user group>` (nfs).
    pub nfs_user: Option<String>,
    pub nfs_group: Option<String>,
}

impl NetworkSource {
    /// A source of this protocol with nothing else set.
    pub fn new(protocol: NetProtocol) -> Self {
        NetworkSource {
            protocol,
            name: None,
            query: None,
            tls: None,
            tls_hostname: None,
            hosts: Vec::new(),
            snapshot: None,
            config_file: None,
            initiator_iqn: None,
            ssl_verify: None,
            cookies: Vec::new(),
            readahead: None,
            timeout: None,
            nfs_user: None,
            nfs_group: None,
        }
    }
}

/// `<reconnect enabled timeout/>` of a vhost-user source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    pub enabled: bool,
    pub timeout: Option<u32>,
}

/// What kind of storage the source is, with that kind's own attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceData {
    File {
        file: Option<String>,
        /// `fdgroup`: the image comes from fds passed under this name.
        fdgroup: Option<String>,
    },
    Block {
        dev: Option<String>,
    },
    Dir {
        dir: Option<String>,
    },
    Network(Box<NetworkSource>),
    Volume {
        pool: Option<String>,
        volume: Option<String>,
        mode: Option<VolumeMode>,
    },
    Nvme {
        managed: Option<YesNo>,
        namespace: u64,
        /// The controller's host PCI address.
        address: Option<PciAddr>,
    },
    Vhostuser {
        path: Option<String>,
        reconnect: Option<Reconnect>,
    },
}

impl SourceData {
    /// The `type` this source goes with.
    pub fn kind(&self) -> SourceType {
        match self {
            SourceData::File { .. } => SourceType::File,
            SourceData::Block { .. } => SourceType::Block,
            SourceData::Dir { .. } => SourceType::Dir,
            SourceData::Network(_) => SourceType::Network,
            SourceData::Volume { .. } => SourceType::Volume,
            SourceData::Nvme { .. } => SourceType::Nvme,
            SourceData::Vhostuser { .. } => SourceType::Vhostuser,
        }
    }
}

/// libvirt's storage source structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSource {
    pub data: SourceData,
    pub startup_policy: Option<StartupPolicy>,
    /// `index`: the source's place in the backing chain (status output).
    pub index: Option<u32>,
    pub slice: Option<Slice>,
    pub seclabels: Vec<SourceSeclabel>,
    pub auth: Option<Auth>,
    pub encryption: Option<Encryption>,
    pub reservations: Option<Reservations>,
}

impl DiskSource {
    /// A source with only its kind's data.
    pub fn new(data: SourceData) -> Self {
        DiskSource {
            data,
            startup_policy: None,
            index: None,
            slice: None,
            seclabels: Vec::new(),
            auth: None,
            encryption: None,
            reservations: None,
        }
    }

    /// A local file.
    pub fn file(path: impl Into<String>) -> Self {
        DiskSource::new(SourceData::File {
            file: Some(path.into()),
            fdgroup: None,
        })
    }

    /// A block device.
    pub fn block(dev: impl Into<String>) -> Self {
        DiskSource::new(SourceData::Block {
            dev: Some(dev.into()),
        })
    }

    /// The `type` of this source.
    pub fn kind(&self) -> SourceType {
        self.data.kind()
    }

    /// An absent `<source>` of this type (e.g. an empty CD-ROM drive). As libvirt does, an empty
    /// network source is an empty file source (a network source is nothing without its
    /// protocol).
    pub fn absent(kind: SourceType) -> DiskSource {
        let data = match kind {
            SourceType::File | SourceType::Network => SourceData::File {
                file: None,
                fdgroup: None,
            },
            SourceType::Block => SourceData::Block { dev: None },
            SourceType::Dir => SourceData::Dir { dir: None },
            SourceType::Volume => SourceData::Volume {
                pool: None,
                volume: None,
                mode: None,
            },
            SourceType::Nvme => SourceData::Nvme {
                managed: None,
                namespace: 0,
                address: None,
            },
            SourceType::Vhostuser => SourceData::Vhostuser {
                path: None,
                reconnect: None,
            },
        };
        DiskSource::new(data)
    }

    /// Parses a `<source>` element of the given type (the `type` of its owner).
    pub fn from_element(el: &Element, kind: SourceType) -> Result<DiskSource, XmlError> {
        let s = |n: &str| el.attr(n).map(str::to_string);
        let data = match kind {
            SourceType::File => SourceData::File {
                file: s("file"),
                fdgroup: s("fdgroup"),
            },
            SourceType::Block => SourceData::Block { dev: s("dev") },
            SourceType::Dir => SourceData::Dir { dir: s("dir") },
            SourceType::Volume => SourceData::Volume {
                pool: s("pool"),
                volume: s("volume"),
                mode: attr_parse(el, "mode")?,
            },
            SourceType::Nvme => SourceData::Nvme {
                managed: attr_parse(el, "managed")?,
                namespace: num_attr(el, "namespace")?.unwrap_or(0),
                address: match el.child("address") {
                    Some(a) => Some(pci_from_attrs(a)?),
                    None => None,
                },
            },
            SourceType::Vhostuser => SourceData::Vhostuser {
                path: s("path"),
                reconnect: match el.child("reconnect") {
                    None => None,
                    Some(r) => Some(Reconnect {
                        enabled: required::<YesNo>(r, "enabled")?.into(),
                        timeout: num_attr(r, "timeout")?,
                    }),
                },
            },
            SourceType::Network => SourceData::Network(Box::new(network(el)?)),
        };
        let mut src = DiskSource::new(data);
        src.startup_policy = attr_parse(el, "startupPolicy")?;
        src.index = num_attr(el, "index")?;
        if let Some(sl) = el.child("slices").and_then(|s| s.child("slice")) {
            src.slice = Some(Slice {
                offset: num_attr(sl, "offset")?.unwrap_or(0),
                size: num_attr(sl, "size")?.ok_or_else(|| missing(sl, "attribute 'size'"))?,
            });
        }
        for l in el.children_named("seclabel") {
            src.seclabels.push(SourceSeclabel::from_element(l)?);
        }
        if let Some(a) = el.child("auth") {
            src.auth = Some(Auth::from_element(a)?);
        }
        if let Some(e) = el.child("encryption") {
            src.encryption = Some(Encryption::from_element(e)?);
        }
        if let Some(r) = el.child("reservations") {
            let sock = r.child("source");
            src.reservations = Some(Reservations {
                managed: attr_parse(r, "managed")?,
                socket: sock.and_then(|s| s.attr("path")).map(str::to_string),
                mode: match sock {
                    Some(s) if s.attr("path").is_some() => attr_parse(s, "mode")?,
                    _ => None,
                },
            });
        }
        Ok(src)
    }

    /// Writes the source as `<source>` (nothing when it would be empty).
    pub fn write(&self, w: &mut Writer) {
        self.write_named(w, "source", true);
    }

    /// Writes the source as an element of this name; `with_index`: write the `index` attribute
    /// (libvirt writes a backing store's index on the `<backingStore>` element instead).
    pub fn write_named(&self, w: &mut Writer, name: &str, with_index: bool) {
        let mut tag = Tag::new(name);
        // The kind's own children, written one level deeper than the element.
        let mut kids = Writer::with_depth(w.depth() + 1);
        match &self.data {
            SourceData::File { file, fdgroup } => {
                tag = tag
                    .opt_attr("file", file.as_deref())
                    .opt_attr("fdgroup", fdgroup.as_deref());
            }
            SourceData::Block { dev } => tag = tag.opt_attr("dev", dev.as_deref()),
            SourceData::Dir { dir } => tag = tag.opt_attr("dir", dir.as_deref()),
            SourceData::Volume { pool, volume, mode } => {
                tag = tag
                    .opt_attr("pool", pool.as_deref())
                    .opt_attr("volume", volume.as_deref())
                    .opt_attr("mode", *mode);
            }
            SourceData::Nvme {
                managed,
                namespace,
                address,
            } => {
                if address.is_some() || *namespace != 0 || managed.is_some() {
                    tag = tag
                        .attr("type", "pci")
                        .opt_attr("managed", *managed)
                        .attr("namespace", namespace);
                }
                if let Some(a) = address {
                    kids.empty(
                        Tag::new("address")
                            .attr("domain", format!("0x{:04x}", a.domain))
                            .attr("bus", format!("0x{:02x}", a.bus))
                            .attr("slot", format!("0x{:02x}", a.slot))
                            .attr("function", format!("0x{:x}", a.function)),
                    );
                }
            }
            SourceData::Vhostuser { path, reconnect } => {
                if path.is_some() || reconnect.is_some() {
                    tag = tag.attr("type", "unix").opt_attr("path", path.as_deref());
                }
                if let Some(r) = reconnect {
                    kids.empty(
                        Tag::new("reconnect")
                            .attr("enabled", YesNo::from(r.enabled))
                            .opt_attr("timeout", r.timeout),
                    );
                }
            }
            SourceData::Network(n) => {
                tag = tag
                    .attr("protocol", n.protocol)
                    .opt_attr("name", n.name.as_deref())
                    .opt_attr("query", n.query.as_deref())
                    .opt_attr("tls", n.tls)
                    .opt_attr("tlsHostname", n.tls_hostname.as_deref());
                write_network(n, &mut kids);
            }
        }
        let network = self.kind() == SourceType::Network;
        if !network {
            tag = tag.opt_attr("startupPolicy", self.startup_policy);
        }
        if with_index {
            tag = tag.opt_attr("index", self.index);
        }
        let has_children = !kids.is_empty()
            || self.slice.is_some()
            || (!network && !self.seclabels.is_empty())
            || self.auth.is_some()
            || self.encryption.is_some()
            || self.reservations.is_some();
        if tag.attrs.is_empty() && !has_children {
            return;
        }
        w.element(tag, |w| {
            w.raw(&kids.finish());
            if let Some(s) = &self.slice {
                w.element(Tag::new("slices"), |w| {
                    w.empty(
                        Tag::new("slice")
                            .attr("type", "storage")
                            .attr("offset", s.offset)
                            .attr("size", s.size),
                    )
                });
            }
            if !network {
                for l in &self.seclabels {
                    l.write(w);
                }
            }
            if let Some(a) = &self.auth {
                a.write(w);
            }
            if let Some(e) = &self.encryption {
                e.write(w);
            }
            if let Some(r) = &self.reservations {
                let tag = Tag::new("reservations").opt_attr("managed", r.managed);
                w.element(tag, |w| {
                    if let Some(p) = &r.socket {
                        w.empty(
                            Tag::new("source")
                                .attr("type", "unix")
                                .attr("path", p)
                                .opt_attr("mode", r.mode),
                        );
                    }
                });
            }
        });
    }
}

fn network(el: &Element) -> Result<NetworkSource, XmlError> {
    let mut n = NetworkSource::new(required(el, "protocol")?);
    let s = |name: &str| el.attr(name).map(str::to_string);
    n.name = s("name");
    n.query = s("query");
    n.tls = attr_parse(el, "tls")?;
    n.tls_hostname = s("tlsHostname");
    for h in el.children_named("host") {
        n.hosts.push(NetHost {
            transport: attr_parse(h, "transport")?.unwrap_or(HostTransport::Tcp),
            name: h.attr("name").map(str::to_string),
            port: num_attr::<u32>(h, "port")?.filter(|p| *p != 0),
            socket: h.attr("socket").map(str::to_string),
        });
    }
    n.snapshot = el
        .child("snapshot")
        .and_then(|c| c.attr("name"))
        .map(str::to_string);
    n.config_file = el
        .child("config")
        .and_then(|c| c.attr("file"))
        .map(str::to_string);
    n.initiator_iqn = el
        .child("initiator")
        .and_then(|i| i.child("iqn"))
        .and_then(|q| q.attr("name"))
        .map(str::to_string);
    if let Some(ssl) = el.child("ssl") {
        n.ssl_verify = attr_parse(ssl, "verify")?;
    }
    if let Some(c) = el.child("cookies") {
        for k in c.children_named("cookie") {
            n.cookies.push(Cookie {
                name: k.attr("name").unwrap_or_default().to_string(),
                value: k.text(),
            });
        }
    }
    if let Some(r) = el.child("readahead") {
        n.readahead = num_attr::<u64>(r, "size")?.filter(|v| *v != 0);
    }
    if let Some(t) = el.child("timeout") {
        n.timeout = num_attr::<u64>(t, "seconds")?.filter(|v| *v != 0);
    }
    if let Some(i) = el.child("identity") {
        n.nfs_user = i.attr("user").map(str::to_string);
        n.nfs_group = i.attr("group").map(str::to_string);
    }
    Ok(n)
}

fn write_network(n: &NetworkSource, w: &mut Writer) {
    for h in &n.hosts {
        let transport = (h.transport != HostTransport::Tcp).then_some(h.transport);
        w.empty(
            Tag::new("host")
                .opt_attr("transport", transport)
                .opt_attr("name", h.name.as_deref())
                .opt_attr("port", h.port)
                .opt_attr("socket", h.socket.as_deref()),
        );
    }
    if n.nfs_user.is_some() || n.nfs_group.is_some() {
        w.empty(
            Tag::new("identity")
                .opt_attr("user", n.nfs_user.as_deref())
                .opt_attr("group", n.nfs_group.as_deref()),
        );
    }
    if let Some(s) = &n.snapshot {
        w.empty(Tag::new("snapshot").attr("name", s));
    }
    if let Some(c) = &n.config_file {
        w.empty(Tag::new("config").attr("file", c));
    }
    if let Some(iqn) = &n.initiator_iqn {
        w.element(Tag::new("initiator"), |w| {
            w.empty(Tag::new("iqn").attr("name", iqn))
        });
    }
    if let Some(v) = n.ssl_verify {
        w.empty(Tag::new("ssl").attr("verify", v));
    }
    if !n.cookies.is_empty() {
        w.element(Tag::new("cookies"), |w| {
            for c in &n.cookies {
                w.leaf(Tag::new("cookie").attr("name", &c.name), &c.value);
            }
        });
    }
    if let Some(r) = n.readahead {
        w.empty(Tag::new("readahead").attr("size", r));
    }
    if let Some(t) = n.timeout {
        w.empty(Tag::new("timeout").attr("seconds", t));
    }
}
