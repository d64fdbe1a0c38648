//! Synthetic frames and captures: the same bytes real guests, DHCP servers and `tcpdump` produce,
//! built from typed values. Used by tests, the benchmark, fuzz seeds and the system tests (which
//! inject them with an AF_PACKET socket). A frame that cannot be built comes back empty.

use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{ArpEthIpv4Packet, ArpOperation, Icmpv6Type, PacketBuilder};
use virt_xml::MacAddr;

pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

/// A BOOTP/DHCPv4 server reply body (`op` 2) with message type `msg_type` and the
/// broadcast address option, as dnsmasq sends.
pub fn bootp_reply(chaddr: MacAddr, yiaddr: Ipv4Addr, server: Ipv4Addr, msg_type: u8) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[0] = 2; // BOOTREPLY
    p[1] = 1; // Ethernet
    p[2] = 6;
    p[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    p[16..20].copy_from_slice(&yiaddr.octets());
    p[20..24].copy_from_slice(&server.octets());
    p[28..34].copy_from_slice(&chaddr.octets());
    p.extend_from_slice(&[99, 130, 83, 99]);
    p.extend_from_slice(&[53, 1, msg_type]);
    p.extend_from_slice(&[54, 4]);
    p.extend_from_slice(&server.octets());
    p.extend_from_slice(&[51, 4, 0, 0, 0x0e, 0x10]);
    p.extend_from_slice(&[1, 4, 255, 255, 255, 0]);
    p.extend_from_slice(&[28, 4, 198, 51, 100, 255]);
    p.push(255);
    p
}

/// A BOOTP/DHCPv4 client request body (`op` 1), e.g. DISCOVER (1) or REQUEST (3).
pub fn bootp_request(chaddr: MacAddr, msg_type: u8) -> Vec<u8> {
    let mut p = bootp_reply(
        chaddr,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        msg_type,
    );
    p[0] = 1;
    p
}

/// An IPv4/UDP frame.
pub fn udp4(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ports: (u16, u16),
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src_mac.octets(), dst_mac.octets())
        .ipv4(src.octets(), dst.octets(), 64)
        .udp(ports.0, ports.1);
    let mut v = Vec::with_capacity(b.size(payload.len()));
    if b.write(&mut v, payload).is_err() {
        v.clear();
    }
    v
}

/// An IPv4/TCP frame (a SYN), as ordinary traffic.
pub fn tcp4(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src_mac.octets(), dst_mac.octets())
        .ipv4(src.octets(), dst.octets(), 64)
        .tcp(40000, 443, 1, 65535);
    let mut v = Vec::with_capacity(b.size(payload.len()));
    if b.write(&mut v, payload).is_err() {
        v.clear();
    }
    v
}

/// A DHCPv4 server reply frame from `server_mac`/`server` to `dst_mac` (the guest, or broadcast).
pub fn dhcp_reply(
    server_mac: MacAddr,
    dst_mac: MacAddr,
    guest: MacAddr,
    server: Ipv4Addr,
    yiaddr: Ipv4Addr,
    msg_type: u8,
) -> Vec<u8> {
    let dst_ip = if dst_mac == BROADCAST {
        Ipv4Addr::BROADCAST
    } else {
        yiaddr
    };
    udp4(
        server_mac,
        dst_mac,
        server,
        dst_ip,
        (67, 68),
        &bootp_reply(guest, yiaddr, server, msg_type),
    )
}

/// A DHCPv4 client frame (from 0.0.0.0 to broadcast) with message type `msg_type`.
pub fn dhcp_request(guest: MacAddr, msg_type: u8) -> Vec<u8> {
    udp4(
        guest,
        BROADCAST,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::BROADCAST,
        (68, 67),
        &bootp_request(guest, msg_type),
    )
}

/// An Ethernet/IPv4 ARP frame; `op` 1 request (to broadcast), 2 reply (to `dst_mac`).
pub fn arp(sender: MacAddr, dst_mac: MacAddr, op: u16, spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let target_mac = if op == 1 { [0; 6] } else { dst_mac.octets() };
    let b = PacketBuilder::ethernet2(sender.octets(), dst_mac.octets()).arp(
        ArpEthIpv4Packet {
            operation: ArpOperation(op),
            sender_mac: sender.octets(),
            sender_ipv4: spa.octets(),
            target_mac,
            target_ipv4: tpa.octets(),
        }
        .into(),
    );
    let mut v = Vec::new();
    if b.write(&mut v).is_err() {
        v.clear();
    }
    v
}

/// The solicited-node multicast MAC for an IPv6 address.
fn solicited_node_mac(a: Ipv6Addr) -> MacAddr {
    let o = a.octets();
    MacAddr([0x33, 0x33, 0xff, o[13], o[14], o[15]])
}

