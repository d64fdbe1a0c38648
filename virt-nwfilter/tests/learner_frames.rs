//! The frame matcher and pcap replay on frames built the way real peers send them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use virt_nwfilter::learner::synth::{self, BROADCAST};
use virt_nwfilter::learner::{
    learn_from_frame, match_frame, replay, Detect, How, LearnError, Learned, MatchOptions,
};
use virt_xml::MacAddr;

const GUEST: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const SERVER: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
const OTHER: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x99, 0x99, 0x99]);

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}
fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}
fn learned(a: &str, how: How) -> Option<Learned> {
    Some(Learned {
        addr: a.parse().unwrap(),
        how,
    })
}

const ANY: MatchOptions = MatchOptions {
    detect: Detect::Any,
    ipv6: false,
};
const V6: MatchOptions = MatchOptions {
    detect: Detect::Any,
    ipv6: true,
};

#[test]
fn dhcp_offer_and_ack_to_the_guest() {
    for t in [2u8, 5] {
        let f = synth::dhcp_reply(
            SERVER,
            GUEST,
            GUEST,
            v4("198.51.100.1"),
            v4("198.51.100.57"),
            t,
        );
        assert_eq!(
            match_frame(&f, GUEST, ANY),
            learned("198.51.100.57", How::Dhcp)
        );
        // Broadcast flag: the reply goes to ff:ff:ff:ff:ff:ff, chaddr still names the guest.
        let f = synth::dhcp_reply(
            SERVER,
            BROADCAST,
            GUEST,
            v4("198.51.100.1"),
            v4("198.51.100.58"),
            t,
        );
        assert_eq!(
            match_frame(&f, GUEST, ANY),
            learned("198.51.100.58", How::Dhcp)
        );
    }
}

#[test]
fn dhcp_replies_that_teach_nothing() {
    let s = v4("198.51.100.1");
    // NAK, and ACK to an INFORM (yiaddr 0.0.0.0).
    assert_eq!(
        match_frame(
            &synth::dhcp_reply(SERVER, GUEST, GUEST, s, v4("198.51.100.57"), 6),
            GUEST,
            ANY
        ),
        None
    );
    assert_eq!(
        match_frame(
            &synth::dhcp_reply(SERVER, GUEST, GUEST, s, v4("0.0.0.0"), 5),
            GUEST,
            ANY
        ),
        None
    );
    // For another client: by chaddr (broadcast) or by destination MAC.
    assert_eq!(
        match_frame(
            &synth::dhcp_reply(SERVER, BROADCAST, OTHER, s, v4("198.51.100.57"), 5),
            GUEST,
            ANY
        ),
        None
    );
    assert_eq!(
        match_frame(
            &synth::dhcp_reply(SERVER, OTHER, OTHER, s, v4("198.51.100.57"), 5),
            GUEST,
            ANY
        ),
        None
    );
    // Unicast to the guest but chaddr of someone else.
    assert_eq!(
        match_frame(
            &synth::dhcp_reply(SERVER, GUEST, OTHER, s, v4("198.51.100.57"), 5),
            GUEST,
            ANY
        ),
        None
    );
    // A broadcast offer of a broadcast address.
    assert_eq!(
        match_frame(
            &synth::dhcp_reply(SERVER, GUEST, GUEST, s, v4("255.255.255.255"), 2),
            GUEST,
            ANY
        ),
        None
    );
    // The client's own DISCOVER/REQUEST (source 0.0.0.0).
    assert_eq!(
        match_frame(&synth::dhcp_request(GUEST, 1), GUEST, ANY),
        None
    );
    assert_eq!(
        match_frame(&synth::dhcp_request(GUEST, 3), GUEST, ANY),
        None
    );
}

#[test]
fn dhcp_reply_in_a_vlan_tag() {
    let mut f = synth::dhcp_reply(
        SERVER,
        GUEST,
        GUEST,
        v4("198.51.100.1"),
        v4("198.51.100.60"),
        5,
    );
    f.splice(12..12, [0x81, 0x00, 0x00, 0x2a]);
    assert_eq!(
        match_frame(&f, GUEST, ANY),
        learned("198.51.100.60", How::Dhcp)
    );
}

