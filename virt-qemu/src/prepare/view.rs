//! The one place the prepare stage reads and changes devices. Devices are held by virt-xml as
//! checked elements today; every read (kind, attributes, child attributes, address) and every
//! change (an attribute, a child attribute, the address, a new device) goes through here, so a
//! change of virt-xml's device representation touches this file only.

use virt_xml::address::Address;
use virt_xml::tree::{self, Attr, Element, Node};
use virt_xml::writer::Writer;
use virt_xml::{DeviceKind, Domain};

use super::PrepareError;

/// A device as this stage works on it: its kind and its element, converted from and back to
/// virt-xml's typed device at the stage's edges.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Device {
    pub kind: DeviceKind,
    pub xml: Element,
}

/// The domain being prepared: its devices as elements ([`Device`]); every other part is the
/// typed domain, reached through `Deref`.
#[derive(Clone)]
pub(crate) struct Prep {
    pub devices: Vec<Device>,
    dom: Domain,
}

impl Prep {
    /// Takes a domain's devices apart into elements.
    pub fn new(mut dom: Domain) -> Result<Prep, PrepareError> {
        let mut devices = Vec::with_capacity(dom.devices.len());
        for d in std::mem::take(&mut dom.devices) {
            let text = d.to_xml();
            let xml =
                tree::parse(&text).map_err(|e| PrepareError::Internal(format!("{text}: {e}")))?;
            devices.push(Device {
                kind: d.kind(),
                xml,
            });
        }
        Ok(Prep { devices, dom })
    }

    /// Puts the typed domain back together.
    pub fn finish(self) -> Result<Domain, PrepareError> {
        let mut dom = self.dom;
        for d in self.devices {
            let typed = virt_xml::Device::from_element(&d.xml)
                .map_err(|e| PrepareError::Internal(format!("{}: {e}", describe(&d))))?;
            dom.devices.push(typed);
        }
        Ok(dom)
    }
}

impl std::ops::Deref for Prep {
    type Target = Domain;
    fn deref(&self) -> &Domain {
        &self.dom
    }
}

impl std::ops::DerefMut for Prep {
    fn deref_mut(&mut self) -> &mut Domain {
        &mut self.dom
    }
}

pub(super) fn kind(d: &Device) -> DeviceKind {
    d.kind
}

/// A top-level attribute (`type`, `model`, `device`, `index`, ...).
pub(super) fn attr<'a>(d: &'a Device, name: &str) -> Option<&'a str> {
    d.xml.attr(name)
}

/// An attribute of the first child element `child` (`target`/`bus`, `model`/`type`, ...).
pub(super) fn sub_attr<'a>(d: &'a Device, child: &str, name: &str) -> Option<&'a str> {
    d.xml.child(child).and_then(|c| c.attr(name))
}

/// Whether the device has a child element `child`.
pub(super) fn has_child(d: &Device, child: &str) -> bool {
    d.xml.child(child).is_some()
}

/// An attribute of a grandchild (`source`/`host`/`port`).
pub(super) fn sub_sub_attr<'a>(d: &'a Device, c1: &str, c2: &str, name: &str) -> Option<&'a str> {
    d.xml.child(c1)?.child(c2)?.attr(name)
}

/// The device's `<address>`, if any (an unparsable one reads as absent).
pub(super) fn address(d: &Device) -> Option<Address> {
    d.xml
        .child("address")
        .and_then(|a| Address::from_element(a).ok())
}

fn set_attr_in(el: &mut Element, name: &str, value: &str, after: &[&str]) {
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
    let pos = el.pos;
    el.attrs.insert(
        at,
        Attr {
            name: name.to_string(),
            value: value.to_string(),
            pos,
        },
    );
}

/// Sets a top-level attribute, placed after the last present one of `after`.
pub(super) fn set_attr(d: &mut Device, name: &str, value: &str, after: &[&str]) {
    set_attr_in(&mut d.xml, name, value, after);
}

