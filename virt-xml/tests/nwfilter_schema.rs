//! Formatted nwfilter output validates against libvirt's RelaxNG schema (`xmllint --relaxng`).

use std::fs;
use std::process::Command;

use virt_testkit::{Facility, TempDir};
use virt_xml::nwfilter::{format_filter, parse_filter};

#[test]
fn formatted_filters_validate_against_nwfilter_rng() {
    let Some(_t) =
        virt_testkit::system_test("nwfilter xmllint relaxng", &[Facility::Command("xmllint")])
    else {
        return;
    };
    let schema = virt_testkit::libvirt_data("schemas").join("nwfilter.rng");
    let tmp = TempDir::new("nwfschema").expect("tmp");
    let mut files = Vec::new();
    for dir in ["nwfilter-xml/in", "nwfilter-standard", "nwfilter-firewall"] {
        let d = virt_testkit::libvirt_data(dir);
        let mut entries: Vec<_> = fs::read_dir(&d)
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .collect();
        entries.sort();
        for p in entries {
            let text = fs::read_to_string(&p).expect("read");
            let Ok(f) = parse_filter(&text) else { continue };
            let out = tmp.path().join(format!(
                "{}-{}",
                dir.replace('/', "_"),
                p.file_name().and_then(|n| n.to_str()).unwrap_or("x")
            ));
            fs::write(&out, format_filter(&f)).expect("write");
            files.push(out);
        }
    }
    assert!(files.len() > 50, "{} files", files.len());
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--relaxng")
        .arg(&schema)
        .args(&files)
        .output()
        .expect("xmllint");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "xmllint:\n{err}");
    assert_eq!(
        err.lines().filter(|l| l.ends_with(" validates")).count(),
        files.len(),
        "{err}"
    );
}

#[test]
fn formatted_binding_validates_against_nwfilterbinding_rng() {
    let Some(_t) = virt_testkit::system_test(
        "nwfilter binding xmllint relaxng",
        &[Facility::Command("xmllint")],
    ) else {
        return;
    };
    let xml = "<filterbinding>\n  <owner>\n    <name>guest1</name>\n    \
               <uuid>d54df46f-1ab5-4a22-8618-4560ef5fac2c</uuid>\n  </owner>\n  \
               <portdev name='vnet0'/>\n  <linkdev name='eth0'/>\n  \
               <mac address='52:54:00:7b:35:93'/>\n  <filterref filter='clean-traffic'>\n    \
               <parameter name='IP' value='10.0.0.1'/>\n    \
               <parameter name='IP' value='10.0.0.2'/>\n    \
               <parameter name='MAC' value='52:54:00:7b:35:93'/>\n  </filterref>\n\
               </filterbinding>\n";
    let b = virt_xml::nwfilter::parse_binding(xml).expect("parse");
    let out = virt_xml::nwfilter::format_binding(&b);
    assert_eq!(out, xml);
    let tmp = TempDir::new("nwfbind").expect("tmp");
    let file = tmp.path().join("binding.xml");
    fs::write(&file, &out).expect("write");
    let schema = virt_testkit::libvirt_data("schemas").join("nwfilterbinding.rng");
    let res = Command::new("xmllint")
        .arg("--noout")
        .arg("--relaxng")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    // A binding without <portdev> is refused, naming what is missing.
    let err = virt_xml::nwfilter::parse_binding(&xml.replace("  <portdev name='vnet0'/>\n", ""))
        .expect_err("no portdev");
    assert!(err.to_string().contains("portdev"), "{err}");
}

/// Refusals through libvirt's nwfilter.rng name the element or attribute and where it stands.
mod refusals {
    use virt_xml::nwfilter::{parse_binding, parse_filter};
    use virt_xml::XmlError;

    const HEAD: &str = "<filter name='f' chain='root'>\n";

    #[test]
    fn unknown_element_inside_rule() {
        let xml = format!(
            "{HEAD}  <rule action='accept' direction='in'>\n    <tcp dstportstart='22'/>\n    \
             <bogus/>\n  </rule>\n</filter>\n"
        );
        let e = parse_filter(&xml).expect_err("unknown element");
        assert!(
            matches!(&e, XmlError::UnknownElement { parent, element, .. }
                if parent == "rule" && element == "bogus"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "4:5: unknown element <bogus> in <rule>",
            "{e:?}"
        );
    }

    #[test]
    fn unknown_attribute_on_tcp() {
        let xml = format!(
            "{HEAD}  <rule action='accept' direction='in'>\n    \
             <tcp dstportstart='22' dstportmiddle='30'/>\n  </rule>\n</filter>\n"
        );
        let e = parse_filter(&xml).expect_err("unknown attribute");
        assert!(
            matches!(&e, XmlError::UnknownAttribute { element, attribute, .. }
                if element == "tcp" && attribute == "dstportmiddle"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "3:28: unknown attribute 'dstportmiddle' on <tcp>",
            "{e:?}"
        );
    }

    #[test]
    fn unknown_protocol_element() {
        let xml = format!(
            "{HEAD}  <uuid>0a5288ea-612c-834a-6bbf-82a03a1a3244</uuid>\n  \
             <rule action='drop' direction='out'>\n    <gre srcipaddr='10.0.0.1'/>\n  \
             </rule>\n</filter>\n"
        );
        let e = parse_filter(&xml).expect_err("unknown protocol");
        assert!(
            matches!(&e, XmlError::UnknownElement { parent, element, .. }
                if parent == "rule" && element == "gre"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "4:5: unknown element <gre> in <rule>",
            "{e:?}"
        );
    }

    #[test]
    fn unknown_action_value() {
        let xml = format!(
            "{HEAD}  <rule action='allow' direction='in'>\n    <all/>\n  </rule>\n</filter>\n"
        );
        let e = parse_filter(&xml).expect_err("unknown action");
        match &e {
            XmlError::InvalidValue {
                element,
                what,
                value,
                reason,
                ..
            } => {
                assert_eq!(element, "rule");
                assert_eq!(what, "attribute 'action'");
                assert_eq!(value, "allow");
                for a in ["drop", "accept", "reject", "return", "continue"] {
                    assert!(reason.contains(&format!("'{a}'")), "{reason}");
                }
            }
            other => panic!("{other:?}"),
        }
        assert!(
            e.to_string()
                .starts_with("2:9: invalid value 'allow' for attribute 'action' of <rule>"),
            "{e}"
        );
    }

    #[test]
    fn unknown_names_in_a_binding() {
        let xml = "<filterbinding>\n  <owner>\n    <name>g</name>\n    \
                   <uuid>d54df46f-1ab5-4a22-8618-4560ef5fac2c</uuid>\n  </owner>\n  \
                   <portdev name='vnet0'/>\n  <mac address='52:54:00:7b:35:93'/>\n  \
                   <filterref filter='clean-traffic'/>\n</filterbinding>\n";
        parse_binding(xml).expect("valid binding");
        let bad = xml.replace("name='vnet0'", "name='vnet0' mtu='1500'");
        let e = parse_binding(&bad).expect_err("unknown attribute");
        assert_eq!(
            e.to_string(),
            "6:25: unknown attribute 'mtu' on <portdev>",
            "{e:?}"
        );
        let xml = xml.replace("<mac address", "<vlan id='3'/>\n  <mac address");
        let e = parse_binding(&xml).expect_err("unknown element");
        assert_eq!(
            e.to_string(),
            "7:3: unknown element <vlan> in <filterbinding>",
            "{e:?}"
        );
    }
}
