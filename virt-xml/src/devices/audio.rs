//! `<audio>`: a host audio backend (none, ALSA, CoreAudio, JACK, OSS, PulseAudio, SDL, SPICE,
//! file, D-Bus) that sound cards and displays refer to by id, as a typed value ([`Audio`]) with
//! its input and output stream settings, written in libvirt 9.0's canonical form.
//!
//! The backend-specific attributes are plain optional fields; which backend may carry which is
//! the schema's business (the element has already been checked against it).
//!
//! ```
//! use virt_xml::devices::audio::{Audio, AudioIo, AudioType};
//! use virt_xml::writer::Writer;
//! let mut a = Audio::new(1, AudioType::Pulseaudio);
//! a.server_name = Some("acme.example.org".into());
//! a.output = Some(AudioIo { voices: Some(2), name: Some("fish".into()), ..Default::default() });
//! let mut w = Writer::new();
//! a.write(&mut w);
//! assert_eq!(
//!     w.finish(),
//!     "<audio id='1' type='pulseaudio' serverName='acme.example.org'>\n  \
//!      <output voices='2' name='fish'/>\n</audio>\n"
//! );
//! ```

use crate::domain::{attr_parse, num_attr, str_enum};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<audio type>`: the host backend.
    AudioType {
        None = "none", Alsa = "alsa", Coreaudio = "coreaudio", Jack = "jack", Oss = "oss",
        Pulseaudio = "pulseaudio", Sdl = "sdl", Spice = "spice", File = "file", Dbus = "dbus",
    }
);

str_enum!(
    /// SDL `driver`.
    SdlAudioDriver { Esd = "esd", Alsa = "alsa", Arts = "arts", Pulseaudio = "pulseaudio" }
);

str_enum!(
    /// `<settings format>`: the sample format.
    AudioFormat {
        S8 = "s8", U8 = "u8", S16 = "s16", U16 = "u16", S32 = "s32", U32 = "u32", F32 = "f32",
    }
);

/// `<settings frequency channels format/>` (with `fixedSettings='yes'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AudioSettings {
    /// Hz.
    pub frequency: Option<u32>,
    pub channels: Option<u32>,
    pub format: Option<AudioFormat>,
}

/// An `<input>` or `<output>` stream of an audio backend.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AudioIo {
    pub mixing_engine: Option<bool>,
    pub fixed_settings: Option<bool>,
    pub voices: Option<u32>,
    /// Microseconds.
    pub buffer_length: Option<u32>,
    /// ALSA, OSS: the host device.
    pub dev: Option<String>,
    /// CoreAudio, OSS, SDL.
    pub buffer_count: Option<u32>,
    /// OSS.
    pub try_poll: Option<bool>,
    /// JACK.
    pub server_name: Option<String>,
    /// JACK.
    pub client_name: Option<String>,
    /// JACK: a regular expression of ports to connect to.
    pub connect_ports: Option<String>,
    /// JACK.
    pub exact_name: Option<bool>,
    /// PulseAudio: the sink or source name.
    pub name: Option<String>,
    /// PulseAudio.
    pub stream_name: Option<String>,
    /// PulseAudio: microseconds.
    pub latency: Option<u32>,
    pub settings: Option<AudioSettings>,
}

/// `<audio>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audio {
    pub id: u8,
    pub audio_type: AudioType,
    /// Microseconds.
    pub timer_period: Option<u32>,
    /// OSS.
    pub try_mmap: Option<bool>,
    /// OSS.
    pub exclusive: Option<bool>,
    /// OSS.
    pub dsp_policy: Option<i32>,
    /// PulseAudio.
    pub server_name: Option<String>,
    /// SDL.
    pub driver: Option<SdlAudioDriver>,
    /// File: the output file.
    pub path: Option<String>,
    pub input: Option<AudioIo>,
    pub output: Option<AudioIo>,
}

fn yes_no(el: &Element, name: &str) -> Result<Option<bool>, XmlError> {
    Ok(attr_parse::<YesNo>(el, name)?.map(bool::from))
}

fn yn(v: Option<bool>) -> Option<YesNo> {
    v.map(YesNo::from)
}

