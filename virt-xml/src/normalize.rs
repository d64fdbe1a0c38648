//! libvirt's post-parse defaults, normalisations and cross-field checks, applied to the
//! schema-checked tree before it is typed. Each rule is a general one libvirt applies to every
//! definition it reads (defaults it fills in, forms it rewrites, combinations it refuses).

use std::collections::BTreeSet;

use crate::error::XmlError;
use crate::tree::{Attr, Element, Node};

fn invalid(el: &Element, message: impl Into<String>) -> XmlError {
    XmlError::Invalid {
        pos: el.pos,
        element: el.name.clone(),
        message: message.into(),
    }
}

fn missing(el: &Element, what: &str) -> XmlError {
    XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: what.to_string(),
    }
}

/// Sets an attribute: replaces the value in place, or inserts it after the last present attribute
/// among `after` (or first when none is present).
fn set_attr(el: &mut Element, name: &str, value: &str, after: &[&str]) {
    if let Some(a) = el.attrs.iter_mut().find(|a| a.name == name) {
        a.value = value.to_string();
        return;
    }
    let at = el
        .attrs
        .iter()
        .rposition(|a| after.contains(&a.name.as_str()))
        .map(|i| i + 1)
        .unwrap_or(0);
    el.attrs.insert(
        at,
        Attr {
            name: name.to_string(),
            value: value.to_string(),
            pos: el.pos,
        },
    );
}

fn new_element(name: &str, attrs: &[(&str, &str)], pos_of: &Element) -> Element {
    Element {
        name: name.to_string(),
        attrs: attrs
            .iter()
            .map(|(k, v)| Attr {
                name: k.to_string(),
                value: v.to_string(),
                pos: pos_of.pos,
            })
            .collect(),
        children: Vec::new(),
        pos: pos_of.pos,
    }
}

fn elements_mut(el: &mut Element) -> impl Iterator<Item = &mut Element> {
    el.children.iter_mut().filter_map(|n| match n {
        Node::Element(e) => Some(e),
        Node::Text(_) => None,
    })
}

fn child_mut<'a>(el: &'a mut Element, name: &str) -> Option<&'a mut Element> {
    elements_mut(el).find(|e| e.name == name)
}

/// The most ids a list may name (libvirt's own limit on vCPUs and host CPUs is far lower).
const MAX_IDS: usize = 1 << 16;

/// A libvirt cpuset/id list: `0-3,^2,8`.
pub fn parse_id_list(s: &str) -> Option<BTreeSet<u32>> {
    let mut set = BTreeSet::new();
    let mut exclude = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if let Some(x) = part.strip_prefix('^') {
            exclude.push(x.parse::<u32>().ok()?);
        } else if let Some((a, b)) = part.split_once('-') {
            let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            if a > b || b - a > 65536 {
                return None;
            }
            set.extend(a..=b);
            if set.len() > MAX_IDS {
                return None;
            }
        } else {
            set.insert(part.parse::<u32>().ok()?);
        }
    }
    for x in exclude {
        set.remove(&x);
    }
    Some(set)
}

/// Formats an id set as libvirt does: ascending ranges, `0-1,4`.
pub fn format_id_list(set: &BTreeSet<u32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    out.join(",")
}

/// Applies the defaults libvirt fills in when it reads a domain definition.
pub fn domain(root: &mut Element) -> Result<(), XmlError> {
    if let Some(name) = root.child("name") {
        if name.text().contains('/') {
            return Err(invalid(name, "name must not contain '/'"));
        }
    }
    let vcpus = root
        .child("vcpu")
        .and_then(|v| v.text().trim().parse::<u32>().ok())
        .unwrap_or(1);
    if let Some(ct) = child_mut(root, "cputune") {
        cputune(ct, vcpus)?;
    }
    units(root, "")?;
    validate(root)?;
    os_defaults(root);
    lifecycle_defaults(root);
    if let Some(devs) = child_mut(root, "devices") {
        devices(devs)?;
    }
    Ok(())
}

