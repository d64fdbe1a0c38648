//! Property: a filter (or binding) that formats, parses back to the same value; formatting is a
//! fixed point.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use virt_xml::nwfilter::*;
use virt_xml::{MacAddr, Uuid};

fn var_access() -> impl Strategy<Value = VarAccess> {
    (
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
        prop_oneof![
            (0u32..=1000).prop_map(Access::Iterator),
            (0u32..100).prop_map(Access::Element)
        ],
    )
        .prop_map(|(name, access)| VarAccess { name, access })
}

fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn mask_mac() -> impl Strategy<Value = MacAddr> {
    (0u32..=48).prop_map(|n| {
        let bits: u64 = if n == 0 {
            0
        } else {
            (!0u64 << (48 - n)) & 0xffff_ffff_ffff
        };
        let b = bits.to_be_bytes();
        MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
    })
}

/// A literal value valid for attribute `name` of `p`.
fn literal(p: Protocol, name: &'static str) -> BoxedStrategy<Value> {
    let hex = any::<bool>();
    match name {
        "srcmacaddr" | "dstmacaddr" | "arpsrcmacaddr" | "arpdstmacaddr" | "root-address"
        | "sender-address" => mac().prop_map(Value::Mac).boxed(),
        "srcmacmask" | "dstmacmask" | "root-address-mask" | "sender-address-mask" => {
            mask_mac().prop_map(Value::Mac).boxed()
        }
        "comment" => "[a-zA-Z0-9 ,.;:!?()<>&'\"/=+-]{0,40}"
            .prop_map(Value::Text)
            .boxed(),
        "gratuitous" => any::<bool>().prop_map(Value::Bool).boxed(),
        "state" => prop_oneof![
            (1u8..16).prop_map(|b| Value::State(b << 1)),
            Just(Value::State(1 << 5))
        ]
        .boxed(),
        "flags" if p != Protocol::Stp => (0u8..=0x3f, 0u8..=0x3f)
            .prop_map(|(mask, flags)| Value::TcpFlags { mask, flags })
            .boxed(),
        "ipset" => "[A-Za-z0-9_.:+-]{1,20}".prop_map(Value::Ipset).boxed(),
        "ipsetflags" => (1u8..=6, 0u8..64)
            .prop_map(|(count, bits)| Value::IpsetFlags {
                count,
                src_bits: bits & ((1 << count) - 1),
            })
            .boxed(),
        "protocolid" | "encap-protocol" => (0x600u16..=0xffff, hex)
            .prop_map(|(v, hex)| Value::U16 { v, hex })
            .boxed(),
        "vlanid" => (0u16..=4095, hex)
            .prop_map(|(v, hex)| Value::U16 { v, hex })
            .boxed(),
        "opcode" => (0u16..=0xffff)
            .prop_map(|v| Value::U16 { v, hex: false })
            .boxed(),
        "protocol" => (0u8..=255, hex)
            .prop_map(|(v, hex)| Value::U8 { v, hex })
            .boxed(),
        "dscp" => (0u8..=63, hex)
            .prop_map(|(v, hex)| Value::U8 { v, hex })
            .boxed(),
        "connlimit-above" => any::<u16>()
            .prop_map(|v| Value::U16 { v, hex: false })
            .boxed(),
        "root-cost" | "root-cost-hi" => (any::<u32>(), hex)
            .prop_map(|(v, hex)| Value::U32 { v, hex })
            .boxed(),
        "type" | "typeend" | "code" | "codeend" | "option" | "flags" => (any::<u8>(), hex)
            .prop_map(|(v, hex)| Value::U8 { v, hex })
            .boxed(),
        _ if name.ends_with("mask") => {
            let v6 = matches!(
                p,
                Protocol::Ipv6
                    | Protocol::TcpIpv6
                    | Protocol::UdpIpv6
                    | Protocol::SctpIpv6
                    | Protocol::Icmpv6
                    | Protocol::UdpliteIpv6
                    | Protocol::EspIpv6
                    | Protocol::AhIpv6
                    | Protocol::AllIpv6
            ) && !name.starts_with("arp");
            (0u8..=if v6 { 128 } else { 32 })
                .prop_map(Value::Mask)
                .boxed()
        }
        _ if name.contains("ip") && !name.contains("port") => {
            let v6 = p.attribute_names().any(|n| n == "srcipaddr")
                && !matches!(p, Protocol::Arp | Protocol::Rarp)
                && p.is_ipv6()
                || p == Protocol::Ipv6;
            if v6 && name != "dstipto" {
                any::<[u8; 16]>()
                    .prop_map(|b| Value::Ipv6(Ipv6Addr::from(b)))
                    .boxed()
            } else {
                any::<[u8; 4]>()
                    .prop_map(|b| Value::Ipv4(Ipv4Addr::from(b)))
                    .boxed()
            }
        }
        _ => (any::<u16>(), hex)
            .prop_map(|(v, hex)| Value::U16 { v, hex })
            .boxed(),
    }
}

