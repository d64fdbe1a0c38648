//! Typed nwfilter values.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::values::{MacAddr, Uuid};

use super::attrs::{self, AttrDesc};

/// A rule's protocol element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Mac,
    Vlan,
    Stp,
    Arp,
    Rarp,
    Ip,
    Ipv6,
    Tcp,
    Icmp,
    Igmp,
    Udp,
    Udplite,
    Esp,
    Ah,
    Sctp,
    All,
    TcpIpv6,
    Icmpv6,
    UdpIpv6,
    UdpliteIpv6,
    EspIpv6,
    AhIpv6,
    SctpIpv6,
    AllIpv6,
}

impl Protocol {
    /// Every protocol, in the order libvirt looks element names up.
    pub const ALL: [Protocol; 24] = [
        Protocol::Arp,
        Protocol::Rarp,
        Protocol::Mac,
        Protocol::Vlan,
        Protocol::Stp,
        Protocol::Ip,
        Protocol::Ipv6,
        Protocol::Tcp,
        Protocol::Udp,
        Protocol::Udplite,
        Protocol::Esp,
        Protocol::Ah,
        Protocol::Sctp,
        Protocol::Icmp,
        Protocol::All,
        Protocol::Igmp,
        Protocol::TcpIpv6,
        Protocol::UdpIpv6,
        Protocol::UdpliteIpv6,
        Protocol::EspIpv6,
        Protocol::AhIpv6,
        Protocol::SctpIpv6,
        Protocol::Icmpv6,
        Protocol::AllIpv6,
    ];

    /// The element name.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Mac => "mac",
            Protocol::Vlan => "vlan",
            Protocol::Stp => "stp",
            Protocol::Arp => "arp",
            Protocol::Rarp => "rarp",
            Protocol::Ip => "ip",
            Protocol::Ipv6 => "ipv6",
            Protocol::Tcp => "tcp",
            Protocol::Icmp => "icmp",
            Protocol::Igmp => "igmp",
            Protocol::Udp => "udp",
            Protocol::Udplite => "udplite",
            Protocol::Esp => "esp",
            Protocol::Ah => "ah",
            Protocol::Sctp => "sctp",
            Protocol::All => "all",
            Protocol::TcpIpv6 => "tcp-ipv6",
            Protocol::Icmpv6 => "icmpv6",
            Protocol::UdpIpv6 => "udp-ipv6",
            Protocol::UdpliteIpv6 => "udplite-ipv6",
            Protocol::EspIpv6 => "esp-ipv6",
            Protocol::AhIpv6 => "ah-ipv6",
            Protocol::SctpIpv6 => "sctp-ipv6",
            Protocol::AllIpv6 => "all-ipv6",
        }
    }

    /// The protocol of an element name.
    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.iter().copied().find(|p| p.name() == name)
    }

    pub(crate) fn attrs(self) -> &'static [AttrDesc] {
        match self {
            Protocol::Mac => attrs::MAC,
            Protocol::Vlan => attrs::VLAN,
            Protocol::Stp => attrs::STP,
            Protocol::Arp | Protocol::Rarp => attrs::ARP,
            Protocol::Ip => attrs::IP,
            Protocol::Ipv6 => attrs::IPV6,
            Protocol::Tcp => attrs::TCP,
            Protocol::Udp => attrs::UDP,
            Protocol::Sctp => attrs::SCTP,
            Protocol::Icmp => attrs::ICMP,
            Protocol::Igmp | Protocol::Udplite | Protocol::Esp | Protocol::Ah | Protocol::All => {
                attrs::PLAIN4
            }
            Protocol::TcpIpv6 => attrs::TCP6,
            Protocol::UdpIpv6 => attrs::UDP6,
            Protocol::SctpIpv6 => attrs::SCTP6,
            Protocol::Icmpv6 => attrs::ICMP6,
            Protocol::UdpliteIpv6 | Protocol::EspIpv6 | Protocol::AhIpv6 | Protocol::AllIpv6 => {
                attrs::PLAIN6
            }
        }
    }

    /// Names of the attributes this element accepts, in libvirt's order.
    pub fn attribute_names(self) -> impl Iterator<Item = &'static str> {
        self.attrs().iter().map(|a| a.name)
    }

    /// Layer-2 protocols (handled by ebtables).
    pub fn is_ethernet(self) -> bool {
        matches!(
            self,
            Protocol::Mac
                | Protocol::Vlan
                | Protocol::Stp
                | Protocol::Arp
                | Protocol::Rarp
                | Protocol::Ip
                | Protocol::Ipv6
        )
    }

    /// Protocols over IPv4 (handled by iptables).
    pub fn is_ipv4(self) -> bool {
        matches!(
            self,
            Protocol::Tcp
                | Protocol::Icmp
                | Protocol::Igmp
                | Protocol::Udp
                | Protocol::Udplite
                | Protocol::Esp
                | Protocol::Ah
                | Protocol::Sctp
                | Protocol::All
        )
    }

    /// Protocols over IPv6 (handled by ip6tables).
    pub fn is_ipv6(self) -> bool {
        !self.is_ethernet() && !self.is_ipv4()
    }
}

