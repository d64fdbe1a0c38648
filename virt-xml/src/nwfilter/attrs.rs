//! The attribute tables of each rule protocol element: names, accepted value kinds and the order in
//! which libvirt writes them.

/// Value kinds an attribute accepts; a value is tried against each kind in this bit order.
pub(crate) mod dt {
    pub const UINT16: u32 = 1 << 0;
    pub const UINT8: u32 = 1 << 1;
    pub const UINT16_HEX: u32 = 1 << 2;
    pub const UINT8_HEX: u32 = 1 << 3;
    pub const MACADDR: u32 = 1 << 4;
    pub const MACMASK: u32 = 1 << 5;
    pub const IPADDR: u32 = 1 << 6;
    pub const IPMASK: u32 = 1 << 7;
    pub const STRING: u32 = 1 << 8;
    pub const IPV6ADDR: u32 = 1 << 9;
    pub const IPV6MASK: u32 = 1 << 10;
    pub const STRINGCOPY: u32 = 1 << 11;
    pub const BOOLEAN: u32 = 1 << 12;
    pub const UINT32: u32 = 1 << 13;
    pub const UINT32_HEX: u32 = 1 << 14;
    pub const IPSETNAME: u32 = 1 << 15;
    pub const IPSETFLAGS: u32 = 1 << 16;
    pub const LAST: u32 = 1 << 17;
}

/// Checks and formats beyond the plain value kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    MacProtocolId,
    VlanId,
    VlanProtocolId,
    ArpOpcode,
    IpProtocol,
    Dscp,
    State,
    TcpFlags,
    Ipset,
    IpsetFlags,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct AttrDesc {
    pub name: &'static str,
    pub types: u32,
    pub special: Special,
}

const fn a(name: &'static str, types: u32) -> AttrDesc {
    AttrDesc {
        name,
        types,
        special: Special::None,
    }
}

const fn s(name: &'static str, types: u32, special: Special) -> AttrDesc {
    AttrDesc {
        name,
        types,
        special,
    }
}

use dt::*;

const U8: u32 = UINT8 | UINT8_HEX;
const U16: u32 = UINT16 | UINT16_HEX;
const U32: u32 = UINT32 | UINT32_HEX;

macro_rules! mac_props {
    () => {
        [
            a("srcmacaddr", MACADDR),
            a("srcmacmask", MACMASK),
            a("dstmacaddr", MACADDR),
            a("dstmacmask", MACMASK),
        ]
    };
}

const COMMENT: AttrDesc = a("comment", STRINGCOPY);

pub(crate) static MAC: &[AttrDesc] = &{
    let m = mac_props!();
    [
        m[0],
        m[1],
        m[2],
        m[3],
        s("protocolid", U16 | STRING, Special::MacProtocolId),
        COMMENT,
    ]
};

pub(crate) static VLAN: &[AttrDesc] = &{
    let m = mac_props!();
    [
        m[0],
        m[1],
        m[2],
        m[3],
        s("vlanid", U16, Special::VlanId),
        s("encap-protocol", U16 | STRING, Special::VlanProtocolId),
        COMMENT,
    ]
};

pub(crate) static STP: &[AttrDesc] = &[
    a("srcmacaddr", MACADDR),
    a("srcmacmask", MACMASK),
    a("type", U8),
    a("flags", U8),
    a("root-priority", U16),
    a("root-priority-hi", U16),
    a("root-address", MACADDR),
    a("root-address-mask", MACMASK),
    a("root-cost", U32),
    a("root-cost-hi", U32),
    a("sender-priority", U16),
    a("sender-priority-hi", U16),
    a("sender-address", MACADDR),
    a("sender-address-mask", MACMASK),
    a("port", U16),
    a("port-hi", U16),
    a("age", U16),
    a("age-hi", U16),
    a("max-age", U16),
    a("max-age-hi", U16),
    a("hello-time", U16),
    a("hello-time-hi", U16),
    a("forward-delay", U16),
    a("forward-delay-hi", U16),
    COMMENT,
];

pub(crate) static ARP: &[AttrDesc] = &{
    let m = mac_props!();
    [
        m[0],
        m[1],
        m[2],
        m[3],
        a("hwtype", U16),
        a("protocoltype", U16),
        s("opcode", U16 | STRING, Special::ArpOpcode),
        a("arpsrcmacaddr", MACADDR),
        a("arpdstmacaddr", MACADDR),
        a("arpsrcipaddr", IPADDR),
        a("arpsrcipmask", IPMASK),
        a("arpdstipaddr", IPADDR),
        a("arpdstipmask", IPMASK),
        a("gratuitous", BOOLEAN),
        COMMENT,
    ]
};

pub(crate) static IP: &[AttrDesc] = &{
    let m = mac_props!();
    [
        m[0],
        m[1],
        m[2],
        m[3],
        a("srcipaddr", IPADDR),
        a("srcipmask", IPMASK),
        a("dstipaddr", IPADDR),
        a("dstipmask", IPMASK),
        s("protocol", STRING | U8, Special::IpProtocol),
        a("srcportstart", U16),
        a("srcportend", U16),
        a("dstportstart", U16),
        a("dstportend", U16),
        s("dscp", U8, Special::Dscp),
        COMMENT,
    ]
};

