//! Typed `<interface>`, `<hostdev>`, `<redirdev>`, `<redirfilter>` and `<smartcard>`: every
//! instance in the corpora parses, writes back exactly as the reference writer does, and parses
//! again to an equal value; bad values are refused with their attribute and line:column.

mod support;

use std::collections::BTreeMap;

use virt_xml::devices::hostdev::{Hostdev, HostdevSource, ScsiSource};
use virt_xml::devices::interface::{
    ForwardProto, Interface, InterfaceSource, NetDriver, PortForward, PortRange, Teaming,
    TeamingType, Vlan, VlanTag,
};
use virt_xml::devices::redirdev::{ChrType, Redirdev, Redirfilter};
use virt_xml::devices::smartcard::Smartcard;
use virt_xml::domain::{InterfaceType, OnOff};
use virt_xml::tree::{self, Element};
use virt_xml::writer::Writer;
use virt_xml::XmlError;

const KINDS: &[&str] = &[
    "interface",
    "hostdev",
    "redirdev",
    "redirfilter",
    "smartcard",
];

/// Parses, writes and re-parses one element of `kind`; `Err` describes the first difference.
fn round_trip(kind: &str, el: &Element, exact: bool) -> Result<(), String> {
    fn go<T: PartialEq + std::fmt::Debug>(
        el: &Element,
        exact: bool,
        parse: fn(&Element) -> Result<T, XmlError>,
        write: fn(&T, &mut Writer),
    ) -> Result<(), String> {
        let v = parse(el).map_err(|e| format!("parse: {e}"))?;
        let mut w = Writer::new();
        write(&v, &mut w);
        let text = w.finish();
        let want = support::reference(el);
        if exact && text != want {
            return Err(format!("written:\n{text}reference:\n{want}"));
        }
        let again = tree::parse(&text).map_err(|e| format!("reparse: {e}"))?;
        let v2 = parse(&again).map_err(|e| format!("reparse: {e}"))?;
        if v2 != v {
            return Err(format!("reparsed value differs:\n{v:?}\n{v2:?}"));
        }
        Ok(())
    }
    match kind {
        "interface" => go(el, exact, Interface::from_element, Interface::write),
        "hostdev" => go(el, exact, Hostdev::from_element, Hostdev::write),
        "redirdev" => go(el, exact, Redirdev::from_element, Redirdev::write),
        "redirfilter" => go(el, exact, Redirfilter::from_element, Redirfilter::write),
        "smartcard" => go(el, exact, Smartcard::from_element, Smartcard::write),
        _ => Ok(()),
    }
}

#[test]
fn every_corpus_instance_round_trips_exactly() {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = 0;
    for (name, d) in support::corpus_domains() {
        for dev in &d.devices {
            let Some(kind) = KINDS.iter().find(|k| **k == dev.xml.name) else {
                continue;
            };
            *counts.entry(kind).or_default() += 1;
            if let Err(e) = round_trip(kind, &dev.xml, true) {
                failures += 1;
                println!("FAIL {name} <{kind}>: {e}");
            }
        }
    }
    println!("checked: {counts:?}, {failures} failures");
    assert_eq!(failures, 0);
    assert!(counts["interface"] >= 100, "{counts:?}");
    assert!(counts["hostdev"] >= 40, "{counts:?}");
    assert!(counts["redirdev"] >= 5, "{counts:?}");
    assert!(counts["redirfilter"] >= 2, "{counts:?}");
    assert!(counts["smartcard"] >= 6, "{counts:?}");
}

/// The input corpora (not canonical text): every instance that libvirt's schema accepts parses,
/// and what we write parses back to the same value.
#[test]
fn input_corpora_parse_and_reparse_equal() {
    let mut checked = 0;
    let mut failures = 0;
    for sub in ["qemu-argv", "generic-xml/in"] {
        let dir = virt_testkit::libvirt_data(sub);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            let Ok(d) = support::parse_raw(&text) else {
                continue;
            };
            for dev in &d.devices {
                let Some(kind) = KINDS.iter().find(|k| **k == dev.xml.name) else {
                    continue;
                };
                checked += 1;
                if let Err(e) = round_trip(kind, &dev.xml, false) {
                    failures += 1;
                    println!("FAIL {} <{kind}>: {e}", f.display());
                }
            }
        }
    }
    println!("input instances checked: {checked}, {failures} failures");
    assert!(checked > 50, "{checked}");
    assert_eq!(failures, 0);
}

fn parse(xml: &str) -> Element {
    tree::parse(xml).expect("well-formed")
}

