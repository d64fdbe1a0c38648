//! The guest side of a NIC: `-device virtio-net-pci` (transport and transitional suffix, virtio
//! options, tx mode, offloads, multiqueue, queue sizes, RSS, MTU, failover) or the emulated
//! model (`e1000`, `e1000e`, `rtl8139`, ...), then `netdev`, `id`, `mac`, boot index, bus
//! placement and option ROM.

use virt_xml::address::Address;
use virt_xml::devices::interface::{Interface, TeamingType, TxMode};
use virt_xml::domain::InterfaceType;

use super::common::{push_address, push_nonzero, push_rom, push_switch, virtio_transport};
use crate::argv::builder::{ArgvError, Builder};
use crate::argv::props::{Props, Value};

/// Whether the NIC model is one of the virtio ones.
pub(crate) fn is_virtio(nic: &Interface) -> bool {
    matches!(
        model(nic),
        Some("virtio" | "virtio-transitional" | "virtio-non-transitional")
    )
}

/// The NIC model: as written, or `virtio` for the types that only have a virtio front end
/// (vDPA and vhost-user).
pub(crate) fn model(nic: &Interface) -> Option<&str> {
    match nic.model.as_deref() {
        Some(m) => Some(m),
        None if matches!(
            nic.iface_type,
            InterfaceType::Vdpa | InterfaceType::Vhostuser
        ) =>
        {
            Some("virtio")
        }
        None => None,
    }
}

/// The model libvirt uses when none is given (x86).
const DEFAULT_MODEL: &str = "rtl8139";

fn virtio_props(b: &Builder<'_>, nic: &Interface, alias: &str) -> Result<Props, ArgvError> {
    let mut name = format!("virtio-net-{}", virtio_transport(&nic.info));
    match model(nic) {
        Some("virtio-transitional") if b.caps.has_flag("virtio-pci-non-transitional") => {
            name.push_str("-transitional");
        }
        Some("virtio-non-transitional") => {
            if !b.caps.has_flag("virtio-pci-non-transitional") {
                return Err(ArgvError::Device {
                    device: format!("interface '{alias}'"),
                    reason: "virtio non-transitional model not supported for this qemu".into(),
                });
            }
            name.push_str("-non-transitional");
        }
        _ => {}
    }
    let mut p = Props::new().str("driver", name);
    let d = nic.driver.unwrap_or_default();
    push_switch(&mut p, "iommu_platform", d.iommu);
    push_switch(&mut p, "ats", d.ats);
    push_switch(&mut p, "packed", d.packed);
    push_switch(&mut p, "page-per-vq", d.page_per_vq);
    match d.txmode {
        Some(TxMode::Iothread) => p.push("tx", Value::Str("bh".into())),
        Some(TxMode::Timer) => p.push("tx", Value::Str("timer".into())),
        None => {}
    }
    push_switch(&mut p, "ioeventfd", d.ioeventfd);
    push_switch(&mut p, "event_idx", d.event_idx);
    let h = d.host.unwrap_or_default();
    push_switch(&mut p, "csum", h.csum);
    push_switch(&mut p, "gso", h.gso);
    push_switch(&mut p, "host_tso4", h.tso4);
    push_switch(&mut p, "host_tso6", h.tso6);
    push_switch(&mut p, "host_ecn", h.ecn);
    push_switch(&mut p, "host_ufo", h.ufo);
    push_switch(&mut p, "mrg_rxbuf", h.mrg_rxbuf);
    let g = d.guest.unwrap_or_default();
    push_switch(&mut p, "guest_csum", g.csum);
    push_switch(&mut p, "guest_tso4", g.tso4);
    push_switch(&mut p, "guest_tso6", g.tso6);
    push_switch(&mut p, "guest_ecn", g.ecn);
    push_switch(&mut p, "guest_ufo", g.ufo);
    let queues = d.queues.unwrap_or(0);
    if queues > 1 {
        p.push("mq", Value::Bool(true));
        if !matches!(nic.info.address, Some(Address::Ccw { .. })) {
            p.push("vectors", Value::UInt(2 * u64::from(queues) + 2));
        }
    }
    push_nonzero(&mut p, "rx_queue_size", d.rx_queue_size.map(u64::from));
    push_nonzero(&mut p, "tx_queue_size", d.tx_queue_size.map(u64::from));
    push_switch(&mut p, "rss", d.rss);
    push_switch(&mut p, "hash", d.rss_hash_report);
    push_nonzero(&mut p, "host_mtu", nic.mtu.map(u64::from));
    if nic
        .teaming
        .as_ref()
        .is_some_and(|t| t.teaming_type == TeamingType::Persistent)
    {
        p.push("failover", Value::Bool(true));
    }
    Ok(p)
}

/// The `-device` of NIC `nic` (alias `alias`) with boot index `boot`.
pub(crate) fn props(
    b: &Builder<'_>,
    nic: &Interface,
    alias: &str,
    boot: Option<u32>,
) -> Result<Props, ArgvError> {
    let mut p = if is_virtio(nic) {
        virtio_props(b, nic, alias)?
    } else {
        Props::new().str("driver", model(nic).unwrap_or(DEFAULT_MODEL))
    };
    p.push("netdev", Value::Str(format!("host{alias}")));
    p.push("id", Value::Str(alias.to_string()));
    let mac = nic
        .mac
        .map(|m| m.address.to_string())
        .ok_or_else(|| ArgvError::Device {
            device: format!("interface '{alias}'"),
            reason: "no MAC address assigned".into(),
        })?;
    p.push("mac", Value::Str(mac));
    push_nonzero(&mut p, "bootindex", boot.map(u64::from));
    push_address(b, &nic.info, &mut p)?;
    push_rom(&nic.info, &mut p, &format!("interface '{alias}'"))?;
    Ok(p)
}
