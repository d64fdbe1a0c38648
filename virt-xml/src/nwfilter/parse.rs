//! nwfilter XML -> typed values, with libvirt 9.0's rules for what is accepted.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Pos, XmlError};
use crate::tree::{self, Element};
use crate::values::{MacAddr, Uuid};

use super::attrs::{dt, AttrDesc, Special, ARP_OPCODE, IP_PROTO, MAC_PROTO, STATES, TCP_FLAGS};
use super::types::*;

/// Parses a `<filter>` document.
pub fn parse_filter(input: &str) -> Result<Filter, XmlError> {
    let root = tree::parse(input)?;
    filter_from_element(&root)
}

fn invalid(
    el: &Element,
    what: String,
    value: &str,
    reason: impl Into<String>,
    pos: Pos,
) -> XmlError {
    XmlError::InvalidValue {
        pos,
        element: el.name.clone(),
        what,
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn attr_what(name: &str) -> String {
    format!("attribute '{name}'")
}

/// Like libvirt's XPath `string(./@x)`: an empty attribute counts as absent.
fn nonempty<'a>(el: &'a Element, name: &str) -> Option<&'a tree::Attr> {
    el.attr_node(name).filter(|a| !a.value.is_empty())
}

/// Builds a filter from its parsed `<filter>` element.
pub fn filter_from_element(root: &Element) -> Result<Filter, XmlError> {
    if root.name != "filter" {
        return Err(XmlError::UnknownElement {
            pos: root.pos,
            parent: "(document)".into(),
            element: root.name.clone(),
        });
    }
    // libvirt's nwfilter.rng: unknown elements, attributes and enumerated values are refused
    // with their line:column before the typed rules below run.
    crate::schema::nwfilter().check(root)?;
    let name = nonempty(root, "name")
        .map(|a| a.value.clone())
        .ok_or_else(|| XmlError::Missing {
            pos: root.pos,
            element: "filter".into(),
            what: "attribute 'name'".into(),
        })?;
    let mut chain_priority = None;
    if let Some(p) = nonempty(root, "priority") {
        let v: i32 = parse_c_int(&p.value).ok_or_else(|| {
            invalid(
                root,
                attr_what("priority"),
                &p.value,
                "not an integer",
                p.pos,
            )
        })?;
        if !(-1000..=1000).contains(&v) {
            return Err(invalid(
                root,
                attr_what("priority"),
                &p.value,
                "outside the range [-1000,1000]",
                p.pos,
            ));
        }
        chain_priority = Some(v);
    }
    let (chain, chain_priority) = match nonempty(root, "chain") {
        Some(c) => {
            let prefix = allowed_chain(&c.value)
                .map_err(|reason| invalid(root, attr_what("chain"), &c.value, reason, c.pos))?;
            let prio = chain_priority.unwrap_or_else(|| default_chain_priority(prefix));
            (c.value.clone(), prio)
        }
        None => ("root".to_string(), 0),
    };
    let uuid = match root.child("uuid") {
        Some(u) if !u.text().is_empty() => {
            let t = u.text();
            t.trim()
                .parse::<Uuid>()
                .map_err(|e| XmlError::InvalidValue {
                    pos: u.pos,
                    element: "uuid".into(),
                    what: "content".into(),
                    value: t.clone(),
                    reason: e.to_string(),
                })?
        }
        _ => random_uuid(),
    };
    let mut entries = Vec::new();
    for child in root.elements() {
        match child.name.as_str() {
            "rule" => entries.push(Entry::Rule(parse_rule(child)?)),
            "filterref" => entries.push(Entry::Ref(parse_filterref(child)?)),
            _ => {}
        }
    }
    Ok(Filter {
        name,
        uuid,
        chain,
        chain_priority,
        entries,
    })
}

/// The chain-name prefixes libvirt accepts; `root` only as the whole name.
const CHAIN_PREFIXES: [&str; 8] = ["root", "mac", "vlan", "stp", "arp", "rarp", "ipv4", "ipv6"];

