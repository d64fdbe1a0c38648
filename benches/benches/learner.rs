//! virt-nwfilter's IP learner.
//!
//! - `learner_parse_match`: frames/s through the frame matcher, over a million frames held in
//!   memory (a bridge port's mix: TCP/UDP to the guest, other hosts' broadcasts and unicast, the
//!   guest's ARP probes and IPv6), and through pcap reading + matching of the same frames as an
//!   in-memory legacy pcap. The frame carrying the address (a DHCP ACK) is the last one.
//! - `learner_latency`: learn-to-applied latency on real interfaces (root: a network namespace,
//!   a veth to a guest namespace): from the moment the guest sends its first IPv4 packet to the
//!   completion of the learner's callback, (a) a callback doing nothing, (b) the callback that
//!   instantiates clean-traffic with the learned IP through nftables. libvirt 9.0 applies
//!   clean-traffic 1.16 s after a guest's DHCP lease.

use std::net::{Ipv4Addr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use virt_nwfilter::instantiate::NftBackend;
use virt_nwfilter::learner::synth::{self, BROADCAST};
use virt_nwfilter::learner::{
    learn_from_frame, replay, ApplyError, InstantiateFilter, LearnOptions, Learned, MatchOptions,
    OnLearned, Outcome, Registry, Target,
};
use virt_nwfilter::tree::{vars_from, FilterSet};
use virt_testkit::{Facility, NetNs};
use virt_xml::MacAddr;

const N: usize = 1_000_000;
const GUEST: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

/// A million frames as one buffer + offsets, and the same as a pcap.
fn capture() -> (Vec<u8>, Vec<(usize, usize)>, Vec<u8>) {
    let server = MacAddr([2, 0, 0, 0, 0, 1]);
    let other = MacAddr([0x52, 0x54, 0, 9, 9, 9]);
    let ip = |s: &str| s.parse::<Ipv4Addr>().expect("ip");
    let (s, g, o) = (ip("198.51.100.1"), ip("198.51.100.57"), ip("198.51.100.77"));
    let mix: Vec<Vec<u8>> = vec![
        synth::tcp4(server, GUEST, ip("203.0.113.5"), g, &[0u8; 40]),
        synth::tcp4(server, GUEST, ip("203.0.113.5"), g, &[0u8; 200]),
        synth::tcp4(server, GUEST, ip("203.0.113.6"), g, b""),
        synth::udp4(server, GUEST, s, g, (53, 40000), &[0u8; 60]),
        synth::tcp4(other, server, o, s, &[0u8; 20]),
        synth::arp(other, BROADCAST, 1, o, s),
        synth::udp4(
            other,
            BROADCAST,
            o,
            ip("198.51.100.255"),
            (137, 137),
            &[0u8; 50],
        ),
        synth::udp6(
            GUEST,
            MacAddr([0x33, 0x33, 0, 0, 0, 0xfb]),
            "fe80::1".parse().expect("v6"),
            "ff02::fb".parse().expect("v6"),
            (5353, 5353),
            &[0u8; 30],
        ),
        synth::arp(GUEST, BROADCAST, 1, Ipv4Addr::UNSPECIFIED, g),
        synth::udp4(server, GUEST, s, g, (123, 123), &[0u8; 48]),
    ];
    let last = synth::dhcp_reply(server, GUEST, GUEST, s, g, 5);
    let mut buf = Vec::new();
    let mut offs = Vec::with_capacity(N);
    for i in 0..N {
        let f = if i == N - 1 {
            &last
        } else {
            &mix[i % mix.len()]
        };
        offs.push((buf.len(), f.len()));
        buf.extend_from_slice(f);
    }
    let pcap = synth::pcap(offs.iter().map(|&(a, n)| &buf[a..a + n]));
    (buf, offs, pcap)
}

fn parse_match(c: &mut Criterion) {
    let (buf, offs, pcap) = capture();
    let opts = MatchOptions::default();
    let mut g = c.benchmark_group("learner_parse_match");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    g.bench_function("match_1M_frames", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for &(a, n) in &offs {
                found += learn_from_frame(&buf[a..a + n], GUEST, opts).len();
            }
            assert_eq!(found, 1);
        })
    });
    g.bench_function("pcap_replay_1M_frames", |b| {
        b.iter(|| {
            let r = replay("bench", pcap.as_slice(), GUEST, opts, 1).expect("replay");
            assert_eq!(r.learned.len(), 1);
            assert_eq!(r.frames, N as u64);
        })
    });
    g.finish();
}

