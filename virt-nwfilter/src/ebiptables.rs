//! Filter rules -> the ebtables / iptables / ip6tables commands libvirt 9.0 runs for one
//! interface (its "ebiptables" technology driver), as argument vectors.
//!
//! The layout: ebtables `nat` chains `libvirt-J-IF` (from the guest, PREROUTING) and
//! `libvirt-P-IF` (to the guest, POSTROUTING) with per-protocol sub-chains `J-IF-SUFFIX`;
//! iptables chains `FJ-IF` / `FP-IF` / `HJ-IF` reached from `libvirt-in`, `libvirt-out` and
//! `libvirt-host-in`. New rules go into these temporary (J/P) chains; libvirt later
//! renames them to the live ones (I/O); the real backends write the live names directly.

use virt_xml::nwfilter::{Action, Direction, Item, ItemValue, Protocol, Rule, Value};

use crate::error::FilterError;
use crate::tree::RuleInst;
use crate::vars::Combinations;

/// Which tool a command is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Ethernet,
    Ipv4,
    Ipv6,
}

impl Layer {
    /// The program and its fixed leading options.
    pub fn program(self) -> [&'static str; 2] {
        match self {
            Layer::Ethernet => ["ebtables", "--concurrent"],
            Layer::Ipv4 => ["iptables", "-w"],
            Layer::Ipv6 => ["ip6tables", "-w"],
        }
    }
}

/// One firewall command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwCommand {
    pub layer: Layer,
    /// Arguments after the program's fixed options.
    pub args: Vec<String>,
    /// A failure of this command does not fail the transaction.
    pub ignore_errors: bool,
}

impl FwCommand {
    fn new(layer: Layer, ignore_errors: bool, args: &[&str]) -> Self {
        FwCommand {
            layer,
            args: args.iter().map(|s| s.to_string()).collect(),
            ignore_errors,
        }
    }

    /// The whole argument vector, program first.
    pub fn argv(&self) -> Vec<String> {
        let mut v: Vec<String> = self.layer.program().iter().map(|s| s.to_string()).collect();
        v.extend(self.args.iter().cloned());
        v
    }

