//! The secrets of one image of a disk: login secrets of network sources, the passphrase of an
//! encrypted image, the cookies of an http(s) source and the TLS credentials of an NBD source.
//! Each becomes an `-object` written before the image's storage node, and the node names it by
//! its id.

use virt_xml::devices::disk::{
    Auth, AuthSecretType, Disk, DiskSource, Encryption, EncryptionEngine, EncryptionFormat,
    NetProtocol, NetworkSource, SecretLookup, SourceData, StorageFormat,
};
use virt_xml::os::YesNo;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::props::Props;
use crate::secret::{self, SecretUsage};

/// The ids of the secret objects an image's nodes name.
#[derive(Default)]
pub(super) struct LayerSecrets {
    /// (user name, secret id) of a network login.
    pub auth: Option<(String, String)>,
    /// The id of the encryption passphrase.
    pub encryption: Option<String>,
    /// Whether the passphrase is for the format node (QEMU's LUKS) or for librbd.
    pub encryption_by_librbd: bool,
    pub encryption_format: Option<EncryptionFormat>,
    /// The id of the http(s) cookie secret.
    pub cookie: Option<String>,
    /// The id of the TLS credentials object.
    pub tls_creds: Option<String>,
}

fn disk_error(disk: &Disk, reason: impl Into<String>) -> ArgvError {
    ArgvError::Device {
        device: format!("disk '{}'", disk.target.dev),
        reason: reason.into(),
    }
}

/// A `secret` object holding `value` encrypted under the guest's master key.
pub(crate) fn secret_object(
    b: &mut Builder<'_>,
    id: &str,
    value: &[u8],
    device: &str,
) -> Result<(), ArgvError> {
    let s = secret::for_qemu(&b.host.master_key, &b.host.secret_iv, value).map_err(|e| {
        ArgvError::Device {
            device: device.to_string(),
            reason: e.to_string(),
        }
    })?;
    b.object(
        &Props::new()
            .str("qom-type", "secret")
            .str("id", id)
            .str("data", s.data)
            .str("keyid", "masterKey0")
            .str("iv", s.iv)
            .str("format", "base64"),
    );
    Ok(())
}

/// The value of a secret the domain names, or an error naming `device` and the secret.
pub(crate) fn lookup(
    b: &Builder<'_>,
    lookup: &SecretLookup,
    usage: SecretUsage,
    device: &str,
) -> Result<Vec<u8>, ArgvError> {
    b.host
        .secrets
        .value(lookup, usage, device)
        .map_err(|e| ArgvError::Device {
            device: device.to_string(),
            reason: e.to_string(),
        })
}

/// The `<auth>` of an image: its source's, else (for the disk's own image) the disk's.
fn auth_of<'a>(disk: &'a Disk, src: &'a DiskSource, top: bool) -> Option<&'a Auth> {
    src.auth
        .as_ref()
        .or(if top { disk.auth.as_ref() } else { None })
}

/// The `<encryption>` of an image: its source's, else (for the disk's own image) the disk's.
pub(super) fn encryption_of<'a>(
    disk: &'a Disk,
    src: &'a DiskSource,
    top: bool,
) -> Option<&'a Encryption> {
    src.encryption
        .as_ref()
        .or(if top { disk.encryption.as_ref() } else { None })
}

/// Refusals libvirt makes for an image's credentials and encryption before anything is written.
pub(super) fn validate(
    disk: &Disk,
    src: &DiskSource,
    format: StorageFormat,
    top: bool,
) -> Result<(), ArgvError> {
    if let (Some(auth), SourceData::Network(net)) = (auth_of(disk, src, top), &src.data) {
        let wrong = match net.protocol {
            NetProtocol::Iscsi => auth.secret_type != AuthSecretType::Iscsi,
            NetProtocol::Rbd => auth.secret_type != AuthSecretType::Ceph,
            _ => false,
        };
        if wrong {
            return Err(disk_error(
                disk,
                format!("invalid secret type '{}'", auth.secret_type.as_str()),
            ));
        }
    }
    if let Some(enc) = encryption_of(disk, src, top) {
        if enc.format == EncryptionFormat::Luks && enc.cipher.is_some() {
            return Err(disk_error(
                disk,
                "supplying <cipher> for domain disk definition is unnecessary",
            ));
        }
        // QEMU decrypts LUKS itself only inside a raw or qcow2 image.
        let by_qemu = enc.engine != Some(EncryptionEngine::Librbd);
        if by_qemu
            && enc.format == EncryptionFormat::Luks
            && !matches!(format, StorageFormat::Raw | StorageFormat::Qcow2)
        {
            return Err(disk_error(
                disk,
                format!(
                    "LUKS encryption needs the 'raw' or 'qcow2' image format, not '{}'",
                    format.as_str()
                ),
            ));
        }
    }
    Ok(())
}

