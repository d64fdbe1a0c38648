//! `<sound>`: a guest sound card as a typed value ([`Sound`]): its model, codecs, the audio
//! backend it plays through and its device info, written in libvirt 9.0's canonical form.
//!
//! ```
//! use virt_xml::devices::sound::{CodecType, Sound, SoundModel};
//! use virt_xml::writer::Writer;
//! let mut s = Sound::new(SoundModel::Ich9);
//! s.codecs.push(CodecType::Duplex);
//! s.audio_id = Some(1);
//! let mut w = Writer::new();
//! s.write(&mut w);
//! assert_eq!(
//!     w.finish(),
//!     "<sound model='ich9'>\n  <codec type='duplex'/>\n  <audio id='1'/>\n</sound>\n"
//! );
//! ```

use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, num_attr, str_enum};
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<sound model>`.
    SoundModel {
        Sb16 = "sb16", Es1370 = "es1370", Pcspk = "pcspk", Ac97 = "ac97", Ich6 = "ich6",
        Ich9 = "ich9", Usb = "usb", Ich7 = "ich7",
    }
);

str_enum!(
    /// `<codec type>` of an HDA sound card.
    CodecType { Duplex = "duplex", Micro = "micro", Output = "output" }
);

/// `<sound>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sound {
    pub model: SoundModel,
    pub codecs: Vec<CodecType>,
    /// `<audio id>`: the `<audio>` backend the card plays through.
    pub audio_id: Option<u8>,
    pub info: DeviceInfo,
}

impl Sound {
    /// A sound card of the given model with nothing else set.
    pub fn new(model: SoundModel) -> Self {
        Sound {
            model,
            codecs: Vec::new(),
            audio_id: None,
            info: DeviceInfo::default(),
        }
    }

    /// Parses a schema-checked, normalised `<sound>` element.
    pub fn from_element(el: &Element) -> Result<Sound, XmlError> {
        let missing = |e: &Element, what: &str| XmlError::Missing {
            pos: e.pos,
            element: e.name.clone(),
            what: format!("attribute '{what}'"),
        };
        let model = attr_parse(el, "model")?.ok_or_else(|| missing(el, "model"))?;
        let mut codecs = Vec::new();
        for c in el.children_named("codec") {
            codecs.push(attr_parse(c, "type")?.ok_or_else(|| missing(c, "type"))?);
        }
        let audio_id = match el.child("audio") {
            None => None,
            Some(a) => Some(num_attr(a, "id")?.ok_or_else(|| missing(a, "id"))?),
        };
        Ok(Sound {
            model,
            codecs,
            audio_id,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<sound>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("sound").attr("model", self.model), |w| {
            for c in &self.codecs {
                w.empty(Tag::new("codec").attr("type", c));
            }
            if let Some(id) = self.audio_id {
                w.empty(Tag::new("audio").attr("id", id));
            }
            self.info.write(w);
        });
    }
}