    /// The command as one shell line, arguments quoted as libvirt's dry run prints them.
    pub fn to_shell(&self) -> String {
        self.argv()
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Quotes an argument for a POSIX shell when it has special characters.
pub fn shell_quote(s: &str) -> String {
    const SPECIAL: &str = "\r\t\n !\"#$&'()*;<>?[\\]^`{|}~";
    if s.is_empty() {
        return "''".into();
    }
    if !s.chars().any(|c| SPECIAL.contains(c)) {
        return s.to_string();
    }
    let mut out = String::from("'");
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

const MAC_BGA: &str = "01:80:c2:00:00:00";

fn root_chain(prefix: char, ifname: &str) -> String {
    format!("libvirt-{prefix}-{ifname}")
}

fn sub_chain(prefix: char, ifname: &str, suffix: &str) -> String {
    format!("{prefix}-{ifname}-{suffix}")
}

fn ipt_chain(p0: char, p1: char, ifname: &str) -> String {
    format!("{p0}{p1}-{ifname}")
}

/// The protocol (by chain-name prefix) that an ebtables sub-chain serves.
const L3_PROTOCOLS: [(&str, u16); 7] = [
    ("ipv4", 0x0800),
    ("ipv6", 0x86dd),
    ("arp", 0x0806),
    ("rarp", 0x8035),
    ("mac", 0),
    ("vlan", 0x8100),
    ("stp", 0),
];

fn is_ethernet(r: &Rule) -> bool {
    r.protocol.is_none_or(Protocol::is_ethernet)
}

fn is_ipv4(r: &Rule) -> bool {
    r.protocol.is_some_and(Protocol::is_ipv4)
}

fn is_ipv6(r: &Rule) -> bool {
    r.protocol.is_some_and(Protocol::is_ipv6)
}

/// Checks an interface name is usable in chain names and commands.
pub fn check_ifname(ifname: &str) -> Result<(), FilterError> {
    if ifname.is_empty()
        || ifname.len() > 15
        || !ifname
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(FilterError::InterfaceName(ifname.to_string()));
    }
    Ok(())
}

/// Resolves one attribute to its text: a variable's current value, or the literal.
struct Printer<'a, 'b> {
    combos: &'b Combinations<'a>,
}

impl Printer<'_, '_> {
    fn text(&self, item: &Item, hex: bool) -> Result<String, FilterError> {
        match &item.value {
            ItemValue::Var(v) => self
                .combos
                .value(v)
                .map(str::to_string)
                .ok_or_else(|| FilterError::MissingVariable(v.name.clone())),
            ItemValue::Literal(v) => Ok(literal(v, hex, false)),
        }
    }

    fn ipset_flags(&self, item: &Item, direction_in: bool) -> Result<String, FilterError> {
        match &item.value {
            ItemValue::Literal(v) => Ok(literal(v, false, direction_in)),
            ItemValue::Var(_) => self.text(item, false),
        }
    }
}

fn literal(v: &Value, hex: bool, direction_in: bool) -> String {
    let num = |n: u32| {
        if hex {
            format!("0x{n:x}")
        } else {
            n.to_string()
        }
    };
    match v {
        Value::U8 { v, .. } => num(u32::from(*v)),
        Value::U16 { v, .. } => num(u32::from(*v)),
        Value::U32 { v, .. } => num(*v),
        Value::Mac(m) => {
            let o = m.0;
            format!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                o[0], o[1], o[2], o[3], o[4], o[5]
            )
        }
        Value::Ipv4(a) => a.to_string(),
        Value::Ipv6(a) => a.to_string(),
        Value::Mask(m) => m.to_string(),
        Value::Text(t) | Value::Ipset(t) => t.clone(),
        Value::Bool(b) => b.to_string(),
        Value::State(s) => virt_xml::nwfilter::state_text(*s),
        Value::TcpFlags { mask, flags } => format!(
            "{} {}",
            virt_xml::nwfilter::tcp_flags_text(*mask),
            virt_xml::nwfilter::tcp_flags_text(*flags)
        ),
        Value::IpsetFlags { count, src_bits } => (0..*count)
            .map(|i| {
                let src = src_bits & (1 << i) != 0;
                if src != direction_in {
                    "src"
                } else {
                    "dst"
                }
            })
            .collect::<Vec<_>>()
            .join(","),
    }
}

struct Args(Vec<String>);

impl Args {
    fn push(&mut self, s: impl Into<String>) {
        self.0.push(s.into());
    }
    fn neg(&mut self, item: &Item) {
        if item.negate {
            self.0.push("!".into());
        }
    }
}

fn eth_hdr(a: &mut Args, r: &Rule, p: &Printer, reverse: bool) -> Result<(), FilterError> {
    for (addr, mask, fwd, rev) in [
        ("srcmacaddr", "srcmacmask", "-s", "-d"),
        ("dstmacaddr", "dstmacmask", "-d", "-s"),
    ] {
        if let Some(i) = r.get(addr) {
            let v = p.text(i, false)?;
            a.push(if reverse { rev } else { fwd });
            a.neg(i);
            match r.get(mask) {
                Some(m) => a.push(format!("{v}/{}", p.text(m, false)?)),
                None => a.push(v),
            }
        }
    }
    Ok(())
}

fn ebtables_rule(
    r: &Rule,
    chain_suffix: &str,
    prefix: char,
    ifname: &str,
    p: &Printer,
    reverse: bool,
) -> Result<FwCommand, FilterError> {
    let chain = if chain_suffix == "root" {
        root_chain(prefix, ifname)
    } else {
        sub_chain(prefix, ifname, chain_suffix)
    };
    let mut a = Args(vec!["-t".into(), "nat".into(), "-A".into(), chain]);
    let item = |a: &mut Args, name: &str, cli: &str| -> Result<(), FilterError> {
        if let Some(i) = r.get(name) {
            let v = p.text(i, false)?;
            a.push(cli);
            a.neg(i);
            a.push(v);
        }
        Ok(())
    };
    let item2 = |a: &mut Args, name: &str, hi: &str, cli: &str, sep: &str| {
        if let Some(i) = r.get(name) {
            let v = p.text(i, false)?;
            a.push(cli);
            a.neg(i);
            match r.get(hi) {
                Some(h) => a.push(format!("{v}{sep}{}", p.text(h, false)?)),
                None => a.push(v),
            }
        }
        Ok::<(), FilterError>(())
    };
    match r.protocol {
        None => {}
        Some(Protocol::Mac) => {
            eth_hdr(&mut a, r, p, reverse)?;
            if let Some(i) = r.get("protocolid") {
                let v = p.text(i, true)?;
                a.push("-p");
                a.neg(i);
                a.push(v);
            }
        }
        Some(Protocol::Vlan) => {
            eth_hdr(&mut a, r, p, reverse)?;
            a.push("-p");
            a.push("0x8100");
            item(&mut a, "vlanid", "--vlan-id")?;
            item(&mut a, "encap-protocol", "--vlan-encap")?;
        }
        Some(Protocol::Stp) => {
            if reverse && r.get("srcmacaddr").is_some() {
                return Err(FilterError::Unsupported(
                    "STP filtering in inout direction with source MAC address set is not supported"
                        .into(),
                ));
            }
            eth_hdr(&mut a, r, p, reverse)?;
            a.push("-d");
            a.push(MAC_BGA);
            item(&mut a, "type", "--stp-type")?;
            item(&mut a, "flags", "--stp-flags")?;
            item2(
                &mut a,
                "root-priority",
                "root-priority-hi",
                "--stp-root-pri",
                ":",
            )?;
            item2(
                &mut a,
                "root-address",
                "root-address-mask",
                "--stp-root-addr",
                "/",
            )?;
            item2(&mut a, "root-cost", "root-cost-hi", "--stp-root-cost", ":")?;
            item2(
                &mut a,
                "sender-priority",
                "sender-priority-hi",
                "--stp-sender-prio",
                ":",
            )?;
            item2(
                &mut a,
                "sender-address",
                "sender-address-mask",
                "--stp-sender-addr",
                "/",
            )?;
            item2(&mut a, "port", "port-hi", "--stp-port", ":")?;
            item2(&mut a, "age", "age-hi", "--stp-msg-age", ":")?;
            item2(&mut a, "max-age", "max-age-hi", "--stp-max-age", ":")?;
            item2(
                &mut a,
                "hello-time",
                "hello-time-hi",
                "--stp-hello-time",
                ":",
            )?;
            item2(
                &mut a,
                "forward-delay",
                "forward-delay-hi",
                "--stp-forward-delay",
                ":",
            )?;
        }
        Some(proto @ (Protocol::Arp | Protocol::Rarp)) => {
            eth_hdr(&mut a, r, p, reverse)?;
            a.push("-p");
            a.push(if proto == Protocol::Arp {
                "0x806"
            } else {
                "0x8035"
            });
            item(&mut a, "hwtype", "--arp-htype")?;
            item(&mut a, "opcode", "--arp-opcode")?;
            if let Some(i) = r.get("protocoltype") {
                let v = p.text(i, true)?;
                a.push("--arp-ptype");
                a.neg(i);
                a.push(v);
            }
            // libvirt keeps the last mask seen: a destination without its own mask takes the
            // source's.
            let mut mask: Option<String> = None;
            for (addr, m, fwd, rev) in [
                (
                    "arpsrcipaddr",
                    "arpsrcipmask",
                    "--arp-ip-src",
                    "--arp-ip-dst",
                ),
                (
                    "arpdstipaddr",
                    "arpdstipmask",
                    "--arp-ip-dst",
                    "--arp-ip-src",
                ),
            ] {
                if let Some(i) = r.get(addr) {
                    let v = p.text(i, false)?;
                    if let Some(mi) = r.get(m) {
                        mask = Some(p.text(mi, false)?);
                    }
                    a.push(if reverse { rev } else { fwd });
                    a.neg(i);
                    a.push(format!("{v}/{}", mask.as_deref().unwrap_or("32")));
                }
            }
            for (addr, fwd, rev) in [
                ("arpsrcmacaddr", "--arp-mac-src", "--arp-mac-dst"),
                ("arpdstmacaddr", "--arp-mac-dst", "--arp-mac-src"),
            ] {
                if let Some(i) = r.get(addr) {
                    let v = p.text(i, false)?;
                    a.push(if reverse { rev } else { fwd });
                    a.neg(i);
                    a.push(v);
                }
            }
            if let Some(i) = r.get("gratuitous") {
                if matches!(i.value, ItemValue::Literal(Value::Bool(true))) {
                    a.neg(i);
                    a.push("--arp-gratuitous");
                }
            }
        }
        Some(proto @ (Protocol::Ip | Protocol::Ipv6)) => {
            eth_hdr(&mut a, r, p, reverse)?;
            let v6 = proto == Protocol::Ipv6;
            let pre = if v6 { "--ip6" } else { "--ip" };
            a.push("-p");
            a.push(if v6 { "ipv6" } else { "ipv4" });
            for (addr, mask, fwd, rev) in [
                ("srcipaddr", "srcipmask", "source", "destination"),
                ("dstipaddr", "dstipmask", "destination", "source"),
            ] {
                if let Some(i) = r.get(addr) {
                    let v = p.text(i, false)?;
                    a.push(format!("{pre}-{}", if reverse { rev } else { fwd }));
                    a.neg(i);
                    match r.get(mask) {
                        Some(m) => a.push(format!("{v}/{}", p.text(m, false)?)),
                        None => a.push(v),
                    }
                }
            }
            if let Some(i) = r.get("protocol") {
                let v = p.text(i, false)?;
                a.push(format!("{pre}-protocol"));
                a.neg(i);
                a.push(v);
            }
            for (start, end, fwd, rev) in [
                (
                    "srcportstart",
                    "srcportend",
                    "source-port",
                    "destination-port",
                ),
                (
                    "dstportstart",
                    "dstportend",
                    "destination-port",
                    "source-port",
                ),
            ] {
                if let Some(i) = r.get(start) {
                    let v = p.text(i, false)?;
                    a.push(format!("{pre}-{}", if reverse { rev } else { fwd }));
                    a.neg(i);
                    match r.get(end) {
                        Some(e) => a.push(format!("{v}:{}", p.text(e, false)?)),
                        None => a.push(v),
                    }
                }
            }
            if v6 {
                let t = r.get("type");
                let te = r.get("typeend");
                let c = r.get("code");
                let ce = r.get("codeend");
                if t.is_some() || te.is_some() || c.is_some() || ce.is_some() {
                    a.push("--ip6-icmp-type");
                    let range = |lo: Option<&Item>, hi: Option<&Item>| {
                        let l = match lo {
                            Some(i) => Some(p.text(i, false)?),
                            None => None,
                        };
                        let h = match (hi, &l) {
                            (Some(i), _) => p.text(i, false)?,
                            (None, Some(l)) => l.clone(),
                            (None, None) => "255".to_string(),
                        };
                        Ok::<String, FilterError>(format!(
                            "{}:{h}",
                            l.unwrap_or_else(|| "0".to_string())
                        ))
                    };
                    let s = format!("{}/{}", range(t, te)?, range(c, ce)?);
                    if let Some(t) = t {
                        a.neg(t);
                    }
                    a.push(s);
                }
            } else if let Some(i) = r.get("dscp") {
                let v = p.text(i, true)?;
                a.push("--ip-tos");
                a.neg(i);
                a.push(v);
            }
        }
        Some(other) => {
            return Err(FilterError::Unsupported(format!(
                "protocol {} is not an ebtables protocol",
                other.name()
            )))
        }
    }
    let target = match r.action {
        Action::Reject => Action::Drop.target(),
        a => a.target(),
    };
    a.push("-j");
    a.push(target);
    Ok(FwCommand {
        layer: Layer::Ethernet,
        args: a.0,
        ignore_errors: false,
    })
}

struct IptCtx<'x> {
    direction_in: bool,
    p0: char,
    p1: char,
    state: Option<String>,
    def_match: bool,
    accept_target: &'x str,
    may_skip_icmp: bool,
}

