//! Secrets handed to QEMU: passwords, keys and passphrases never appear in clear on QEMU's
//! command line. Each is encrypted with AES-256-CBC (PKCS#7 padding) under the guest's master key
//! (the 32 bytes QEMU reads from the `masterKey0` secret object's file) with a fresh 16-byte IV,
//! and given as a `secret` object with base64 `data` and `iv`.
//!
//! - [`MasterKey`]: the per-guest key (random at run time, fixed in libvirt's test harness).
//! - [`IvSource`]: where IVs come from (random, or fixed for the harness).
//! - [`SecretSource`]: where secret values are looked up ([`SecretSource::value`]).
//! - [`encrypt`] / [`decrypt`]: the cipher; [`base64`]: the encoding QEMU's `format=base64` reads.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use aes::Aes256;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use virt_xml::devices::disk::SecretLookup;

/// Length of the master key (AES-256).
pub const KEY_LEN: usize = 32;
/// Length of an IV (one AES block).
pub const IV_LEN: usize = 16;

/// Why a secret could not be made ready for QEMU.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No secret matches the lookup.
    #[error("no secret with {lookup} found for {purpose}")]
    NotFound { lookup: String, purpose: String },
    /// Reading a secret or the random source failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The data to decrypt is not valid ciphertext under this key and IV.
    #[error("secret data does not decrypt under this key and IV")]
    BadCiphertext,
}

/// The per-guest master key. Its bytes are written to the guest's `master-key.aes` file and every
/// secret on the command line is encrypted under it. `Debug` does not show the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; KEY_LEN]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> MasterKey {
        MasterKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A fresh key from the kernel's random source.
    pub fn generate() -> Result<MasterKey, SecretError> {
        let mut k = [0u8; KEY_LEN];
        random_bytes(&mut k)?;
        Ok(MasterKey(k))
    }

    /// The key of libvirt's argv test harness: its random source hands out the bytes 0, 1, 2, ...
    pub fn libvirt_test_harness() -> MasterKey {
        MasterKey(counting())
    }
}

/// Where the IV of each encrypted secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvSource {
    /// The same IV every time (libvirt's test harness: bytes 0..=15).
    Fixed([u8; IV_LEN]),
    /// A fresh IV from the kernel's random source for every secret.
    Random,
}

impl IvSource {
    /// The harness's IV (its random source counts up from 0).
    pub fn libvirt_test_harness() -> IvSource {
        IvSource::Fixed(counting())
    }

    /// The IV for the next secret.
    pub fn next_iv(&self) -> Result<[u8; IV_LEN], SecretError> {
        match self {
            IvSource::Fixed(iv) => Ok(*iv),
            IvSource::Random => {
                let mut iv = [0u8; IV_LEN];
                random_bytes(&mut iv)?;
                Ok(iv)
            }
        }
    }
}

/// `[0, 1, 2, ...]`: what libvirt's test harness's random source yields.
fn counting<const N: usize>() -> [u8; N] {
    let mut a = [0u8; N];
    for (i, b) in a.iter_mut().enumerate() {
        *b = i as u8;
    }
    a
}

fn random_bytes(buf: &mut [u8]) -> Result<(), SecretError> {
    let path = Path::new("/dev/urandom");
    let io = |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(buf))
        .map_err(io)
}

/// What a secret is used for: its libvirt usage type, which a usage-name lookup is made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretUsage {
    /// A storage volume's encryption passphrase.
    Volume,
    /// iSCSI CHAP (also used by libvirt for http/ftp logins).
    Iscsi,
    /// A Ceph client key.
    Ceph,
    /// The password of a TLS private key.
    Tls,
}

impl SecretUsage {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretUsage::Volume => "volume",
            SecretUsage::Iscsi => "iscsi",
            SecretUsage::Ceph => "ceph",
            SecretUsage::Tls => "tls",
        }
    }
}

/// Where secret values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The fake secret driver of libvirt's argv test harness: every secret found by UUID has the
    /// same value; usage names are found only for volumes under `/storage/guest_disks/` and the
    /// names `mycluster_myname` and `client.admin secret`.
    LibvirtTestHarness,
    /// A directory with one file per secret, named by its UUID, holding the raw value. A secret is
    /// found by usage through a `UUID.usage` file next to it holding `TYPE NAME` (for example
    /// `iscsi mycluster_myname`).
    Dir(PathBuf),
    /// No secrets: any lookup fails.
    None,
}