fn allowed_chain(chain: &str) -> Result<&'static str, String> {
    if chain.len() > 12 {
        return Err("a chain name is at most 12 characters".into());
    }
    if !chain
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
    {
        return Err("the chain name contains invalid characters".into());
    }
    for p in CHAIN_PREFIXES {
        if p == "root" {
            if chain == "root" {
                return Ok("root");
            }
            if chain.starts_with("root") {
                break;
            }
            continue;
        }
        if chain.starts_with(p) {
            return Ok(p);
        }
    }
    Err("use 'root' or a name starting with mac, vlan, stp, arp, rarp, ipv4 or ipv6".into())
}

fn default_chain_priority(prefix: &str) -> i32 {
    match prefix {
        "root" => 0,
        "mac" => -800,
        "vlan" => -750,
        "ipv4" => -700,
        "ipv6" => -600,
        "arp" => -500,
        "rarp" => -400,
        // stp has no entry in libvirt's lookup table: the middle of the range.
        _ => 0,
    }
}

fn random_uuid() -> Uuid {
    let mut b = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid(b)
}

/// `strtol`-like: optional leading space and sign, decimal digits, nothing after.
fn parse_c_int(s: &str) -> Option<i32> {
    let t = s.trim_start();
    let v: i64 = t.parse().ok()?;
    i32::try_from(v).ok()
}

/// `virStrToLong_ui`: leading space, optional sign ("-1" wraps), optional 0x in base 16, all
/// characters consumed.
pub(crate) fn parse_c_uint(s: &str, base: u32) -> Option<u32> {
    let mut t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let mut neg = false;
    if let Some(r) = t.strip_prefix('-') {
        neg = true;
        t = r;
    } else if let Some(r) = t.strip_prefix('+') {
        t = r;
    }
    if base == 16 {
        if let Some(r) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            if r.bytes().next().is_some_and(|b| b.is_ascii_hexdigit()) {
                t = r;
            }
        }
    }
    if t.is_empty() || !t.bytes().all(|b| (b as char).is_digit(base)) {
        return None;
    }
    let v = u64::from_str_radix(t, base).ok()?;
    if v > u64::from(u32::MAX) {
        return None;
    }
    let v = v as u32;
    Some(if neg { v.wrapping_neg() } else { v })
}

fn parse_rule(el: &Element) -> Result<Rule, XmlError> {
    let action_attr = el.attr_node("action").ok_or_else(|| XmlError::Missing {
        pos: el.pos,
        element: "rule".into(),
        what: "attribute 'action'".into(),
    })?;
    let action = Action::ALL
        .into_iter()
        .find(|a| a.name() == action_attr.value)
        .ok_or_else(|| {
            invalid(
                el,
                attr_what("action"),
                &action_attr.value,
                "expected drop, accept, reject, return or continue",
                action_attr.pos,
            )
        })?;
    let dir_attr = el.attr_node("direction").ok_or_else(|| XmlError::Missing {
        pos: el.pos,
        element: "rule".into(),
        what: "attribute 'direction'".into(),
    })?;
    let direction = Direction::ALL
        .into_iter()
        .find(|d| d.name() == dir_attr.value)
        .ok_or_else(|| {
            invalid(
                el,
                attr_what("direction"),
                &dir_attr.value,
                "expected in, out or inout",
                dir_attr.pos,
            )
        })?;
    let priority = el
        .attr("priority")
        .and_then(parse_c_int)
        .filter(|p| (-1000..=1000).contains(p))
        .unwrap_or(500);
    let no_statematch = el
        .attr("statematch")
        .is_some_and(|s| s == "0" || s.eq_ignore_ascii_case("false"));
    let mut rule = Rule {
        action,
        direction,
        priority,
        no_statematch,
        protocol: None,
        fields: BTreeMap::new(),
    };
    for child in el.elements() {
        let Some(p) = Protocol::from_name(&child.name) else {
            continue;
        };
        match rule.protocol {
            None => rule.protocol = Some(p),
            Some(q) if q == p => {}
            Some(_) => continue,
        }
        parse_details(child, p, &mut rule)?;
        validate(child, &rule)?;
    }
    fixup(&mut rule);
    Ok(rule)
}

