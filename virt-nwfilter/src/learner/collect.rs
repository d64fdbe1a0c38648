//! The set of addresses learned so far and when learning is done.

use std::net::IpAddr;

use super::frame::{Learned, MatchOptions};

/// Collects learned addresses: at most `max_per_family` per address family, no duplicates.
/// Done once IPv4 (and, with [`MatchOptions::ipv6`], IPv6) has `max_per_family` addresses.
/// With the defaults (one per family, IPv4 only) that is libvirt's rule: the first address ends it.
#[derive(Debug, Clone)]
pub struct Collector {
    opts: MatchOptions,
    max_per_family: usize,
    addrs: Vec<Learned>,
}

impl Collector {
    pub fn new(opts: MatchOptions, max_per_family: usize) -> Self {
        Collector {
            opts,
            max_per_family: max_per_family.max(1),
            addrs: Vec::new(),
        }
    }

    /// Adds `l` unless its address is known or its family is full; `true` when added.
    pub fn offer(&mut self, l: Learned) -> bool {
        if !self.opts.detect.allows(l.how) || (l.addr.is_ipv6() && !self.opts.ipv6) {
            return false;
        }
        if self.addrs.iter().any(|k| k.addr == l.addr) {
            return false;
        }
        if self.count(l.addr.is_ipv6()) >= self.max_per_family {
            return false;
        }
        self.addrs.push(l);
        true
    }

    fn count(&self, v6: bool) -> usize {
        self.addrs.iter().filter(|k| k.addr.is_ipv6() == v6).count()
    }

    pub fn done(&self) -> bool {
        self.count(false) >= self.max_per_family
            && (!self.opts.ipv6 || self.count(true) >= self.max_per_family)
    }

    /// Everything learned, in the order learned.
    pub fn learned(&self) -> &[Learned] {
        &self.addrs
    }

    pub fn addrs(&self) -> Vec<IpAddr> {
        self.addrs.iter().map(|l| l.addr).collect()
    }

    pub fn into_learned(self) -> Vec<Learned> {
        self.addrs
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::How;
    use super::*;

    fn l(a: &str, how: How) -> Learned {
        Learned {
            addr: a.parse().unwrap(),
            how,
        }
    }

    #[test]
    fn libvirt_default_first_ipv4_ends_it() {
        let mut c = Collector::new(MatchOptions::default(), 1);
        assert!(!c.offer(l("2001:db8::1", How::Ndp)));
        assert!(!c.done());
        assert!(c.offer(l("198.51.100.9", How::Arp)));
        assert!(c.done());
        assert!(!c.offer(l("198.51.100.10", How::Ipv4)));
        assert_eq!(c.addrs(), vec!["198.51.100.9".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn several_and_ipv6() {
        let opts = MatchOptions {
            ipv6: true,
            ..Default::default()
        };
        let mut c = Collector::new(opts, 2);
        assert!(c.offer(l("198.51.100.9", How::Dhcp)));
        assert!(!c.offer(l("198.51.100.9", How::Arp)));
        assert!(c.offer(l("2001:db8::1", How::Ndp)));
        assert!(c.offer(l("198.51.100.10", How::Ipv4)));
        assert!(!c.done());
        assert!(c.offer(l("2001:db8::2", How::Dhcpv6)));
        assert!(c.done());
        assert_eq!(c.learned().len(), 4);
    }
}
