//! The frame-matching core: one Ethernet frame and the guest's MAC in, the addresses that frame
//! proves the guest uses out. A pure function over bytes, shared by live capture, pcap replay, the
//! benchmark and the fuzz target.
//!
//! What counts (libvirt's `nwfilter_learnipaddr` rules, plus IPv6 behind [`MatchOptions::ipv6`]):
//! - to the guest (destination MAC = guest MAC, or broadcast for a DHCP reply with the broadcast
//!   flag): a DHCPv4 BOOTREPLY of type OFFER or ACK whose `chaddr` is the guest MAC gives `yiaddr`;
//!   a DHCPv6 ADVERTISE or REPLY gives its IA addresses;
//! - from the guest (source MAC = guest MAC): an ARP request or reply whose sender hardware address
//!   is the guest MAC gives the sender IPv4 address; any other IPv4 packet gives its source address;
//!   an NDP neighbour solicitation gives its source (or, during duplicate address detection, its
//!   target), a neighbour advertisement its target; any other IPv6 packet its source.
//! - never an address [`addr::learnable`](super::addr::learnable) refuses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    ArpHardwareId, ArpOperation, EtherType, LaxNetSlice, LaxSlicedPacket, LinkSlice, TransportSlice,
};
use virt_xml::MacAddr;

use super::addr::{learnable_v4, learnable_v6};
use super::dhcp;

/// How an address was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum How {
    /// A DHCPv4 OFFER or ACK to the guest (`yiaddr`).
    Dhcp,
    /// An ARP request or reply the guest sent (sender address).
    Arp,
    /// The source of an IPv4 packet the guest sent.
    Ipv4,
    /// An NDP solicitation or advertisement the guest sent.
    Ndp,
    /// A DHCPv6 ADVERTISE or REPLY to the guest.
    Dhcpv6,
    /// The source of an IPv6 packet the guest sent.
    Ipv6,
}

impl How {
    /// `true` for the DHCP ways (libvirt's `DETECT_DHCP`); the others are "static" (`DETECT_STATIC`).
    pub fn is_dhcp(self) -> bool {
        matches!(self, How::Dhcp | How::Dhcpv6)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            How::Dhcp => "dhcp",
            How::Arp => "arp",
            How::Ipv4 => "ipv4",
            How::Ndp => "ndp",
            How::Dhcpv6 => "dhcpv6",
            How::Ipv6 => "ipv6",
        }
    }
}

impl std::fmt::Display for How {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One learned address and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Learned {
    pub addr: IpAddr,
    pub how: How,
}

impl std::fmt::Display for Learned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.addr, self.how)
    }
}

/// Which ways of learning are allowed (libvirt's `CTRL_IP_LEARNING`: `any`, `dhcp`; `static` is
/// the ARP/first-packet half of `any` on its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detect {
    /// DHCP and static (ARP, first packet, NDP).
    #[default]
    Any,
    /// DHCP replies only.
    Dhcp,
    /// ARP, first packet and NDP only.
    Static,
}

impl Detect {
    pub fn allows(self, how: How) -> bool {
        match self {
            Detect::Any => true,
            Detect::Dhcp => how.is_dhcp(),
            Detect::Static => !how.is_dhcp(),
        }
    }
}

impl std::str::FromStr for Detect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "any" => Ok(Detect::Any),
            "dhcp" => Ok(Detect::Dhcp),
            "static" => Ok(Detect::Static),
            other => Err(format!("unknown detect mode {other:?} (any, dhcp, static)")),
        }
    }
}

/// What [`learn_from_frame`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MatchOptions {
    pub detect: Detect,
    /// Also learn IPv6 addresses (NDP, DHCPv6, IPv6 source): beyond libvirt.
    pub ipv6: bool,
}

const BROADCAST: [u8; 6] = [0xff; 6];
const DHCP_SERVER_PORT: u16 = 67;
const DHCP_CLIENT_PORT: u16 = 68;
const DHCPV6_SERVER_PORT: u16 = 547;
const DHCPV6_CLIENT_PORT: u16 = 546;
const ND_NEIGHBOR_SOLICIT: u8 = 135;
const ND_NEIGHBOR_ADVERT: u8 = 136;

/// The addresses `frame` shows the guest `mac` uses, in frame order (empty for almost every frame).
pub fn learn_from_frame(frame: &[u8], mac: MacAddr, opts: MatchOptions) -> Vec<Learned> {
    let mut out = Vec::new();
    learn_into(frame, mac, opts, &mut out);
    out
}

/// The first address [`learn_from_frame`] would give.
pub fn match_frame(frame: &[u8], mac: MacAddr, opts: MatchOptions) -> Option<Learned> {
    learn_from_frame(frame, mac, opts).into_iter().next()
}

