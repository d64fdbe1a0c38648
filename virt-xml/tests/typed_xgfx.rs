//! The typed `<graphics>`, `<video>`, `<input>`, `<sound>` and `<audio>` devices: every instance
//! in libvirt's own documents reads, writes back exactly as libvirt wrote it, and reads again to
//! the same value; bad values are refused with their place.

mod support;

use std::collections::BTreeMap;

use virt_xml::devices::audio::{Audio, AudioFormat, AudioIo, AudioSettings, AudioType};
use virt_xml::devices::graphics::{
    ChannelMode, ChannelName, Gl, Graphics, GraphicsType, Listen, SpiceChannel,
};
use virt_xml::devices::input::{GrabToggle, Input, InputBus, InputSource, InputType};
use virt_xml::devices::sound::{CodecType, Sound, SoundModel};
use virt_xml::devices::video::{
    Acceleration, Video, VideoBackend, VideoDriver, VideoModel, VideoModelType, VirtioOptions,
};
use virt_xml::domain::OnOff;
use virt_xml::tree::{self, Element};
use virt_xml::writer::Writer;
use virt_xml::{Pos, XmlError};

/// A typed device kind under test: read, write.
trait Kind: Sized + PartialEq + std::fmt::Debug {
    const NAME: &'static str;
    fn read(el: &Element) -> Result<Self, XmlError>;
    fn put(&self, w: &mut Writer);
}

macro_rules! kind {
    ($t:ty, $name:literal) => {
        impl Kind for $t {
            const NAME: &'static str = $name;
            fn read(el: &Element) -> Result<Self, XmlError> {
                <$t>::from_element(el)
            }
            fn put(&self, w: &mut Writer) {
                self.write(w)
            }
        }
    };
}
kind!(Graphics, "graphics");
kind!(Video, "video");
kind!(Input, "input");
kind!(Sound, "sound");
kind!(Audio, "audio");

fn text<T: Kind>(v: &T) -> String {
    let mut w = Writer::new();
    v.put(&mut w);
    w.finish()
}

/// Checks one element: read, write == reference, re-read == value. Returns a failure text.
fn check<T: Kind>(el: &Element) -> Option<String> {
    let v = match T::read(el) {
        Ok(v) => v,
        Err(e) => return Some(format!("read: {e}")),
    };
    let out = text(&v);
    let want = support::reference(el);
    if out != want {
        return Some(format!("written:\n{out}expected:\n{want}"));
    }
    match tree::parse(&out).and_then(|e| T::read(&e)) {
        Ok(again) if again == v => None,
        Ok(again) => Some(format!("re-read differs: {again:?} != {v:?}")),
        Err(e) => Some(format!("re-read: {e}")),
    }
}

fn check_kind<T: Kind>(
    domains: &[(String, support::Raw)],
    counts: &mut BTreeMap<&'static str, usize>,
    failures: &mut Vec<String>,
) {
    for (name, d) in domains {
        for dev in d.devices.iter().filter(|dev| dev.xml.name == T::NAME) {
            *counts.entry(T::NAME).or_default() += 1;
            if let Some(f) = check::<T>(&dev.xml) {
                failures.push(format!("{name}: <{}>: {f}", T::NAME));
            }
        }
    }
}

fn check_all(domains: &[(String, support::Raw)]) -> (BTreeMap<&'static str, usize>, Vec<String>) {
    let mut counts = BTreeMap::new();
    let mut failures = Vec::new();
    check_kind::<Graphics>(domains, &mut counts, &mut failures);
    check_kind::<Video>(domains, &mut counts, &mut failures);
    check_kind::<Input>(domains, &mut counts, &mut failures);
    check_kind::<Sound>(domains, &mut counts, &mut failures);
    check_kind::<Audio>(domains, &mut counts, &mut failures);
    for f in &failures {
        println!("FAIL {f}");
    }
    (counts, failures)
}

#[test]
fn every_corpus_instance_round_trips() {
    let domains = support::corpus_domains();
    let (counts, failures) = check_all(&domains);
    println!("checked {counts:?}, {} failures", failures.len());
    assert_eq!(failures.len(), 0, "{} failures", failures.len());
    for (kind, min) in [
        ("graphics", 40),
        ("video", 50),
        ("input", 250),
        ("sound", 5),
        ("audio", 250),
    ] {
        let n = counts.get(kind).copied().unwrap_or(0);
        assert!(n >= min, "only {n} <{kind}> checked");
    }
}