/// Sets an attribute of child `child`, creating the child (before the first present of
/// `before`, else last) when missing.
pub(super) fn set_sub_attr(
    d: &mut Device,
    child: &str,
    before: &[&str],
    name: &str,
    value: &str,
    after: &[&str],
) {
    let el = child_or_insert(&mut d.xml, child, before);
    set_attr_in(el, name, value, after);
}

/// Sets an attribute of grandchild `c1`/`c2` (both must exist already; otherwise nothing).
pub(super) fn set_sub_sub_attr(
    d: &mut Device,
    c1: &str,
    c2: &str,
    name: &str,
    value: &str,
    after: &[&str],
) {
    let Some(e1) = child_mut(&mut d.xml, c1) else {
        return;
    };
    let Some(e2) = child_mut(e1, c2) else { return };
    set_attr_in(e2, name, value, after);
}

fn child_mut<'a>(el: &'a mut Element, name: &str) -> Option<&'a mut Element> {
    el.children.iter_mut().find_map(|n| match n {
        Node::Element(e) if e.name == name => Some(e),
        _ => None,
    })
}

fn child_or_insert<'a>(el: &'a mut Element, name: &str, before: &[&str]) -> &'a mut Element {
    let idx = el
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(e) if e.name == name));
    let idx = match idx {
        Some(i) => i,
        None => {
            let at = el
                .children
                .iter()
                .position(|n| matches!(n, Node::Element(e) if before.contains(&e.name.as_str())))
                .unwrap_or(el.children.len());
            let pos = el.pos;
            el.children.insert(
                at,
                Node::Element(Element {
                    name: name.to_string(),
                    attrs: Vec::new(),
                    children: Vec::new(),
                    pos,
                }),
            );
            at
        }
    };
    match &mut el.children[idx] {
        Node::Element(e) => e,
        // The index was found or inserted as an element just above.
        Node::Text(_) => unreachable!("child index points at an element"),
    }
}

/// Replaces (or adds, last) the device's `<address>`.
pub(super) fn set_address(d: &mut Device, a: &Address) {
    let mut w = Writer::new();
    a.write(&mut w);
    let Ok(el) = tree::parse(&w.finish()) else {
        return;
    };
    d.xml
        .children
        .retain(|n| !matches!(n, Node::Element(e) if e.name == "address"));
    // libvirt writes <acpi> last before the address.
    move_child_last(d, "acpi");
    d.xml.children.push(Node::Element(el));
}

/// Moves a child element to the end of the device (libvirt writes `<acpi>` right before the
/// address, after everything else).
pub(super) fn move_child_last(d: &mut Device, child: &str) {
    if let Some(i) = d
        .xml
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(e) if e.name == child))
    {
        let n = d.xml.children.remove(i);
        d.xml.children.push(n);
    }
}

/// A new device from a small XML snippet written by this stage.
pub(super) fn new_device(xml: &str) -> Result<Device, PrepareError> {
    let el = tree::parse(xml).map_err(|e| PrepareError::Internal(format!("{xml}: {e}")))?;
    let kind = el
        .name
        .parse()
        .map_err(|_| PrepareError::Internal(format!("not a device: {xml}")))?;
    Ok(Device { kind, xml: el })
}

/// A short name for errors: `<disk ... target vda>`, `<controller type='pci' index='1'>`.
pub(super) fn describe(d: &Device) -> String {
    let mut s = format!("<{}", d.kind);
    for a in ["type", "device", "model", "index"] {
        if let Some(v) = d.xml.attr(a) {
            s.push_str(&format!(" {a}='{v}'"));
        }
    }
    if let Some(t) = d.xml.child("target").and_then(|t| t.attr("dev")) {
        s.push_str(&format!(" target='{t}'"));
    }
    s.push('>');
    s
}

