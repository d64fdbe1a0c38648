//! sound: `-device` for each `<sound>` (`intel-hda`/`ich9-intel-hda` with their `hda-*` codecs,
//! `AC97`, `ES1370`, `sb16`, `usb-audio`), each tied to its `-audiodev` backend.

use virt_xml::devices::sound::{CodecType, Sound, SoundModel};
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::devices::net::common::push_address;
use crate::argv::props::Props;

fn audiodev(s: &Sound) -> String {
    format!("audio{}", s.audio_id.unwrap_or(1))
}

fn codec_driver(c: CodecType) -> &'static str {
    match c {
        CodecType::Duplex => "hda-duplex",
        CodecType::Micro => "hda-micro",
        CodecType::Output => "hda-output",
    }
}

/// Writes this family's options for every sound device of `b.def`, in document order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    for (i, d) in def.devices.iter().enumerate() {
        let Device::Sound(s) = d else { continue };
        let alias = b.alias(i).to_string();
        let (driver, hda) = match s.model {
            SoundModel::Ich6 | SoundModel::Ich7 => ("intel-hda", true),
            SoundModel::Ich9 => ("ich9-intel-hda", true),
            SoundModel::Ac97 => ("AC97", false),
            SoundModel::Es1370 => ("ES1370", false),
            SoundModel::Sb16 => ("sb16", false),
            SoundModel::Usb => ("usb-audio", false),
            SoundModel::Pcspk => continue,
        };
        let mut p = Props::new().str("driver", driver).str("id", alias.as_str());
        if !hda {
            p = p.str("audiodev", audiodev(s));
        }
        push_address(b, &s.info, &mut p)?;
        b.device(&p);
        if hda {
            let codecs = if s.codecs.is_empty() {
                vec![CodecType::Duplex]
            } else {
                s.codecs.clone()
            };
            for (n, c) in codecs.iter().enumerate() {
                let p = Props::new()
                    .str("driver", codec_driver(*c))
                    .str("id", format!("{alias}-codec{n}"))
                    .str("bus", format!("{alias}.0"))
                    .uint("cad", n as u64)
                    .str("audiodev", audiodev(s));
                b.device(&p);
            }
        }
    }
    Ok(())
}