/// The cookie header of an http(s) source: `name=value; name2=value2`.
fn cookie_string(net: &NetworkSource) -> String {
    net.cookies
        .iter()
        .map(|c| format!("{}={}", c.name, c.value))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Writes the secret objects of one image (login, passphrase, cookies, TLS key password and TLS
/// credentials, in that order) and returns their ids.
pub(super) fn emit(
    b: &mut Builder<'_>,
    disk: &Disk,
    src: &DiskSource,
    top: bool,
    storage_node: &str,
    format_node: &str,
) -> Result<LayerSecrets, ArgvError> {
    let device = format!("disk '{}'", disk.target.dev);
    let mut out = LayerSecrets::default();
    let net = match &src.data {
        SourceData::Network(n) => Some(n.as_ref()),
        _ => None,
    };
    if let (Some(auth), Some(_)) = (auth_of(disk, src, top), net) {
        let usage = match auth.secret_type {
            AuthSecretType::Ceph => SecretUsage::Ceph,
            AuthSecretType::Iscsi => SecretUsage::Iscsi,
        };
        let value = lookup(b, &auth.secret, usage, &device)?;
        let id = format!("{storage_node}-auth-secret0");
        secret_object(b, &id, &value, &device)?;
        out.auth = Some((auth.username.clone(), id));
    }
    if let Some(enc) = encryption_of(disk, src, top) {
        if matches!(enc.format, EncryptionFormat::Luks | EncryptionFormat::Luks2) {
            let first = enc.secrets.first().ok_or_else(|| {
                disk_error(disk, "<encryption> needs a <secret type='passphrase'>")
            })?;
            let value = lookup(b, first, SecretUsage::Volume, &device)?;
            let id = format!("{format_node}-encryption-secret0");
            secret_object(b, &id, &value, &device)?;
            out.encryption = Some(id);
            out.encryption_format = Some(enc.format);
            out.encryption_by_librbd = enc.engine == Some(EncryptionEngine::Librbd);
            if enc.format == EncryptionFormat::Luks2 && !out.encryption_by_librbd {
                return Err(disk_error(
                    disk,
                    "luks2 is currently not supported by the qemu encryption engine",
                ));
            }
        } else {
            return Err(disk_error(
                disk,
                format!(
                    "encryption format '{}' is not supported by this QEMU",
                    enc.format.as_str()
                ),
            ));
        }
    }
    if let Some(net) = net {
        if !net.cookies.is_empty() && matches!(net.protocol, NetProtocol::Http | NetProtocol::Https)
        {
            let id = format!("{storage_node}-httpcookie-secret0");
            secret_object(b, &id, cookie_string(net).as_bytes(), &device)?;
            out.cookie = Some(id);
        }
        if net.protocol == NetProtocol::Nbd && net.tls == Some(YesNo::Yes) {
            let dir =
                b.host.config.nbd_tls_dir.clone().ok_or_else(|| {
                    disk_error(disk, "TLS for NBD disks needs nbd_tls_x509_cert_dir")
                })?;
            let creds = format!("obj{storage_node}_tls0");
            let mut p = Props::new()
                .str("qom-type", "tls-creds-x509")
                .str("id", creds.clone())
                .str("dir", dir.to_string_lossy())
                .str("endpoint", "client")
                // nbd_tls_x509_verify: libvirt's default (on).
                .bool("verify-peer", true);
            if let Some(uuid) = b.host.config.nbd_tls_secret_uuid {
                let value = lookup(b, &SecretLookup::Uuid(uuid), SecretUsage::Tls, &device)?;
                let id = format!("{creds}-secret0");
                secret_object(b, &id, &value, &device)?;
                p = p.str("passwordid", id);
            }
            b.object(&p);
            out.tls_creds = Some(creds);
        }
    }
    Ok(out)
}