pub(crate) static IPV6: &[AttrDesc] = &{
    let m = mac_props!();
    [
        m[0],
        m[1],
        m[2],
        m[3],
        a("srcipaddr", IPV6ADDR),
        a("srcipmask", IPV6MASK),
        a("dstipaddr", IPV6ADDR),
        a("dstipmask", IPV6MASK),
        s("protocol", STRING | U8, Special::IpProtocol),
        a("srcportstart", U16),
        a("srcportend", U16),
        a("dstportstart", U16),
        a("dstportend", U16),
        a("type", U8),
        a("typeend", U8),
        a("code", U8),
        a("codeend", U8),
        COMMENT,
    ]
};

macro_rules! ip_props {
    ($addr:expr, $mask:expr) => {
        [
            a("srcmacaddr", MACADDR),
            a("srcipaddr", $addr),
            a("srcipmask", $mask),
            a("dstipaddr", $addr),
            a("dstipmask", $mask),
            a("srcipfrom", $addr),
            a("srcipto", $addr),
            a("dstipfrom", $addr),
            // libvirt declares dstipto as an IPv4 address for every protocol.
            a("dstipto", IPADDR),
            s("dscp", U8, Special::Dscp),
            a("connlimit-above", UINT16),
            s("state", STRING, Special::State),
            s("ipset", IPSETNAME, Special::Ipset),
            s("ipsetflags", IPSETFLAGS, Special::IpsetFlags),
        ]
    };
}

const PORTS: [AttrDesc; 4] = [
    a("srcportstart", U16),
    a("srcportend", U16),
    a("dstportstart", U16),
    a("dstportend", U16),
];

macro_rules! table {
    ($name:ident, $addr:expr, $mask:expr, [$($extra:expr),*]) => {
        pub(crate) static $name: &[AttrDesc] = &{
            let p = ip_props!($addr, $mask);
            [
                p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12],
                p[13], $($extra,)* COMMENT,
            ]
        };
    };
}

table!(
    TCP,
    IPADDR,
    IPMASK,
    [
        PORTS[0],
        PORTS[1],
        PORTS[2],
        PORTS[3],
        a("option", U8),
        s("flags", STRING, Special::TcpFlags)
    ]
);
table!(
    UDP,
    IPADDR,
    IPMASK,
    [PORTS[0], PORTS[1], PORTS[2], PORTS[3]]
);
table!(
    SCTP,
    IPADDR,
    IPMASK,
    [PORTS[0], PORTS[1], PORTS[2], PORTS[3]]
);
table!(PLAIN4, IPADDR, IPMASK, []);
table!(ICMP, IPADDR, IPMASK, [a("type", U8), a("code", U8)]);
table!(
    TCP6,
    IPV6ADDR,
    IPV6MASK,
    [PORTS[0], PORTS[1], PORTS[2], PORTS[3], a("option", U8)]
);
table!(
    UDP6,
    IPV6ADDR,
    IPV6MASK,
    [PORTS[0], PORTS[1], PORTS[2], PORTS[3]]
);
table!(
    SCTP6,
    IPV6ADDR,
    IPV6MASK,
    [PORTS[0], PORTS[1], PORTS[2], PORTS[3]]
);
table!(PLAIN6, IPV6ADDR, IPV6MASK, []);
table!(ICMP6, IPV6ADDR, IPV6MASK, [a("type", U8), a("code", U8)]);

/// Named values of `protocolid` / `encap-protocol`.
pub(crate) const MAC_PROTO: &[(u16, &str)] = &[
    (0x0806, "arp"),
    (0x8035, "rarp"),
    (0x0800, "ipv4"),
    (0x86dd, "ipv6"),
    (0x8100, "vlan"),
];

/// Named values of the ARP `opcode`.
pub(crate) const ARP_OPCODE: &[(u16, &str)] = &[
    (1, "Request"),
    (2, "Reply"),
    (3, "Request_Reverse"),
    (4, "Reply_Reverse"),
    (5, "DRARP_Request"),
    (6, "DRARP_Reply"),
    (7, "DRARP_Error"),
    (8, "InARP_Request"),
    (9, "ARP_NAK"),
];

/// Named values of the IP `protocol`.
pub(crate) const IP_PROTO: &[(u16, &str)] = &[
    (6, "tcp"),
    (17, "udp"),
    (136, "udplite"),
    (50, "esp"),
    (51, "ah"),
    (1, "icmp"),
    (2, "igmp"),
    (132, "sctp"),
    (58, "icmpv6"),
];

/// Connection-tracking states (bit, name), in the order libvirt writes them.
pub(crate) const STATES: &[(u8, &str)] = &[
    (1 << 1, "NEW"),
    (1 << 2, "ESTABLISHED"),
    (1 << 3, "RELATED"),
    (1 << 4, "INVALID"),
    (1 << 5, "NONE"),
];

/// TCP flag names (bits, name), in parse order.
pub(crate) const TCP_FLAGS: &[(u8, &str)] = &[
    (0x1, "FIN"),
    (0x2, "SYN"),
    (0x4, "RST"),
    (0x8, "PSH"),
    (0x10, "ACK"),
    (0x20, "URG"),
    (0x3f, "ALL"),
    (0x0, "NONE"),
];