/// Sizes libvirt always writes in KiB: memory tuning limits, memory-device sizes, NUMA cell
/// memory, huge page sizes and the 64-bit PCI hole.
fn units(el: &mut Element, parent: &str) -> Result<(), XmlError> {
    let text_kib = matches!(
        (parent, el.name.as_str()),
        (
            "memtune",
            "hard_limit" | "soft_limit" | "swap_hard_limit" | "min_guarantee"
        ) | ("target", "size" | "requested" | "block")
            | ("source", "pagesize" | "alignsize")
            | ("controller", "pcihole64")
    );
    if text_kib && el.has_text() {
        let kib = crate::units::KiB::from_scaled(&el.text(), el.attr("unit"))
            .map_err(|e| unit_error(el, e))?;
        el.children = vec![Node::Text(kib.to_string())];
        let n = el.attrs.len();
        let after: Vec<String> = el.attrs.iter().take(n).map(|a| a.name.clone()).collect();
        let after: Vec<&str> = after.iter().map(String::as_str).collect();
        set_attr(el, "unit", "KiB", &after);
    }
    let attr_kib = match (parent, el.name.as_str()) {
        ("numa", "cell") => Some("memory"),
        ("hugepages", "page") => Some("size"),
        _ => None,
    };
    if let Some(attr) = attr_kib {
        if let Some(v) = el.attr(attr).map(str::to_string) {
            let kib = crate::units::KiB::from_scaled(&v, el.attr("unit"))
                .map_err(|e| unit_error(el, e))?;
            set_attr(el, attr, &kib.to_string(), &[]);
            set_attr(el, "unit", "KiB", &[attr]);
        }
    }
    if el.name == "metadata" {
        return Ok(());
    }
    let name = el.name.clone();
    for c in elements_mut(el) {
        units(c, &name)?;
    }
    Ok(())
}

fn unit_error(el: &Element, e: crate::values::ValueError) -> XmlError {
    let attr = if e.kind == "unit" { "unit" } else { "" };
    match el.attr_node(attr) {
        Some(a) => XmlError::InvalidValue {
            pos: a.pos,
            element: el.name.clone(),
            what: "attribute 'unit'".into(),
            value: e.value,
            reason: e.reason,
        },
        None => XmlError::InvalidValue {
            pos: el.pos,
            element: el.name.clone(),
            what: "size".into(),
            value: e.value,
            reason: e.reason,
        },
    }
}

