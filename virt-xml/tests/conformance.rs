//! libvirt 9.0.0's domain corpus: pass-rate floors, and RelaxNG validation of every passing output.

use std::process::Command;

use virt_testkit::{libvirt_data, system_test, Facility, TempDir};
use virt_xml::conformance::{run_domain, run_generic};

#[test]
fn domain_canonical_round_trips_byte_for_byte() {
    let r = run_domain(&libvirt_data("domain-canonical")).expect("corpus");
    for f in &r.failures {
        eprintln!("{f}");
    }
    assert!(
        r.passed.len() >= 300,
        "only {} cases passed",
        r.passed.len()
    );
    assert!(r.pass_rate() >= 0.95, "pass rate {:.3}", r.pass_rate());
}

#[test]
fn generic_xml_normalises_like_libvirt() {
    let r = run_generic(&libvirt_data("generic-xml")).expect("corpus");
    for f in &r.failures {
        eprintln!("{f}");
    }
    assert!(
        r.pass_rate() >= GENERIC_FLOOR,
        "pass rate {:.3} ({} passed, {} failed)",
        r.pass_rate(),
        r.passed.len(),
        r.failures.len()
    );
}

/// The required generic-xml pass rate.
const GENERIC_FLOOR: f64 = 0.95;

#[test]
fn passing_outputs_validate_against_libvirts_schema() {
    let Some(_t) = system_test(
        "passing_outputs_validate_against_libvirts_schema",
        &[Facility::Command("xmllint")],
    ) else {
        return;
    };
    let dir = TempDir::new("virt-xml-rng").expect("tempdir");
    let mut files = Vec::new();
    let domain = run_domain(&libvirt_data("domain-canonical")).expect("corpus");
    let generic = run_generic(&libvirt_data("generic-xml")).expect("corpus");
    for (i, (name, xml)) in domain
        .passed
        .iter()
        .chain(generic.passed.iter())
        .enumerate()
    {
        if xml.is_empty() {
            continue; // a refused case: nothing was written
        }
        let path = dir.path().join(format!("{i}-{name}"));
        std::fs::write(&path, xml).expect("write");
        files.push(path);
    }
    assert!(files.len() > 300);
    let schema = libvirt_data("schemas").join("domain.rng");
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--relaxng")
        .arg(&schema)
        .args(&files)
        .output()
        .expect("run xmllint");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failing: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("fails to validate"))
        .collect();
    assert!(out.status.success() && failing.is_empty(), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.ends_with(" validates")).count(),
        files.len()
    );
}

/// Every input libvirt turns into a QEMU command line (an `.args` twin) is accepted, and its
/// formatted form is a fixed point of parse+format.
#[test]
fn qemu_argv_inputs_are_accepted_and_format_stably() {
    let dir = libvirt_data("qemu-argv");
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("qemu-argv")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    entries.sort();
    for path in entries {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !dir.join(format!("{stem}.x86_64-latest.args")).exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let d = virt_xml::Domain::parse(&text)
            .unwrap_or_else(|e| panic!("{}: refused: {e}", path.display()));
        let once = d.to_xml();
        let twice = virt_xml::Domain::parse(&once)
            .unwrap_or_else(|e| panic!("{}: output refused: {e}", path.display()))
            .to_xml();
        assert_eq!(once, twice, "{}", path.display());
        checked += 1;
    }
    assert!(checked > 250, "only {checked} cases");
}
