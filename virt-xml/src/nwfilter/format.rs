//! Typed nwfilter values -> XML, byte for byte as libvirt 9.0 writes them.

use std::fmt::Write as _;

use super::attrs::{Special, ARP_OPCODE, IP_PROTO, MAC_PROTO, STATES, TCP_FLAGS};
use super::types::*;

/// Escapes text as libvirt's `virBufferEscapeString` does.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Formats a filter.
pub fn format_filter(f: &Filter) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<filter name='{}' chain='{}'",
        escape(&f.name),
        escape(&f.chain)
    );
    if f.chain_priority != 0 {
        let _ = write!(out, " priority='{}'", f.chain_priority);
    }
    out.push_str(">\n");
    let _ = writeln!(out, "  <uuid>{}</uuid>", f.uuid);
    for e in &f.entries {
        match e {
            Entry::Rule(r) => format_rule(&mut out, r, 1),
            Entry::Ref(r) => format_filterref(&mut out, r, 1),
        }
    }
    out.push_str("</filter>\n");
    out
}

/// Formats a `<filterref>` at `depth`.
pub fn format_filterref(out: &mut String, r: &FilterRef, depth: usize) {
    indent(out, depth);
    let _ = write!(out, "<filterref filter='{}'", escape(&r.filter));
    if r.params.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    for (name, values) in &r.params {
        for v in values {
            indent(out, depth + 1);
            let _ = writeln!(
                out,
                "<parameter name='{}' value='{}'/>",
                escape(name),
                escape(v)
            );
        }
    }
    indent(out, depth);
    out.push_str("</filterref>\n");
}

fn format_rule(out: &mut String, r: &Rule, depth: usize) {
    indent(out, depth);
    let _ = write!(
        out,
        "<rule action='{}' direction='{}' priority='{}'",
        r.action.name(),
        r.direction.name(),
        r.priority
    );
    if r.no_statematch {
        out.push_str(" statematch='false'");
    }
    let Some(p) = r.protocol else {
        out.push_str("/>\n");
        return;
    };
    out.push_str(">\n");
    format_details(out, p, r, depth + 1);
    indent(out, depth);
    out.push_str("</rule>\n");
}

#[derive(PartialEq, Clone, Copy)]
enum Shown {
    None,
    Yes,
    No,
}

fn format_details(out: &mut String, p: Protocol, r: &Rule, depth: usize) {
    let attrs = p.attrs();
    let mut type_shown = false;
    let mut never_shown = true;
    let mut shown = Shown::None;
    let mut i = 0;
    while i < attrs.len() {
        let d = &attrs[i];
        if let Some(item) = r.fields.get(d.name) {
            if !type_shown {
                indent(out, depth);
                let _ = write!(out, "<{}", p.name());
                type_shown = true;
                never_shown = false;
            }
            if item.negate {
                if shown == Shown::None {
                    out.push_str(" match='no'");
                    shown = Shown::No;
                } else if shown == Shown::Yes {
                    out.push_str("/>\n");
                    type_shown = false;
                    shown = Shown::None;
                    continue;
                }
            } else {
                if shown == Shown::No {
                    out.push_str("/>\n");
                    type_shown = false;
                    shown = Shown::None;
                    continue;
                }
                shown = Shown::Yes;
            }
            let _ = write!(out, " {}='", d.name);
            match &item.value {
                ItemValue::Var(v) => {
                    let _ = write!(out, "${v}");
                }
                ItemValue::Literal(v) => out.push_str(&format_value(d.special, v)),
            }
            out.push('\'');
        }
        i += 1;
    }
    if type_shown {
        out.push_str("/>\n");
    }
    if never_shown {
        indent(out, depth);
        let _ = writeln!(out, "<{}/>", p.name());
    }
}

fn num(v: u32, hex: bool) -> String {
    if hex {
        format!("0x{v:x}")
    } else {
        v.to_string()
    }
}

fn named(map: &'static [(u16, &'static str)], v: u16) -> Option<&'static str> {
    map.iter().find(|(n, _)| *n == v).map(|(_, s)| *s)
}

/// Names of the bits set in `flags`, lowest bit first.
pub(crate) fn flag_names(map: &[(u8, &str)], flags: u8) -> String {
    let mut out = Vec::new();
    for bit in 0..8 {
        let m = 1u8 << bit;
        if flags & m != 0 {
            for (b, n) in map {
                if *b == m {
                    out.push(*n);
                }
            }
        }
    }
    out.join(",")
}

/// TCP flags as libvirt writes them (`NONE`, `ALL` or a list).
pub fn tcp_flags_text(flags: u8) -> String {
    match flags {
        0 => "NONE".into(),
        0x3f => "ALL".into(),
        f => flag_names(TCP_FLAGS, f),
    }
}

/// Connection states as a comma-separated list.
pub fn state_text(flags: u8) -> String {
    flag_names(STATES, flags)
}

pub(crate) fn format_value(special: Special, v: &Value) -> String {
    match (special, v) {
        (Special::MacProtocolId | Special::VlanProtocolId, Value::U16 { v, hex }) => {
            match named(MAC_PROTO, *v) {
                Some(n) => n.to_string(),
                None => num(u32::from(*v), *hex),
            }
        }
        (Special::ArpOpcode, Value::U16 { v, .. }) => match named(ARP_OPCODE, *v) {
            Some(n) => n.to_string(),
            None => v.to_string(),
        },
        (Special::IpProtocol, Value::U8 { v, hex }) => match named(IP_PROTO, u16::from(*v)) {
            Some(n) => n.to_string(),
            None => num(u32::from(*v), *hex),
        },
        (_, Value::U8 { v, hex }) => num(u32::from(*v), *hex),
        (_, Value::U16 { v, hex }) => num(u32::from(*v), *hex),
        (_, Value::U32 { v, hex }) => num(*v, *hex),
        (_, Value::Mac(m)) => {
            let o = m.0;
            format!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                o[0], o[1], o[2], o[3], o[4], o[5]
            )
        }
        (_, Value::Ipv4(a)) => a.to_string(),
        (_, Value::Ipv6(a)) => a.to_string(),
        (_, Value::Mask(m)) => m.to_string(),
        (_, Value::Text(t)) => escape(t),
        (_, Value::Bool(b)) => if *b { "true" } else { "false" }.to_string(),
        (_, Value::State(s)) => state_text(*s),
        (_, Value::TcpFlags { mask, flags }) => {
            format!("{}/{}", tcp_flags_text(*mask), tcp_flags_text(*flags))
        }
        (_, Value::Ipset(s)) => escape(s),
        (_, Value::IpsetFlags { count, src_bits }) => (0..*count)
            .map(|i| {
                if src_bits & (1 << i) != 0 {
                    "src"
                } else {
                    "dst"
                }
            })
            .collect::<Vec<_>>()
            .join(","),
    }
}
