//! Property tests over outside input: frames, DHCP payloads and captures.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use virt_xml::MacAddr;

use super::addr::learnable;
use super::frame::{learn_from_frame, How, MatchOptions};
use super::{bpf, dhcp, pcap, synth};

const GUEST: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const SERVER: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);
const ALL: MatchOptions = MatchOptions {
    detect: super::frame::Detect::Any,
    ipv6: true,
};

fn seeds() -> Vec<Vec<u8>> {
    let s = Ipv4Addr::new(198, 51, 100, 1);
    let y = Ipv4Addr::new(198, 51, 100, 57);
    vec![
        synth::dhcp_reply(SERVER, GUEST, GUEST, s, y, 5),
        synth::dhcp_reply(SERVER, synth::BROADCAST, GUEST, s, y, 2),
        synth::arp(GUEST, synth::BROADCAST, 1, y, s),
        synth::udp4(GUEST, SERVER, y, s, (1, 2), b"x"),
        synth::ndp_solicit(GUEST, "::".parse().unwrap(), "2001:db8::5".parse().unwrap()),
        synth::dhcpv6_reply(SERVER, GUEST, &["2001:db8::6".parse().unwrap()]),
    ]
}

/// Whatever a frame teaches is learnable, and the kernel filter would have passed the frame.
fn check(frame: &[u8]) {
    for l in learn_from_frame(frame, GUEST, ALL) {
        assert!(learnable(l.addr), "{l:?}");
        assert!(
            bpf::run(&bpf::guest_filter(GUEST), frame) > 0,
            "BPF drops a frame that teaches {l:?}"
        );
    }
}

proptest! {
    #[test]
    fn arbitrary_frames(frame in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(&frame);
        let _ = dhcp::parse_v4_reply(&frame);
        let _ = dhcp::parse_v6_reply(&frame);
    }

    #[test]
    fn mutated_frames(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut f = seeds().swap_remove(which);
        for (i, b) in edits {
            let n = f.len();
            f[i.index(n)] = b;
        }
        let n = cut.index(f.len() + 1);
        check(&f[..n]);
    }

    #[test]
    fn dhcp_reply_rules(
        yiaddr in any::<[u8; 4]>(),
        chaddr_is_guest in any::<bool>(),
        msg_type in 0u8..10,
        dst in 0u8..3,
    ) {
        let y = Ipv4Addr::from(yiaddr);
        let chaddr = if chaddr_is_guest { GUEST } else { SERVER };
        let dst_mac = [GUEST, synth::BROADCAST, MacAddr([2, 0, 0, 0, 0, 9])][usize::from(dst)];
        let f = synth::dhcp_reply(SERVER, dst_mac, chaddr, Ipv4Addr::new(198, 51, 100, 1), y, msg_type);
        let got = learn_from_frame(&f, GUEST, MatchOptions::default());
        let expect = chaddr_is_guest
            && dst < 2
            && (msg_type == 2 || msg_type == 5)
            && learnable(y.into());
        prop_assert_eq!(got.len(), usize::from(expect));
        if expect {
            prop_assert_eq!(got[0].addr, std::net::IpAddr::V4(y));
            prop_assert_eq!(got[0].how, How::Dhcp);
        }
    }

    #[test]
    fn arbitrary_and_mutated_captures(
        ng in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        junk in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let frames = seeds();
        let mut cap = if ng {
            synth::pcapng(frames.iter().map(Vec::as_slice))
        } else {
            synth::pcap(frames.iter().map(Vec::as_slice))
        };
        for (i, b) in edits {
            let n = cap.len();
            cap[i.index(n)] = b;
        }
        let n = cut.index(cap.len() + 1);
        cap.truncate(n);
        cap.extend_from_slice(&junk);
        if let Ok(r) = pcap::replay("p", cap.as_slice(), GUEST, ALL, 8) {
            for (_, l) in r.learned {
                prop_assert!(learnable(l.addr));
            }
        }
        let _ = pcap::replay("j", junk.as_slice(), GUEST, ALL, 1);
    }
}
