//! `-netdev` of one NIC: tap (bridge, network, direct, ethernet) with its tap and vhost-net fds,
//! slirp and passt for `user`, sockets (server, client, mcast, udp), vhost-user with its
//! chardev, and vhost-vdpa through an fd set.

use std::net::IpAddr;

use virt_xml::devices::interface::{BackendType, Interface, NetBackend};
use virt_xml::devices::redirdev::{ChrBackend, ChrSource, ChrSourceMode, ChrType};
use virt_xml::domain::{DomainType, InterfaceType};

use super::common;
use super::nic::is_virtio;
use crate::argv::builder::{ArgvError, Builder};
use crate::argv::cmdline::FdPurpose;
use crate::argv::host::FdKind;
use crate::argv::props::{Props, Value};

fn device_name(alias: &str) -> String {
    format!("interface '{alias}'")
}

/// How many queues (and so tap/vhost fds) the NIC has.
pub(crate) fn queues(nic: &Interface) -> u32 {
    nic.driver.and_then(|d| d.queues).unwrap_or(0).max(1)
}

/// Whether vhost-net fds are handed to QEMU for this NIC. On a real host: virtio model, and
/// `<driver name='vhost'/>`, or a KVM guest on a host with `/dev/vhost-net` and no
/// `<driver name='qemu'/>`. libvirt's test harness replaces the opening of
/// vhost-net by a stub that gives fds to every virtio NIC; we follow it there so that the
/// harness's command lines come out the same.
fn uses_vhost(b: &Builder<'_>, nic: &Interface, alias: &str) -> Result<bool, ArgvError> {
    let name = nic.driver.and_then(|d| d.name);
    if !is_virtio(nic) {
        if name == Some(NetBackend::Vhost) {
            return Err(ArgvError::Device {
                device: device_name(alias),
                reason: "vhost-net is only supported for virtio network interfaces".into(),
            });
        }
        return Ok(false);
    }
    if common::is_test_harness(b) {
        return Ok(true);
    }
    if name == Some(NetBackend::Vhost) {
        return Ok(true);
    }
    // Auto: a KVM guest uses vhost-net when the host has it; without it the runtime's audited
    // attempt fails and the NIC runs on QEMU's own backend, so no vhost fd is planned.
    Ok(b.def.domain_type == DomainType::Kvm
        && name != Some(NetBackend::Qemu)
        && std::path::Path::new("/dev/vhost-net").exists())
}

fn socket_addr(nic: &Interface) -> String {
    let s = nic.source.as_ref();
    let addr = s
        .and_then(|s| s.address)
        .map(|a| a.to_string())
        .unwrap_or_default();
    let port = s.and_then(|s| s.port).unwrap_or(0);
    format!("{addr}:{port}")
}

/// Writes the chardev of a vhost-user NIC (its socket, never pre-opened: QEMU connects or
/// listens itself).
fn vhostuser_chardev(b: &mut Builder<'_>, nic: &Interface, alias: &str) -> Result<(), ArgvError> {
    let src = nic.source.as_ref();
    let path = src
        .and_then(|s| s.path.clone())
        .ok_or_else(|| ArgvError::Device {
            device: device_name(alias),
            reason: "vhost-user interface needs a socket path".into(),
        })?;
    let mode = match src.and_then(|s| s.mode) {
        Some(virt_xml::devices::interface::SourceMode::Server) => Some(ChrSourceMode::Bind),
        _ => Some(ChrSourceMode::Connect),
    };
    let backend = ChrBackend {
        sources: vec![ChrSource {
            mode,
            path: Some(path),
            reconnect: src.and_then(|s| s.reconnect),
            ..ChrSource::default()
        }],
        ..ChrBackend::default()
    };
    let props = common::chardev_props(
        b,
        &format!("char{alias}"),
        ChrType::Unix,
        &backend,
        "",
        false,
    )?;
    common::emit_chardev(b, &props);
    Ok(())
}