/// The other documents of libvirt's test data (argv inputs, generic inputs) that parse: the same
/// rule holds for them (the normalised element is what libvirt writes).
#[test]
fn other_libvirt_inputs_round_trip() {
    let mut domains = Vec::new();
    for sub in ["qemu-argv", "generic-xml/in"] {
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
            if let Ok(d) = support::parse_raw(&text) {
                let name = f.file_name().unwrap_or_default().to_string_lossy();
                domains.push((format!("{sub}/{name}"), d));
            }
        }
    }
    let mut counts = BTreeMap::new();
    let mut failures = Vec::new();
    stable_kind::<Graphics>(&domains, &mut counts, &mut failures);
    stable_kind::<Video>(&domains, &mut counts, &mut failures);
    stable_kind::<Input>(&domains, &mut counts, &mut failures);
    stable_kind::<Sound>(&domains, &mut counts, &mut failures);
    stable_kind::<Audio>(&domains, &mut counts, &mut failures);
    for f in &failures {
        println!("FAIL {f}");
    }
    println!("checked {counts:?}, {} failures", failures.len());
    assert_eq!(failures.len(), 0, "{} failures", failures.len());
    assert!(counts.values().sum::<usize>() > 0);
}

/// Inputs are not in libvirt's order, so their reference is not canonical: there the written
/// text must read back to the same value and write again to the same text.
fn stable_kind<T: Kind>(
    domains: &[(String, support::Raw)],
    counts: &mut BTreeMap<&'static str, usize>,
    failures: &mut Vec<String>,
) {
    for (name, d) in domains {
        for dev in d.devices.iter().filter(|dev| dev.xml.name == T::NAME) {
            *counts.entry(T::NAME).or_default() += 1;
            let result = T::read(&dev.xml).and_then(|v| {
                let out = text(&v);
                let again = T::read(&tree::parse(&out)?)?;
                Ok((v, out, again))
            });
            match result {
                Ok((v, out, again)) if v == again && text(&again) == out => {}
                Ok((_, out, again)) => {
                    failures.push(format!("{name}: {out} re-reads as {again:?}"));
                }
                Err(e) => failures.push(format!("{name}: <{}>: {e}", T::NAME)),
            }
        }
    }
}

fn parse(xml: &str) -> Element {
    tree::parse(xml).expect("well-formed")
}

fn invalid(e: XmlError) -> (Pos, String, String) {
    match e {
        XmlError::InvalidValue {
            pos, element, what, ..
        } => (pos, element, what),
        other => panic!("expected an invalid value, got {other}"),
    }
}

#[test]
fn bad_enum_values_name_attribute_and_place() {
    let el = parse(
        "<graphics type='vnc'>\n  <listen type='address'/>\n  <gl enable='maybe'/>\n</graphics>",
    );
    let (pos, element, what) = invalid(Graphics::from_element(&el).expect_err("refused"));
    assert_eq!(
        (element.as_str(), what.as_str()),
        ("gl", "attribute 'enable'")
    );
    assert_eq!(pos.line, 3);
    assert_eq!(pos.col, 7);

    let el = parse("<graphics type='vnx'/>");
    let e = Graphics::from_element(&el).expect_err("refused");
    assert!(e.to_string().contains("'vnx'"), "{e}");
    assert_eq!(invalid(e).0, Pos { line: 1, col: 11 });

    let el = parse("<input type='mouse' bus='serial'/>");
    let (pos, element, what) = invalid(Input::from_element(&el).expect_err("refused"));
    assert_eq!(
        (element.as_str(), what.as_str()),
        ("input", "attribute 'bus'")
    );
    assert_eq!(pos, Pos { line: 1, col: 21 });

    let el = parse("<sound model='ich9'>\n<codec type='loud'/>\n</sound>");
    let (pos, element, _) = invalid(Sound::from_element(&el).expect_err("refused"));
    assert_eq!((element.as_str(), pos.line), ("codec", 2));

    let el = parse("<audio id='1' type='jack'>\n <output exactName='perhaps'/>\n</audio>");
    let (pos, element, what) = invalid(Audio::from_element(&el).expect_err("refused"));
    assert_eq!(
        (element.as_str(), what.as_str()),
        ("output", "attribute 'exactName'")
    );
    assert_eq!(pos, Pos { line: 2, col: 10 });
}

