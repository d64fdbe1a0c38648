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