/// Wraps a callback and records when it completed.
struct Timed<C> {
    inner: C,
    done: Arc<Mutex<Option<Instant>>>,
}

impl<C: OnLearned> OnLearned for Timed<C> {
    fn apply(&mut self, t: &Target, l: &[Learned]) -> Result<(), ApplyError> {
        let r = self.inner.apply(t, l);
        if let Ok(mut d) = self.done.lock() {
            *d = Some(Instant::now());
        }
        r
    }
}

/// hub namespace: `lat0`; guest namespace: its peer `eth0` 198.51.100.10 with a permanent
/// neighbour, so its first IPv4 packet leaves at once.
struct Rig {
    hub: NetNs,
    _guest: NetNs,
    sock: UdpSocket,
}

fn rig() -> Result<Rig, String> {
    let e = |x: std::io::Error| x.to_string();
    let hub = NetNs::new("lrnb").map_err(e)?;
    let guest = NetNs::new("lrnbg").map_err(e)?;
    hub.exec_ok(&[
        "ip",
        "link",
        "add",
        "lat0",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "address",
        "52:54:00:12:34:56",
        "netns",
        guest.name(),
    ])
    .map_err(e)?;
    hub.exec_ok(&["ip", "link", "set", "lat0", "up"])
        .map_err(e)?;
    guest
        .exec_ok(&["ip", "addr", "add", "198.51.100.10/24", "dev", "eth0"])
        .map_err(e)?;
    guest
        .exec_ok(&["ip", "link", "set", "eth0", "up"])
        .map_err(e)?;
    guest
        .exec_ok(&[
            "ip",
            "neigh",
            "add",
            "198.51.100.1",
            "lladdr",
            "02:00:00:00:00:01",
            "nud",
            "permanent",
            "dev",
            "eth0",
        ])
        .map_err(e)?;
    let sock = {
        let _in = guest.enter().map_err(e)?;
        UdpSocket::bind("0.0.0.0:0").map_err(e)?
    };
    Ok(Rig {
        hub,
        _guest: guest,
        sock,
    })
}

/// One learn: start, the guest sends, wait for the callback; the time from send to callback done.
fn once<C: OnLearned>(rig: &Rig, reg: &Registry, inner: C) -> Duration {
    let done = Arc::new(Mutex::new(None));
    let opts = LearnOptions {
        netns: Some(rig.hub.path().into()),
        timeout: Some(Duration::from_secs(10)),
        ..LearnOptions::default()
    };
    let h = reg
        .start(
            "lat0",
            GUEST,
            opts,
            Timed {
                inner,
                done: Arc::clone(&done),
            },
        )
        .expect("start");
    let t0 = Instant::now();
    rig.sock.send_to(b"x", "198.51.100.1:9").expect("send");
    let out = h.join().expect("learner");
    assert!(matches!(out, Outcome::Learned(_)), "{out:?}");
    let end = done.lock().ok().and_then(|d| *d).expect("callback ran");
    end.duration_since(t0)
}

fn latency(c: &mut Criterion) {
    for f in [Facility::Root, Facility::Netns, Facility::Command("nft")] {
        if let Some(why) = f.missing() {
            eprintln!("SKIP learner_latency: {why}");
            return;
        }
    }
    let rig = match rig() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("SKIP learner_latency: {e}");
            return;
        }
    };
    let reg = Registry::new();
    let filters = Arc::new(
        FilterSet::load_dir(&virt_testkit::libvirt_data("nwfilter-standard")).expect("filters"),
    );
    let mut g = c.benchmark_group("learner_latency");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("first_packet_to_noop_callback", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    once(
                        &rig,
                        &reg,
                        |_: &Target, _: &[Learned]| -> Result<(), ApplyError> { Ok(()) },
                    )
                })
                .sum()
        })
    });
    g.bench_function("first_packet_to_clean_traffic_applied_nft", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let cb = InstantiateFilter {
                        filter: virt_xml::nwfilter::FilterRef {
                            filter: "clean-traffic".into(),
                            params: Default::default(),
                        },
                        source: filters.clone(),
                        vars: vars_from([("MAC", "52:54:00:12:34:56")]),
                        backend: Arc::new(NftBackend),
                    };
                    once(&rig, &reg, cb)
                })
                .sum()
        })
    });
    g.finish();
}

criterion_group!(benches, parse_match, latency);
criterion_main!(benches);