/// Cross-element rules libvirt checks for every driver.
fn validate(root: &Element) -> Result<(), XmlError> {
    let Some(devs) = root.child("devices") else {
        return Ok(());
    };
    // Per-device boot order and <os><boot> exclude each other.
    if root.child("os").and_then(|os| os.child("boot")).is_some() {
        if let Some(dev_boot) = devs.elements().find_map(|d| d.child("boot")) {
            return Err(invalid(
                dev_boot,
                "per-device boot elements cannot be used together with <os><boot>",
            ));
        }
    }
    let mut targets: std::collections::HashSet<String> = Default::default();
    let mut drive_addrs: std::collections::HashSet<Vec<String>> = Default::default();
    for disk in devs.children_named("disk") {
        if let Some(t) = disk.child("target").and_then(|t| t.attr("dev")) {
            if !targets.insert(t.to_string()) {
                return Err(invalid(
                    disk,
                    format!("target '{t}' is used by more than one disk"),
                ));
            }
        }
        if let Some(a) = disk
            .children_named("address")
            .find(|a| a.attr("type") == Some("drive"))
        {
            let key: Vec<String> = ["controller", "bus", "target", "unit"]
                .iter()
                .map(|k| a.attr(k).unwrap_or("0").to_string())
                .chain(
                    disk.child("target")
                        .and_then(|t| t.attr("bus"))
                        .map(str::to_string),
                )
                .collect();
            if !drive_addrs.insert(key) {
                return Err(invalid(a, "duplicate drive address"));
            }
        }
        // <auth> and <encryption> belong either to the disk or to its <source>, not both.
        if let Some(src) = disk.child("source") {
            for what in ["auth", "encryption"] {
                if disk.child(what).is_some() {
                    if let Some(inner) = src.child(what) {
                        return Err(invalid(
                            inner,
                            format!("<{what}> is given both for the disk and for its source"),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn os_defaults(root: &mut Element) {
    let device_boot = root
        .child("devices")
        .is_some_and(|d| d.elements().any(|e| e.child("boot").is_some()));
    let Some(os) = child_mut(root, "os") else {
        return;
    };
    let hvm = os.child("type").is_some_and(|t| t.text().trim() == "hvm");
    if !hvm {
        return;
    }
    if let Some(t) = child_mut(os, "type") {
        if t.attr("arch").is_none() {
            set_attr(t, "arch", "x86_64", &[]);
        }
    }
    let has_boot = os.child("boot").is_some() || os.child("kernel").is_some();
    if !has_boot && !device_boot && os.child("loader").is_none() {
        let boot = new_element("boot", &[("dev", "hd")], os);
        let at = os
            .children
            .iter()
            .rposition(|n| matches!(n, Node::Element(e) if e.name == "type" || e.name == "firmware" || e.name == "loader" || e.name == "nvram"))
            .map(|i| i + 1)
            .unwrap_or(os.children.len());
        os.children.insert(at, Node::Element(boot));
    }
}

fn lifecycle_defaults(root: &mut Element) {
    if root.child("clock").is_none() && root.child("os").is_some() {
        let clock = new_element("clock", &[("offset", "utc")], root);
        root.children.push(Node::Element(clock));
    }
    for (name, default) in [
        ("on_poweroff", "destroy"),
        ("on_reboot", "restart"),
        ("on_crash", "destroy"),
    ] {
        if root.child(name).is_none() && root.child("os").is_some() {
            let mut el = new_element(name, &[], root);
            el.children.push(Node::Text(default.to_string()));
            root.children.push(Node::Element(el));
        }
    }
}

fn cputune(ct: &mut Element, vcpus: u32) -> Result<(), XmlError> {
    // Per-thread scheduler entries: one element per id, in id order.
    for (name, attr) in [("vcpusched", "vcpus"), ("iothreadsched", "iothreads")] {
        let Some(first) = ct
            .children
            .iter()
            .position(|n| matches!(n, Node::Element(e) if e.name == name))
        else {
            continue;
        };
        let mut split: std::collections::BTreeMap<u32, Element> = Default::default();
        for e in ct.children_named(name) {
            let ids = e
                .attr(attr)
                .and_then(parse_id_list)
                .ok_or_else(|| invalid(e, format!("bad '{attr}' list")))?;
            for id in ids {
                if name == "vcpusched" && id >= vcpus {
                    return Err(invalid(
                        e,
                        format!("vCPU {id} is not present (the guest has {vcpus})"),
                    ));
                }
                if split.len() >= MAX_IDS {
                    return Err(invalid(e, "too many ids"));
                }
                if split.contains_key(&id) {
                    return Err(invalid(
                        e,
                        format!("{attr} {id} has more than one scheduler"),
                    ));
                }
                let mut one = e.clone();
                set_attr(&mut one, attr, &id.to_string(), &[]);
                let rt = matches!(one.attr("scheduler"), Some("fifo") | Some("rr"));
                if !rt {
                    one.attrs.retain(|a| a.name != "priority");
                }
                split.insert(id, one);
            }
        }
        ct.children
            .retain(|n| !matches!(n, Node::Element(e) if e.name == name));
        let at = first.min(ct.children.len());
        let tail = ct.children.split_off(at);
        ct.children
            .extend(split.into_values().map(Node::Element).chain(tail));
    }
    // Cache and memory bandwidth tunes: vcpus limited to the guest's, no overlaps or collisions.
    let mut claimed: Vec<(String, BTreeSet<u32>)> = Vec::new();
    let mut keep = Vec::new();
    for node in std::mem::take(&mut ct.children) {
        let Node::Element(mut e) = node else {
            keep.push(node);
            continue;
        };
        if e.name != "cachetune" && e.name != "memorytune" {
            keep.push(Node::Element(e));
            continue;
        }
        let ids = e
            .attr("vcpus")
            .and_then(parse_id_list)
            .ok_or_else(|| invalid(&e, "bad 'vcpus' list"))?;
        let ids: BTreeSet<u32> = ids.into_iter().filter(|&i| i < vcpus).collect();
        if ids.is_empty() {
            continue;
        }
        for (kind, other) in &claimed {
            let overlap = !other.is_disjoint(&ids);
            if overlap && (*kind == e.name || *other != ids) {
                return Err(invalid(&e, "vCPUs overlap with another tune"));
            }
        }
        let mut seen: Vec<(String, String)> = Vec::new();
        for c in e.elements() {
            match c.name.as_str() {
                "cache" => {
                    let id = c.attr("id").unwrap_or("").to_string();
                    let ty = c.attr("type").unwrap_or("").to_string();
                    for (i, t) in &seen {
                        if *i == id && (*t == ty || t == "both" || ty == "both") {
                            return Err(invalid(
                                c,
                                format!("colliding cache allocations for id {id}"),
                            ));
                        }
                    }
                    seen.push((id, ty));
                }
                "node" => {
                    let id = c.attr("id").unwrap_or("").to_string();
                    if seen.iter().any(|(i, _)| *i == id) {
                        return Err(invalid(
                            c,
                            format!("colliding memory allocations for node {id}"),
                        ));
                    }
                    seen.push((id, String::new()));
                }
                "monitor" => {
                    let m = c
                        .attr("vcpus")
                        .and_then(parse_id_list)
                        .ok_or_else(|| invalid(c, "bad 'vcpus' list"))?;
                    if !m.is_subset(&ids) {
                        return Err(invalid(c, "monitor vCPUs must be within the tune's vCPUs"));
                    }
                }
                _ => {}
            }
        }
        set_attr(&mut e, "vcpus", &format_id_list(&ids), &[]);
        // Allocations first, then monitors.
        let (mons, rest): (Vec<Node>, Vec<Node>) = std::mem::take(&mut e.children)
            .into_iter()
            .filter(|n| matches!(n, Node::Element(_)))
            .partition(|n| matches!(n, Node::Element(c) if c.name == "monitor"));
        e.children = rest.into_iter().chain(mons).collect();
        claimed.push((e.name.clone(), ids));
        keep.push(Node::Element(e));
    }
    ct.children = keep;
    Ok(())
}

const CHARDEVS: &[&str] = &[
    "serial",
    "parallel",
    "console",
    "channel",
    "smartcard",
    "redirdev",
];

fn devices(devs: &mut Element) -> Result<(), XmlError> {
    let mut smartcards_need_ccid = 0u32;
    for dev in elements_mut(devs) {
        if CHARDEVS.contains(&dev.name.as_str()) {
            chardev(dev)?;
            if dev.name == "smartcard" && dev.child("address").is_none() {
                let slot = smartcards_need_ccid.to_string();
                let addr = new_element(
                    "address",
                    &[("type", "ccid"), ("controller", "0"), ("slot", &slot)],
                    dev,
                );
                dev.children.push(Node::Element(addr));
                smartcards_need_ccid += 1;
            }
        } else if dev.name == "rng" {
            if let Some(b) = child_mut(dev, "backend") {
                if b.attr("model") == Some("egd") {
                    chardev(b)?;
                }
            }
        } else if dev.name == "graphics" && dev.attr("type") == Some("vnc") {
            vnc(dev)?;
        }
    }
    if smartcards_need_ccid > 0
        && !devs
            .elements()
            .any(|c| c.name == "controller" && c.attr("type") == Some("ccid"))
    {
        let ctl = new_element("controller", &[("type", "ccid")], devs);
        let at = devs
            .children
            .iter()
            .rposition(|n| matches!(n, Node::Element(e) if e.name == "controller"))
            .map(|i| i + 1)
            .unwrap_or(devs.children.len());
        devs.children.insert(at, Node::Element(ctl));
    }
    controller_indexes(devs);
    primary_video(devs);
    Ok(())
}

fn controller_indexes(devs: &mut Element) {
    let mut used: std::collections::HashSet<(String, u32)> = devs
        .children_named("controller")
        .filter_map(|c| Some((c.attr("type")?.to_string(), c.attr("index")?.parse().ok()?)))
        .collect();
    for c in elements_mut(devs).filter(|c| c.name == "controller") {
        if c.attr("index").is_some() {
            continue;
        }
        let ty = c.attr("type").unwrap_or("").to_string();
        let mut idx = 0;
        while used.contains(&(ty.clone(), idx)) {
            idx += 1;
        }
        used.insert((ty, idx));
        set_attr(c, "index", &idx.to_string(), &["type"]);
    }
}

fn primary_video(devs: &mut Element) {
    let any_primary = devs
        .children_named("video")
        .any(|v| v.child("model").and_then(|m| m.attr("primary")) == Some("yes"));
    if any_primary {
        return;
    }
    if let Some(v) = elements_mut(devs).find(|e| e.name == "video") {
        if let Some(m) = child_mut(v, "model") {
            if m.attr("type").is_some_and(|t| t != "none") {
                let n = m.attrs.len();
                let after: Vec<String> = m.attrs.iter().take(n).map(|a| a.name.clone()).collect();
                let after: Vec<&str> = after.iter().map(String::as_str).collect();
                set_attr(m, "primary", "yes", &after);
            }
        }
    }
}

/// A character device's source: default modes, required parts, and libvirt's protocol default.
fn chardev(dev: &mut Element) -> Result<(), XmlError> {
    let ty = dev.attr("type").unwrap_or("pty").to_string();
    let is_virtio_channel =
        dev.name == "channel" && dev.child("target").and_then(|t| t.attr("type")) == Some("virtio");
    match ty.as_str() {
        "tcp" => {
            let n = dev.children_named("source").count();
            if n > 1 {
                let second = dev.children_named("source").nth(1).unwrap_or(dev);
                return Err(invalid(second, "a tcp character device takes one <source>"));
            }
            if dev.child("source").is_none() {
                return Err(missing(dev, "element <source>"));
            }
            let Some(src) = child_mut(dev, "source") else {
                return Ok(());
            };
            if src.attr("mode").is_none() {
                set_attr(src, "mode", "connect", &[]);
            }
            if src.attr("host").is_none() {
                return Err(missing(src, "attribute 'host'"));
            }
            if src.attr("service").is_none() {
                return Err(missing(src, "attribute 'service'"));
            }
            reconnect(src)?;
            if dev.child("protocol").is_none() {
                let proto = new_element("protocol", &[("type", "raw")], dev);
                let at = dev
                    .children
                    .iter()
                    .position(|n| matches!(n, Node::Element(e) if e.name == "source"))
                    .map(|i| i + 1)
                    .unwrap_or(0);
                dev.children.insert(at, Node::Element(proto));
            }
        }
        "udp" => {
            let mut connect: Option<Element> = None;
            let mut bind: Option<Element> = None;
            let first = dev
                .children
                .iter()
                .position(|n| matches!(n, Node::Element(e) if e.name == "source"));
            for s in dev.children_named("source") {
                let mut s = s.clone();
                let mode = s.attr("mode").unwrap_or("connect").to_string();
                set_attr(&mut s, "mode", &mode, &[]);
                let slot = if mode == "bind" {
                    &mut bind
                } else {
                    &mut connect
                };
                if slot.is_some() {
                    return Err(invalid(&s, format!("more than one {mode} <source>")));
                }
                *slot = Some(s);
            }
            if let Some(c) = &connect {
                if c.attr("service").is_none() {
                    return Err(missing(c, "attribute 'service'"));
                }
            }
            if let Some(at) = first {
                dev.children
                    .retain(|n| !matches!(n, Node::Element(e) if e.name == "source"));
                let at = at.min(dev.children.len());
                for (k, s) in bind.into_iter().chain(connect).enumerate() {
                    dev.children.insert(at + k, Node::Element(s));
                }
            }
        }
        "unix" => {
            let has_path = dev.child("source").and_then(|s| s.attr("path")).is_some();
            if !has_path {
                if is_virtio_channel {
                    dev.children
                        .retain(|n| !matches!(n, Node::Element(e) if e.name == "source"));
                    return Ok(());
                }
                let at = dev.child("source").unwrap_or(dev);
                return Err(missing(at, "a unix socket path"));
            }
            if let Some(src) = child_mut(dev, "source") {
                if src.attr("mode").is_none() {
                    set_attr(src, "mode", "connect", &[]);
                }
                reconnect(src)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn reconnect(src: &Element) -> Result<(), XmlError> {
    let Some(r) = src.child("reconnect") else {
        return Ok(());
    };
    if r.attr("enabled") == Some("yes") {
        if r.attr("timeout").is_none() {
            return Err(missing(r, "attribute 'timeout'"));
        }
        if src.attr("mode") != Some("connect") {
            return Err(invalid(r, "reconnect is only for mode 'connect'"));
        }
    }
    Ok(())
}

/// VNC graphics: autoport/port defaults and the listen attribute/element pair.
fn vnc(g: &mut Element) -> Result<(), XmlError> {
    if let Some(sock) = g.attr("socket").map(str::to_string) {
        for l in g.children_named("listen") {
            if l.attr("type") == Some("socket") && l.attr("socket").is_some_and(|s| s != sock) {
                return Err(invalid(
                    l,
                    "listen socket does not match the graphics socket attribute",
                ));
            }
        }
        g.children
            .retain(|n| !matches!(n, Node::Element(e) if e.name == "listen"));
        let l = new_element("listen", &[("type", "socket"), ("socket", &sock)], g);
        g.children.insert(0, Node::Element(l));
        return Ok(());
    }
    if g.child("listen")
        .is_some_and(|l| l.attr("type") == Some("socket"))
    {
        return Ok(());
    }
    let autoport = g.attr("autoport").map(str::to_string);
    let port = g.attr("port").map(str::to_string);
    match autoport.as_deref() {
        Some("yes") => set_attr(g, "port", "-1", &["type"]),
        Some(_) => {}
        None => {
            if port.is_none() || port.as_deref() == Some("-1") {
                set_attr(g, "port", "-1", &["type"]);
                set_attr(g, "autoport", "yes", &["type", "port"]);
            } else {
                set_attr(g, "autoport", "no", &["type", "port"]);
            }
        }
    }
    let listen_attr = g.attr("listen").map(str::to_string);
    let first_addr = g
        .children_named("listen")
        .find(|l| l.attr("type") == Some("address"))
        .map(|l| l.attr("address").map(str::to_string));
    match (listen_attr, first_addr) {
        (Some(a), Some(Some(b))) if a != b => {
            let l = g.child("listen").unwrap_or(g);
            return Err(invalid(
                l,
                "listen address does not match the listen attribute",
            ));
        }
        (Some(a), None) if g.child("listen").is_none() => {
            let l = new_element("listen", &[("type", "address"), ("address", &a)], g);
            g.children.insert(0, Node::Element(l));
        }
        (Some(a), Some(None)) => {
            if let Some(l) = elements_mut(g).find(|l| l.name == "listen") {
                set_attr(l, "address", &a, &["type"]);
            }
        }
        (None, Some(Some(b))) => {
            set_attr(g, "listen", &b, &["type", "port", "autoport", "websocket"]);
        }
        (None, None) if g.child("listen").is_none() => {
            let l = new_element("listen", &[("type", "address")], g);
            g.children.insert(0, Node::Element(l));
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists() {
        let s = parse_id_list("1-3,^1,7").expect("list");
        assert_eq!(format_id_list(&s), "2-3,7");
        assert!(parse_id_list("3-1").is_none());
        assert!(parse_id_list("x").is_none());
    }
}