/// An NDP neighbour solicitation from `src_mac`/`src` for `target` (`src` = `::` for DAD).
pub fn ndp_solicit(src_mac: MacAddr, src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let o = target.octets();
    let dst = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    );
    let b = PacketBuilder::ethernet2(src_mac.octets(), solicited_node_mac(target).octets())
        .ipv6(src.octets(), dst.octets(), 255)
        .icmpv6(Icmpv6Type::NeighborSolicitation);
    let mut v = Vec::new();
    if b.write(&mut v, &target.octets()).is_err() {
        v.clear();
    }
    v
}

/// An unsolicited NDP neighbour advertisement for `target` from `src_mac`.
pub fn ndp_advert(src_mac: MacAddr, src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src_mac.octets(), [0x33, 0x33, 0, 0, 0, 1])
        .ipv6(
            src.octets(),
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).octets(),
            255,
        )
        .icmpv6(Icmpv6Type::NeighborAdvertisement(
            etherparse::icmpv6::NeighborAdvertisementHeader {
                router: false,
                solicited: false,
                r#override: true,
            },
        ));
    let mut v = Vec::new();
    if b.write(&mut v, &target.octets()).is_err() {
        v.clear();
    }
    v
}

/// An IPv6/UDP frame.
pub fn udp6(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ports: (u16, u16),
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src_mac.octets(), dst_mac.octets())
        .ipv6(src.octets(), dst.octets(), 64)
        .udp(ports.0, ports.1);
    let mut v = Vec::new();
    if b.write(&mut v, payload).is_err() {
        v.clear();
    }
    v
}

/// A DHCPv6 message body: type, transaction id, a server-id option, one IA_NA with the given
/// (address, valid lifetime) IAADDRs.
pub fn dhcpv6_body(msg_type: u8, addrs: &[(Ipv6Addr, u32)]) -> Vec<u8> {
    let mut ia = vec![0, 0, 0, 1, 0, 0, 0, 60, 0, 0, 0, 90];
    for (a, valid) in addrs {
        ia.extend_from_slice(&[0, 5, 0, 24]);
        ia.extend_from_slice(&a.octets());
        ia.extend_from_slice(&100u32.to_be_bytes());
        ia.extend_from_slice(&valid.to_be_bytes());
    }
    let mut p = vec![msg_type, 0xab, 0xcd, 0xef];
    p.extend_from_slice(&[0, 2, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 0, 1]);
    p.extend_from_slice(&[0, 3]);
    p.extend_from_slice(&u16::try_from(ia.len()).unwrap_or(u16::MAX).to_be_bytes());
    p.extend_from_slice(&ia);
    p
}

/// A DHCPv6 REPLY (7) from a server to the guest's link-local address.
pub fn dhcpv6_reply(server_mac: MacAddr, guest: MacAddr, addrs: &[Ipv6Addr]) -> Vec<u8> {
    let with_life: Vec<(Ipv6Addr, u32)> = addrs.iter().map(|a| (*a, 3600)).collect();
    udp6(
        server_mac,
        guest,
        "fe80::1".parse().unwrap_or(Ipv6Addr::LOCALHOST),
        "fe80::5054:ff:fe00:1"
            .parse()
            .unwrap_or(Ipv6Addr::LOCALHOST),
        (547, 546),
        &dhcpv6_body(7, &with_life),
    )
}

/// A legacy pcap file (little-endian, microsecond stamps, linktype 1 Ethernet) of `frames`,
/// one per millisecond.
pub fn pcap<'a>(frames: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.into_iter().enumerate() {
        let len = u32::try_from(f.len()).unwrap_or(u32::MAX);
        let us = u32::try_from(i % 1000 * 1000).unwrap_or(0);
        let s = u32::try_from(i / 1000).unwrap_or(0);
        for v in [1_700_000_000u32.wrapping_add(s), us, len, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    out
}

/// A pcapng file (one section, one Ethernet interface) of `frames` as enhanced packet blocks.
pub fn pcapng<'a>(frames: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let len = u32::try_from(12 + body.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&262_144u32.to_le_bytes());
    block(&mut out, 1, &idb);
    for f in frames {
        let len = u32::try_from(f.len()).unwrap_or(u32::MAX);
        let mut epb = Vec::new();
        for v in [0u32, 0, 0, len, len] {
            epb.extend_from_slice(&v.to_le_bytes());
        }
        epb.extend_from_slice(f);
        while epb.len() % 4 != 0 {
            epb.push(0);
        }
        block(&mut out, 6, &epb);
    }
    out
}
