//! The IP learner's parsers of outside input: an Ethernet frame through the matcher, and a
//! pcap/pcapng capture through the replay reader. The first byte picks which.
#![no_main]

use libfuzzer_sys::fuzz_target;
use virt_nwfilter::learner::{learn_from_frame, replay, Detect, MatchOptions};
use virt_xml::MacAddr;

const GUEST: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let opts = MatchOptions {
        detect: [Detect::Any, Detect::Dhcp, Detect::Static][usize::from(mode % 3)],
        ipv6: mode & 4 != 0,
    };
    if mode & 8 == 0 {
        // The guest MAC as the frame's own source or destination reaches the deep paths.
        for mac in [GUEST, mac_at(rest, 0), mac_at(rest, 6)] {
            for l in learn_from_frame(rest, mac, opts) {
                assert!(virt_nwfilter::learner::addr::learnable(l.addr));
            }
        }
    } else {
        let _ = replay("fuzz", rest, GUEST, opts, usize::from(mode >> 4) + 1);
    }
});

fn mac_at(d: &[u8], at: usize) -> MacAddr {
    let mut m = [0u8; 6];
    if let Some(s) = d.get(at..at + 6) {
        m.copy_from_slice(s);
    }
    MacAddr(m)
}