#[test]
fn bad_enum_names_attribute_and_position() {
    let el = parse("<interface type='user'>\n  <link state='sideways'/>\n</interface>");
    let e = Interface::from_element(&el).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("2:"), "{msg}");
    assert!(
        msg.contains("'sideways'") && msg.contains("attribute 'state'"),
        "{msg}"
    );
    assert!(msg.contains("<link>"), "{msg}");
}

#[test]
fn bad_interface_type_is_refused() {
    let el = parse("<interface type='carrier-pigeon'/>");
    let e = Interface::from_element(&el).unwrap_err();
    assert!(e.to_string().contains("attribute 'type'"), "{e}");
}

#[test]
fn bad_number_names_attribute_and_position() {
    let el = parse("<interface type='user'>\n  <driver queues='many'/>\n</interface>");
    let e = Interface::from_element(&el).unwrap_err();
    assert_eq!(e.pos().line, 2);
    assert!(e.to_string().contains("attribute 'queues'"), "{e}");

    let el = parse("<interface type='user'>\n <mtu size='-1'/></interface>");
    let e = Interface::from_element(&el).unwrap_err();
    assert!(e.to_string().contains("attribute 'size'"), "{e}");
}

#[test]
fn bad_mac_and_ip_are_refused() {
    let el = parse("<interface type='user'><mac address='52:54:00:zz:00:01'/></interface>");
    let e = Interface::from_element(&el).unwrap_err();
    assert!(e.to_string().contains("attribute 'address'"), "{e}");

    let el =
        parse("<interface type='ethernet'>\n<ip address='10.0.0.300' prefix='24'/></interface>");
    let e = Interface::from_element(&el).unwrap_err();
    assert_eq!(e.pos().line, 2);
    assert!(e.to_string().contains("10.0.0.300"), "{e}");
}

#[test]
fn bad_hostdev_values_are_refused() {
    let el = parse(
        "<hostdev mode='subsystem' type='pci'>\n  <source>\n    \
         <address domain='0x0000' bus='0x100' slot='0x00' function='0x0'/>\n  \
         </source>\n</hostdev>",
    );
    let e = Hostdev::from_element(&el).unwrap_err();
    assert_eq!(e.pos().line, 3);
    assert!(e.to_string().contains("attribute 'bus'"), "{e}");

    let el = parse(
        "<hostdev mode='subsystem' type='mdev' model='vfio-xyz'>\
         <source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>",
    );
    let e = Hostdev::from_element(&el).unwrap_err();
    assert!(e.to_string().contains("attribute 'model'"), "{e}");

    let el = parse(
        "<hostdev mode='subsystem' type='mdev'><source><address uuid='nope'/></source></hostdev>",
    );
    assert!(Hostdev::from_element(&el).is_err());

    let el = parse("<hostdev mode='subsystem' type='usb'><source/></hostdev>");
    assert!(Hostdev::from_element(&el).is_ok());
    let el = parse("<hostdev mode='subsystem' type='usb'/>");
    let e = Hostdev::from_element(&el).unwrap_err();
    assert!(e.to_string().contains("<source>"), "{e}");
}

#[test]
fn bad_redir_and_smartcard_values_are_refused() {
    let el = parse("<redirfilter>\n  <usbdev vendor='0x12345' allow='yes'/>\n</redirfilter>");
    let e = Redirfilter::from_element(&el).unwrap_err();
    assert_eq!(e.pos().line, 2);
    assert!(e.to_string().contains("attribute 'vendor'"), "{e}");

    let el = parse("<redirdev bus='usb' type='carrier'/>");
    let e = Redirdev::from_element(&el).unwrap_err();
    assert!(e.to_string().contains("attribute 'type'"), "{e}");

    let el = parse("<smartcard mode='passthrough' type='tcp'><protocol type='smoke'/></smartcard>");
    let e = Smartcard::from_element(&el).unwrap_err();
    assert!(e.to_string().contains("'smoke'"), "{e}");
}

