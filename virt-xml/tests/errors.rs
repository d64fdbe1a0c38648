//! Bad input is refused with an error naming the element/attribute and line:column.

use virt_xml::{Domain, Pos, XmlError};

const GOOD: &str = "<domain type='kvm'>
  <name>g1</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
  </os>
  <on_crash>destroy</on_crash>
  <devices>
    <interface type='bridge'>
      <mac address='52:54:00:aa:bb:cc'/>
      <source bridge='br0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
  </devices>
</domain>
";

fn refuse(from: &str, to: &str) -> XmlError {
    let xml = GOOD.replacen(from, to, 1);
    assert_ne!(xml, GOOD, "replacement {from:?} did not apply");
    Domain::parse(&xml).expect_err("must be refused")
}

#[test]
fn the_base_document_is_accepted() {
    let d = Domain::parse(GOOD).expect("valid");
    assert_eq!(d.memory.map(|m| m.size.0), Some(512 * 1024));
    let nics: Vec<_> = d.interfaces().collect();
    assert_eq!(nics.len(), 1);
    assert_eq!(
        nics[0]
            .mac
            .as_ref()
            .map(|m| m.address.to_string())
            .as_deref(),
        Some("52:54:00:aa:bb:cc")
    );
    assert_eq!(
        nics[0].source.as_ref().and_then(|s| s.bridge.as_deref()),
        Some("br0")
    );
    match &nics[0].info.address {
        Some(virt_xml::address::Address::Pci { addr, .. }) => {
            assert_eq!(addr.to_string(), "0000:00:03.0")
        }
        other => panic!("address {other:?}"),
    }
}

#[test]
fn malformed_xml_names_the_line() {
    let e = refuse("</name>", "</nam>");
    assert!(matches!(e, XmlError::Syntax { .. }), "{e}");
    assert_eq!(e.pos().line, 2, "{e}");
}

#[test]
fn unknown_enum_value_names_attribute_and_place() {
    let e = refuse("type='bridge'", "type='bridgey'");
    match &e {
        XmlError::InvalidValue {
            pos,
            element,
            what,
            value,
            ..
        } => {
            assert_eq!(*pos, Pos { line: 11, col: 16 }, "{e}");
            assert_eq!(element, "interface");
            assert_eq!(what, "attribute 'type'");
            assert_eq!(value, "bridgey");
        }
        other => panic!("wrong error: {other}"),
    }
    let e = refuse("<on_crash>destroy", "<on_crash>explode");
    assert!(
        matches!(&e, XmlError::InvalidValue { element, .. } if element == "on_crash"),
        "{e}"
    );
    assert_eq!(e.pos(), Pos { line: 9, col: 3 });
}

#[test]
fn unknown_element_and_attribute_are_named() {
    let e = refuse("<source bridge", "<sorce bridge");
    let e2 = refuse("<vcpu>", "<vcpu mode='x'>");
    assert!(
        matches!(&e, XmlError::UnknownElement { element, parent, .. } if element == "sorce" && parent == "interface"),
        "{e}"
    );
    assert_eq!(e.pos(), Pos { line: 13, col: 7 });
    assert!(
        matches!(&e2, XmlError::UnknownAttribute { attribute, element, .. } if attribute == "mode" && element == "vcpu"),
        "{e2}"
    );
    assert_eq!(e2.pos(), Pos { line: 5, col: 9 });
}

#[test]
fn bad_mac_is_refused_with_its_place() {
    let e = refuse("52:54:00:aa:bb:cc", "52:54:00:aa:bb");
    assert!(
        matches!(&e, XmlError::InvalidValue { element, .. } if element == "mac"),
        "{e}"
    );
    assert_eq!(e.pos(), Pos { line: 12, col: 12 });
    assert!(e.to_string().starts_with("12:12:"), "{e}");
}

#[test]
fn bad_uuid_is_refused_with_its_place() {
    let e = refuse("c7a5fdbd-edaf", "c7a5fdbd-edzz");
    assert!(
        matches!(&e, XmlError::InvalidValue { element, .. } if element == "uuid"),
        "{e}"
    );
    assert_eq!(e.pos(), Pos { line: 3, col: 3 });
}

#[test]
fn bad_pci_address_is_refused_with_its_place() {
    let e = refuse("slot='0x03'", "slot='0x20'");
    assert!(
        matches!(&e, XmlError::InvalidValue { element, what, .. } if element == "address" && what == "attribute 'slot'"),
        "{e}"
    );
    assert_eq!(e.pos().line, 14);
    let e = refuse("function='0x0'", "function='0x9'");
    assert_eq!(e.pos().line, 14, "{e}");
}

#[test]
fn bad_memory_unit_is_refused() {
    let e = refuse("unit='MiB'", "unit='parsecs'");
    assert_eq!(e.pos(), Pos { line: 4, col: 11 }, "{e}");
}

#[test]
fn typed_views_of_disks_hostdevs_and_os() {
    let path = virt_testkit::libvirt_data("domain-canonical")
        .join("q35-virt-manager-basic.x86_64-latest.xml");
    let xml = std::fs::read_to_string(path).expect("read");
    let d = Domain::parse(&xml).expect("parse");
    let os = d.os_def.as_ref().expect("os");
    assert_eq!(os.os_type, virt_xml::os::OsType::Hvm);
    assert_eq!(os.arch.as_deref(), Some("x86_64"));
    let disks: Vec<_> = d.disks().collect();
    assert!(!disks.is_empty());
    assert!(disks.iter().all(|k| !k.target.dev.is_empty()), "{disks:?}");
    let hd = Domain::parse(
        "<domain type='kvm'><name>h</name><devices><hostdev mode='subsystem' type='pci' managed='yes'>\
         <source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source></hostdev>\
         </devices></domain>",
    )
    .expect("hostdev");
    let h = hd.hostdevs().next().expect("one hostdev");
    assert_eq!(h.managed, Some(virt_xml::os::YesNo::Yes));
    match &h.source {
        virt_xml::devices::hostdev::HostdevSource::Pci { address, .. } => {
            assert_eq!(*address, "0000:06:12.5".parse().expect("pci"))
        }
        other => panic!("source {other:?}"),
    }
}

#[test]
fn cross_element_rules_are_enforced() {
    // Per-device boot order together with <os><boot>.
    let xml = GOOD
        .replacen("</type>", "</type>\n    <boot dev='hd'/>", 1)
        .replacen(
            "<source bridge='br0'/>",
            "<source bridge='br0'/>\n      <boot order='1'/>",
            1,
        );
    let e = Domain::parse(&xml).expect_err("boot both ways");
    assert!(
        matches!(&e, XmlError::Invalid { element, .. } if element == "boot"),
        "{e}"
    );
    assert_eq!(e.pos().line, 15, "{e}");
    // Two disks with one target.
    let disk = "<disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>";
    let xml = GOOD.replacen("<devices>", &format!("<devices>{disk}{disk}"), 1);
    let e = Domain::parse(&xml).expect_err("duplicate target");
    assert!(e.to_string().contains("vda"), "{e}");
}