fn iptables_rule(
    layer: Layer,
    r: &Rule,
    ifname: &str,
    p: &Printer,
    c: &IptCtx,
) -> Result<Option<FwCommand>, FilterError> {
    let Some(proto) = r.protocol else {
        return Ok(None);
    };
    let din = c.direction_in;
    let mut a = Args(vec!["-A".into(), ipt_chain(c.p0, c.p1, ifname)]);
    let pname = match proto {
        Protocol::Tcp | Protocol::TcpIpv6 => "tcp",
        Protocol::Udp | Protocol::UdpIpv6 => "udp",
        Protocol::Udplite | Protocol::UdpliteIpv6 => "udplite",
        Protocol::Esp | Protocol::EspIpv6 => "esp",
        Protocol::Ah | Protocol::AhIpv6 => "ah",
        Protocol::Sctp | Protocol::SctpIpv6 => "sctp",
        Protocol::Icmp => "icmp",
        Protocol::Icmpv6 => "icmpv6",
        Protocol::Igmp => "igmp",
        Protocol::All | Protocol::AllIpv6 => "all",
        other => {
            return Err(FilterError::Unsupported(format!(
                "protocol {} is not an iptables protocol",
                other.name()
            )))
        }
    };
    a.push("-p");
    a.push(pname);
    let base_len = a.0.len();
    let mut src_mac_skipped = false;
    let mut skip_rule = false;
    let mut skip_match = false;
    let mut has_icmp_type = false;

    if let Some(i) = r.get("srcmacaddr") {
        if din {
            src_mac_skipped = true;
        } else {
            let v = p.text(i, false)?;
            a.push("-m");
            a.push("mac");
            a.neg(i);
            a.push("--mac-source");
            a.push(v);
        }
    }
    // IP header.
    let (src, dst, srange, drange) = if din {
        ("--destination", "--source", "--dst-range", "--src-range")
    } else {
        ("--source", "--destination", "--src-range", "--dst-range")
    };
    for (addr, mask, from, to, opt, ropt) in [
        (
            "srcipaddr",
            "srcipmask",
            "srcipfrom",
            "srcipto",
            src,
            srange,
        ),
        (
            "dstipaddr",
            "dstipmask",
            "dstipfrom",
            "dstipto",
            dst,
            drange,
        ),
    ] {
        if let Some(i) = r.get(addr) {
            let v = p.text(i, false)?;
            a.neg(i);
            a.push(opt);
            match r.get(mask) {
                Some(m) => a.push(format!("{v}/{}", p.text(m, false)?)),
                None => a.push(v),
            }
        } else if let Some(i) = r.get(from) {
            let v = p.text(i, false)?;
            a.push("-m");
            a.push("iprange");
            a.neg(i);
            a.push(ropt);
            match r.get(to) {
                Some(t) => a.push(format!("{v}-{}", p.text(t, false)?)),
                None => a.push(v),
            }
        }
    }
    if let Some(i) = r.get("dscp") {
        let v = p.text(i, false)?;
        a.push("-m");
        a.push("dscp");
        a.neg(i);
        a.push("--dscp");
        a.push(v);
    }
    if r.get("connlimit-above").is_some() {
        if din {
            skip_rule = true;
        } else {
            skip_match = true;
        }
    }
    // Protocol specifics.
    let ports = |a: &mut Args| -> Result<(), FilterError> {
        let (sport, dport) = if din {
            ("--dport", "--sport")
        } else {
            ("--sport", "--dport")
        };
        for (start, end, opt) in [
            ("srcportstart", "srcportend", sport),
            ("dstportstart", "dstportend", dport),
        ] {
            if let Some(i) = r.get(start) {
                let v = p.text(i, false)?;
                a.neg(i);
                a.push(opt);
                match r.get(end) {
                    Some(e) => a.push(format!("{v}:{}", p.text(e, false)?)),
                    None => a.push(v),
                }
            }
        }
        Ok(())
    };
    match proto {
        Protocol::Tcp | Protocol::TcpIpv6 => {
            if let Some(i) = r.get("flags") {
                if let ItemValue::Literal(Value::TcpFlags { mask, flags }) = &i.value {
                    a.neg(i);
                    a.push("--tcp-flags");
                    a.push(virt_xml::nwfilter::tcp_flags_text(*mask));
                    a.push(virt_xml::nwfilter::tcp_flags_text(*flags));
                }
            }
            ports(&mut a)?;
            if let Some(i) = r.get("option") {
                let v = p.text(i, false)?;
                a.neg(i);
                a.push("--tcp-option");
                a.push(v);
            }
        }
        Protocol::Udp | Protocol::UdpIpv6 | Protocol::Sctp | Protocol::SctpIpv6 => ports(&mut a)?,
        Protocol::Icmp | Protocol::Icmpv6 => {
            if let Some(i) = r.get("type") {
                has_icmp_type = true;
                if c.may_skip_icmp {
                    return Ok(None);
                }
                let v = p.text(i, false)?;
                a.neg(i);
                a.push(if proto == Protocol::Icmp {
                    "--icmp-type"
                } else {
                    "--icmpv6-type"
                });
                match r.get("code") {
                    Some(code) => a.push(format!("{v}/{}", p.text(code, false)?)),
                    None => a.push(v),
                }
            }
        }
        _ => {}
    }
    if (src_mac_skipped && a.0.len() == base_len) || skip_rule {
        return Ok(None);
    }
    let target = if r.action == Action::Accept {
        c.accept_target.to_string()
    } else {
        skip_match = c.def_match;
        r.action.target().to_string()
    };
    if let (Some(m), false) = (&c.state, skip_match) {
        a.push("-m");
        a.push("conntrack");
        a.push("--ctstate");
        a.push(m.clone());
    }
    if c.def_match && c.state.is_some() && !skip_match && !has_icmp_type {
        // Kernels since 2.6.39 have the corrected --ctdir meaning: flip.
        if r.direction != Direction::InOut {
            a.push("-m");
            a.push("conntrack");
            a.push("--ctdir");
            a.push(if !din { "Original" } else { "Reply" });
        }
    }
    if let (Some(set), Some(flags)) = (r.get("ipset"), r.get("ipsetflags")) {
        let name = p.text(set, false)?;
        a.push("-m");
        a.push("set");
        a.push("--match-set");
        a.push(name);
        a.push(p.ipset_flags(flags, din)?);
    }
    if let Some(i) = r.get("connlimit-above") {
        if !din {
            let v = p.text(i, false)?;
            a.push("-m");
            a.push("connlimit");
            a.neg(i);
            a.push("--connlimit-above");
            a.push(v);
        }
    }
    if let Some(i) = r.get("comment") {
        let v = p.text(i, false)?;
        a.push("-m");
        a.push("comment");
        a.push("--comment");
        a.push(v);
    }
    a.push("-j");
    a.push(target);
    Ok(Some(FwCommand {
        layer,
        args: a.0,
        ignore_errors: false,
    }))
}

