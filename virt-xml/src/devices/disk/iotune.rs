//! `<iotune>`: a disk's I/O limits.

use crate::domain::invalid_text;
use crate::error::XmlError;
use crate::tree::Element;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

/// `<iotune>`: I/O throttling. Every limit is optional; libvirt leaves out zeros.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IoTune {
    pub total_bytes_sec: Option<u64>,
    pub read_bytes_sec: Option<u64>,
    pub write_bytes_sec: Option<u64>,
    pub total_iops_sec: Option<u64>,
    pub read_iops_sec: Option<u64>,
    pub write_iops_sec: Option<u64>,
    pub total_bytes_sec_max: Option<u64>,
    pub read_bytes_sec_max: Option<u64>,
    pub write_bytes_sec_max: Option<u64>,
    pub total_iops_sec_max: Option<u64>,
    pub read_iops_sec_max: Option<u64>,
    pub write_iops_sec_max: Option<u64>,
    pub size_iops_sec: Option<u64>,
    /// `group_name`: disks sharing one set of limits.
    pub group_name: Option<String>,
    pub total_bytes_sec_max_length: Option<u64>,
    pub read_bytes_sec_max_length: Option<u64>,
    pub write_bytes_sec_max_length: Option<u64>,
    pub total_iops_sec_max_length: Option<u64>,
    pub read_iops_sec_max_length: Option<u64>,
    pub write_iops_sec_max_length: Option<u64>,
}

impl IoTune {
    /// The numeric limits with their element names, in libvirt's order (`group_name` goes after
    /// the first thirteen).
    fn numbers(&self) -> [(&'static str, Option<u64>); 19] {
        [
            ("total_bytes_sec", self.total_bytes_sec),
            ("read_bytes_sec", self.read_bytes_sec),
            ("write_bytes_sec", self.write_bytes_sec),
            ("total_iops_sec", self.total_iops_sec),
            ("read_iops_sec", self.read_iops_sec),
            ("write_iops_sec", self.write_iops_sec),
            ("total_bytes_sec_max", self.total_bytes_sec_max),
            ("read_bytes_sec_max", self.read_bytes_sec_max),
            ("write_bytes_sec_max", self.write_bytes_sec_max),
            ("total_iops_sec_max", self.total_iops_sec_max),
            ("read_iops_sec_max", self.read_iops_sec_max),
            ("write_iops_sec_max", self.write_iops_sec_max),
            ("size_iops_sec", self.size_iops_sec),
            (
                "total_bytes_sec_max_length",
                self.total_bytes_sec_max_length,
            ),
            ("read_bytes_sec_max_length", self.read_bytes_sec_max_length),
            (
                "write_bytes_sec_max_length",
                self.write_bytes_sec_max_length,
            ),
            ("total_iops_sec_max_length", self.total_iops_sec_max_length),
            ("read_iops_sec_max_length", self.read_iops_sec_max_length),
            ("write_iops_sec_max_length", self.write_iops_sec_max_length),
        ]
    }

    fn slot(&mut self, name: &str) -> Option<&mut Option<u64>> {
        Some(match name {
            "total_bytes_sec" => &mut self.total_bytes_sec,
            "read_bytes_sec" => &mut self.read_bytes_sec,
            "write_bytes_sec" => &mut self.write_bytes_sec,
            "total_iops_sec" => &mut self.total_iops_sec,
            "read_iops_sec" => &mut self.read_iops_sec,
            "write_iops_sec" => &mut self.write_iops_sec,
            "total_bytes_sec_max" => &mut self.total_bytes_sec_max,
            "read_bytes_sec_max" => &mut self.read_bytes_sec_max,
            "write_bytes_sec_max" => &mut self.write_bytes_sec_max,
            "total_iops_sec_max" => &mut self.total_iops_sec_max,
            "read_iops_sec_max" => &mut self.read_iops_sec_max,
            "write_iops_sec_max" => &mut self.write_iops_sec_max,
            "size_iops_sec" => &mut self.size_iops_sec,
            "total_bytes_sec_max_length" => &mut self.total_bytes_sec_max_length,
            "read_bytes_sec_max_length" => &mut self.read_bytes_sec_max_length,
            "write_bytes_sec_max_length" => &mut self.write_bytes_sec_max_length,
            "total_iops_sec_max_length" => &mut self.total_iops_sec_max_length,
            "read_iops_sec_max_length" => &mut self.read_iops_sec_max_length,
            "write_iops_sec_max_length" => &mut self.write_iops_sec_max_length,
            _ => return None,
        })
    }

    /// Parses `<iotune>`.
    pub fn from_element(el: &Element) -> Result<IoTune, XmlError> {
        let mut t = IoTune::default();
        for c in el.elements() {
            if c.name == "group_name" {
                t.group_name = Some(c.text());
                continue;
            }
            let text = c.text();
            let v: u64 = text.trim().parse().map_err(|_| {
                invalid_text(
                    c,
                    ValueError {
                        kind: "number",
                        value: text.trim().to_string(),
                        reason: "not a non-negative integer".into(),
                    },
                )
            })?;
            if let Some(slot) = t.slot(&c.name) {
                *slot = Some(v).filter(|v| *v != 0);
            }
        }
        Ok(t)
    }

    /// Whether nothing is set (libvirt then writes no `<iotune>`).
    pub fn is_empty(&self) -> bool {
        *self == IoTune::default()
    }

    /// Writes `<iotune>` (nothing when empty).
    pub fn write(&self, w: &mut Writer) {
        let nums = self.numbers();
        w.element(Tag::new("iotune"), |w| {
            for (i, (name, v)) in nums.iter().enumerate() {
                if i == 13 {
                    if let Some(g) = &self.group_name {
                        w.leaf(Tag::new("group_name"), g);
                    }
                }
                if let Some(v) = v.filter(|v| *v != 0) {
                    w.leaf(Tag::new(*name), &v.to_string());
                }
            }
        });
    }
}