fn parse_details(el: &Element, p: Protocol, rule: &mut Rule) -> Result<(), XmlError> {
    let negate = el.attr("match") == Some("no");
    for d in p.attrs() {
        let Some(a) = el.attr_node(d.name) else {
            continue;
        };
        let value = if let Some(var) = a.value.strip_prefix('$') {
            let v = parse_var_access(var)
                .map_err(|reason| invalid(el, attr_what(d.name), &a.value, reason, a.pos))?;
            ItemValue::Var(v)
        } else {
            ItemValue::Literal(
                parse_value(d, &a.value)
                    .map_err(|reason| invalid(el, attr_what(d.name), &a.value, reason, a.pos))?,
            )
        };
        rule.fields.insert(d.name, Item { negate, value });
    }
    Ok(())
}

/// Parses the part after `$`: `NAME`, `NAME[@N]` or `NAME[N]`.
pub fn parse_var_access(s: &str) -> Result<VarAccess, String> {
    let end = s
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or(s.len());
    let name = s[..end].to_string();
    let rest = &s[end..];
    if rest.is_empty() {
        return Ok(VarAccess {
            name,
            access: Access::Iterator(0),
        });
    }
    let Some(inner) = rest.strip_prefix('[') else {
        return Err("malformed variable".into());
    };
    let inner = inner.trim_start();
    let (iter, inner) = match inner.strip_prefix('@') {
        Some(r) => (true, r),
        None => (false, inner),
    };
    let parsed = inner
        .find(']')
        .and_then(|c| parse_c_uint(inner[..c].trim_end(), 10));
    let Some(n) = parsed else {
        return Err(if iter {
            "malformed iterator id".into()
        } else {
            "malformed array index".into()
        });
    };
    if iter {
        if n > MAX_ITER_ID {
            return Err(format!("iterator id exceeds the maximum of {MAX_ITER_ID}"));
        }
        Ok(VarAccess {
            name,
            access: Access::Iterator(n),
        })
    } else {
        Ok(VarAccess {
            name,
            access: Access::Element(n),
        })
    }
}

fn lookup(map: &[(u16, &str)], s: &str) -> Option<u16> {
    map.iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(s))
        .map(|(v, _)| *v)
}

fn parse_mac(s: &str) -> Option<MacAddr> {
    // libvirt: six ':'-separated numbers of one or two hex digits.
    s.parse::<MacAddr>().ok()
}

fn mask_bits(bytes: &[u8]) -> Option<u8> {
    let mut n = 0u8;
    let mut zero_seen = false;
    for &b in bytes {
        for i in (0..8).rev() {
            if b & (1 << i) != 0 {
                if zero_seen {
                    return None;
                }
                n += 1;
            } else {
                zero_seen = true;
            }
        }
    }
    Some(n)
}