fn state_match(flags: u8) -> Option<String> {
    // The NONE state prints as nothing.
    if flags & (1 << 5) != 0 || flags == 0 {
        return None;
    }
    Some(virt_xml::nwfilter::state_text(flags))
}

fn iptables_rules(
    out: &mut Vec<FwCommand>,
    layer: Layer,
    r: &Rule,
    ifname: &str,
    p: &Printer,
) -> Result<(), FilterError> {
    let dir_in = matches!(r.direction, Direction::In | Direction::InOut);
    let inout = r.direction == Direction::InOut;
    let states = r.state_flags();
    let mut push = |c: IptCtx| -> Result<(), FilterError> {
        if let Some(cmd) = iptables_rule(layer, r, ifname, p, &c)? {
            out.push(cmd);
        }
        Ok(())
    };
    if !r.no_statematch && states != 0 {
        // Explicit connection states.
        if !dir_in || inout {
            push(IptCtx {
                direction_in: dir_in,
                p0: 'F',
                p1: 'J',
                state: state_match(states),
                def_match: false,
                accept_target: "RETURN",
                may_skip_icmp: dir_in || inout,
            })?;
        }
        if dir_in {
            push(IptCtx {
                direction_in: !dir_in,
                p0: 'F',
                p1: 'P',
                state: state_match(states),
                def_match: false,
                accept_target: "ACCEPT",
                may_skip_icmp: !dir_in || inout,
            })?;
        }
        if !dir_in || inout {
            push(IptCtx {
                direction_in: dir_in,
                p0: 'H',
                p1: 'J',
                state: state_match(states),
                def_match: false,
                accept_target: "RETURN",
                may_skip_icmp: dir_in,
            })?;
        }
        return Ok(());
    }
    let need_state = !inout && !r.no_statematch;
    let st = |s: &str| need_state.then(|| s.to_string());
    let (a, b) = if dir_in {
        ("ESTABLISHED", "NEW,ESTABLISHED")
    } else {
        ("NEW,ESTABLISHED", "ESTABLISHED")
    };
    push(IptCtx {
        direction_in: dir_in,
        p0: 'F',
        p1: 'J',
        state: st(a),
        def_match: true,
        accept_target: "RETURN",
        may_skip_icmp: dir_in || inout,
    })?;
    push(IptCtx {
        direction_in: !dir_in,
        p0: 'F',
        p1: 'P',
        state: st(b),
        def_match: true,
        accept_target: "ACCEPT",
        may_skip_icmp: !dir_in || inout,
    })?;
    push(IptCtx {
        direction_in: dir_in,
        p0: 'H',
        p1: 'J',
        state: st(a),
        def_match: true,
        accept_target: "RETURN",
        may_skip_icmp: dir_in,
    })
}