/// Writes what NIC `nic` (alias `alias`) needs before its `-device`: chardev or fd set, then
/// `-netdev`.
pub(crate) fn emit(b: &mut Builder<'_>, nic: &Interface, alias: &str) -> Result<(), ArgvError> {
    let ty = nic.iface_type;
    if nic.script.is_some() && ty != InterfaceType::Ethernet {
        return Err(ArgvError::unsupported(format!(
            "scripts are not supported on interfaces of type {}",
            ty.as_str()
        )));
    }
    let mut p = Props::new();
    match ty {
        InterfaceType::Bridge
        | InterfaceType::Network
        | InterfaceType::Direct
        | InterfaceType::Ethernet => {
            let n = queues(nic);
            let vhost = uses_vhost(b, nic, alias)?;
            let mut taps = Vec::new();
            for q in 0..n {
                let fd = b.pass_fd(
                    FdKind::Tap(q),
                    FdPurpose::Tap {
                        nic_alias: alias.to_string(),
                        queue: q,
                    },
                );
                taps.push(fd.to_string());
            }
            let mut vhosts = Vec::new();
            if vhost {
                for q in 0..n {
                    let fd = b.pass_fd(
                        FdKind::Vhost(q),
                        FdPurpose::Vhost {
                            nic_alias: alias.to_string(),
                            queue: q,
                        },
                    );
                    vhosts.push(fd.to_string());
                }
            }
            p.push("type", Value::Str("tap".into()));
            let key = if taps.len() > 1 { "fds" } else { "fd" };
            p.push(key, Value::Str(taps.join(":")));
            if !vhosts.is_empty() {
                p.push("vhost", Value::Bool(true));
                let key = if vhosts.len() > 1 {
                    "vhostfds"
                } else {
                    "vhostfd"
                };
                p.push(key, Value::Str(vhosts.join(":")));
            }
            if let Some(s) = nic.sndbuf {
                p.push("sndbuf", Value::UInt(s));
            }
        }
        InterfaceType::Client => {
            p.push("type", Value::Str("socket".into()));
            p.push("connect", Value::Str(socket_addr(nic)));
        }
        InterfaceType::Server => {
            p.push("type", Value::Str("socket".into()));
            p.push("listen", Value::Str(socket_addr(nic)));
        }
        InterfaceType::Mcast => {
            p.push("type", Value::Str("socket".into()));
            p.push("mcast", Value::Str(socket_addr(nic)));
        }
        InterfaceType::Udp => {
            let local =
                nic.source
                    .as_ref()
                    .and_then(|s| s.local)
                    .ok_or_else(|| ArgvError::Device {
                        device: device_name(alias),
                        reason: "udp interface needs a <local> address".into(),
                    })?;
            p.push("type", Value::Str("socket".into()));
            p.push("udp", Value::Str(socket_addr(nic)));
            p.push(
                "localaddr",
                Value::Str(format!("{}:{}", local.address, local.port)),
            );
        }
        InterfaceType::User => {
            let passt = nic
                .backend
                .as_ref()
                .is_some_and(|bk| bk.backend_type == Some(BackendType::Passt));
            if passt {
                let path =
                    common::passt_dir(b).join(format!("{}-{alias}.socket", b.host.short_name));
                p.push("type", Value::Str("stream".into()));
                p.push(
                    "addr",
                    Value::Obj(
                        Props::new()
                            .str("type", "unix")
                            .str("path", path.to_string_lossy()),
                    ),
                );
                p.push("server", Value::Bool(false));
            } else {
                p.push("type", Value::Str("user".into()));
                for ip in &nic.ips {
                    match ip.address {
                        IpAddr::V4(a) => {
                            let net = match ip.prefix.filter(|p| *p != 0) {
                                Some(pre) => format!("{a}/{pre}"),
                                None => a.to_string(),
                            };
                            p.push("net", Value::Str(net));
                        }
                        IpAddr::V6(a) => {
                            p.push("ipv6-prefix", Value::Str(a.to_string()));
                            if let Some(pre) = ip.prefix.filter(|p| *p != 0) {
                                p.push("ipv6-prefixlen", Value::UInt(u64::from(pre)));
                            }
                        }
                    }
                }
            }
        }
        InterfaceType::Internal => {
            p.push("type", Value::Str("user".into()));
        }
        InterfaceType::Vhostuser => {
            vhostuser_chardev(b, nic, alias)?;
            p.push("type", Value::Str("vhost-user".into()));
            p.push("chardev", Value::Str(format!("char{alias}")));
            let q = queues(nic);
            if q > 1 {
                p.push("queues", Value::UInt(u64::from(q)));
            }
        }
        InterfaceType::Vdpa => {
            let set = b.add_fd(
                FdKind::Vdpa,
                FdPurpose::Vdpa {
                    nic_alias: alias.to_string(),
                },
                &format!("{alias}-vdpa"),
            );
            p.push("type", Value::Str("vhost-vdpa".into()));
            p.push("vhostdev", Value::Str(set));
            let q = queues(nic);
            if q > 1 {
                p.push("queues", Value::UInt(u64::from(q)));
            }
        }
        InterfaceType::Hostdev | InterfaceType::Null | InterfaceType::Vds => {
            return Err(ArgvError::unsupported(format!(
                "network device type '{}' is not supported by this hypervisor",
                ty.as_str()
            )));
        }
    }
    p.push("id", Value::Str(format!("host{alias}")));
    b.netdev(&p);
    Ok(())
}
