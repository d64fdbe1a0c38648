//! The typed character devices (`<serial>`, `<parallel>`, `<console>`, `<channel>`) and `<rng>`:
//! every instance in libvirt's own documents reads, writes back byte for byte and reads again to
//! the same value; bad values name their attribute and place; values built by hand write
//! libvirt's form.

mod support;

use std::collections::BTreeMap;

use virt_xml::devices::chardev::{
    CharSource, Chardev, ChrLog, ChrSource, ChrTarget, ChrType, ProtocolType, SourceMode,
    TargetType,
};
use virt_xml::devices::rng::{Rng, RngBackend, RngModel};
use virt_xml::domain::OnOff;
use virt_xml::tree::{self, Element};
use virt_xml::writer::Writer;
use virt_xml::{Pos, XmlError};

const CHARDEVS: &[&str] = &["serial", "parallel", "console", "channel"];

fn write_chardev(c: &Chardev, element: &str) -> String {
    let mut w = Writer::new();
    c.write(&mut w, element);
    w.finish()
}

fn write_rng(r: &Rng) -> String {
    let mut w = Writer::new();
    r.write(&mut w);
    w.finish()
}

/// Checks one element: parse, write == reference, parse again == same value.
fn check(el: &Element) -> Result<(), String> {
    let want = support::reference(el);
    if el.name == "rng" {
        let v = Rng::from_element(el).map_err(|e| format!("parse: {e}"))?;
        let got = write_rng(&v);
        if got != want {
            return Err(format!("written:\n{got}expected:\n{want}"));
        }
        let again = tree::parse(&got).map_err(|e| format!("reparse: {e}"))?;
        let v2 = Rng::from_element(&again).map_err(|e| format!("reparse: {e}"))?;
        if v2 != v {
            return Err(format!("round trip differs: {v:?} vs {v2:?}"));
        }
    } else {
        let v = Chardev::from_element(el).map_err(|e| format!("parse: {e}"))?;
        let got = write_chardev(&v, &el.name);
        if got != want {
            return Err(format!("written:\n{got}expected:\n{want}"));
        }
        let again = tree::parse(&got).map_err(|e| format!("reparse: {e}"))?;
        let v2 = Chardev::from_element(&again).map_err(|e| format!("reparse: {e}"))?;
        if v2 != v {
            return Err(format!("round trip differs: {v:?} vs {v2:?}"));
        }
    }
    Ok(())
}

#[test]
fn every_corpus_instance_round_trips() {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = 0usize;
    for (file, d) in support::corpus_domains() {
        for dev in &d.devices {
            let name = dev.xml.name.as_str();
            let Some(kind) = CHARDEVS.iter().chain(["rng"].iter()).find(|k| **k == name) else {
                continue;
            };
            *counts.entry(kind).or_default() += 1;
            if let Err(e) = check(&dev.xml) {
                failures += 1;
                println!("FAIL {file} <{name}>: {e}");
            }
        }
    }
    println!("checked: {counts:?}, failures: {failures}");
    assert_eq!(failures, 0, "{failures} elements failed");
    for k in ["serial", "console", "channel", "rng"] {
        assert!(
            counts.get(k).copied().unwrap_or(0) > 0,
            "no <{k}> in the corpus"
        );
    }
    assert!(counts["serial"] >= 28, "{counts:?}");
    assert!(counts["console"] >= 41, "{counts:?}");
    assert!(counts["channel"] >= 18, "{counts:?}");
    assert!(counts["rng"] >= 14, "{counts:?}");
}

/// Every `(element name, reference text)` in the corpus whose text contains `needle`.
fn corpus_with(element: &str, needle: &str) -> Vec<Element> {
    support::corpus_domains()
        .into_iter()
        .flat_map(|(_, d)| d.devices)
        .map(|dev| dev.xml)
        .filter(|x| x.name == element && support::reference(x).contains(needle))
        .collect()
}

