//! libvirt 9.0's nwfilter XML test data: every case must pass, and every refusal names where.

use std::fs;

use virt_xml::nwfilter::conformance::run_xml_corpus;
use virt_xml::nwfilter::{format_filter, parse_filter};

#[test]
fn nwfilter_xml_corpus_passes_completely() {
    let dir = virt_testkit::libvirt_data("nwfilter-xml");
    let (passed, failures) = run_xml_corpus(&dir).expect("read corpus");
    for f in &failures {
        eprintln!("{}: {}", f.name, f.detail);
    }
    assert!(passed > 20, "only {passed} cases found");
    assert!(failures.is_empty(), "{} failures", failures.len());
}

#[test]
fn refusals_name_attribute_and_position() {
    let dir = virt_testkit::libvirt_data("nwfilter-xml");
    let mut refused = 0;
    for e in fs::read_dir(dir.join("in")).expect("in") {
        let p = e.expect("entry").path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if dir.join("out").join(&name).exists() {
            continue;
        }
        let text = fs::read_to_string(&p).expect("read");
        let err = parse_filter(&text).expect_err(&name);
        let msg = err.to_string();
        eprintln!("{name}: {msg}");
        assert!(err.pos().line > 0 && err.pos().col > 0, "{name}: {msg}");
        assert!(msg.contains('<'), "{name}: no element named: {msg}");
        refused += 1;
    }
    assert!(refused > 5);
}

#[test]
fn standard_filters_round_trip() {
    let dir = virt_testkit::libvirt_data("nwfilter-standard");
    let mut n = 0;
    for e in fs::read_dir(&dir).expect("dir") {
        let p = e.expect("entry").path();
        let text = fs::read_to_string(&p).expect("read");
        let f = parse_filter(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let out = format_filter(&f);
        let again = parse_filter(&out).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(again, f, "{}", p.display());
        assert_eq!(format_filter(&again), out);
        n += 1;
    }
    assert!(n >= 20);
}
