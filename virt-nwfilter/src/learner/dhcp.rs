//! DHCP messages as far as the learner reads them: a server's DHCPv4 OFFER/ACK (RFC 2131) and a
//! DHCPv6 ADVERTISE/REPLY (RFC 8415). Both are outside input: every length is checked, nothing
//! panics, anything malformed is `None`/empty.

use std::net::{Ipv4Addr, Ipv6Addr};

/// BOOTP `op` of a server's reply.
pub const BOOTREPLY: u8 = 2;
/// DHCP message type (option 53) values the learner takes an address from.
pub const DHCPOFFER: u8 = 2;
pub const DHCPACK: u8 = 5;

const FIXED_LEN: usize = 236; // op .. file
const MAGIC: [u8; 4] = [99, 130, 83, 99];
const OPT_PAD: u8 = 0;
const OPT_END: u8 = 255;
const OPT_OVERLOAD: u8 = 52;
const OPT_MSG_TYPE: u8 = 53;

/// The parts of a DHCPv4 server reply the learner uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dhcpv4Reply {
    /// Option 53.
    pub msg_type: u8,
    /// "your" address: the lease.
    pub yiaddr: Ipv4Addr,
    /// The client's hardware address (first six bytes of `chaddr`).
    pub chaddr: [u8; 6],
}

/// Reads a BOOTREPLY for an Ethernet client (htype 1, hlen 6) carrying a DHCP message type.
/// `None` for requests, other hardware types, a wrong magic cookie, or no message type.
pub fn parse_v4_reply(p: &[u8]) -> Option<Dhcpv4Reply> {
    if p.len() < FIXED_LEN + MAGIC.len() || p[0] != BOOTREPLY || p[1] != 1 || p[2] != 6 {
        return None;
    }
    if p[FIXED_LEN..FIXED_LEN + 4] != MAGIC {
        return None;
    }
    let yiaddr = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let mut chaddr = [0u8; 6];
    chaddr.copy_from_slice(&p[28..34]);
    let options = &p[FIXED_LEN + 4..];
    let (mut msg_type, overload) = scan_options(options);
    // Option overload (52): the `file` (1), `sname` (2) or both (3) fields hold more options.
    if msg_type.is_none() {
        if let Some(o) = overload {
            if o & 1 != 0 {
                msg_type = scan_options(&p[108..236]).0;
            }
            if msg_type.is_none() && o & 2 != 0 {
                msg_type = scan_options(&p[44..108]).0;
            }
        }
    }
    Some(Dhcpv4Reply {
        msg_type: msg_type?,
        yiaddr,
        chaddr,
    })
}

/// Walks a DHCP option area: (message type, overload value).
fn scan_options(mut o: &[u8]) -> (Option<u8>, Option<u8>) {
    let (mut msg_type, mut overload) = (None, None);
    while let Some((&code, rest)) = o.split_first() {
        match code {
            OPT_PAD => {
                o = rest;
                continue;
            }
            OPT_END => break,
            _ => {}
        }
        let Some((&len, rest)) = rest.split_first() else {
            break;
        };
        let len = usize::from(len);
        if rest.len() < len {
            break;
        }
        let (value, rest) = rest.split_at(len);
        match (code, value) {
            (OPT_MSG_TYPE, [t, ..]) if msg_type.is_none() => msg_type = Some(*t),
            (OPT_OVERLOAD, [v, ..]) if overload.is_none() => overload = Some(*v),
            _ => {}
        }
        o = rest;
    }
    (msg_type, overload)
}

/// DHCPv6 message types the learner takes addresses from.
pub const DHCPV6_ADVERTISE: u8 = 2;
pub const DHCPV6_REPLY: u8 = 7;
const OPT6_IA_NA: u16 = 3;
const OPT6_IA_TA: u16 = 4;
const OPT6_IAADDR: u16 = 5;

/// The addresses a DHCPv6 ADVERTISE or REPLY assigns (IA_NA and IA_TA, IAADDR options with a
/// non-zero valid lifetime), in message order. Empty for any other message.
pub fn parse_v6_reply(p: &[u8]) -> Vec<Ipv6Addr> {
    let mut out = Vec::new();
    let Some(&msg_type) = p.first() else {
        return out;
    };
    if (msg_type != DHCPV6_ADVERTISE && msg_type != DHCPV6_REPLY) || p.len() < 4 {
        return out;
    }
    for (code, value) in v6_options(&p[4..]) {
        let ia_options = match code {
            OPT6_IA_NA if value.len() >= 12 => &value[12..],
            OPT6_IA_TA if value.len() >= 4 => &value[4..],
            _ => continue,
        };
        for (code, v) in v6_options(ia_options) {
            if code != OPT6_IAADDR || v.len() < 24 {
                continue;
            }
            let mut a = [0u8; 16];
            a.copy_from_slice(&v[..16]);
            let valid = u32::from_be_bytes([v[20], v[21], v[22], v[23]]);
            if valid != 0 {
                out.push(Ipv6Addr::from(a));
            }
        }
    }
    out
}