#[test]
fn values_read_from_libvirt_documents() {
    // udp channel: a bind and a connect source, bind first.
    let udp = corpus_with("channel", "type='udp'");
    assert!(!udp.is_empty());
    let c = Chardev::from_element(&udp[0]).expect("udp");
    assert_eq!(c.source.kind, Some(ChrType::Udp));
    assert!(c.source.sources.len() <= 2);
    assert!(c
        .source
        .sources
        .iter()
        .all(|s| s.mode.is_some() && s.service.is_some() || s.host.is_some()));

    // serial with a log file.
    let logged = corpus_with("serial", "<log ");
    let c = Chardev::from_element(&logged[0]).expect("log");
    assert_eq!(
        c.source.log,
        Some(ChrLog {
            file: "/tmp/log".into(),
            append: Some(OnOff::On)
        })
    );

    // rng egd over tcp.
    let egd = corpus_with("rng", "type='tcp'");
    let r = Rng::from_element(&egd[0]).expect("egd");
    match r.backend {
        RngBackend::Egd(src) => {
            assert_eq!(src.kind, Some(ChrType::Tcp));
            assert_eq!(src.protocol, Some(Some(ProtocolType::Raw)));
            assert_eq!(src.sources[0].mode, Some(SourceMode::Connect));
        }
        other => panic!("not egd: {other:?}"),
    }
}

fn parse(xml: &str) -> Element {
    tree::parse(xml).expect("well-formed")
}