/// Whether libvirt's nwfilter.rng lets `<P attr=...>` appear: the parser's attribute table knows
/// a few the schema does not (e.g. `state` on the `-ipv6` variants of esp, ah, udplite and all),
/// and documents must stay schema-valid.
fn schema_allows(p: Protocol, attr: &str) -> bool {
    !matches!(
        probe(p, attr),
        Err(virt_xml::XmlError::UnknownAttribute { .. })
    )
}

/// Whether the schema lets attribute `attr` of `<P>` hold a variable (`$V`); some (e.g. `state`,
/// icmp `type`) take literals only.
fn schema_takes_var(p: Protocol, attr: &str) -> bool {
    probe(p, attr).is_ok()
}

fn probe(p: Protocol, attr: &str) -> Result<Filter, virt_xml::XmlError> {
    parse_filter(&format!(
        "<filter name='x'><rule action='accept' direction='in'><{} {attr}='$V'/></rule></filter>",
        p.name()
    ))
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        prop::sample::select(Action::ALL.to_vec()),
        prop::sample::select(Direction::ALL.to_vec()),
        -1000i32..=1000,
        any::<bool>(),
        prop::option::of(prop::sample::select(Protocol::ALL.to_vec())),
    )
        .prop_flat_map(|(action, direction, priority, no_statematch, protocol)| {
            let names: Vec<&'static str> = protocol
                .map(|p| {
                    p.attribute_names()
                        .filter(|n| schema_allows(p, n))
                        .collect()
                })
                .unwrap_or_default();
            let fields: Vec<BoxedStrategy<Option<(&'static str, Item)>>> = names
                .into_iter()
                .map(|n| {
                    let p = protocol.unwrap_or(Protocol::Mac);
                    // libvirt's parser reads `dstipto` of the -ipv6 protocols as IPv4 while
                    // its schema wants IPv6: only a variable satisfies both.
                    let value = if n == "dstipto" && p.is_ipv6() {
                        var_access().prop_map(ItemValue::Var).boxed()
                    } else if !schema_takes_var(p, n) {
                        literal(p, n).prop_map(ItemValue::Literal).boxed()
                    } else {
                        prop_oneof![
                            4 => literal(p, n).prop_map(ItemValue::Literal),
                            1 => var_access().prop_map(ItemValue::Var)
                        ]
                        .boxed()
                    };
                    prop::option::weighted(
                        0.3,
                        (any::<bool>(), value)
                            .prop_map(move |(negate, value)| (n, Item { negate, value })),
                    )
                    .boxed()
                })
                .collect();
            (fields, any::<bool>()).prop_map(move |(fields, negate_all)| {
                let mut fields = fields
                    .into_iter()
                    .flatten()
                    .map(|(n, mut i)| {
                        i.negate = negate_all && i.negate;
                        (n, i)
                    })
                    .collect::<BTreeMap<_, _>>();
                // libvirt 9.0 keeps an ipset on a non-`all` protocol only when ipsetflags are
                // absent, and then adds them, so the next parse drops both: not a fixed point
                // (libvirt's own behaviour), left out here.
                if !matches!(protocol, Some(Protocol::All | Protocol::AllIpv6)) {
                    fields.retain(|k, _| !k.starts_with("ipset"));
                }
                // libvirt: ip/ipv6 port matches need protocol tcp, udp, dccp or sctp.
                if matches!(protocol, Some(Protocol::Ip | Protocol::Ipv6))
                    && fields.keys().any(|k| k.contains("port"))
                {
                    fields.insert(
                        "protocol",
                        Item {
                            negate: false,
                            value: ItemValue::Literal(Value::U8 { v: 6, hex: true }),
                        },
                    );
                }
                Rule {
                    action,
                    direction,
                    priority,
                    no_statematch,
                    protocol,
                    fields,
                }
            })
        })
}