#[test]
fn bad_numbers_name_attribute_and_place() {
    let el = parse("<video>\n  <model type='qxl' vram='lots'/>\n</video>");
    let (pos, element, what) = invalid(Video::from_element(&el).expect_err("refused"));
    assert_eq!(
        (element.as_str(), what.as_str()),
        ("model", "attribute 'vram'")
    );
    assert_eq!(pos, Pos { line: 2, col: 21 });

    let el = parse("<graphics type='vnc' port='59x0'/>");
    let (pos, _, what) = invalid(Graphics::from_element(&el).expect_err("refused"));
    assert_eq!(
        (what.as_str(), pos),
        ("attribute 'port'", Pos { line: 1, col: 22 })
    );

    // An audio id is a uint8.
    let el = parse("<audio id='300' type='none'/>");
    let (_, _, what) = invalid(Audio::from_element(&el).expect_err("refused"));
    assert_eq!(what, "attribute 'id'");

    let el = parse(
        "<audio id='1' type='alsa'>\n<input>\n<settings frequency='-5'/>\n</input>\n</audio>",
    );
    let (pos, element, _) = invalid(Audio::from_element(&el).expect_err("refused"));
    assert_eq!((element.as_str(), pos.line), ("settings", 3));
}

#[test]
fn missing_required_parts_are_refused() {
    let el = parse("<graphics><listen type='address'/></graphics>");
    assert!(matches!(
        Graphics::from_element(&el),
        Err(XmlError::Missing { .. })
    ));
    let el = parse("<audio type='none'/>");
    assert!(matches!(
        Audio::from_element(&el),
        Err(XmlError::Missing { .. })
    ));
    let el = parse("<video><model vram='1'/></video>");
    assert!(matches!(
        Video::from_element(&el),
        Err(XmlError::Missing { .. })
    ));
}

#[test]
fn values_from_libvirt_documents() {
    let domains = support::corpus_domains();
    let find = |file: &str, kind: &str| -> Element {
        let (_, d) = domains
            .iter()
            .find(|(n, _)| n.ends_with(file))
            .unwrap_or_else(|| panic!("{file} in corpus"));
        d.devices
            .iter()
            .find(|dev| dev.xml.name == kind)
            .map(|dev| dev.xml.clone())
            .unwrap_or_else(|| panic!("<{kind}> in {file}"))
    };
    let g = Graphics::from_element(&find(
        "graphics-spice-timeout.x86_64-latest.xml",
        "graphics",
    ))
    .expect("graphics");
    assert_eq!(g.graphics_type, GraphicsType::Spice);
    assert_eq!(g.port, Some(5900));
    assert_eq!(g.autoport, Some(false));
    assert_eq!(g.passwd.as_deref(), Some("sercet"));
    assert_eq!(g.listens, vec![Listen::Address(None)]);

    // The listen attribute only mirrors the first <listen>: the value holds it once.
    let g = Graphics::from_element(&find("domain-canonical/graphics-vnc.xml", "graphics"))
        .expect("graphics");
    assert_eq!(g.listen, None);
    assert_eq!(g.listen_attr(), Some("2001:1:2:3:4:5:1234:1234"));
    let g = Graphics::from_element(&find(
        "domain-canonical/graphics-vnc-socket.xml",
        "graphics",
    ))
    .expect("graphics");
    assert_eq!(g.socket, None);
    assert_eq!(g.socket_attr(), Some("/tmp/vnc.sock"));

    let s =
        Sound::from_element(&find("domain-canonical/sound-device.xml", "sound")).expect("sound");
    assert_eq!(s.model, SoundModel::Pcspk);
}

