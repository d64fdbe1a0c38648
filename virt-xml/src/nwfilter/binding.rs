//! `<filterbinding>`: which filter (with which parameters) applies to which port of which guest.

use std::fmt::Write as _;

use crate::error::XmlError;
use crate::tree::{self, Element};
use crate::values::{MacAddr, Uuid};

use super::format::{escape, format_filterref};
use super::parse::parse_params;
use super::types::FilterRef;

/// A filter binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub owner_name: String,
    pub owner_uuid: Uuid,
    pub portdev: String,
    pub linkdev: Option<String>,
    pub mac: MacAddr,
    pub filter: FilterRef,
}

fn missing(el: &Element, what: &str) -> XmlError {
    XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: what.to_string(),
    }
}

fn required_child<'a>(el: &'a Element, name: &str) -> Result<&'a Element, XmlError> {
    el.child(name)
        .ok_or_else(|| missing(el, &format!("element <{name}>")))
}

fn required_attr<'a>(el: &'a Element, name: &str) -> Result<&'a str, XmlError> {
    el.attr(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing(el, &format!("attribute '{name}'")))
}

/// Parses a `<filterbinding>` document.
pub fn parse_binding(input: &str) -> Result<Binding, XmlError> {
    let root = tree::parse(input)?;
    if root.name != "filterbinding" {
        return Err(XmlError::UnknownElement {
            pos: root.pos,
            parent: "(document)".into(),
            element: root.name.clone(),
        });
    }
    // libvirt's nwfilterbinding.rng: unknown names and enumerated values are refused first.
    crate::schema::nwfilter_binding().check(&root)?;
    let owner = required_child(&root, "owner")?;
    let name_el = required_child(owner, "name")?;
    let owner_name = name_el.text();
    if owner_name.is_empty() {
        return Err(missing(name_el, "content"));
    }
    let uuid_el = required_child(owner, "uuid")?;
    let owner_uuid = uuid_el
        .text()
        .trim()
        .parse::<Uuid>()
        .map_err(|e| XmlError::InvalidValue {
            pos: uuid_el.pos,
            element: "uuid".into(),
            what: "content".into(),
            value: uuid_el.text(),
            reason: e.to_string(),
        })?;
    let portdev = required_attr(required_child(&root, "portdev")?, "name")?.to_string();
    let linkdev = match root.child("linkdev") {
        Some(l) => Some(required_attr(l, "name")?.to_string()),
        None => None,
    };
    let mac_el = required_child(&root, "mac")?;
    let mac_s = required_attr(mac_el, "address")?;
    let mac = mac_s
        .parse::<MacAddr>()
        .map_err(|e| XmlError::InvalidValue {
            pos: mac_el.attr_node("address").map_or(mac_el.pos, |a| a.pos),
            element: "mac".into(),
            what: "attribute 'address'".into(),
            value: mac_s.to_string(),
            reason: e.to_string(),
        })?;
    let fr = required_child(&root, "filterref")?;
    let filter = FilterRef {
        filter: required_attr(fr, "filter")?.to_string(),
        params: parse_params(fr),
    };
    Ok(Binding {
        owner_name,
        owner_uuid,
        portdev,
        linkdev,
        mac,
        filter,
    })
}

/// Formats a binding as libvirt 9.0 does.
pub fn format_binding(b: &Binding) -> String {
    let mut out = String::from("<filterbinding>\n  <owner>\n");
    let _ = writeln!(out, "    <name>{}</name>", escape(&b.owner_name));
    let _ = writeln!(out, "    <uuid>{}</uuid>", b.owner_uuid);
    out.push_str("  </owner>\n");
    let _ = writeln!(out, "  <portdev name='{}'/>", escape(&b.portdev));
    if let Some(l) = &b.linkdev {
        let _ = writeln!(out, "  <linkdev name='{}'/>", escape(l));
    }
    let _ = writeln!(out, "  <mac address='{}'/>", b.mac);
    format_filterref(&mut out, &b.filter, 1);
    out.push_str("</filterbinding>\n");
    out
}