fn parse_value(d: &AttrDesc, s: &str) -> Result<Value, String> {
    let mut bit = 1u32;
    let mut remaining = d.types;
    let mut value: Option<Value> = None;
    let mut last_err = String::from("not a valid value");
    while bit < dt::LAST && value.is_none() {
        if remaining & bit != 0 {
            remaining &= !bit;
            let r: Result<Value, String> = match bit {
                dt::UINT8 | dt::UINT8_HEX => {
                    let hex = bit == dt::UINT8_HEX;
                    match parse_c_uint(s, if hex { 16 } else { 10 }) {
                        Some(v) if v <= 0xff => Ok(Value::U8 { v: v as u8, hex }),
                        Some(_) => Err("out of range (0-255)".into()),
                        None => Err("not a number".into()),
                    }
                }
                dt::UINT16 | dt::UINT16_HEX => {
                    let hex = bit == dt::UINT16_HEX;
                    match parse_c_uint(s, if hex { 16 } else { 10 }) {
                        Some(v) if v <= 0xffff => Ok(Value::U16 { v: v as u16, hex }),
                        Some(_) => Err("out of range (0-65535)".into()),
                        None => Err("not a number".into()),
                    }
                }
                dt::UINT32 | dt::UINT32_HEX => {
                    let hex = bit == dt::UINT32_HEX;
                    parse_c_uint(s, if hex { 16 } else { 10 })
                        .map(|v| Value::U32 { v, hex })
                        .ok_or_else(|| "not a number".into())
                }
                dt::IPADDR => s
                    .parse::<Ipv4Addr>()
                    .map(Value::Ipv4)
                    .map_err(|_| "not an IPv4 address".into()),
                dt::IPV6ADDR => s
                    .parse::<Ipv6Addr>()
                    .map(Value::Ipv6)
                    .map_err(|_| "not an IPv6 address".into()),
                dt::IPMASK | dt::IPV6MASK => {
                    let max = if bit == dt::IPMASK { 32 } else { 128 };
                    match parse_c_uint(s, 10) {
                        Some(v) if v <= max => Ok(Value::Mask(v as u8)),
                        Some(_) => Err(format!("a prefix length is at most {max}")),
                        None => {
                            let bytes: Option<Vec<u8>> = if bit == dt::IPMASK {
                                s.parse::<Ipv4Addr>().ok().map(|a| a.octets().to_vec())
                            } else {
                                s.parse::<Ipv6Addr>().ok().map(|a| a.octets().to_vec())
                            };
                            match bytes {
                                None => Err("not a mask".into()),
                                Some(b) => mask_bits(&b)
                                    .map(Value::Mask)
                                    .ok_or_else(|| "not a contiguous mask".into()),
                            }
                        }
                    }
                }
                dt::MACADDR => parse_mac(s)
                    .map(Value::Mac)
                    .ok_or_else(|| "not a MAC address".into()),
                dt::MACMASK => match parse_mac(s) {
                    None => Err("not a MAC mask".into()),
                    Some(m) if mask_bits(&m.0).is_none() => Err("not a contiguous mask".into()),
                    Some(m) => Ok(Value::Mac(m)),
                },
                dt::STRING | dt::IPSETNAME | dt::IPSETFLAGS => {
                    if d.special == Special::None {
                        Err("not supported".into())
                    } else {
                        Ok(Value::Text(s.to_string()))
                    }
                }
                dt::STRINGCOPY => Ok(Value::Text(truncate_chars(s, 256))),
                dt::BOOLEAN => Ok(Value::Bool(matches!(s, "true" | "1" | "yes"))),
                _ => Err("not supported".into()),
            };
            match r {
                Ok(v) => value = Some(v),
                Err(e) => {
                    last_err = e;
                    if remaining == 0 {
                        return Err(last_err);
                    }
                }
            }
        }
        bit <<= 1;
    }
    let value = value.ok_or(last_err)?;
    special(d, value, s)
}