#[test]
fn hand_built_values_write_libvirt_form() {
    let mut g = Graphics::new(GraphicsType::Spice);
    g.port = Some(5903);
    g.tls_port = Some(5904);
    g.autoport = Some(false);
    g.listen = Some("127.0.0.1".into());
    g.default_mode = Some(ChannelMode::Secure);
    g.listens.push(Listen::Address(Some("127.0.0.1".into())));
    // Written in libvirt's channel order whatever the order given.
    g.channels.push(SpiceChannel {
        name: ChannelName::Inputs,
        mode: ChannelMode::Insecure,
    });
    g.channels.push(SpiceChannel {
        name: ChannelName::Main,
        mode: ChannelMode::Secure,
    });
    g.filetransfer_enable = Some(false);
    g.gl = Some(Gl {
        enable: Some(true),
        rendernode: Some("/dev/dri/renderD128".into()),
    });
    assert_eq!(
        text(&g),
        "<graphics type='spice' port='5903' tlsPort='5904' autoport='no' listen='127.0.0.1' \
         defaultMode='secure'>\n  <listen type='address' address='127.0.0.1'/>\n  \
         <channel name='main' mode='secure'/>\n  <channel name='inputs' mode='insecure'/>\n  \
         <filetransfer enable='no'/>\n  <gl enable='yes' rendernode='/dev/dri/renderD128'/>\n\
         </graphics>\n"
    );

    // The listen attribute follows the first <listen>, and reads back to the same value.
    let mut g = Graphics::new(GraphicsType::Vnc);
    g.port = Some(5900);
    g.autoport = Some(false);
    g.websocket = Some(5700);
    g.listens.push(Listen::Address(Some("::1".into())));
    let out = text(&g);
    assert_eq!(
        out,
        "<graphics type='vnc' port='5900' autoport='no' websocket='5700' listen='::1'>\n  \
         <listen type='address' address='::1'/>\n</graphics>\n"
    );
    assert_eq!(Graphics::from_element(&parse(&out)).expect("re-read"), g);

    let mut g = Graphics::new(GraphicsType::Vnc);
    g.port = Some(-1);
    g.autoport = Some(true);
    g.listens.push(Listen::Network {
        network: "default".into(),
        address: None,
    });
    g.audio_id = Some(1);
    assert_eq!(
        text(&g),
        "<graphics type='vnc' port='-1' autoport='yes'>\n  \
         <listen type='network' network='default'/>\n  <audio id='1'/>\n</graphics>\n"
    );

    let mut model = VideoModel::new(VideoModelType::Virtio);
    model.heads = Some(1);
    model.primary = Some(true);
    model.acceleration = Some(Acceleration {
        accel3d: Some(true),
        ..Default::default()
    });
    let video = Video {
        driver: Some(VideoDriver {
            virtio: VirtioOptions {
                iommu: Some(OnOff::On),
                ..Default::default()
            },
            name: Some(VideoBackend::Vhostuser),
            vgaconf: None,
        }),
        model: Some(model),
        info: Default::default(),
    };
    assert_eq!(
        text(&video),
        "<video>\n  <driver iommu='on' name='vhostuser'/>\n  \
         <model type='virtio' heads='1' primary='yes'>\n    <acceleration accel3d='yes'/>\n  \
         </model>\n</video>\n"
    );

    let mut input = Input::new(InputType::Evdev, None);
    input.source = Some(InputSource {
        dev: Some("/dev/input/event1234".into()),
        grab: Some(virt_xml::devices::input::InputGrab::All),
        grab_toggle: Some(GrabToggle::AltAlt),
        repeat: Some(OnOff::On),
        ..Default::default()
    });
    assert_eq!(
        text(&input),
        "<input type='evdev'>\n  <source dev='/dev/input/event1234' grab='all' \
         grabToggle='alt-alt' repeat='on'/>\n</input>\n"
    );
    assert_eq!(
        text(&Input::new(InputType::Keyboard, Some(InputBus::Ps2))),
        "<input type='keyboard' bus='ps2'/>\n"
    );

    let mut sound = Sound::new(SoundModel::Ich6);
    sound.codecs = vec![CodecType::Micro, CodecType::Output];
    assert_eq!(
        text(&sound),
        "<sound model='ich6'>\n  <codec type='micro'/>\n  <codec type='output'/>\n</sound>\n"
    );

    let mut audio = Audio::new(1, AudioType::Oss);
    audio.try_mmap = Some(true);
    audio.exclusive = Some(true);
    audio.dsp_policy = Some(3);
    audio.input = Some(AudioIo {
        mixing_engine: Some(true),
        fixed_settings: Some(true),
        voices: Some(1),
        dev: Some("/dev/dsp0".into()),
        try_poll: Some(true),
        settings: Some(AudioSettings {
            frequency: Some(44100),
            channels: Some(2),
            format: Some(AudioFormat::S16),
        }),
        ..Default::default()
    });
    let out = text(&audio);
    assert_eq!(
        out,
        "<audio id='1' type='oss' tryMMap='yes' exclusive='yes' dspPolicy='3'>\n  \
         <input mixingEngine='yes' fixedSettings='yes' voices='1' dev='/dev/dsp0' tryPoll='yes'>\n    \
         <settings frequency='44100' channels='2' format='s16'/>\n  </input>\n</audio>\n"
    );
    let again = Audio::from_element(&parse(&out)).expect("re-read");
    assert_eq!(again, audio);
}

