//! A small blocking rtnetlink client for the link operations this crate needs.
//!
//! The socket belongs to the network namespace of the thread that opens it, as do the links it sees
//! and makes. One request is in flight at a time; replies are matched by sequence number.

use std::io;
use std::os::fd::AsRawFd;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVtap, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVtapMode,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use virt_xml::MacAddr;

/// A netlink error: the errno and the kernel's extended-ack text, if any.
#[derive(Debug)]
pub struct NlError {
    pub source: io::Error,
    pub detail: Option<String>,
}

impl NlError {
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    fn io(e: io::Error) -> Self {
        NlError {
            source: e,
            detail: None,
        }
    }

    fn protocol(what: String) -> Self {
        NlError::io(io::Error::new(io::ErrorKind::InvalidData, what))
    }

    /// Into the crate error, naming the operation and the interface.
    pub fn into_net(self, op: &'static str, ifname: &str) -> crate::NetError {
        crate::NetError::Netlink {
            op,
            ifname: ifname.to_string(),
            source: self.source,
            detail: self.detail,
        }
    }
}

/// What this crate reads of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `IFLA_INFO_KIND` (`bridge`, `tun`, `macvtap`, `veth`...); `None` for plain devices.
    pub kind: Option<String>,
    pub mtu: Option<u32>,
    /// The bridge (or other master) it is enslaved to.
    pub master: Option<u32>,
    pub mac: Option<[u8; 6]>,
    pub up: bool,
}

impl Link {
    fn from_message(m: &LinkMessage) -> Link {
        let mut l = Link {
            index: m.header.index,
            name: String::new(),
            kind: None,
            mtu: None,
            master: None,
            mac: None,
            up: m.header.flags.contains(LinkFlags::Up),
        };
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => l.name = n.clone(),
                LinkAttribute::Mtu(v) => l.mtu = Some(*v),
                LinkAttribute::Controller(v) => l.master = Some(*v),
                LinkAttribute::Address(a) if a.len() == 6 => {
                    let mut m = [0u8; 6];
                    m.copy_from_slice(a);
                    l.mac = Some(m);
                }
                LinkAttribute::LinkInfo(infos) => {
                    for i in infos {
                        if let LinkInfo::Kind(k) = i {
                            l.kind = Some(k.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        l
    }

    pub fn is_bridge(&self) -> bool {
        self.kind.as_deref() == Some("bridge")
    }
}

/// The macvtap mode of a `direct` interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacvtapMode {
    Vepa,
    Bridge,
    Private,
    Passthrough,
}

impl MacvtapMode {
    /// libvirt's names (`<source mode='...'/>`).
    pub fn as_str(self) -> &'static str {
        match self {
            MacvtapMode::Vepa => "vepa",
            MacvtapMode::Bridge => "bridge",
            MacvtapMode::Private => "private",
            MacvtapMode::Passthrough => "passthrough",
        }
    }

    fn to_kernel(self) -> MacVtapMode {
        match self {
            MacvtapMode::Vepa => MacVtapMode::Vepa,
            MacvtapMode::Bridge => MacVtapMode::Bridge,
            MacvtapMode::Private => MacVtapMode::Private,
            MacvtapMode::Passthrough => MacVtapMode::Passthrough,
        }
    }
}

impl std::str::FromStr for MacvtapMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "vepa" => Ok(MacvtapMode::Vepa),
            "bridge" => Ok(MacvtapMode::Bridge),
            "private" => Ok(MacvtapMode::Private),
            "passthrough" => Ok(MacvtapMode::Passthrough),
            _ => Err(format!(
                "unknown macvtap mode {s:?} (expected vepa, bridge, private or passthrough)"
            )),
        }
    }
}