/// Copies the child elements of `from` into `to`, except those named in `skip`.
pub(super) fn copy_children_except(to: &mut Device, from: &Device, skip: &[&str]) {
    for n in &from.xml.children {
        if let Node::Element(e) = n {
            if !skip.contains(&e.name.as_str()) {
                to.xml.children.push(Node::Element(e.clone()));
            }
        }
    }
}

/// Moves a child element to the front.
pub(super) fn move_child_first(d: &mut Device, child: &str) {
    if let Some(i) = d
        .xml
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(e) if e.name == child))
    {
        let n = d.xml.children.remove(i);
        d.xml.children.insert(0, n);
    }
}

/// Removes every child element named `child`.
pub(super) fn remove_child(d: &mut Device, child: &str) {
    d.xml
        .children
        .retain(|n| !matches!(n, Node::Element(e) if e.name == child));
}

/// `<target><model name='...'/></target>` of a serial port.
pub(super) fn ensure_target_model(d: &mut Device, name: &str) {
    let target = child_or_insert(&mut d.xml, "target", &["alias", "address"]);
    let model = child_or_insert(target, "model", &[]);
    set_attr_in(model, "name", name, &[]);
}

/// `engine='qemu'` on every LUKS `<encryption>` of a disk (its sources and backing chain).
pub(super) fn luks_engine(d: &mut Device) {
    fn walk(el: &mut Element) {
        if el.name == "encryption"
            && el.attr("format") == Some("luks")
            && el.attr("engine").is_none()
        {
            set_attr_in(el, "engine", "qemu", &["format"]);
        }
        for n in el.children.iter_mut() {
            if let Node::Element(e) = n {
                walk(e);
            }
        }
    }
    walk(&mut d.xml);
}

/// Like [`set_sub_attr`], but a missing child is created as the first child.
pub(super) fn set_sub_attr_first(
    d: &mut Device,
    child: &str,
    name: &str,
    value: &str,
    after: &[&str],
) {
    if d.xml.child(child).is_none() {
        let pos = d.xml.pos;
        d.xml.children.insert(
            0,
            Node::Element(Element {
                name: child.to_string(),
                attrs: Vec::new(),
                children: Vec::new(),
                pos,
            }),
        );
    }
    let el = child_or_insert(&mut d.xml, child, &[]);
    set_attr_in(el, name, value, after);
}

/// `<max_size>` (a qcow2 metadata cache limit) anywhere in a disk, written in bytes.
pub(super) fn max_size_in_bytes(d: &mut Device) {
    fn scale(unit: &str) -> Option<u64> {
        Some(match unit {
            "" | "b" | "B" | "bytes" => 1,
            "KB" => 1000,
            "k" | "K" | "KiB" | "kiB" => 1 << 10,
            "MB" => 1_000_000,
            "m" | "M" | "MiB" => 1 << 20,
            "GB" => 1_000_000_000,
            "g" | "G" | "GiB" => 1 << 30,
            "TB" => 1_000_000_000_000,
            "t" | "T" | "TiB" => 1 << 40,
            _ => return None,
        })
    }
    fn walk(el: &mut Element) {
        if el.name == "max_size" && el.attr("unit") != Some("bytes") {
            let unit = el.attr("unit").unwrap_or("").to_string();
            let value = el.text().trim().parse::<u64>().ok();
            if let (Some(v), Some(s)) = (value, scale(&unit)) {
                if let Some(bytes) = v.checked_mul(s) {
                    set_attr_in(el, "unit", "bytes", &[]);
                    el.children = vec![Node::Text(bytes.to_string())];
                }
            }
        }
        for n in el.children.iter_mut() {
            if let Node::Element(e) = n {
                walk(e);
            }
        }
    }
    walk(&mut d.xml);
}

/// The alias the user gave (`<alias name='ua-...'/>`), if any.
pub(super) fn user_alias(d: &Device) -> Option<&str> {
    sub_attr(d, "alias", "name").filter(|a| a.starts_with("ua-"))
}