mod props {
    use super::*;
    use proptest::prelude::*;
    use virt_xml::devices::audio::SdlAudioDriver;
    use virt_xml::devices::graphics::{ImageCompression, SharePolicy, WanCompression};
    use virt_xml::devices::input::InputModel;

    fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
        proptest::sample::select(all)
    }

    /// Text libvirt would keep as is (escaping included).
    fn name() -> impl Strategy<Value = String> {
        "[a-z0-9/&<'\" ._-]{1,12}"
    }

    fn listen() -> impl Strategy<Value = Listen> {
        prop_oneof![
            proptest::option::of(name()).prop_map(Listen::Address),
            (name(), proptest::option::of(name()))
                .prop_map(|(network, address)| Listen::Network { network, address }),
            proptest::option::of(name()).prop_map(Listen::Socket),
            Just(Listen::None),
        ]
    }

    fn graphics() -> impl Strategy<Value = Graphics> {
        (
            (
                pick(GraphicsType::ALL),
                proptest::option::of(-1i32..65536),
                proptest::option::of(any::<bool>()),
                proptest::option::of(name()),
                proptest::option::of(pick(SharePolicy::ALL)),
            ),
            (
                proptest::collection::vec(listen(), 0..3),
                proptest::option::of(pick(ImageCompression::ALL)),
                proptest::option::of(pick(WanCompression::ALL)),
                proptest::option::of(any::<bool>()),
                proptest::option::of(any::<u8>()),
            ),
        )
            .prop_map(
                |((t, port, autoport, keymap, share), (listens, image, jpeg, ft, audio))| {
                    let mut g = Graphics::new(t);
                    g.port = port;
                    g.autoport = autoport;
                    g.keymap = keymap;
                    g.share_policy = share;
                    g.listens = listens;
                    g.image_compression = image;
                    g.jpeg_compression = jpeg;
                    g.filetransfer_enable = ft;
                    g.audio_id = audio;
                    g
                },
            )
    }

    fn audio_io() -> impl Strategy<Value = AudioIo> {
        (
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(name()),
            proptest::option::of(any::<u32>()),
            proptest::option::of((any::<u32>(), pick(AudioFormat::ALL))),
        )
            .prop_map(|(mixing, voices, dev, latency, settings)| AudioIo {
                mixing_engine: mixing,
                voices,
                dev,
                latency,
                settings: settings.map(|(f, fmt)| AudioSettings {
                    frequency: Some(f),
                    channels: None,
                    format: Some(fmt),
                }),
                ..Default::default()
            })
    }

    fn audio() -> impl Strategy<Value = Audio> {
        (
            1u8..=255,
            pick(AudioType::ALL),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<i32>()),
            proptest::option::of(pick(SdlAudioDriver::ALL)),
            proptest::option::of(audio_io()),
            proptest::option::of(audio_io()),
        )
            .prop_map(|(id, t, period, dsp, driver, input, output)| {
                let mut a = Audio::new(id, t);
                a.timer_period = period;
                a.dsp_policy = dsp;
                a.driver = driver;
                a.input = input;
                a.output = output;
                a
            })
    }

    proptest! {
        #[test]
        fn graphics_reads_back_what_it_writes(g in graphics()) {
            let out = text(&g);
            let again = Graphics::from_element(&parse(&out)).expect("re-read");
            prop_assert_eq!(text(&again), out);
            let mut expect = g.clone();
            // An explicit listen/socket attribute is the same as the implied one.
            expect.listen = None;
            expect.socket = None;
            prop_assert_eq!(again, expect);
        }

        #[test]
        fn audio_reads_back_what_it_writes(a in audio()) {
            let out = text(&a);
            prop_assert_eq!(Audio::from_element(&parse(&out)).expect("re-read"), a);
        }

        #[test]
        fn input_and_video_read_back(
            t in pick(InputType::ALL),
            bus in proptest::option::of(pick(InputBus::ALL)),
            model in proptest::option::of(pick(InputModel::ALL)),
            vt in pick(VideoModelType::ALL),
            vram in proptest::option::of(any::<u32>()),
            heads in proptest::option::of(any::<u32>()),
        ) {
            let mut i = Input::new(t, bus);
            i.model = model;
            prop_assert_eq!(Input::from_element(&parse(&text(&i))).expect("re-read"), i);
            let mut m = VideoModel::new(vt);
            m.vram = vram;
            m.heads = heads;
            let v = Video { driver: None, model: Some(m), info: Default::default() };
            prop_assert_eq!(Video::from_element(&parse(&text(&v))).expect("re-read"), v);
        }
    }
}