/// A route netlink socket of the calling thread's network namespace.
#[derive(Debug)]
pub struct Netlink {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

const NLMSGERR_ATTR_MSG: u16 = 1;
const NLM_F_ACK_TLVS: u16 = 0x200;

impl Netlink {
    pub fn open() -> Result<Netlink, NlError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(NlError::io)?;
        sock.bind_auto().map_err(NlError::io)?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(NlError::io)?;
        // Best effort: error text from the kernel, and errors that carry only the request header.
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        // A reply never comes late; a bounded wait turns a lost one into an error, not a hang.
        let tv = libc::timeval {
            tv_sec: 10,
            tv_usec: 0,
        };
        // SAFETY: setsockopt on our own socket with a timeval of the size given.
        let r = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(NlError::io(io::Error::last_os_error()));
        }
        Ok(Netlink {
            sock,
            seq: 0,
            buf: vec![0; 64 * 1024],
        })
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<u32, NlError> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut out = vec![0; packet.buffer_len()];
        packet.serialize(&mut out);
        self.sock.send(&out, 0).map_err(NlError::io)?;
        Ok(self.seq)
    }

    /// Sends a request and collects its replies: every inner message until the ack, the single
    /// answer (non-dump get) or `NLMSG_DONE` (dump).
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, NlError> {
        let seq = self.send(msg, flags)?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let want_ack = flags & NLM_F_ACK != 0;
        let mut out = Vec::new();
        loop {
            let n = self
                .sock
                .recv(&mut &mut self.buf[..], 0)
                .map_err(NlError::io)?;
            let n = n.min(self.buf.len());
            let mut off = 0;
            while off < n {
                let msg: NetlinkMessage<RouteNetlinkMessage> =
                    NetlinkMessage::deserialize(&self.buf[off..n]).map_err(|e| {
                        NlError::protocol(format!("undecodable netlink reply: {e}"))
                    })?;
                let len = msg.header.length as usize;
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
                if msg.header.sequence_number != seq {
                    continue;
                }
                let hflags = msg.header.flags;
                match msg.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(out),
                            Some(_) => Err(NlError {
                                source: e.to_io(),
                                detail: ext_ack_message(&e.header, hflags),
                            }),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::InnerMessage(m) => {
                        out.push(m);
                        if !dump && !want_ack {
                            return Ok(out);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// The link called `name`, or `None`.
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, NlError> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(RouteNetlinkMessage::GetLink(m), NLM_F_REQUEST) {
            Ok(r) => Ok(r.iter().find_map(as_link)),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The link with index `index`, or `None`.
    pub fn link_by_index(&mut self, index: u32) -> Result<Option<Link>, NlError> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        match self.request(RouteNetlinkMessage::GetLink(m), NLM_F_REQUEST) {
            Ok(r) => Ok(r.iter().find_map(as_link)),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every link of the namespace.
    pub fn links(&mut self) -> Result<Vec<Link>, NlError> {
        let r = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        Ok(r.iter().filter_map(as_link).collect())
    }

    fn set(&mut self, index: u32, attrs: Vec<LinkAttribute>, up: bool) -> Result<(), NlError> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        if up {
            m.header.flags = LinkFlags::Up;
            m.header.change_mask = LinkFlags::Up;
        }
        m.attributes = attrs;
        self.request(RouteNetlinkMessage::SetLink(m), NLM_F_REQUEST | NLM_F_ACK)
            .map(|_| ())
    }

    pub fn set_mac(&mut self, index: u32, mac: MacAddr) -> Result<(), NlError> {
        self.set(index, vec![LinkAttribute::Address(mac.0.to_vec())], false)
    }

    pub fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<(), NlError> {
        self.set(index, vec![LinkAttribute::Mtu(mtu)], false)
    }

    /// Enslaves the link to a bridge (`IFLA_MASTER`).
    pub fn set_master(&mut self, index: u32, master: u32) -> Result<(), NlError> {
        self.set(index, vec![LinkAttribute::Controller(master)], false)
    }

    pub fn set_up(&mut self, index: u32) -> Result<(), NlError> {
        self.set(index, Vec::new(), true)
    }

    /// Creates a macvtap link on `parent` (fails with `EEXIST` when `name` is taken), with index
    /// `index` unless 0 (fails with `EBUSY` when that index is taken).
    pub fn new_macvtap(
        &mut self,
        name: &str,
        index: u32,
        parent: u32,
        mode: MacvtapMode,
        mac: MacAddr,
    ) -> Result<(), NlError> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.attributes = vec![
            LinkAttribute::IfName(name.to_string()),
            LinkAttribute::Link(parent),
            LinkAttribute::Address(mac.0.to_vec()),
            LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::MacVtap),
                LinkInfo::Data(InfoData::MacVtap(vec![InfoMacVtap::Mode(mode.to_kernel())])),
            ]),
        ];
        self.request(
            RouteNetlinkMessage::NewLink(m),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(|_| ())
    }

    /// Deletes the link with index `index`.
    pub fn delete_index(&mut self, index: u32) -> Result<(), NlError> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        self.request(RouteNetlinkMessage::DelLink(m), NLM_F_REQUEST | NLM_F_ACK)
            .map(|_| ())
    }

    /// Deletes the link called `name`.
    pub fn delete_name(&mut self, name: &str) -> Result<(), NlError> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.request(RouteNetlinkMessage::DelLink(m), NLM_F_REQUEST | NLM_F_ACK)
            .map(|_| ())
    }
}

fn as_link(m: &RouteNetlinkMessage) -> Option<Link> {
    match m {
        RouteNetlinkMessage::NewLink(l) => Some(Link::from_message(l)),
        _ => None,
    }
}

/// The `NLMSGERR_ATTR_MSG` text of an error reply. With `NETLINK_CAP_ACK` the error carries only
/// the request's 16-byte header, then the TLVs when `NLM_F_ACK_TLVS` is set.
fn ext_ack_message(payload: &[u8], flags: u16) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    // Skip the echoed request: its header's length field says how much of it is there, but with
    // cap_ack only the header (16 bytes) is echoed.
    let mut rest = payload.get(16..)?;
    while rest.len() >= 4 {
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < 4 || len > rest.len() {
            return None;
        }
        if kind == NLMSGERR_ATTR_MSG {
            let v = &rest[4..len];
            let v = v.split(|b| *b == 0).next().unwrap_or(v);
            return Some(String::from_utf8_lossy(v).into_owned());
        }
        let step = (len + 3) & !3;
        rest = rest.get(step..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext_ack_text_is_found() {
        let mut p = vec![0u8; 16];
        let msg = b"Unknown device type\0";
        let len = (4 + msg.len()) as u16;
        p.extend_from_slice(&len.to_ne_bytes());
        p.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        p.extend_from_slice(msg);
        assert_eq!(
            ext_ack_message(&p, NLM_F_ACK_TLVS).as_deref(),
            Some("Unknown device type")
        );
        assert_eq!(ext_ack_message(&p, 0), None);
        assert_eq!(ext_ack_message(&p[..10], NLM_F_ACK_TLVS), None);
        let mut bad = p.clone();
        bad[16] = 0xff;
        assert_eq!(ext_ack_message(&bad, NLM_F_ACK_TLVS), None);
    }

    #[test]
    fn modes_round_trip() {
        for m in [
            MacvtapMode::Vepa,
            MacvtapMode::Bridge,
            MacvtapMode::Private,
            MacvtapMode::Passthrough,
        ] {
            assert_eq!(m.as_str().parse::<MacvtapMode>(), Ok(m));
        }
        assert!("source".parse::<MacvtapMode>().is_err());
    }
}