/// All commands for one rule instance over all its variable combinations.
fn rule_inst_commands(
    out: &mut Vec<FwCommand>,
    ri: &RuleInst,
    ifname: &str,
) -> Result<(), FilterError> {
    let accesses = ri.rule.var_accesses();
    let mut combos = Combinations::new(&ri.vars, &accesses)?;
    while combos.advance() {
        let p = Printer { combos: &combos };
        let r = &ri.rule;
        if is_ethernet(r) {
            if matches!(r.direction, Direction::Out | Direction::InOut) {
                out.push(ebtables_rule(
                    r,
                    &ri.chain,
                    'J',
                    ifname,
                    &p,
                    r.direction == Direction::InOut,
                )?);
            }
            if matches!(r.direction, Direction::In | Direction::InOut) {
                out.push(ebtables_rule(r, &ri.chain, 'P', ifname, &p, false)?);
            }
        } else {
            let layer = if is_ipv6(r) { Layer::Ipv6 } else { Layer::Ipv4 };
            iptables_rules(out, layer, r, ifname, &p)?;
        }
    }
    Ok(())
}

fn eb(out: &mut Vec<FwCommand>, ignore: bool, args: &[&str]) {
    out.push(FwCommand::new(Layer::Ethernet, ignore, args));
}

fn ebtables_unlink_root(out: &mut Vec<FwCommand>, incoming: bool, prefix: char, ifname: &str) {
    let chain = root_chain(prefix, ifname);
    let (base, io) = if incoming {
        ("PREROUTING", "-i")
    } else {
        ("POSTROUTING", "-o")
    };
    eb(
        out,
        true,
        &["-t", "nat", "-D", base, io, ifname, "-j", &chain],
    );
}