impl AudioIo {
    fn from_element(el: &Element) -> Result<AudioIo, XmlError> {
        let text = |n: &str| el.attr(n).map(str::to_string);
        let settings = match el.child("settings") {
            None => None,
            Some(s) => Some(AudioSettings {
                frequency: num_attr(s, "frequency")?,
                channels: num_attr(s, "channels")?,
                format: attr_parse(s, "format")?,
            }),
        };
        Ok(AudioIo {
            mixing_engine: yes_no(el, "mixingEngine")?,
            fixed_settings: yes_no(el, "fixedSettings")?,
            voices: num_attr(el, "voices")?,
            buffer_length: num_attr(el, "bufferLength")?,
            dev: text("dev"),
            buffer_count: num_attr(el, "bufferCount")?,
            try_poll: yes_no(el, "tryPoll")?,
            server_name: text("serverName"),
            client_name: text("clientName"),
            connect_ports: text("connectPorts"),
            exact_name: yes_no(el, "exactName")?,
            name: text("name"),
            stream_name: text("streamName"),
            latency: num_attr(el, "latency")?,
            settings,
        })
    }

    fn write(&self, name: &str, w: &mut Writer) {
        let tag = Tag::new(name)
            .opt_attr("mixingEngine", yn(self.mixing_engine))
            .opt_attr("fixedSettings", yn(self.fixed_settings))
            .opt_attr("voices", self.voices)
            .opt_attr("bufferLength", self.buffer_length)
            .opt_attr("dev", self.dev.as_deref())
            .opt_attr("bufferCount", self.buffer_count)
            .opt_attr("tryPoll", yn(self.try_poll))
            .opt_attr("serverName", self.server_name.as_deref())
            .opt_attr("clientName", self.client_name.as_deref())
            .opt_attr("connectPorts", self.connect_ports.as_deref())
            .opt_attr("exactName", yn(self.exact_name))
            .opt_attr("name", self.name.as_deref())
            .opt_attr("streamName", self.stream_name.as_deref())
            .opt_attr("latency", self.latency);
        w.element(tag, |w| {
            if let Some(s) = self.settings {
                w.empty(
                    Tag::new("settings")
                        .opt_attr("frequency", s.frequency)
                        .opt_attr("channels", s.channels)
                        .opt_attr("format", s.format),
                );
            }
        });
    }
}

impl Audio {
    /// A backend with its id and type and nothing else set.
    pub fn new(id: u8, audio_type: AudioType) -> Self {
        Audio {
            id,
            audio_type,
            timer_period: None,
            try_mmap: None,
            exclusive: None,
            dsp_policy: None,
            server_name: None,
            driver: None,
            path: None,
            input: None,
            output: None,
        }
    }

    /// Parses a schema-checked, normalised `<audio>` element.
    pub fn from_element(el: &Element) -> Result<Audio, XmlError> {
        let missing = |what: &str| XmlError::Missing {
            pos: el.pos,
            element: "audio".into(),
            what: format!("attribute '{what}'"),
        };
        let io = |name: &str| match el.child(name) {
            None => Ok(None),
            Some(c) => AudioIo::from_element(c).map(Some),
        };
        Ok(Audio {
            id: num_attr(el, "id")?.ok_or_else(|| missing("id"))?,
            audio_type: attr_parse(el, "type")?.ok_or_else(|| missing("type"))?,
            timer_period: num_attr(el, "timerPeriod")?,
            try_mmap: yes_no(el, "tryMMap")?,
            exclusive: yes_no(el, "exclusive")?,
            dsp_policy: num_attr(el, "dspPolicy")?,
            server_name: el.attr("serverName").map(str::to_string),
            driver: attr_parse(el, "driver")?,
            path: el.attr("path").map(str::to_string),
            input: io("input")?,
            output: io("output")?,
        })
    }

    /// Writes `<audio>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("audio")
            .attr("id", self.id)
            .attr("type", self.audio_type)
            .opt_attr("timerPeriod", self.timer_period)
            .opt_attr("tryMMap", yn(self.try_mmap))
            .opt_attr("exclusive", yn(self.exclusive))
            .opt_attr("dspPolicy", self.dsp_policy)
            .opt_attr("serverName", self.server_name.as_deref())
            .opt_attr("driver", self.driver)
            .opt_attr("path", self.path.as_deref());
        w.element(tag, |w| {
            if let Some(i) = &self.input {
                i.write("input", w);
            }
            if let Some(o) = &self.output {
                o.write("output", w);
            }
        });
    }
}
