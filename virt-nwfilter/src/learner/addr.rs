//! Which addresses may be learned.
//!
//! An address is learned only when it can be the guest's own unicast address: never the
//! unspecified address (a DHCP client's source before it has a lease), never broadcast, multicast,
//! reserved (240.0.0.0/4) or loopback. For IPv6, link-local addresses (fe80::/10) are not learned
//! either: every guest has one, filters allow them by prefix, and they say nothing about the
//! address the guest was given.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `true` when `a` may be learned as a guest's IPv4 address.
pub fn learnable_v4(a: Ipv4Addr) -> bool {
    let first = a.octets()[0];
    !(a.is_unspecified()
        || a.is_broadcast()
        || a.is_loopback()
        // 224.0.0.0/4 multicast and 240.0.0.0/4 reserved: the top three bits set, as libvirt skips.
        || first & 0xe0 == 0xe0)
}

/// `true` when `a` may be learned as a guest's IPv6 address.
pub fn learnable_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        || s[0] & 0xffc0 == 0xfe80
        || a.to_ipv4_mapped().is_some())
}

/// `true` when `a` may be learned.
pub fn learnable(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(a) => learnable_v4(a),
        IpAddr::V6(a) => learnable_v6(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_rules() {
        for bad in [
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "239.1.2.3",
            "240.0.0.1",
            "127.0.0.1",
        ] {
            assert!(!learnable_v4(bad.parse().unwrap()), "{bad}");
        }
        for good in ["198.51.100.7", "10.0.0.1", "223.255.255.254", "169.254.3.4"] {
            assert!(learnable_v4(good.parse().unwrap()), "{good}");
        }
    }

    #[test]
    fn v6_rules() {
        for bad in [
            "::",
            "::1",
            "ff02::1",
            "fe80::1",
            "febf::1",
            "::ffff:198.51.100.1",
        ] {
            assert!(!learnable_v6(bad.parse().unwrap()), "{bad}");
        }
        for good in ["2001:db8::20", "fd00::1", "fec0::1"] {
            assert!(learnable_v6(good.parse().unwrap()), "{good}");
        }
    }
}