fn ebtables_remove_root(out: &mut Vec<FwCommand>, prefix: char, ifname: &str) {
    let chain = root_chain(prefix, ifname);
    eb(out, true, &["-t", "nat", "-F", &chain]);
    eb(out, true, &["-t", "nat", "-X", &chain]);
}

fn ebtables_list_root(out: &mut Vec<FwCommand>, prefix: char, ifname: &str) {
    let chain = root_chain(prefix, ifname);
    eb(out, true, &["-t", "nat", "-L", &chain]);
}

fn ipt(out: &mut Vec<FwCommand>, layer: Layer, ignore: bool, args: &[&str]) {
    out.push(FwCommand::new(layer, ignore, args));
}

const PHYSDEV_IN: [&str; 3] = ["-m", "physdev", "--physdev-in"];
const PHYSDEV_OUT: [&str; 4] = ["-m", "physdev", "--physdev-is-bridged", "--physdev-out"];
const PHYSDEV_OUT_OLD: [&str; 3] = ["-m", "physdev", "--physdev-out"];

fn ipt_jump(
    base: &str,
    op: &str,
    physdev: &[&str],
    ifname: &str,
    jump: &str,
    chain: &str,
) -> Vec<String> {
    let mut v = vec![op.to_string(), base.to_string()];
    v.extend(physdev.iter().map(|s| s.to_string()));
    v.push(ifname.to_string());
    v.push(jump.to_string());
    v.push(chain.to_string());
    v
}