fn invalid_at(e: XmlError) -> (String, Pos) {
    match e {
        XmlError::InvalidValue {
            pos, what, value, ..
        } => (format!("{what}={value}"), pos),
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn bad_enum_value_names_attribute_and_place() {
    let el = parse("<serial type='pty'>\n  <target type='isa-serial' port='0'>\n    <model name='bogus'/>\n  </target>\n</serial>");
    let e = Chardev::from_element(&el).expect_err("bad model");
    assert!(e.to_string().contains("<model>"), "{e}");
    assert_eq!(
        invalid_at(e),
        ("attribute 'name'=bogus".into(), Pos { line: 3, col: 12 })
    );

    let el = parse("<channel type='unix'>\n  <source mode='listen' path='/x'/>\n</channel>");
    let e = Chardev::from_element(&el).expect_err("bad mode");
    assert_eq!(
        invalid_at(e),
        ("attribute 'mode'=listen".into(), Pos { line: 2, col: 11 })
    );

    let el = parse("<console type='teletype'/>");
    let e = Chardev::from_element(&el).expect_err("bad type");
    assert_eq!(
        invalid_at(e),
        ("attribute 'type'=teletype".into(), Pos { line: 1, col: 10 })
    );
}

#[test]
fn bad_number_names_attribute_and_place() {
    let el = parse("<serial type='pty'>\n<target port='one'/>\n</serial>");
    let e = Chardev::from_element(&el).expect_err("bad port");
    assert!(e.to_string().contains("<target>"), "{e}");
    assert_eq!(
        invalid_at(e),
        ("attribute 'port'=one".into(), Pos { line: 2, col: 9 })
    );

    let el =
        parse("<rng model='virtio'>\n  <rate bytes='-5'/>\n  <backend model='builtin'/>\n</rng>");
    let e = Rng::from_element(&el).expect_err("bad bytes");
    assert_eq!(
        invalid_at(e),
        ("attribute 'bytes'=-5".into(), Pos { line: 2, col: 9 })
    );

    let el = parse("<channel type='pty'>\n  <target type='guestfwd' address='10.0.2.300' port='4600'/>\n</channel>");
    let e = Chardev::from_element(&el).expect_err("bad address");
    assert_eq!(
        invalid_at(e),
        (
            "attribute 'address'=10.0.2.300".into(),
            Pos { line: 2, col: 27 }
        )
    );
}

#[test]
fn missing_parts_are_reported() {
    let el =
        parse("<rng model='virtio'>\n  <rate period='5'/>\n  <backend model='builtin'/>\n</rng>");
    let e = Rng::from_element(&el).expect_err("no bytes");
    assert!(matches!(e, XmlError::Missing { .. }), "{e:?}");
    assert_eq!(e.pos(), Pos { line: 2, col: 3 });
    let el = parse("<rng model='virtio'/>");
    assert!(matches!(
        Rng::from_element(&el),
        Err(XmlError::Missing { .. })
    ));
}

#[test]
fn hand_built_values_write_libvirt_form() {
    // A unix guest agent channel.
    let mut ch = Chardev::new(ChrType::Unix);
    ch.source.sources.push(ChrSource::unix(
        SourceMode::Bind,
        "/var/lib/libvirt/qemu/f16x86_64.agent",
    ));
    ch.target = Some(ChrTarget::virtio("org.qemu.guest_agent.0"));
    assert_eq!(
        write_chardev(&ch, "channel"),
        "<channel type='unix'>\n  \
         <source mode='bind' path='/var/lib/libvirt/qemu/f16x86_64.agent'/>\n  \
         <target type='virtio' name='org.qemu.guest_agent.0'/>\n</channel>\n"
    );

    // A udp serial port with both ends, and a guestfwd channel.
    let mut s = Chardev::new(ChrType::Udp);
    s.source.sources = vec![
        ChrSource::net(SourceMode::Bind, "0.0.0.0", "2222"),
        ChrSource::net(SourceMode::Connect, "127.0.0.1", "2223"),
    ];
    s.target = Some(ChrTarget::port(TargetType::IsaSerial, 0));
    assert_eq!(
        write_chardev(&s, "serial"),
        "<serial type='udp'>\n  \
         <source mode='bind' host='0.0.0.0' service='2222'/>\n  \
         <source mode='connect' host='127.0.0.1' service='2223'/>\n  \
         <target type='isa-serial' port='0'/>\n</serial>\n"
    );
    let mut g = Chardev::new(ChrType::Pipe);
    g.source.sources.push(ChrSource::path("/tmp/guestfwd"));
    g.target = Some(ChrTarget {
        kind: Some(TargetType::Guestfwd),
        address: Some("10.0.2.1".parse().expect("ip")),
        port: Some(4600),
        ..Default::default()
    });
    let text = write_chardev(&g, "channel");
    assert_eq!(
        text,
        "<channel type='pipe'>\n  <source path='/tmp/guestfwd'/>\n  \
         <target type='guestfwd' address='10.0.2.1' port='4600'/>\n</channel>\n"
    );
    assert_eq!(Chardev::from_element(&parse(&text)).expect("reparse"), g);

    // An egd rng over a unix socket.
    let mut src = CharSource::new(ChrType::Unix);
    src.sources
        .push(ChrSource::unix(SourceMode::Connect, "/tmp/egd.sock"));
    let rng = Rng::new(RngModel::VirtioNonTransitional, RngBackend::Egd(src));
    let text = write_rng(&rng);
    assert_eq!(
        text,
        "<rng model='virtio-non-transitional'>\n  <backend model='egd' type='unix'>\n    \
         <source mode='connect' path='/tmp/egd.sock'/>\n  </backend>\n</rng>\n"
    );
    assert_eq!(Rng::from_element(&parse(&text)).expect("reparse"), rng);
}

/// libvirt's input documents (qemu-argv cases, generic-xml/in): every instance of these kinds in
/// a document the domain parser accepts reads, and its written form reads back to the same value.
#[test]
fn input_documents_read_and_write_stably() {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = 0usize;
    for sub in ["qemu-argv", "generic-xml/in"] {
        let dir = virt_testkit::libvirt_data(sub);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for f in rd.filter_map(|e| e.ok().map(|e| e.path())) {
            if f.extension().is_none_or(|e| e != "xml") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let Ok(d) = support::parse_raw(&text) else {
                continue;
            };
            for dev in &d.devices {
                let el = &dev.xml;
                let name = el.name.as_str();
                let res = if name == "rng" {
                    Rng::from_element(el)
                        .map_err(|e| e.to_string())
                        .and_then(|v| {
                            let t = write_rng(&v);
                            let again = Rng::from_element(&parse(&t)).map_err(|e| e.to_string())?;
                            (again == v).then_some(()).ok_or(t)
                        })
                } else if CHARDEVS.contains(&name) {
                    Chardev::from_element(el)
                        .map_err(|e| e.to_string())
                        .and_then(|v| {
                            let t = write_chardev(&v, name);
                            let again =
                                Chardev::from_element(&parse(&t)).map_err(|e| e.to_string())?;
                            (again == v).then_some(()).ok_or(t)
                        })
                } else {
                    continue;
                };
                *counts.entry(name.to_string()).or_default() += 1;
                if let Err(e) = res {
                    failures += 1;
                    println!("FAIL {}: <{name}>: {e}", f.display());
                }
            }
        }
    }
    println!("checked: {counts:?}, failures: {failures}");
    assert_eq!(failures, 0);
    assert!(
        counts.get("parallel").copied().unwrap_or(0) > 0,
        "{counts:?}"
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;
    use virt_xml::devices::chardev::{
        ChannelState, DeviceSeclabel, MouseMode, Reconnect, TargetModel,
    };
    use virt_xml::devices::rng::Rng;
    use virt_xml::devices::rng::{RngDriver, RngRate};
    use virt_xml::devices::DeviceInfo;
    use virt_xml::os::YesNo;

    fn text() -> impl Strategy<Value = String> {
        "[a-z0-9/_.:<>&'\"-]{1,12}"
    }

    fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
        proptest::sample::select(all)
    }

    fn on_off() -> impl Strategy<Value = Option<OnOff>> {
        proptest::option::of(pick(OnOff::ALL))
    }

    fn yes_no() -> impl Strategy<Value = Option<YesNo>> {
        proptest::option::of(pick(YesNo::ALL))
    }

    fn seclabel() -> impl Strategy<Value = DeviceSeclabel> {
        (
            proptest::option::of(text()),
            any::<bool>(),
            yes_no(),
            proptest::collection::vec(text(), 0..2),
        )
            .prop_map(|(model, labelskip, relabel, labels)| DeviceSeclabel {
                model,
                labelskip,
                relabel,
                labels,
            })
    }

    fn chr_source() -> impl Strategy<Value = ChrSource> {
        (
            (
                proptest::option::of(pick(SourceMode::ALL)),
                proptest::option::of(text()),
                on_off(),
                proptest::option::of(text()),
                proptest::option::of(text()),
                yes_no(),
                proptest::option::of(text()),
            ),
            (
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::collection::vec(seclabel(), 0..2),
                proptest::option::of(
                    (pick(YesNo::ALL), proptest::option::of(any::<u32>()))
                        .prop_map(|(enabled, timeout)| Reconnect { enabled, timeout }),
                ),
                yes_no(),
                proptest::option::of(pick(MouseMode::ALL)),
            ),
        )
            .prop_map(
                |(
                    (mode, path, append, host, service, tls, channel),
                    (master, slave, seclabels, reconnect, clipboard, mouse),
                )| ChrSource {
                    mode,
                    path,
                    append,
                    host,
                    service,
                    tls,
                    channel,
                    master,
                    slave,
                    seclabels,
                    reconnect,
                    clipboard,
                    mouse,
                },
            )
    }

    fn char_source() -> impl Strategy<Value = CharSource> {
        (
            proptest::option::of(pick(ChrType::ALL)),
            proptest::collection::vec(chr_source(), 0..3),
            proptest::option::of(proptest::option::of(pick(ProtocolType::ALL))),
            proptest::option::of(
                (text(), on_off()).prop_map(|(file, append)| ChrLog { file, append }),
            ),
        )
            .prop_map(|(kind, sources, protocol, log)| CharSource {
                kind,
                sources,
                protocol,
                log,
            })
    }

    fn target() -> impl Strategy<Value = ChrTarget> {
        (
            proptest::option::of(pick(TargetType::ALL)),
            proptest::option::of(text()),
            proptest::option::of(pick(ChannelState::ALL)),
            proptest::option::of(any::<std::net::IpAddr>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(pick(TargetModel::ALL)),
        )
            .prop_map(|(kind, name, state, address, port, model)| ChrTarget {
                kind,
                name,
                state,
                address,
                port,
                model,
            })
    }

    fn info() -> impl Strategy<Value = DeviceInfo> {
        proptest::option::of(text()).prop_map(|alias| DeviceInfo {
            alias,
            ..Default::default()
        })
    }

    proptest! {
        #[test]
        fn chardev_writes_and_reads_back(
            source in char_source(),
            tty in proptest::option::of(text()),
            target in proptest::option::of(target()),
            info in info(),
            element in pick(CHARDEVS),
        ) {
            let c = Chardev { source, tty, target, info };
            let text = write_chardev(&c, element);
            let el = tree::parse(&text).expect("own output is well-formed");
            prop_assert_eq!(&el.name, element);
            prop_assert_eq!(Chardev::from_element(&el).expect("own output reads"), c);
            prop_assert_eq!(support::reference(&el), text);
        }

        #[test]
        fn rng_writes_and_reads_back(
            model in pick(RngModel::ALL),
            rate in proptest::option::of((1..u32::MAX, proptest::option::of(1..u32::MAX))
                .prop_map(|(bytes, period)| RngRate { bytes, period })),
            backend in prop_oneof![
                proptest::option::of(text()).prop_map(RngBackend::Random),
                char_source().prop_map(RngBackend::Egd),
                Just(RngBackend::Builtin),
            ],
            driver in proptest::option::of((on_off(), on_off(), on_off(), on_off())
                .prop_map(|(iommu, ats, packed, page_per_vq)| RngDriver { iommu, ats, packed, page_per_vq })),
            info in info(),
        ) {
            let r = Rng { model, rate, backend, driver, info };
            let text = write_rng(&r);
            let el = tree::parse(&text).expect("own output is well-formed");
            prop_assert_eq!(Rng::from_element(&el).expect("own output reads"), r);
            prop_assert_eq!(support::reference(&el), text);
        }
    }
}
