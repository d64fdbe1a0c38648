//! Replaying a capture file (legacy pcap or pcapng, Ethernet link type) through the matcher.

use std::io::Read;
use std::ops::ControlFlow;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{Linktype, PcapBlockOwned, PcapError};
use virt_xml::MacAddr;

use super::collect::Collector;
use super::error::LearnError;
use super::frame::{learn_into, Learned, MatchOptions};

/// Largest record the reader grows its buffer for.
const MAX_RECORD: usize = 4 << 20;

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// Frames read (up to the one that completed learning, or all).
    pub frames: u64,
    /// Learned addresses with the 1-based number of the frame that carried each.
    pub learned: Vec<(u64, Learned)>,
}

impl Replay {
    /// The learned IPv4 address, if any (what libvirt would have learned).
    pub fn ipv4(&self) -> Option<std::net::Ipv4Addr> {
        self.learned.iter().find_map(|(_, l)| match l.addr {
            std::net::IpAddr::V4(a) => Some(a),
            std::net::IpAddr::V6(_) => None,
        })
    }
}

/// Reads a capture and learns as the live learner would: stops at the frame that completes
/// learning (see [`Collector`]), else reads to the end.
pub fn replay<R: Read>(
    source_name: &str,
    reader: R,
    mac: MacAddr,
    opts: MatchOptions,
    max_per_family: usize,
) -> Result<Replay, LearnError> {
    let mut c = Collector::new(opts, max_per_family);
    let mut learned = Vec::new();
    let mut found = Vec::new();
    let mut n = 0u64;
    let frames = for_each_frame(source_name, reader, |frame| {
        n += 1;
        found.clear();
        learn_into(frame, mac, opts, &mut found);
        for l in found.drain(..) {
            if c.offer(l) {
                learned.push((n, l));
            }
        }
        if c.done() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(Replay { frames, learned })
}

/// Calls `f` with each frame of a legacy pcap or pcapng stream until it breaks; returns the
/// number of frames seen. Every interface must have the Ethernet link type.
pub fn for_each_frame<R: Read>(
    source_name: &str,
    reader: R,
    mut f: impl FnMut(&[u8]) -> ControlFlow<()>,
) -> Result<u64, LearnError> {
    let err = |offset: usize, frames: u64, detail: String| LearnError::Pcap {
        source_name: source_name.to_string(),
        offset: offset as u64,
        frames,
        detail,
    };
    let mut rdr = pcap_parser::create_reader(65536, reader).map_err(|e| {
        let detail = match e {
            PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
                "too short for a pcap or pcapng header".to_string()
            }
            e => describe(&e),
        };
        err(0, 0, detail)
    })?;
    let mut frames = 0u64;
    let mut capacity = 65536usize;
    // Link types of the current pcapng section's interfaces.
    let mut links: Vec<Linktype> = Vec::new();
    let mut stalls = 0u32;
    loop {
        let consumed = rdr.consumed();
        let (len, problem, stop) = match rdr.next() {
            Ok((len, block)) => {
                let (problem, stop) = match block {
                    PcapBlockOwned::LegacyHeader(h) => (not_ethernet(h.network, "file"), false),
                    PcapBlockOwned::Legacy(b) => {
                        frames += 1;
                        (None, f(b.data).is_break())
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        links.clear();
                        (None, false)
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        links.push(idb.linktype);
                        let what = format!("interface {}", links.len() - 1);
                        (not_ethernet(idb.linktype, &what), false)
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        if (epb.if_id as usize) < links.len() {
                            frames += 1;
                            (None, f(epb.packet_data()).is_break())
                        } else {
                            (
                                Some(format!("packet for undeclared interface {}", epb.if_id)),
                                false,
                            )
                        }
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        if links.is_empty() {
                            (Some("packet before any interface".to_string()), false)
                        } else {
                            frames += 1;
                            (None, f(spb.packet_data()).is_break())
                        }
                    }
                    PcapBlockOwned::NG(_) => (None, false),
                };
                (len, problem, stop)
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                stalls += 1;
                if stalls > 2 {
                    return Err(err(consumed, frames, "truncated record".into()));
                }
                rdr.refill()
                    .map_err(|e| err(consumed, frames, describe(&e)))?;
                continue;
            }
            Err(PcapError::BufferTooSmall) => {
                if capacity >= MAX_RECORD || !rdr.grow(capacity * 2) {
                    return Err(err(
                        consumed,
                        frames,
                        format!("record larger than {MAX_RECORD} bytes"),
                    ));
                }
                capacity *= 2;
                continue;
            }
            Err(e) => return Err(err(consumed, frames, describe(&e))),
        };
        stalls = 0;
        rdr.consume(len);
        if let Some(p) = problem {
            return Err(err(consumed, frames, p));
        }
        if stop {
            break;
        }
    }
    Ok(frames)
}

fn not_ethernet(l: Linktype, what: &str) -> Option<String> {
    (l != Linktype::ETHERNET).then(|| {
        format!(
            "{what} has link type {}; only Ethernet (1) captures are supported",
            l.0
        )
    })
}

fn describe<I>(e: &PcapError<I>) -> String {
    match e {
        PcapError::Eof => "empty capture".into(),
        PcapError::UnexpectedEof => "truncated capture".into(),
        PcapError::ReadError => "read error".into(),
        PcapError::HeaderNotRecognized => "neither a pcap nor a pcapng file".into(),
        PcapError::BufferTooSmall => "record too large".into(),
        PcapError::Incomplete(_) => "truncated record".into(),
        PcapError::NomError(_, k) | PcapError::OwnedNomError(_, k) => {
            format!("malformed record ({})", k.description())
        }
    }
}

/// Reads a capture file by path.
pub fn replay_file(
    path: &std::path::Path,
    mac: MacAddr,
    opts: MatchOptions,
    max_per_family: usize,
) -> Result<Replay, LearnError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| LearnError::Pcap {
        source_name: name.clone(),
        offset: 0,
        frames: 0,
        detail: e.to_string(),
    })?;
    replay(
        &name,
        std::io::BufReader::new(file),
        mac,
        opts,
        max_per_family,
    )
}