/// [`learn_from_frame`] appending to `out` (no allocation when nothing is learned).
pub fn learn_into(frame: &[u8], mac: MacAddr, opts: MatchOptions, out: &mut Vec<Learned>) {
    let mac = mac.octets();
    // Cheap pre-check on the raw header before any parsing: almost all frames stop here.
    let (Some(dst), Some(src)) = (frame.get(0..6), frame.get(6..12)) else {
        return;
    };
    let from_guest = src == mac;
    let to_guest = !from_guest && (dst == mac || dst == BROADCAST);
    if !from_guest && !to_guest {
        return;
    }
    // To the guest only UDP can teach: skip untagged ARP and non-UDP IPv4 before parsing.
    if to_guest {
        match (frame.get(12..14), frame.get(23)) {
            (Some([0x08, 0x06]), _) => return,
            (Some([0x08, 0x00]), Some(&proto)) if proto != 17 => return,
            _ => {}
        }
    }
    let Ok(p) = LaxSlicedPacket::from_ethernet(frame) else {
        return;
    };
    if !matches!(p.link, Some(LinkSlice::Ethernet2(_))) {
        return;
    }
    // Broadcast DHCP replies count untagged only, as the kernel filter passes them.
    if to_guest && dst != mac && !p.link_exts.is_empty() {
        return;
    }
    let before = out.len();
    if from_guest {
        from_guest_frame(&p, mac, opts, out);
    } else {
        to_guest_frame(&p, mac, dst == mac, opts, out);
    }
    // Keep only what the detect mode allows.
    let mut i = before;
    while i < out.len() {
        if opts.detect.allows(out[i].how) {
            i += 1;
        } else {
            out.remove(i);
        }
    }
}

fn from_guest_frame(
    p: &LaxSlicedPacket<'_>,
    mac: [u8; 6],
    opts: MatchOptions,
    out: &mut Vec<Learned>,
) {
    match &p.net {
        Some(LaxNetSlice::Arp(arp)) => {
            let op = arp.operation();
            if arp.hw_addr_type() == ArpHardwareId::ETHERNET
                && arp.proto_addr_type() == EtherType::IPV4
                && arp.hw_addr_size() == 6
                && arp.proto_addr_size() == 4
                && (op == ArpOperation::REQUEST || op == ArpOperation::REPLY)
                && arp.sender_hw_addr() == mac
            {
                if let Ok(spa) = <[u8; 4]>::try_from(arp.sender_protocol_addr()) {
                    push_v4(out, Ipv4Addr::from(spa), How::Arp);
                }
            }
        }
        Some(LaxNetSlice::Ipv4(ip)) => {
            push_v4(out, ip.header().source_addr(), How::Ipv4);
        }
        Some(LaxNetSlice::Ipv6(ip)) if opts.ipv6 => {
            let src = ip.header().source_addr();
            if let Some(TransportSlice::Icmpv6(icmp)) = &p.transport {
                let target = icmp
                    .payload()
                    .get(..16)
                    .and_then(|t| <[u8; 16]>::try_from(t).ok())
                    .map(Ipv6Addr::from);
                match (icmp.type_u8(), target) {
                    (ND_NEIGHBOR_SOLICIT, Some(t)) => {
                        // Duplicate address detection: from ::, claiming the target.
                        let a = if src.is_unspecified() { t } else { src };
                        push_v6(out, a, How::Ndp);
                        return;
                    }
                    (ND_NEIGHBOR_ADVERT, Some(t)) => {
                        push_v6(out, t, How::Ndp);
                        return;
                    }
                    _ => {}
                }
            }
            push_v6(out, src, How::Ipv6);
        }
        _ => {}
    }
}

fn to_guest_frame(
    p: &LaxSlicedPacket<'_>,
    mac: [u8; 6],
    unicast: bool,
    opts: MatchOptions,
    out: &mut Vec<Learned>,
) {
    let Some(TransportSlice::Udp(udp)) = &p.transport else {
        return;
    };
    let ports = (udp.source_port(), udp.destination_port());
    match &p.net {
        Some(LaxNetSlice::Ipv4(_)) if ports == (DHCP_SERVER_PORT, DHCP_CLIENT_PORT) => {
            if let Some(r) = dhcp::parse_v4_reply(udp.payload()) {
                if r.chaddr == mac && (r.msg_type == dhcp::DHCPOFFER || r.msg_type == dhcp::DHCPACK)
                {
                    push_v4(out, r.yiaddr, How::Dhcp);
                }
            }
        }
        Some(LaxNetSlice::Ipv6(_))
            if opts.ipv6 && unicast && ports == (DHCPV6_SERVER_PORT, DHCPV6_CLIENT_PORT) =>
        {
            for a in dhcp::parse_v6_reply(udp.payload()) {
                push_v6(out, a, How::Dhcpv6);
            }
        }
        _ => {}
    }
}

fn push_v4(out: &mut Vec<Learned>, a: Ipv4Addr, how: How) {
    if learnable_v4(a) {
        out.push(Learned {
            addr: IpAddr::V4(a),
            how,
        });
    }
}

fn push_v6(out: &mut Vec<Learned>, a: Ipv6Addr, how: How) {
    if learnable_v6(a) {
        out.push(Learned {
            addr: IpAddr::V6(a),
            how,
        });
    }
}