#[test]
fn arp_the_guest_sends() {
    let req = synth::arp(GUEST, BROADCAST, 1, v4("198.51.100.20"), v4("198.51.100.1"));
    assert_eq!(
        match_frame(&req, GUEST, ANY),
        learned("198.51.100.20", How::Arp)
    );
    let rep = synth::arp(GUEST, SERVER, 2, v4("198.51.100.21"), v4("198.51.100.1"));
    assert_eq!(
        match_frame(&rep, GUEST, ANY),
        learned("198.51.100.21", How::Arp)
    );
    // RFC 5227 probe (sender 0.0.0.0) teaches nothing; nor does someone else's ARP.
    let probe = synth::arp(GUEST, BROADCAST, 1, v4("0.0.0.0"), v4("198.51.100.20"));
    assert_eq!(match_frame(&probe, GUEST, ANY), None);
    let other = synth::arp(OTHER, BROADCAST, 1, v4("198.51.100.30"), v4("198.51.100.1"));
    assert_eq!(match_frame(&other, GUEST, ANY), None);
    // ARP to the guest (a reply from the server) says nothing of the guest's address.
    let to_guest = synth::arp(SERVER, GUEST, 2, v4("198.51.100.1"), v4("198.51.100.20"));
    assert_eq!(match_frame(&to_guest, GUEST, ANY), None);
    // Sender hardware address not the guest's (a forged ARP sent through the guest's NIC).
    let mut forged = req.clone();
    forged[22..28].copy_from_slice(&OTHER.0);
    assert_eq!(match_frame(&forged, GUEST, ANY), None);
}

#[test]
fn first_ipv4_packet() {
    let f = synth::udp4(
        GUEST,
        SERVER,
        v4("198.51.100.30"),
        v4("198.51.100.1"),
        (5000, 9),
        b"x",
    );
    assert_eq!(
        match_frame(&f, GUEST, ANY),
        learned("198.51.100.30", How::Ipv4)
    );
    let t = synth::tcp4(GUEST, SERVER, v4("198.51.100.31"), v4("203.0.113.9"), b"");
    assert_eq!(
        match_frame(&t, GUEST, ANY),
        learned("198.51.100.31", How::Ipv4)
    );
    for bad in [
        "224.0.0.251",
        "239.255.255.250",
        "255.255.255.255",
        "127.0.0.1",
        "0.0.0.0",
    ] {
        let f = synth::udp4(
            GUEST,
            BROADCAST,
            v4(bad),
            v4("198.51.100.1"),
            (5353, 5353),
            b"",
        );
        assert_eq!(match_frame(&f, GUEST, ANY), None, "{bad}");
    }
    // Packets to the guest say nothing (the source is the peer).
    let f = synth::udp4(
        SERVER,
        GUEST,
        v4("198.51.100.1"),
        v4("198.51.100.30"),
        (9, 5000),
        b"",
    );
    assert_eq!(match_frame(&f, GUEST, ANY), None);
    // Truncated frames: nothing, no panic.
    for n in 0..f.len() {
        let _ = learn_from_frame(&f[..n], GUEST, V6);
    }
}

#[test]
fn detect_modes() {
    let dhcp = synth::dhcp_reply(
        SERVER,
        GUEST,
        GUEST,
        v4("198.51.100.1"),
        v4("198.51.100.57"),
        5,
    );
    let arp = synth::arp(GUEST, BROADCAST, 1, v4("198.51.100.20"), v4("198.51.100.1"));
    let dh = MatchOptions {
        detect: Detect::Dhcp,
        ipv6: false,
    };
    let st = MatchOptions {
        detect: Detect::Static,
        ipv6: false,
    };
    assert!(match_frame(&dhcp, GUEST, dh).is_some());
    assert!(match_frame(&arp, GUEST, dh).is_none());
    assert!(match_frame(&dhcp, GUEST, st).is_none());
    assert!(match_frame(&arp, GUEST, st).is_some());
}