fn iptables_unlink_roots(out: &mut Vec<FwCommand>, layer: Layer, ifname: &str, tmp: bool) {
    let (i, o) = if tmp { ('J', 'P') } else { ('I', 'O') };
    let push = |out: &mut Vec<FwCommand>, args: Vec<String>| {
        out.push(FwCommand {
            layer,
            args,
            ignore_errors: true,
        })
    };
    let fo = ipt_chain('F', o, ifname);
    push(
        out,
        ipt_jump("libvirt-out", "-D", &PHYSDEV_OUT, ifname, "-g", &fo),
    );
    push(
        out,
        ipt_jump("libvirt-out", "-D", &PHYSDEV_OUT_OLD, ifname, "-g", &fo),
    );
    let fi = ipt_chain('F', i, ifname);
    push(
        out,
        ipt_jump("libvirt-in", "-D", &PHYSDEV_IN, ifname, "-g", &fi),
    );
    let hi = ipt_chain('H', i, ifname);
    push(
        out,
        ipt_jump("libvirt-host-in", "-D", &PHYSDEV_IN, ifname, "-g", &hi),
    );
}

fn iptables_remove_roots(out: &mut Vec<FwCommand>, layer: Layer, ifname: &str, tmp: bool) {
    let (i, o) = if tmp { ('J', 'P') } else { ('I', 'O') };
    for (a, b) in [('F', o), ('F', i), ('H', i)] {
        let c = ipt_chain(a, b, ifname);
        ipt(out, layer, true, &["-F", &c]);
        ipt(out, layer, true, &["-X", &c]);
    }
}

fn iptables_create_base(out: &mut Vec<FwCommand>, layer: Layer) {
    for c in [
        "libvirt-in",
        "libvirt-out",
        "libvirt-in-post",
        "libvirt-host-in",
    ] {
        ipt(out, layer, true, &["-N", c]);
    }
    ipt(out, layer, true, &["-D", "FORWARD", "-j", "libvirt-in"]);
    ipt(out, layer, true, &["-D", "FORWARD", "-j", "libvirt-out"]);
    ipt(
        out,
        layer,
        true,
        &["-D", "FORWARD", "-j", "libvirt-in-post"],
    );
    ipt(out, layer, true, &["-D", "INPUT", "-j", "libvirt-host-in"]);
    ipt(
        out,
        layer,
        false,
        &["-I", "FORWARD", "1", "-j", "libvirt-in"],
    );
    ipt(
        out,
        layer,
        false,
        &["-I", "FORWARD", "2", "-j", "libvirt-out"],
    );
    ipt(
        out,
        layer,
        false,
        &["-I", "FORWARD", "3", "-j", "libvirt-in-post"],
    );
    ipt(
        out,
        layer,
        false,
        &["-I", "INPUT", "1", "-j", "libvirt-host-in"],
    );
}

fn iptables_setup_tmp_roots(out: &mut Vec<FwCommand>, layer: Layer, ifname: &str) {
    let fp = ipt_chain('F', 'P', ifname);
    let fj = ipt_chain('F', 'J', ifname);
    let hj = ipt_chain('H', 'J', ifname);
    for c in [&fp, &fj, &hj] {
        ipt(out, layer, false, &["-N", c]);
    }
    let push = |out: &mut Vec<FwCommand>, args: Vec<String>, ignore: bool| {
        out.push(FwCommand {
            layer,
            args,
            ignore_errors: ignore,
        })
    };
    push(
        out,
        ipt_jump("libvirt-out", "-A", &PHYSDEV_OUT, ifname, "-g", &fp),
        false,
    );
    push(
        out,
        ipt_jump("libvirt-in", "-A", &PHYSDEV_IN, ifname, "-g", &fj),
        false,
    );
    push(
        out,
        ipt_jump("libvirt-host-in", "-A", &PHYSDEV_IN, ifname, "-g", &hj),
        false,
    );
    push(
        out,
        ipt_jump("libvirt-in-post", "-D", &PHYSDEV_IN, ifname, "-j", "ACCEPT"),
        true,
    );
    push(
        out,
        ipt_jump("libvirt-in-post", "-A", &PHYSDEV_IN, ifname, "-j", "ACCEPT"),
        false,
    );
}