#[test]
fn hand_built_interface_writes_libvirt_order() {
    let mut nic = Interface::new(InterfaceType::Network);
    nic.mac = Some(
        "52:54:00:00:00:01"
            .parse::<virt_xml::MacAddr>()
            .unwrap()
            .into(),
    );
    nic.source = Some(InterfaceSource {
        network: Some("default".into()),
        ..Default::default()
    });
    nic.vlan = Some(Vlan {
        trunk: None,
        tags: vec![VlanTag {
            id: 42,
            native_mode: None,
        }],
    });
    nic.model = Some("virtio".into());
    nic.driver = Some(NetDriver {
        queues: Some(4),
        packed: Some(OnOff::On),
        ..Default::default()
    });
    nic.teaming = Some(Teaming {
        teaming_type: TeamingType::Persistent,
        persistent: None,
    });
    nic.mtu = Some(9000);
    let mut w = Writer::new();
    nic.write(&mut w);
    let text = w.finish();
    assert_eq!(
        text,
        "<interface type='network'>\n  <mac address='52:54:00:00:00:01'/>\n  \
         <source network='default'/>\n  <vlan>\n    <tag id='42'/>\n  </vlan>\n  \
         <model type='virtio'/>\n  <driver queues='4' packed='on'/>\n  \
         <teaming type='persistent'/>\n  <mtu size='9000'/>\n</interface>\n"
    );
    assert_eq!(Interface::from_element(&parse(&text)).unwrap(), nic);
}

#[test]
fn hand_built_passt_interface_round_trips() {
    let mut nic = Interface::new(InterfaceType::User);
    nic.port_forwards.push(PortForward {
        proto: ForwardProto::Tcp,
        address: Some("2001:db8::1".parse().unwrap()),
        dev: None,
        ranges: vec![PortRange {
            start: 22,
            end: None,
            to: Some(2022),
            exclude: None,
        }],
    });
    let mut w = Writer::new();
    nic.write(&mut w);
    let text = w.finish();
    assert_eq!(
        text,
        "<interface type='user'>\n  <portForward proto='tcp' address='2001:db8::1'>\n    \
         <range start='22' to='2022'/>\n  </portForward>\n</interface>\n"
    );
    assert_eq!(Interface::from_element(&parse(&text)).unwrap(), nic);
}

#[test]
fn hand_built_hostdevs_and_redirdev() {
    let dev = Hostdev::new(HostdevSource::Scsi(ScsiSource::Adapter {
        adapter: "scsi_host0".into(),
        bus: 0,
        target: 0,
        unit: 1,
    }));
    let mut w = Writer::new();
    dev.write(&mut w);
    assert_eq!(
        w.finish(),
        "<hostdev mode='subsystem' type='scsi'>\n  <source>\n    <adapter name='scsi_host0'/>\n    \
         <address bus='0' target='0' unit='1'/>\n  </source>\n</hostdev>\n"
    );

    let dev = Hostdev::new(HostdevSource::Usb {
        startup_policy: None,
        guest_reset: None,
        vendor: Some(0x1d6b),
        product: Some(0x0002),
        address: None,
    });
    let mut w = Writer::new();
    dev.write(&mut w);
    let text = w.finish();
    assert_eq!(
        text,
        "<hostdev mode='subsystem' type='usb'>\n  <source>\n    <vendor id='0x1d6b'/>\n    \
         <product id='0x0002'/>\n  </source>\n</hostdev>\n"
    );
    assert_eq!(Hostdev::from_element(&parse(&text)).unwrap(), dev);

    let r = Redirdev {
        bus: virt_xml::devices::redirdev::RedirdevBus::Usb,
        chr_type: ChrType::Spicevmc,
        backend: Default::default(),
        info: Default::default(),
    };
    let mut w = Writer::new();
    r.write(&mut w);
    assert_eq!(w.finish(), "<redirdev bus='usb' type='spicevmc'/>\n");
}

mod props {
    use super::*;
    use proptest::prelude::*;
    use virt_xml::devices::interface::{Bandwidth, BandwidthRate, IpAddress, LinkState, Route};
    use virt_xml::devices::redirdev::UsbdevRule;
    use virt_xml::os::YesNo;

    fn yes_no() -> impl Strategy<Value = YesNo> {
        prop_oneof![Just(YesNo::Yes), Just(YesNo::No)]
    }

