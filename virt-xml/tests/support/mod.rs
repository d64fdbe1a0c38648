//! Shared by the typed-value tests: every domain in the corpora as its schema-checked, normalised
//! tree (devices and sections as elements), and the reference text of an element (the element
//! written back as it stands).

#![allow(dead_code)]

use virt_xml::domain::DeviceKind;
use virt_xml::tree::Element;
use virt_xml::writer::Writer;
use virt_xml::XmlError;

/// One device element of a normalised domain.
pub struct RawDevice {
    pub kind: DeviceKind,
    pub xml: Element,
}

/// A normalised domain tree, split as the typed values are read from it.
pub struct Raw {
    pub devices: Vec<RawDevice>,
    /// The top-level sections outside the typed header, os, features, cpu, clock and devices.
    pub sections: Vec<Element>,
    /// The typed `<os>`, when present.
    pub os_def: Option<virt_xml::os::OsDef>,
}

const HEADER: &[&str] = &[
    "name",
    "uuid",
    "title",
    "description",
    "memory",
    "maxMemory",
    "currentMemory",
    "vcpu",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "os",
    "clock",
    "cpu",
    "features",
    "devices",
];

impl Raw {
    /// The first section element with this name.
    pub fn section(&self, name: &str) -> Option<&Element> {
        self.sections.iter().find(|e| e.name == name)
    }
}

/// Parses, schema-checks and normalises a domain document into its element parts.
pub fn parse_raw(text: &str) -> Result<Raw, XmlError> {
    let root = virt_xml::domain::normalized(text)?;
    let mut raw = Raw {
        devices: Vec::new(),
        sections: Vec::new(),
        os_def: match root.child("os") {
            Some(os) => Some(virt_xml::os::OsDef::from_element(os)?),
            None => None,
        },
    };
    for el in root.elements() {
        if el.name == "devices" {
            for d in el.elements() {
                if let Ok(kind) = d.name.parse() {
                    raw.devices.push(RawDevice {
                        kind,
                        xml: d.clone(),
                    });
                }
            }
        } else if !HEADER.contains(&el.name.as_str()) {
            raw.sections.push(el.clone());
        }
    }
    Ok(raw)
}

/// Every domain of domain-canonical, generic-xml/out and lxc-xml that parses, with its file name.
pub fn corpus_domains() -> Vec<(String, Raw)> {
    let mut out = Vec::new();
    for sub in ["domain-canonical", "generic-xml/out", "lxc-xml"] {
        let dir = virt_testkit::libvirt_data(sub);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort();
        for f in files {
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            if let Ok(d) = parse_raw(&text) {
                let name = format!(
                    "{sub}/{}",
                    f.file_name().unwrap_or_default().to_string_lossy()
                );
                out.push((name, d));
            }
        }
    }
    assert!(out.len() > 300, "corpus not found");
    out
}

/// The element as the generic writer writes it at depth 0.
pub fn reference(el: &Element) -> String {
    let mut w = Writer::new();
    w.tree(el);
    w.finish()
}
