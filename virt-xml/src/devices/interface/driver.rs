//! `<interface><driver>`: the virtio-net backend, queues and offloads (`<host>`/`<guest>`).

use crate::domain::{attr_parse, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<driver name>` of an emulated NIC.
    NetBackend { Qemu = "qemu", Vhost = "vhost" }
);

str_enum!(
    /// `<driver name>` of a hostdev interface (written before `<source>`).
    HostdevBackend { Kvm = "kvm", Vfio = "vfio", Xen = "xen" }
);

str_enum!(
    /// `<driver txmode>`.
    TxMode { Iothread = "iothread", Timer = "timer" }
);

/// `<driver><host .../>`: host-side offloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostOffloads {
    pub csum: Option<OnOff>,
    pub gso: Option<OnOff>,
    pub tso4: Option<OnOff>,
    pub tso6: Option<OnOff>,
    pub ecn: Option<OnOff>,
    pub ufo: Option<OnOff>,
    pub mrg_rxbuf: Option<OnOff>,
}

/// `<driver><guest .../>`: guest-side offloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GuestOffloads {
    pub csum: Option<OnOff>,
    pub tso4: Option<OnOff>,
    pub tso6: Option<OnOff>,
    pub ecn: Option<OnOff>,
    pub ufo: Option<OnOff>,
}

/// `<interface><driver>` (the NIC model's driver settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetDriver {
    pub name: Option<NetBackend>,
    pub txmode: Option<TxMode>,
    pub ioeventfd: Option<OnOff>,
    pub event_idx: Option<OnOff>,
    pub queues: Option<u32>,
    pub rx_queue_size: Option<u32>,
    pub tx_queue_size: Option<u32>,
    pub rss: Option<OnOff>,
    pub rss_hash_report: Option<OnOff>,
    pub iommu: Option<OnOff>,
    pub ats: Option<OnOff>,
    pub packed: Option<OnOff>,
    pub page_per_vq: Option<OnOff>,
    pub host: Option<HostOffloads>,
    pub guest: Option<GuestOffloads>,
}

impl NetDriver {
    /// Parses `<driver>` (its `name`, when a hostdev backend, is read by the caller).
    pub fn from_element(el: &Element) -> Result<NetDriver, XmlError> {
        let name = match el.attr("name") {
            Some(n) if n.parse::<HostdevBackend>().is_ok() => None,
            _ => attr_parse(el, "name")?,
        };
        let host = match el.child("host") {
            None => None,
            Some(h) => Some(HostOffloads {
                csum: attr_parse(h, "csum")?,
                gso: attr_parse(h, "gso")?,
                tso4: attr_parse(h, "tso4")?,
                tso6: attr_parse(h, "tso6")?,
                ecn: attr_parse(h, "ecn")?,
                ufo: attr_parse(h, "ufo")?,
                mrg_rxbuf: attr_parse(h, "mrg_rxbuf")?,
            }),
        };
        let guest = match el.child("guest") {
            None => None,
            Some(g) => Some(GuestOffloads {
                csum: attr_parse(g, "csum")?,
                tso4: attr_parse(g, "tso4")?,
                tso6: attr_parse(g, "tso6")?,
                ecn: attr_parse(g, "ecn")?,
                ufo: attr_parse(g, "ufo")?,
            }),
        };
        Ok(NetDriver {
            name,
            txmode: attr_parse(el, "txmode")?,
            ioeventfd: attr_parse(el, "ioeventfd")?,
            event_idx: attr_parse(el, "event_idx")?,
            queues: num_attr(el, "queues")?,
            rx_queue_size: num_attr(el, "rx_queue_size")?,
            tx_queue_size: num_attr(el, "tx_queue_size")?,
            rss: attr_parse(el, "rss")?,
            rss_hash_report: attr_parse(el, "rss_hash_report")?,
            iommu: attr_parse(el, "iommu")?,
            ats: attr_parse(el, "ats")?,
            packed: attr_parse(el, "packed")?,
            page_per_vq: attr_parse(el, "page_per_vq")?,
            host,
            guest,
        })
    }

    /// True when nothing is set (libvirt then writes no `<driver>`).
    pub fn is_empty(&self) -> bool {
        *self == NetDriver::default()
    }

    /// Writes `<driver>` in libvirt's attribute order.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("driver")
            .opt_attr("name", self.name)
            .opt_attr("txmode", self.txmode)
            .opt_attr("ioeventfd", self.ioeventfd)
            .opt_attr("event_idx", self.event_idx)
            .opt_attr("queues", self.queues)
            .opt_attr("rx_queue_size", self.rx_queue_size)
            .opt_attr("tx_queue_size", self.tx_queue_size)
            .opt_attr("rss", self.rss)
            .opt_attr("rss_hash_report", self.rss_hash_report)
            .opt_attr("iommu", self.iommu)
            .opt_attr("ats", self.ats)
            .opt_attr("packed", self.packed)
            .opt_attr("page_per_vq", self.page_per_vq);
        w.element(tag, |w| {
            if let Some(h) = &self.host {
                w.empty(
                    Tag::new("host")
                        .opt_attr("csum", h.csum)
                        .opt_attr("gso", h.gso)
                        .opt_attr("tso4", h.tso4)
                        .opt_attr("tso6", h.tso6)
                        .opt_attr("ecn", h.ecn)
                        .opt_attr("ufo", h.ufo)
                        .opt_attr("mrg_rxbuf", h.mrg_rxbuf),
                );
            }
            if let Some(g) = &self.guest {
                w.empty(
                    Tag::new("guest")
                        .opt_attr("csum", g.csum)
                        .opt_attr("tso4", g.tso4)
                        .opt_attr("tso6", g.tso6)
                        .opt_attr("ecn", g.ecn)
                        .opt_attr("ufo", g.ufo),
                );
            }
        });
    }
}
