//! For generated domain values, parse(format(d)) == d.

use proptest::prelude::*;
use virt_xml::domain::{CrashAction, LifecycleAction, Memory, OnOff, Placement, Vcpu};
use virt_xml::tree::parse;
use virt_xml::{Device, DeviceKind, Domain, DomainType, KiB, MacAddr, Uuid};

fn nic(mut mac: [u8; 6], bridge: String, slot: u8) -> Device {
    mac[0] &= 0xfe; // guest MACs are unicast; the schema refuses multicast ones
    let xml = format!(
        "<interface type='bridge'><mac address='{}'/><source bridge='{bridge}'/>\
         <address type='pci' domain='0x0000' bus='0x00' slot='0x{slot:02x}' function='0x0'/></interface>",
        MacAddr(mac)
    );
    Device {
        kind: DeviceKind::Interface,
        xml: parse(&xml).expect("nic"),
    }
}

fn domain() -> impl Strategy<Value = Domain> {
    (
        (
            prop::sample::select(DomainType::ALL),
            prop::option::of(1i32..10_000),
            "[a-zA-Z0-9_][a-zA-Z0-9_.&<'\"-]{0,20}",
            prop::option::of(any::<[u8; 16]>()),
            prop::option::of("[ -~]{1,30}"),
        ),
        (
            prop::option::of((
                1u64..1 << 40,
                prop::option::of(prop::sample::select(OnOff::ALL)),
            )),
            prop::option::of((
                1u32..512,
                prop::sample::select(Placement::ALL),
                prop::option::of(1u32..512),
            )),
            prop::option::of(prop::sample::select(CrashAction::ALL)),
            prop::option::of(prop::sample::select(LifecycleAction::ALL)),
            prop::collection::vec((any::<[u8; 6]>(), "br[0-9]{1,3}", 1u8..0x1f), 0..4),
        ),
    )
        .prop_map(
            |((ty, id, name, uuid, title), (mem, vcpu, crash, reboot, nics))| {
                let mut d = Domain::new(ty, name);
                d.id = id;
                d.uuid = uuid.map(Uuid);
                d.title = title;
                d.memory = mem.map(|(kib, dump_core)| Memory {
                    size: KiB(kib),
                    dump_core,
                });
                d.current_memory = mem.map(|(kib, _)| KiB(kib / 2));
                d.vcpu = vcpu.map(|(count, placement, current)| Vcpu {
                    count,
                    placement,
                    cpuset: None,
                    current,
                });
                d.on_crash = crash;
                d.on_reboot = reboot;
                d.has_devices = !nics.is_empty();
                d.devices = nics.into_iter().map(|(m, b, s)| nic(m, b, s)).collect();
                d
            },
        )
}

/// Positions are where the parser found things, so compare without them.
fn strip(mut d: Domain) -> Domain {
    fn clear(e: &mut virt_xml::tree::Element) {
        e.pos = Default::default();
        for a in &mut e.attrs {
            a.pos = Default::default();
        }
        e.children
            .retain(|n| !matches!(n, virt_xml::tree::Node::Text(t) if t.trim().is_empty()));
        for c in &mut e.children {
            if let virt_xml::tree::Node::Element(c) = c {
                clear(c);
            }
        }
    }
    for dev in &mut d.devices {
        clear(&mut dev.xml);
    }
    for s in &mut d.sections {
        clear(s);
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parse_of_format_is_identity(d in domain()) {
        let xml = d.to_xml();
        let back = Domain::parse(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(strip(back), strip(d), "{}", xml);
    }

    #[test]
    fn format_is_a_fixed_point(d in domain()) {
        let xml = d.to_xml();
        let again = Domain::parse(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?.to_xml();
        prop_assert_eq!(again, xml);
    }
}

fn seed() -> &'static str {
    static SEED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let path = virt_testkit::libvirt_data("domain-canonical")
            .join("q35-virt-manager-basic.x86_64-latest.xml");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary text never panics the parser.
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = Domain::parse(&s);
    }

    /// Mutated real documents never panic; what is accepted formats to a fixed point.
    #[test]
    fn mutated_documents_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, "[<>/='a-z0-9 ]{0,3}"), 1..6)) {
        let mut doc = seed().to_string();
        for (at, kind, text) in edits {
            let mut i = at.index(doc.len().max(1));
            while i > 0 && !doc.is_char_boundary(i) {
                i -= 1;
            }
            match kind {
                0 => doc.insert_str(i, &text),
                1 => {
                    let mut j = (i + text.len() + 1).min(doc.len());
                    while j < doc.len() && !doc.is_char_boundary(j) {
                        j += 1;
                    }
                    doc.replace_range(i..j, "");
                }
                2 => doc.replace_range(i..i, "'"),
                _ => doc.truncate(i),
            }
        }
        if let Ok(d) = Domain::parse(&doc) {
            let xml = d.to_xml();
            let again = Domain::parse(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
            prop_assert_eq!(again.to_xml(), xml);
        }
    }
}
