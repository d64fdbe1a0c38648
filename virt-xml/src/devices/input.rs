//! `<input>`: a guest input device (mouse, tablet, keyboard, virtio passthrough of a host event
//! device, or an evdev grab) as a typed value ([`Input`]), written in libvirt 9.0's canonical form.
//!
//! ```
//! use virt_xml::devices::input::{Input, InputBus, InputType};
//! use virt_xml::writer::Writer;
//! let mut w = Writer::new();
//! Input::new(InputType::Tablet, Some(InputBus::Usb)).write(&mut w);
//! assert_eq!(w.finish(), "<input type='tablet' bus='usb'/>\n");
//! ```

use crate::devices::info::DeviceInfo;
use crate::devices::video::VirtioOptions;
use crate::domain::{attr_parse, str_enum, OnOff};
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<input type>`.
    InputType {
        Mouse = "mouse", Tablet = "tablet", Keyboard = "keyboard", Passthrough = "passthrough",
        Evdev = "evdev",
    }
);

str_enum!(
    /// `<input bus>`.
    InputBus { Ps2 = "ps2", Usb = "usb", Xen = "xen", Virtio = "virtio" }
);

str_enum!(
    /// `<input model>` (virtio devices).
    InputModel {
        Virtio = "virtio", VirtioTransitional = "virtio-transitional",
        VirtioNonTransitional = "virtio-non-transitional",
    }
);

str_enum!(
    /// evdev `<source grab>`.
    InputGrab { All = "all" }
);

str_enum!(
    /// evdev `<source grabToggle>`: the key combination that toggles the grab.
    GrabToggle {
        CtrlCtrl = "ctrl-ctrl", AltAlt = "alt-alt", ShiftShift = "shift-shift",
        MetaMeta = "meta-meta", Scrolllock = "scrolllock", CtrlScrolllock = "ctrl-scrolllock",
    }
);

/// `<source>` of a passthrough (`evdev`) or evdev (`dev`, `grab`, `grabToggle`, `repeat`) input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputSource {
    /// Passthrough: the host event device.
    pub evdev: Option<String>,
    /// Evdev: the host event device.
    pub dev: Option<String>,
    pub grab: Option<InputGrab>,
    pub grab_toggle: Option<GrabToggle>,
    pub repeat: Option<OnOff>,
}

/// `<input>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub input_type: InputType,
    pub bus: Option<InputBus>,
    pub model: Option<InputModel>,
    /// `<driver>` virtio options.
    pub driver: Option<VirtioOptions>,
    pub source: Option<InputSource>,
    pub info: DeviceInfo,
}

impl Input {
    /// An input device with nothing but its type and bus.
    pub fn new(input_type: InputType, bus: Option<InputBus>) -> Self {
        Input {
            input_type,
            bus,
            model: None,
            driver: None,
            source: None,
            info: DeviceInfo::default(),
        }
    }

    /// Parses a schema-checked, normalised `<input>` element.
    pub fn from_element(el: &Element) -> Result<Input, XmlError> {
        let input_type = attr_parse(el, "type")?.ok_or_else(|| XmlError::Missing {
            pos: el.pos,
            element: "input".into(),
            what: "attribute 'type'".into(),
        })?;
        let driver = match el.child("driver") {
            None => None,
            Some(d) => Some(VirtioOptions::from_element(d)?),
        };
        let source = match el.child("source") {
            None => None,
            Some(s) => Some(InputSource {
                evdev: s.attr("evdev").map(str::to_string),
                dev: s.attr("dev").map(str::to_string),
                grab: attr_parse(s, "grab")?,
                grab_toggle: attr_parse(s, "grabToggle")?,
                repeat: attr_parse(s, "repeat")?,
            }),
        };
        Ok(Input {
            input_type,
            bus: attr_parse(el, "bus")?,
            model: attr_parse(el, "model")?,
            driver,
            source,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<input>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("input")
            .attr("type", self.input_type)
            .opt_attr("bus", self.bus)
            .opt_attr("model", self.model);
        w.element(tag, |w| {
            if let Some(d) = &self.driver {
                w.empty(d.push_attrs(Tag::new("driver")));
            }
            if let Some(s) = &self.source {
                w.empty(
                    Tag::new("source")
                        .opt_attr("evdev", s.evdev.as_deref())
                        .opt_attr("dev", s.dev.as_deref())
                        .opt_attr("grab", s.grab)
                        .opt_attr("grabToggle", s.grab_toggle)
                        .opt_attr("repeat", s.repeat),
                );
            }
            self.info.write(w);
        });
    }
}