fn params() -> impl Strategy<Value = Params> {
    prop::collection::btree_map(
        "[A-Za-z0-9_]{1,8}",
        prop::collection::vec("[A-Za-z0-9_.:]{1,12}", 1..3),
        0..3,
    )
}

fn filter() -> impl Strategy<Value = Filter> {
    (
        "[a-zA-Z0-9_-]{1,20}",
        any::<[u8; 16]>(),
        prop_oneof![
            Just("root".to_string()),
            "(mac|vlan|stp|arp|rarp|ipv4|ipv6)[a-z0-9_-]{0,4}"
        ],
        -1000i32..=1000,
        prop::collection::vec(
            prop_oneof![
                4 => rule().prop_map(Entry::Rule),
                1 => ("[a-zA-Z0-9_-]{1,12}", params())
                    .prop_map(|(filter, params)| Entry::Ref(FilterRef { filter, params }))
            ],
            0..6,
        ),
    )
        .prop_map(|(name, uuid, chain, prio, entries)| Filter {
            name,
            uuid: Uuid(uuid),
            chain_priority: if chain == "root" || prio != 0 {
                prio
            } else {
                1
            },
            chain,
            entries,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn filter_format_parse_is_a_fixed_point(f in filter()) {
        // The first round trip canonicalizes (libvirt's fix-ups); from then on it is the identity.
        let once = parse_filter(&format_filter(&f)).expect("formatted filter parses");
        let xml = format_filter(&once);
        let twice = parse_filter(&xml).expect("parses again");
        prop_assert_eq!(&twice, &once);
        prop_assert_eq!(format_filter(&twice), xml);
        prop_assert_eq!(once.entries.len(), f.entries.len());
    }

    #[test]
    fn plain_rules_round_trip_exactly(f in filter()) {
        // Without negations, variables and ipsets nothing is canonicalized: parse(format(x)) == x.
        let mut f = f;
        for e in &mut f.entries {
            if let Entry::Rule(r) = e {
                r.fields.retain(|n, i| {
                    !n.starts_with("ipset") && matches!(i.value, ItemValue::Literal(_))
                });
                for (n, i) in r.fields.iter_mut() {
                    i.negate = false;
                    // A named IP protocol is written by name and reads back as hex.
                    if let ItemValue::Literal(Value::U8 { v, hex }) = &mut i.value {
                        if *n == "protocol" && [1, 2, 6, 17, 50, 51, 58, 132, 136].contains(v) {
                            *hex = true;
                        }
                    }
                }
            }
        }
        prop_assert_eq!(parse_filter(&format_filter(&f)).expect("parses"), f);
    }

    #[test]
    fn binding_round_trips(
        name in "[a-zA-Z0-9_ -]{1,20}",
        uuid in any::<[u8; 16]>(),
        port in "[a-z0-9]{1,15}",
        link in prop::option::of("[a-z0-9]{1,15}"),
        m in any::<[u8; 6]>(),
        filter in "[a-zA-Z0-9_-]{1,20}",
        params in params(),
    ) {
        let b = Binding {
            owner_name: name,
            owner_uuid: Uuid(uuid),
            portdev: port,
            linkdev: link,
            // The schema's uniMacAddr: a unicast address.
            mac: MacAddr([m[0] & !1, m[1], m[2], m[3], m[4], m[5]]),
            filter: FilterRef { filter, params },
        };
        prop_assert_eq!(parse_binding(&format_binding(&b)).expect("parses"), b);
    }
}