/// The value libvirt's fake secret driver returns for every secret.
pub const LIBVIRT_TEST_SECRET: &[u8] = b"AQCVn5hO6HzFAhAAq0NCv8jtJcIcE+HOBlMQ1A";

fn describe(lookup: &SecretLookup, usage: SecretUsage) -> String {
    match lookup {
        SecretLookup::Uuid(u) => format!("uuid '{u}'"),
        SecretLookup::Usage(n) => format!("{} usage '{n}'", usage.as_str()),
    }
}

impl SecretSource {
    /// The value of the secret `lookup` names; `purpose` names what needs it (for the error).
    pub fn value(
        &self,
        lookup: &SecretLookup,
        usage: SecretUsage,
        purpose: &str,
    ) -> Result<Vec<u8>, SecretError> {
        let not_found = || SecretError::NotFound {
            lookup: describe(lookup, usage),
            purpose: purpose.to_string(),
        };
        match self {
            SecretSource::None => Err(not_found()),
            SecretSource::LibvirtTestHarness => {
                let known = match lookup {
                    SecretLookup::Uuid(_) => true,
                    SecretLookup::Usage(n) if usage == SecretUsage::Volume => {
                        n.starts_with("/storage/guest_disks/")
                    }
                    SecretLookup::Usage(n) => n == "mycluster_myname" || n == "client.admin secret",
                };
                if known {
                    Ok(LIBVIRT_TEST_SECRET.to_vec())
                } else {
                    Err(not_found())
                }
            }
            SecretSource::Dir(dir) => {
                let uuid = match lookup {
                    SecretLookup::Uuid(u) => u.to_string(),
                    SecretLookup::Usage(n) => {
                        find_by_usage(dir, usage, n)?.ok_or_else(not_found)?
                    }
                };
                let path = dir.join(&uuid);
                match std::fs::read(&path) {
                    Ok(v) => Ok(v),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_found()),
                    Err(source) => Err(SecretError::Io { path, source }),
                }
            }
        }
    }
}

/// The UUID whose `UUID.usage` file in `dir` says `TYPE NAME`.
fn find_by_usage(
    dir: &Path,
    usage: SecretUsage,
    name: &str,
) -> Result<Option<String>, SecretError> {
    let io = |source| SecretError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let want = format!("{} {name}", usage.as_str());
    for entry in entries {
        let entry = entry.map_err(io)?;
        let file = entry.file_name();
        let Some(uuid) = file.to_str().and_then(|f| f.strip_suffix(".usage")) else {
            continue;
        };
        let text = std::fs::read_to_string(entry.path()).map_err(io)?;
        if text.trim_end_matches('\n') == want {
            return Ok(Some(uuid.to_string()));
        }
    }
    Ok(None)
}

/// AES-256-CBC with PKCS#7 padding of `plain` under `key` and `iv`.
pub fn encrypt(key: &MasterKey, iv: &[u8; IV_LEN], plain: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<Aes256>::new(key.as_bytes().into(), iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plain)
}

/// The inverse of [`encrypt`].
pub fn decrypt(key: &MasterKey, iv: &[u8; IV_LEN], data: &[u8]) -> Result<Vec<u8>, SecretError> {
    cbc::Decryptor::<Aes256>::new(key.as_bytes().into(), iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(data)
        .map_err(|_| SecretError::BadCiphertext)
}

/// A secret ready for QEMU: base64 ciphertext and IV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuSecret {
    pub data: String,
    pub iv: String,
}

/// Encrypts `plain` for QEMU under `key` with the next IV of `ivs`.
pub fn for_qemu(key: &MasterKey, ivs: &IvSource, plain: &[u8]) -> Result<QemuSecret, SecretError> {
    let iv = ivs.next_iv()?;
    Ok(QemuSecret {
        data: base64(&encrypt(key, &iv, plain)),
        iv: base64(&iv),
    })
}

/// Standard base64 (RFC 4648, with `=` padding).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (with or without `=` padding); `None` on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let body = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.as_bytes().chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= digit(*c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}