/// The commands libvirt 9.0 runs to put `rules` on `ifname` (into the temporary chains, then
/// linked in). The first commands (marked `ignore_errors`) clear leftovers.
pub fn apply_new_rules(ifname: &str, rules: &[RuleInst]) -> Result<Vec<FwCommand>, FilterError> {
    check_ifname(ifname)?;
    let mut rules: Vec<RuleInst> = rules.to_vec();
    // Root-chain rules first, then by priority (stable).
    rules.sort_by(|a, b| {
        let ra = a.chain == "root";
        let rb = b.chain == "root";
        rb.cmp(&ra).then(a.priority.cmp(&b.priority))
    });
    let mut out = Vec::new();
    // Clean up whatever may exist.
    ebtables_unlink_root(&mut out, true, 'J', ifname);
    ebtables_unlink_root(&mut out, false, 'P', ifname);
    ebtables_list_root(&mut out, 'J', ifname);
    ebtables_list_root(&mut out, 'P', ifname);
    ebtables_remove_root(&mut out, 'J', ifname);
    ebtables_remove_root(&mut out, 'P', ifname);

    // A rule in a sub-chain is moved up to its chain's priority so the chain exists first
    // ("root" and names contained in "root" are left alone, as libvirt does).
    for r in &mut rules {
        if r.chain_priority > r.priority && !"root".contains(r.chain.as_str()) {
            r.priority = r.chain_priority;
        }
    }
    let have_eb = rules.iter().any(|r| is_ethernet(&r.rule));
    let have_ip4 = rules.iter().any(|r| is_ipv4(&r.rule));
    let have_ip6 = rules.iter().any(|r| is_ipv6(&r.rule));

    let mut chains_in: Vec<(String, i32)> = Vec::new();
    let mut chains_out: Vec<(String, i32)> = Vec::new();
    if have_eb {
        let upd = |set: &mut Vec<(String, i32)>, name: &str, prio: i32| match set
            .iter_mut()
            .find(|(n, _)| n == name)
        {
            Some(e) => e.1 = prio,
            None => set.push((name.to_string(), prio)),
        };
        for r in rules.iter().filter(|r| is_ethernet(&r.rule)) {
            if matches!(r.rule.direction, Direction::Out | Direction::InOut) {
                upd(&mut chains_in, &r.chain, r.chain_priority);
            }
            if matches!(r.rule.direction, Direction::In | Direction::InOut) {
                upd(&mut chains_out, &r.chain, r.chain_priority);
            }
        }
        // (priority, incoming, proto index, name)
        let mut subchains: Vec<(i32, bool, usize, String)> = Vec::new();
        for (set, incoming) in [(&chains_in, true), (&chains_out, false)] {
            if set.is_empty() {
                continue;
            }
            eb(
                &mut out,
                false,
                &[
                    "-t",
                    "nat",
                    "-N",
                    &root_chain(if incoming { 'J' } else { 'P' }, ifname),
                ],
            );
            let mut sorted = set.clone();
            sorted.sort_by_key(|(_, p)| *p);
            for (name, prio) in sorted {
                if let Some(idx) = L3_PROTOCOLS.iter().position(|(p, _)| name.starts_with(p)) {
                    subchains.push((prio, incoming, idx, name));
                }
            }
        }
        subchains.sort_by_key(|s| s.0);
        let mut j = 0;
        for r in rules.iter().filter(|r| is_ethernet(&r.rule)) {
            while j < subchains.len() && subchains[j].0 <= r.priority {
                create_sub_chain(&mut out, ifname, &subchains[j]);
                j += 1;
            }
            rule_inst_commands(&mut out, r, ifname)?;
        }
        while j < subchains.len() {
            create_sub_chain(&mut out, ifname, &subchains[j]);
            j += 1;
        }
    }
    for (have, layer, pred) in [
        (have_ip4, Layer::Ipv4, is_ipv4 as fn(&Rule) -> bool),
        (have_ip6, Layer::Ipv6, is_ipv6 as fn(&Rule) -> bool),
    ] {
        if !have {
            continue;
        }
        iptables_unlink_roots(&mut out, layer, ifname, true);
        iptables_remove_roots(&mut out, layer, ifname, true);
        iptables_create_base(&mut out, layer);
        iptables_setup_tmp_roots(&mut out, layer, ifname);
        for r in rules.iter().filter(|r| pred(&r.rule)) {
            rule_inst_commands(&mut out, r, ifname)?;
        }
    }
    if !chains_in.is_empty() {
        let c = root_chain('J', ifname);
        eb(
            &mut out,
            false,
            &["-t", "nat", "-A", "PREROUTING", "-i", ifname, "-j", &c],
        );
    }
    if !chains_out.is_empty() {
        let c = root_chain('P', ifname);
        eb(
            &mut out,
            false,
            &["-t", "nat", "-A", "POSTROUTING", "-o", ifname, "-j", &c],
        );
    }
    Ok(out)
}

fn create_sub_chain(out: &mut Vec<FwCommand>, ifname: &str, s: &(i32, bool, usize, String)) {
    let prefix = if s.1 { 'J' } else { 'P' };
    let root = root_chain(prefix, ifname);
    let chain = sub_chain(prefix, ifname, &s.3);
    eb(out, true, &["-t", "nat", "-F", &chain]);
    eb(out, true, &["-t", "nat", "-X", &chain]);
    eb(out, false, &["-t", "nat", "-N", &chain]);
    let (name, proto) = L3_PROTOCOLS[s.2];
    let mut args = vec!["-t", "nat", "-A", &root];
    let p = format!("0x{proto:04x}");
    match name {
        "mac" => {}
        "stp" => args.extend(["-d", MAC_BGA]),
        _ => args.extend(["-p", &p]),
    }
    args.extend(["-j", &chain]);
    eb(out, false, &args);
}
