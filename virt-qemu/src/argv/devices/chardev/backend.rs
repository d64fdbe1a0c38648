//! The host side of a character device as QEMU 7.2's `-chardev` option (`key=value` syntax),
//! with the fds libvirt hands over instead of paths: listening UNIX sockets as `fd=N` and files
//! (and logs) through `-add-fd` fd sets.

use virt_xml::devices::chardev::{CharSource, ChrSource, ChrType, ProtocolType, SourceMode};
use virt_xml::os::YesNo;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::cmdline::FdPurpose;
use crate::argv::host::FdKind;
use crate::argv::props::{escape_comma, Props};

/// What the backend is for: the chardev id (`charserial0`), the device alias used to name
/// its fds (`serial0`), and the name QEMU gives a SPICE channel (`vdagent`, `usbredir`, ...).
pub struct ChardevUse<'s> {
    pub id: &'s str,
    pub dev_alias: &'s str,
    pub spice_name: Option<&'s str>,
}

fn source_with_mode(src: &CharSource, mode: SourceMode) -> Option<&ChrSource> {
    src.sources.iter().find(|s| s.mode == Some(mode))
}

/// The first `<source>`, or the one of a mode (`connect` when no mode is written).
fn main_source(src: &CharSource) -> Option<&ChrSource> {
    src.sources.first()
}

fn is_listen(s: &ChrSource) -> bool {
    s.mode == Some(SourceMode::Bind)
}

fn reconnect(props: Props, s: &ChrSource) -> Props {
    match s.reconnect {
        Some(r) if bool::from(r.enabled) => {
            props.uint("reconnect", u64::from(r.timeout.unwrap_or(0)))
        }
        _ => props,
    }
}

fn missing(u: &ChardevUse<'_>, what: &str) -> ArgvError {
    ArgvError::Device {
        device: format!("chardev '{}'", u.dev_alias),
        reason: format!("missing source {what}"),
    }
}

/// Writes the `-object secret` holding the password of a TLS key (qemu.conf's
/// `*_tls_x509_secret_uuid`, looked up in the host's secrets and encrypted under the guest's
/// master key) for the TLS object or chardev `owner`, and returns its id (`OWNER-secret0`).
pub(crate) fn tls_secret(
    b: &mut Builder<'_>,
    owner: &str,
    uuid: virt_xml::Uuid,
) -> Result<String, ArgvError> {
    let fail = |reason: String| ArgvError::Device {
        device: format!("TLS credentials '{owner}'"),
        reason,
    };
    let lookup = virt_xml::devices::disk::SecretLookup::Uuid(uuid);
    let value = b
        .host
        .secrets
        .value(&lookup, crate::secret::SecretUsage::Tls, owner)
        .map_err(|e| fail(e.to_string()))?;
    let s = crate::secret::for_qemu(&b.host.master_key, &b.host.secret_iv, &value)
        .map_err(|e| fail(e.to_string()))?;
    let id = format!("{owner}-secret0");
    b.object(
        &Props::new()
            .str("qom-type", "secret")
            .str("id", id.clone())
            .str("data", s.data)
            .str("keyid", "masterKey0")
            .str("iv", s.iv)
            .str("format", "base64"),
    );
    Ok(id)
}

/// Writes the `-object tls-creds-x509` a TCP chardev needs (when TLS is on) and returns its id.
fn tls_object(
    b: &mut Builder<'_>,
    u: &ChardevUse<'_>,
    s: &ChrSource,
) -> Result<Option<String>, ArgvError> {
    let Some((dir, verify)) = b.host.config.chardev_tls.clone() else {
        return Ok(None);
    };
    if s.tls.is_some_and(|t| !bool::from(t)) {
        return Ok(None);
    }
    let password_id = match b.host.config.chardev_tls_secret_uuid {
        Some(uuid) => Some(tls_secret(b, u.id, uuid)?),
        None => None,
    };
    let id = format!("obj{}_tls0", u.id);
    let listen = is_listen(s);
    let p = Props::new()
        .str("qom-type", "tls-creds-x509")
        .str("id", id.clone())
        .str("dir", dir.to_string_lossy().into_owned())
        .str("endpoint", if listen { "server" } else { "client" })
        .bool("verify-peer", verify || !listen)
        .opt_str("passwordid", password_id);
    b.object(&p);
    Ok(Some(id))
}

/// Writes `-add-fd`s and `-chardev` for `src`.
pub fn emit(b: &mut Builder<'_>, src: &CharSource, u: &ChardevUse<'_>) -> Result<(), ArgvError> {
    let value = build(b, src, u)?;
    b.arg("-chardev", value);
    Ok(())
}