fn truncate_chars(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_string();
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn special(d: &AttrDesc, value: Value, raw: &str) -> Result<Value, String> {
    let bad = || format!("illegal value for {}", d.name);
    match d.special {
        Special::None => Ok(value),
        Special::MacProtocolId | Special::VlanProtocolId => {
            let min = if d.special == Special::MacProtocolId {
                0x600
            } else {
                0x3c
            };
            match value {
                Value::Text(t) => lookup(MAC_PROTO, &t)
                    .map(|v| Value::U16 { v, hex: false })
                    .ok_or_else(bad),
                Value::U16 { v, .. } if v < min => Err(format!("must be at least {min:#x}")),
                v => Ok(v),
            }
        }
        Special::VlanId => match value {
            Value::U16 { v, .. } if v > 4095 => Err("a VLAN id is at most 4095".into()),
            v => Ok(v),
        },
        Special::ArpOpcode => match value {
            Value::Text(t) => lookup(ARP_OPCODE, &t)
                .map(|v| Value::U16 { v, hex: false })
                .ok_or_else(bad),
            v => Ok(v),
        },
        Special::IpProtocol => match value {
            Value::Text(t) => lookup(IP_PROTO, &t)
                .map(|v| Value::U8 {
                    v: v as u8,
                    hex: true,
                })
                .ok_or_else(bad),
            v => Ok(v),
        },
        Special::Dscp => match value {
            Value::U8 { v, .. } if v > 63 => Err("DSCP is at most 63".into()),
            v => Ok(v),
        },
        Special::State => {
            let mut flags = 0u8;
            parse_items(STATES, raw, &mut flags).ok_or_else(bad)?;
            if flags & (1 << 5) != 0 {
                flags = 1 << 5;
            }
            Ok(Value::State(flags))
        }
        Special::TcpFlags => {
            let (m, f) = raw
                .split_once('/')
                .ok_or_else(|| "expected MASK/FLAGS".to_string())?;
            let mut mask = 0;
            let mut flags = 0;
            parse_items(TCP_FLAGS, m, &mut mask).ok_or_else(bad)?;
            parse_items(TCP_FLAGS, f, &mut flags).ok_or_else(bad)?;
            Ok(Value::TcpFlags {
                mask: mask & 0x3f,
                flags: flags & 0x3f,
            })
        }
        Special::Ipset => {
            if raw.len() >= 32 {
                return Err("ipset name is too long".into());
            }
            if !raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:-+ ".contains(&b))
            {
                return Err("ipset name contains invalid characters".into());
            }
            Ok(Value::Ipset(raw.to_string()))
        }
        Special::IpsetFlags => {
            let b = raw.as_bytes();
            let mut idx = 0;
            let mut count = 0u8;
            let mut src_bits = 0u8;
            while count < 6 {
                let part = b.get(idx..idx + 3);
                match part {
                    Some(p) if p.eq_ignore_ascii_case(b"src") => src_bits |= 1 << count,
                    Some(p) if p.eq_ignore_ascii_case(b"dst") => {}
                    _ => return Err("malformed ipset flags".into()),
                }
                count += 1;
                idx += 3;
                if b.get(idx) != Some(&b',') {
                    break;
                }
                idx += 1;
            }
            if idx != b.len() {
                return Err("malformed ipset flags".into());
            }
            Ok(Value::IpsetFlags { count, src_bits })
        }
    }
}

/// Separated, case-insensitive, prefix-matched names OR-ed into `flags`.
fn parse_items(map: &[(u8, &str)], input: &str, flags: &mut u8) -> Option<()> {
    let b = input.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let (bits, name) = map.iter().find(|(_, n)| {
            b.get(i..i + n.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(n.as_bytes()))
        })?;
        *flags |= bits;
        i += name.len();
    }
    Some(())
}

fn validate(el: &Element, rule: &Rule) -> Result<(), XmlError> {
    let Some(p @ (Protocol::Ip | Protocol::Ipv6)) = rule.protocol else {
        return Ok(());
    };
    let has_port = ["srcportstart", "dstportstart", "srcportend", "dstportend"]
        .iter()
        .any(|n| rule.fields.contains_key(n));
    if !has_port {
        return Ok(());
    }
    let ok = match rule.fields.get("protocol").map(|i| &i.value) {
        Some(ItemValue::Literal(Value::U8 { v, .. })) => matches!(v, 6 | 17 | 33 | 132),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(XmlError::Invalid {
            pos: el.pos,
            element: el.name.clone(),
            message: format!(
                "{} rule with port specification requires protocol tcp(6), udp(17), dccp(33) or sctp(132)",
                if p == Protocol::Ip { "IP" } else { "IPv6" }
            ),
        })
    }
}