/// Iterates DHCPv6 options (code, value); stops at the first truncated one.
fn v6_options(mut o: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if o.len() < 4 {
            return None;
        }
        let code = u16::from_be_bytes([o[0], o[1]]);
        let len = usize::from(u16::from_be_bytes([o[2], o[3]]));
        if o.len() < 4 + len {
            return None;
        }
        let value = &o[4..4 + len];
        o = &o[4 + len..];
        Some((code, value))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A BOOTP message body with the given fields and options (after the magic cookie).
    pub fn bootp(op: u8, chaddr: [u8; 6], yiaddr: [u8; 4], options: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; FIXED_LEN];
        p[0] = op;
        p[1] = 1;
        p[2] = 6;
        p[16..20].copy_from_slice(&yiaddr);
        p[28..34].copy_from_slice(&chaddr);
        p.extend_from_slice(&MAGIC);
        p.extend_from_slice(options);
        p
    }

    const MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];

    #[test]
    fn offer_and_ack() {
        for t in [DHCPOFFER, DHCPACK] {
            let p = bootp(2, MAC, [198, 51, 100, 50], &[0, 0, 53, 1, t, 255]);
            let r = parse_v4_reply(&p).unwrap();
            assert_eq!(r.msg_type, t);
            assert_eq!(r.yiaddr, Ipv4Addr::new(198, 51, 100, 50));
            assert_eq!(r.chaddr, MAC);
        }
    }

    #[test]
    fn rejects_requests_bad_magic_and_truncation() {
        let p = bootp(1, MAC, [198, 51, 100, 50], &[53, 1, 5, 255]);
        assert!(parse_v4_reply(&p).is_none());
        let mut p = bootp(2, MAC, [198, 51, 100, 50], &[53, 1, 5, 255]);
        p[237] = 0;
        assert!(parse_v4_reply(&p).is_none());
        let p = bootp(2, MAC, [198, 51, 100, 50], &[53, 1]);
        assert!(parse_v4_reply(&p).is_none());
        let p = bootp(2, MAC, [198, 51, 100, 50], &[]);
        assert!(parse_v4_reply(&p[..100]).is_none());
    }

    #[test]
    fn overloaded_file_field() {
        let mut p = bootp(2, MAC, [198, 51, 100, 51], &[52, 1, 1, 255]);
        p[108..112].copy_from_slice(&[53, 1, 5, 255]);
        assert_eq!(parse_v4_reply(&p).unwrap().msg_type, DHCPACK);
    }

    /// A DHCPv6 message with one IA_NA holding the given (address, valid lifetime) pairs.
    pub fn dhcpv6(msg_type: u8, addrs: &[(Ipv6Addr, u32)]) -> Vec<u8> {
        let mut ia = vec![0, 0, 0, 1, 0, 0, 0, 60, 0, 0, 0, 90];
        for (a, valid) in addrs {
            ia.extend_from_slice(&OPT6_IAADDR.to_be_bytes());
            ia.extend_from_slice(&24u16.to_be_bytes());
            ia.extend_from_slice(&a.octets());
            ia.extend_from_slice(&100u32.to_be_bytes());
            ia.extend_from_slice(&valid.to_be_bytes());
        }
        let mut p = vec![msg_type, 0xab, 0xcd, 0xef];
        // A client-id option first, as servers send it.
        p.extend_from_slice(&[0, 1, 0, 4, 1, 2, 3, 4]);
        p.extend_from_slice(&OPT6_IA_NA.to_be_bytes());
        p.extend_from_slice(&(ia.len() as u16).to_be_bytes());
        p.extend_from_slice(&ia);
        p
    }

    #[test]
    fn dhcpv6_reply_addresses() {
        let a: Ipv6Addr = "2001:db8::51".parse().unwrap();
        let b: Ipv6Addr = "2001:db8::52".parse().unwrap();
        let p = dhcpv6(DHCPV6_REPLY, &[(a, 120), (b, 0)]);
        assert_eq!(parse_v6_reply(&p), vec![a]);
        assert!(parse_v6_reply(&dhcpv6(3, &[(a, 120)])).is_empty());
        assert!(parse_v6_reply(&p[..p.len() - 1]).is_empty());
        assert!(parse_v6_reply(&[]).is_empty());
    }
}