#[test]
fn ipv6_only_when_asked() {
    let dad = synth::ndp_solicit(GUEST, Ipv6Addr::UNSPECIFIED, v6("2001:db8::20"));
    assert_eq!(match_frame(&dad, GUEST, ANY), None);
    assert_eq!(
        match_frame(&dad, GUEST, V6),
        learned("2001:db8::20", How::Ndp)
    );
    let ns = synth::ndp_solicit(GUEST, v6("2001:db8::21"), v6("2001:db8::1"));
    assert_eq!(
        match_frame(&ns, GUEST, V6),
        learned("2001:db8::21", How::Ndp)
    );
    let na = synth::ndp_advert(GUEST, v6("fe80::5054:ff:fe12:3456"), v6("2001:db8::22"));
    assert_eq!(
        match_frame(&na, GUEST, V6),
        learned("2001:db8::22", How::Ndp)
    );
    // Link-local only: nothing.
    let ll = synth::ndp_solicit(GUEST, Ipv6Addr::UNSPECIFIED, v6("fe80::5054:ff:fe12:3456"));
    assert_eq!(match_frame(&ll, GUEST, V6), None);
    let u = synth::udp6(
        GUEST,
        SERVER,
        v6("2001:db8::23"),
        v6("2001:db8::1"),
        (5000, 9),
        b"",
    );
    assert_eq!(
        match_frame(&u, GUEST, V6),
        learned("2001:db8::23", How::Ipv6)
    );
    let r = synth::dhcpv6_reply(SERVER, GUEST, &[v6("2001:db8::50"), v6("2001:db8::51")]);
    assert_eq!(
        learn_from_frame(&r, GUEST, V6),
        vec![
            learned("2001:db8::50", How::Dhcpv6).unwrap(),
            learned("2001:db8::51", How::Dhcpv6).unwrap()
        ]
    );
    assert!(learn_from_frame(&r, OTHER, V6).is_empty());
    assert!(learn_from_frame(&r, GUEST, ANY).is_empty());
}

fn traffic() -> Vec<Vec<u8>> {
    let s = v4("198.51.100.1");
    vec![
        synth::tcp4(OTHER, SERVER, v4("198.51.100.77"), s, b"hello"),
        synth::dhcp_request(GUEST, 1),
        synth::dhcp_reply(SERVER, GUEST, GUEST, s, v4("198.51.100.57"), 2),
        synth::dhcp_request(GUEST, 3),
        synth::dhcp_reply(SERVER, GUEST, GUEST, s, v4("198.51.100.57"), 5),
        synth::arp(GUEST, BROADCAST, 1, v4("198.51.100.57"), s),
        synth::ndp_solicit(GUEST, Ipv6Addr::UNSPECIFIED, v6("2001:db8::57")),
    ]
}

#[test]
fn replay_pcap_and_pcapng() {
    let frames = traffic();
    for (name, cap) in [
        ("pcap", synth::pcap(frames.iter().map(Vec::as_slice))),
        ("pcapng", synth::pcapng(frames.iter().map(Vec::as_slice))),
    ] {
        let r = replay(name, cap.as_slice(), GUEST, ANY, 1).unwrap();
        assert_eq!(r.frames, 3, "{name}: stops at the OFFER");
        assert_eq!(r.ipv4(), Some(v4("198.51.100.57")));
        assert_eq!(
            r.learned,
            vec![(3, learned("198.51.100.57", How::Dhcp).unwrap())]
        );
        // Several per family and IPv6: reads on to the end.
        let r = replay(name, cap.as_slice(), GUEST, V6, 4).unwrap();
        assert_eq!(r.frames, 7);
        let addrs: Vec<IpAddr> = r.learned.iter().map(|(_, l)| l.addr).collect();
        assert_eq!(
            addrs,
            vec![
                "198.51.100.57".parse::<IpAddr>().unwrap(),
                "2001:db8::57".parse().unwrap()
            ]
        );
        // Nothing for another guest.
        let r = replay(name, cap.as_slice(), MacAddr([2, 9, 9, 9, 9, 9]), ANY, 1).unwrap();
        assert_eq!((r.frames, r.ipv4()), (7, None));
    }
}

#[test]
fn replay_bad_captures() {
    let cap = synth::pcap(traffic().iter().map(Vec::as_slice));
    let e = replay(
        "t.pcap",
        &cap[..cap.len() - 10],
        MacAddr([2, 9, 9, 9, 9, 9]),
        ANY,
        1,
    )
    .unwrap_err();
    assert!(matches!(e, LearnError::Pcap { frames: 6, .. }), "{e}");
    assert!(e.to_string().starts_with("capture t.pcap: at byte"), "{e}");
    let e = replay(
        "junk",
        &b"this is not a capture at all, no sir"[..],
        GUEST,
        ANY,
        1,
    )
    .unwrap_err();
    assert!(e.to_string().contains("neither a pcap nor a pcapng"), "{e}");
    let e = replay("empty", &b""[..], GUEST, ANY, 1).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    // Linux cooked capture (link type 113), as `tcpdump -i any` writes.
    let mut sll = cap.clone();
    sll[20..24].copy_from_slice(&113u32.to_le_bytes());
    let e = replay("any.pcap", sll.as_slice(), GUEST, ANY, 1).unwrap_err();
    assert!(e.to_string().contains("link type 113"), "{e}");
}