/// Plans the fds (writing any `-add-fd`) and returns the `-chardev` value for `src`.
pub fn build(
    b: &mut Builder<'_>,
    src: &CharSource,
    u: &ChardevUse<'_>,
) -> Result<String, ArgvError> {
    let id = u.id;
    let first = main_source(src);
    let path = first.and_then(|s| s.path.as_deref());
    let mut text: String;
    match src.chr_type() {
        ChrType::Null => text = format!("null,id={id}"),
        ChrType::Vc => text = format!("vc,id={id}"),
        ChrType::Pty => text = format!("pty,id={id}"),
        ChrType::Stdio => text = format!("stdio,id={id}"),
        ChrType::Dev => {
            let p = path.ok_or_else(|| missing(u, "path"))?;
            // A host parallel port for a parallel device, else a host serial line.
            let backend = if id.starts_with("charparallel") {
                "parallel"
            } else {
                "serial"
            };
            text = format!("{backend},id={id},path={}", escape_comma(p));
        }
        ChrType::Pipe => {
            let p = path.ok_or_else(|| missing(u, "path"))?;
            text = format!("pipe,id={id},path={}", escape_comma(p));
        }
        ChrType::File => {
            path.ok_or_else(|| missing(u, "path"))?;
            let set = b.add_fd(
                FdKind::ChardevFile,
                FdPurpose::Chardev {
                    alias: id.to_string(),
                },
                &format!("{}-source", u.dev_alias),
            );
            text = format!("file,id={id},path={set},append=on");
        }
        ChrType::Unix => {
            // Without a source libvirt makes a socket path of its own and listens on it.
            let listen = first.is_none_or(is_listen);
            let mut props = Props::new();
            if listen {
                let fd = b.pass_fd(
                    FdKind::UnixListener,
                    FdPurpose::Chardev {
                        alias: id.to_string(),
                    },
                );
                props = props
                    .int("fd", i64::from(fd))
                    .bool("server", true)
                    .bool("wait", false);
            } else {
                let p = first
                    .and_then(|s| s.path.as_deref())
                    .ok_or_else(|| missing(u, "path"))?;
                props = props.str("path", p);
            }
            if let Some(s) = first {
                props = reconnect(props, s);
            }
            text = format!("socket,id={id},{}", props.to_keyval());
        }
        ChrType::Tcp => {
            let s = first.ok_or_else(|| missing(u, "host"))?;
            let tls = tls_object(b, u, s)?;
            let mut props = Props::new()
                .str("host", s.host.clone().unwrap_or_default())
                .str("port", s.service.clone().unwrap_or_default());
            if src.protocol == Some(Some(ProtocolType::Telnet)) {
                props = props.bool("telnet", true);
            }
            if is_listen(s) {
                props = props.bool("server", true).bool("wait", false);
            }
            props = reconnect(props, s);
            props = props.opt_str("tls-creds", tls);
            text = format!("socket,id={id},{}", props.to_keyval());
        }
        ChrType::Udp => {
            let conn = source_with_mode(src, SourceMode::Connect)
                .or_else(|| src.sources.iter().find(|s| s.mode.is_none()));
            let bind = source_with_mode(src, SourceMode::Bind);
            let props = Props::new()
                .str(
                    "host",
                    conn.and_then(|s| s.host.clone()).unwrap_or_default(),
                )
                .str(
                    "port",
                    conn.and_then(|s| s.service.clone()).unwrap_or_default(),
                )
                .str(
                    "localaddr",
                    bind.and_then(|s| s.host.clone()).unwrap_or_default(),
                )
                .str(
                    "localport",
                    bind.and_then(|s| s.service.clone())
                        .unwrap_or_else(|| "0".into()),
                );
            text = format!("udp,id={id},{}", props.to_keyval());
        }
        ChrType::Spicevmc => {
            text = format!(
                "spicevmc,id={id},name={}",
                u.spice_name.unwrap_or("vdagent")
            );
        }
        ChrType::Spiceport => {
            let ch = first
                .and_then(|s| s.channel.as_deref())
                .ok_or_else(|| missing(u, "channel"))?;
            text = format!("spiceport,id={id},name={}", escape_comma(ch));
        }
        ChrType::Dbus => {
            let ch = first.and_then(|s| s.channel.as_deref()).unwrap_or("");
            text = format!("dbus,id={id},name={}", escape_comma(ch));
        }
        ChrType::QemuVdagent => {
            let mut props = Props::new().str("name", "vdagent");
            if let Some(s) = first {
                if let Some(c) = s.clipboard {
                    props = props.bool("clipboard", c == YesNo::Yes);
                }
                if let Some(m) = s.mouse {
                    props = props.bool("mouse", m == virt_xml::devices::chardev::MouseMode::Client);
                }
            }
            text = format!("qemu-vdagent,id={id},{}", props.to_keyval());
        }
        ChrType::Nmdm => {
            return Err(ArgvError::unsupported(format!(
                "Unsupported char device type '{}'",
                ChrType::Nmdm.as_str()
            )))
        }
    }
    if src.log.is_some() {
        let set = b.add_fd(
            FdKind::ChardevFile,
            FdPurpose::Chardev {
                alias: id.to_string(),
            },
            &format!("{}-log", u.dev_alias),
        );
        text.push_str(&format!(",logfile={set},logappend=on"));
    }
    Ok(text)
}