    fn rule() -> impl Strategy<Value = UsbdevRule> {
        (
            proptest::option::of(any::<u8>()),
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u16>()),
            proptest::option::of((any::<u8>(), any::<u8>())),
            yes_no(),
        )
            .prop_map(|(class, vendor, product, version, allow)| UsbdevRule {
                class,
                vendor,
                product,
                version,
                allow,
            })
    }

    fn ip() -> impl Strategy<Value = std::net::IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(std::net::IpAddr::from),
            any::<[u16; 8]>().prop_map(std::net::IpAddr::from),
        ]
    }

    /// Any text a user might put in a name or path, including XML's special characters.
    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_/<>&'\" .-]{1,12}"
            .prop_map(|s| s.trim().to_string())
            .prop_filter("non-empty", |s| !s.is_empty())
    }

    fn interface() -> impl Strategy<Value = Interface> {
        (
            proptest::sample::select(
                InterfaceType::ALL
                    .iter()
                    .copied()
                    .filter(|t| *t != InterfaceType::Vds)
                    .collect::<Vec<_>>(),
            ),
            proptest::option::of(any::<[u8; 6]>()),
            proptest::option::of(name()),
            proptest::collection::vec((ip(), proptest::option::of(0u8..=128)), 0..3),
            proptest::collection::vec((ip(), ip(), proptest::option::of(any::<u32>())), 0..2),
            proptest::option::of((any::<u64>(), proptest::option::of(any::<u64>()))),
            proptest::option::of(1u32..=65535),
            proptest::option::of(prop_oneof![Just(LinkState::Up), Just(LinkState::Down)]),
            proptest::option::of(name()),
            proptest::option::of(any::<u64>()),
        )
            .prop_map(
                |(ty, mac, bridge, ips, routes, bw, mtu, link, model, sndbuf)| {
                    let mut nic = Interface::new(ty);
                    nic.mac = mac.map(|m| virt_xml::MacAddr(m).into());
                    nic.source = bridge.map(|b| InterfaceSource {
                        bridge: Some(b),
                        ..Default::default()
                    });
                    nic.ips = ips
                        .into_iter()
                        .map(|(a, p)| IpAddress {
                            prefix: p,
                            ..IpAddress::new(a)
                        })
                        .collect();
                    nic.routes = routes
                        .into_iter()
                        .map(|(address, gateway, metric)| Route {
                            family: None,
                            address,
                            netmask: None,
                            prefix: None,
                            gateway,
                            metric,
                        })
                        .collect();
                    nic.bandwidth = bw.map(|(average, burst)| Bandwidth {
                        class_id: None,
                        inbound: Some(BandwidthRate {
                            average: Some(average),
                            burst,
                            ..Default::default()
                        }),
                        outbound: None,
                    });
                    nic.mtu = mtu;
                    nic.link_state = link;
                    nic.model = model;
                    nic.sndbuf = sndbuf;
                    nic
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn redirfilter_values_round_trip(rules in proptest::collection::vec(rule(), 0..5)) {
            let f = Redirfilter { rules };
            let mut w = Writer::new();
            f.write(&mut w);
            let el = tree::parse(&w.finish()).expect("well-formed");
            prop_assert_eq!(Redirfilter::from_element(&el).expect("parses"), f);
        }

        #[test]
        fn interface_values_round_trip(nic in interface()) {
            let mut w = Writer::new();
            nic.write(&mut w);
            let text = w.finish();
            let el = tree::parse(&text).expect("well-formed");
            let back = Interface::from_element(&el).expect("parses");
            prop_assert_eq!(back, nic);
        }

        #[test]
        fn arbitrary_attribute_values_never_panic(
            v in "[ -~]{0,16}",
            attr in proptest::sample::select(vec!["queues", "state", "size", "address", "id", "type", "managed", "allow", "vendor", "version", "bus", "unit", "uuid", "mode"]),
        ) {
            let esc = virt_xml::writer::escape(&v);
            for xml in [
                format!("<interface type='user'><driver {attr}='{esc}'/><link {attr}='{esc}'/><mtu {attr}='{esc}'/><mac {attr}='{esc}'/><vlan><tag {attr}='{esc}'/></vlan></interface>"),
                format!("<interface type='{esc}'/>"),
                format!("<hostdev mode='subsystem' type='usb' {attr}='{esc}'><source><vendor {attr}='{esc}'/><address {attr}='{esc}'/></source></hostdev>"),
                format!("<hostdev mode='subsystem' type='scsi'><source><adapter name='a'/><address bus='0' target='0' {attr}='{esc}'/></source></hostdev>"),
                format!("<redirfilter><usbdev allow='yes' {attr}='{esc}'/></redirfilter>"),
                format!("<redirdev bus='usb' type='tcp'><source {attr}='{esc}'/></redirdev>"),
                format!("<smartcard mode='{esc}'/>"),
            ] {
                let Ok(el) = tree::parse(&xml) else {
                    continue;
                };
                let _ = Interface::from_element(&el);
                let _ = Hostdev::from_element(&el);
                let _ = Redirdev::from_element(&el);
                let _ = Redirfilter::from_element(&el);
                let _ = Smartcard::from_element(&el);
            }
        }
    }
}