/// libvirt's post-parse fixups: masks take the negation of their address, and an ipset without
/// flags gets `src`.
fn fixup(rule: &mut Rule) {
    let Some(p) = rule.protocol else { return };
    let copy = |rule: &mut Rule, to: &str, from: &str| {
        let neg = rule.fields.get(from).is_some_and(|i| i.negate);
        if let Some(i) = rule.fields.get_mut(to) {
            i.negate = neg;
        }
    };
    match p {
        Protocol::Mac | Protocol::Vlan => {
            copy(rule, "srcmacmask", "srcmacaddr");
            copy(rule, "dstmacmask", "dstmacaddr");
        }
        Protocol::Stp => {
            copy(rule, "srcmacmask", "srcmacaddr");
            for (hi, lo) in [
                ("root-priority-hi", "root-priority"),
                ("root-address-mask", "root-address"),
                ("root-cost-hi", "root-cost"),
                ("sender-priority-hi", "sender-priority"),
                ("sender-address-mask", "sender-address"),
                ("port-hi", "port"),
                ("age-hi", "age"),
                ("max-age-hi", "max-age"),
                ("hello-time-hi", "hello-time"),
                ("forward-delay-hi", "forward-delay"),
            ] {
                copy(rule, hi, lo);
            }
        }
        Protocol::Arp | Protocol::Rarp => {}
        Protocol::Ip | Protocol::Ipv6 => {
            copy(rule, "srcipmask", "srcipaddr");
            copy(rule, "dstipmask", "dstipaddr");
            if p == Protocol::Ipv6 {
                copy(rule, "typeend", "type");
                copy(rule, "code", "type");
                copy(rule, "codeend", "type");
            }
            fixup_ipset(rule);
        }
        _ => {
            copy(rule, "srcipmask", "srcipaddr");
            copy(rule, "dstipmask", "dstipaddr");
            copy(rule, "srcipto", "srcipfrom");
            copy(rule, "dstipto", "dstipfrom");
            if matches!(
                p,
                Protocol::Tcp
                    | Protocol::TcpIpv6
                    | Protocol::Udp
                    | Protocol::UdpIpv6
                    | Protocol::Sctp
                    | Protocol::SctpIpv6
            ) {
                copy(rule, "srcportend", "srcportstart");
                copy(rule, "dstportstart", "srcportstart");
                copy(rule, "dstportend", "srcportstart");
            }
            if matches!(p, Protocol::Icmp | Protocol::Icmpv6) {
                copy(rule, "code", "type");
            }
            if !matches!(p, Protocol::All | Protocol::AllIpv6) {
                fixup_ipset(rule);
            }
        }
    }
}

fn fixup_ipset(rule: &mut Rule) {
    let has_set = rule.fields.contains_key("ipset");
    let has_flags = rule.fields.contains_key("ipsetflags");
    if has_set && !has_flags {
        let negate = false;
        rule.fields.insert(
            "ipsetflags",
            Item {
                negate,
                value: ItemValue::Literal(Value::IpsetFlags {
                    count: 1,
                    src_bits: 1,
                }),
            },
        );
    } else {
        rule.fields.remove("ipset");
        rule.fields.remove("ipsetflags");
    }
}

fn parse_filterref(el: &Element) -> Result<FilterRef, XmlError> {
    let filter = el
        .attr("filter")
        .map(str::to_string)
        .ok_or_else(|| XmlError::Missing {
            pos: el.pos,
            element: "filterref".into(),
            what: "attribute 'filter'".into(),
        })?;
    Ok(FilterRef {
        filter,
        params: parse_params(el),
    })
}

/// `<parameter name= value=/>` children; invalid ones are skipped as libvirt does.
pub fn parse_params(el: &Element) -> Params {
    let mut params = Params::new();
    for p in el.children_named("parameter") {
        let (Some(n), Some(v)) = (p.attr("name"), p.attr("value")) else {
            continue;
        };
        if !is_valid_var_name(n) || !is_valid_var_value(v) {
            continue;
        }
        params.entry(n.to_string()).or_default().push(v.to_string());
    }
    params
}