/// What a rule does with a matching packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Drop,
    Accept,
    Reject,
    Return,
    Continue,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Drop,
        Action::Accept,
        Action::Reject,
        Action::Return,
        Action::Continue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Drop => "drop",
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::Return => "return",
            Action::Continue => "continue",
        }
    }

    /// The firewall jump target.
    pub fn target(self) -> &'static str {
        match self {
            Action::Drop => "DROP",
            Action::Accept => "ACCEPT",
            Action::Reject => "REJECT",
            Action::Return => "RETURN",
            Action::Continue => "CONTINUE",
        }
    }
}

/// Traffic direction as seen from the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    In,
    Out,
    InOut,
}

impl Direction {
    pub const ALL: [Direction; 3] = [Direction::In, Direction::Out, Direction::InOut];

    pub fn name(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::InOut => "inout",
        }
    }
}

/// How a rule attribute refers to a variable: `$NAME`, `$NAME[@N]` (iterator N) or `$NAME[N]`
/// (element N).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarAccess {
    pub name: String,
    pub access: Access,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    /// `$X` (iterator 0) or `$X[@N]`.
    Iterator(u32),
    /// `$X[N]`.
    Element(u32),
}

/// The largest iterator id libvirt accepts.
pub const MAX_ITER_ID: u32 = 1000;

impl fmt::Display for VarAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match self.access {
            Access::Element(i) => write!(f, "[{i}]"),
            Access::Iterator(0) => Ok(()),
            Access::Iterator(i) => write!(f, "[@{i}]"),
        }
    }
}

/// A literal attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An 8-bit number; `hex` when written in hex.
    U8 {
        v: u8,
        hex: bool,
    },
    U16 {
        v: u16,
        hex: bool,
    },
    U32 {
        v: u32,
        hex: bool,
    },
    Mac(MacAddr),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// A prefix length (masks are always written as CIDR lengths).
    Mask(u8),
    /// Free text (`comment`).
    Text(String),
    Bool(bool),
    /// Connection-tracking state bits.
    State(u8),
    /// TCP flags: the bits examined and the bits that must be set.
    TcpFlags {
        mask: u8,
        flags: u8,
    },
    /// An ipset name.
    Ipset(String),
    /// ipset match directions: `count` entries, bit i set = `src`.
    IpsetFlags {
        count: u8,
        src_bits: u8,
    },
}

/// One attribute of a protocol element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Written inside an element with `match='no'`.
    pub negate: bool,
    pub value: ItemValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemValue {
    Literal(Value),
    Var(VarAccess),
}

/// One `<rule>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub action: Action,
    pub direction: Direction,
    /// -1000..=1000; 500 when not given.
    pub priority: i32,
    /// `statematch='false'`.
    pub no_statematch: bool,
    /// The protocol element, if any, and its attributes by name.
    pub protocol: Option<Protocol>,
    pub fields: BTreeMap<&'static str, Item>,
}

impl Rule {
    /// The attribute `name` of the protocol element.
    pub fn get(&self, name: &str) -> Option<&Item> {
        self.fields.get(name)
    }

    /// Connection-state bits given by a `state` attribute (0 when none).
    pub fn state_flags(&self) -> u8 {
        match self.fields.get("state") {
            Some(Item {
                value: ItemValue::Literal(Value::State(s)),
                ..
            }) => *s,
            _ => 0,
        }
    }

    /// The distinct variable accesses of this rule, in attribute order.
    pub fn var_accesses(&self) -> Vec<VarAccess> {
        let mut out: Vec<VarAccess> = Vec::new();
        if let Some(p) = self.protocol {
            for d in p.attrs() {
                if let Some(Item {
                    value: ItemValue::Var(v),
                    ..
                }) = self.fields.get(d.name)
                {
                    if !out.contains(v) {
                        out.push(v.clone());
                    }
                }
            }
        }
        out
    }
}

/// Named parameters: each name has one or more values, in order.
pub type Params = BTreeMap<String, Vec<String>>;

/// One `<filterref>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterRef {
    pub filter: String,
    pub params: Params,
}

/// A filter entry, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Rule(Rule),
    Ref(FilterRef),
}

/// A `<filter>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub uuid: Uuid,
    /// The chain (`root`, `mac`, `ipv4`, `arp-xyz`, ...).
    pub chain: String,
    /// The chain priority (0 = not written).
    pub chain_priority: i32,
    pub entries: Vec<Entry>,
}

/// Characters allowed in variable names.
pub fn is_valid_var_name(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Characters allowed in variable values (non-empty).
pub fn is_valid_var_value(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b':')
}
