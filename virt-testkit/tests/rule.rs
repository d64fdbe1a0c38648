//! The system-test rule itself, run for real: a child test that needs auditd fails under
//! `VIRT_SYSTEM_TESTS=require` when auditd is made missing (PATH without it), skips without `require`,
//! and passes when auditd is present.

use std::process::Command;
use std::time::Duration;

use virt_testkit::{system_test, Facility, NetNs};

fn child(path: &str, mode: &str) -> std::process::Output {
    let exe = std::env::current_exe().expect("test binary path");
    Command::new(exe)
        .args([
            "--exact",
            "child_needs_auditd",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VIRT_TESTKIT_CHILD", "1")
        .env("VIRT_SYSTEM_TESTS", mode)
        .env("PATH", path)
        .output()
        .expect("run child test")
}

/// Only does anything when started by `rule_fails_when_facility_missing`.
#[test]
fn child_needs_auditd() {
    if std::env::var_os("VIRT_TESTKIT_CHILD").is_none() {
        return;
    }
    let Some(_t) = system_test("child_needs_auditd", &[Facility::Auditd]) else {
        return;
    };
    let d = virt_testkit::auditd::Auditd::start().expect("start private auditd");
    let out = Command::new("auditctl")
        .args(["-m", "virt-testkit child check"])
        .output()
        .expect("auditctl -m");
    assert!(out.status.success());
    let lines = d.wait_for("virt-testkit child check", 1, Duration::from_secs(5));
    assert_eq!(lines.len(), 1, "user message not in the private audit log");
}

#[test]
fn rule_fails_when_facility_missing() {
    let Some(_t) = system_test("rule_fails_when_facility_missing", &[Facility::Auditd]) else {
        return;
    };
    let real_path = std::env::var("PATH").unwrap_or_default();
    // Made missing: a PATH where neither auditd nor ausearch can be found.
    let gone = child("/nonexistent", "require");
    assert!(!gone.status.success(), "require + missing auditd must fail");
    let stderr = String::from_utf8_lossy(&gone.stdout) + String::from_utf8_lossy(&gone.stderr);
    assert!(stderr.contains("`auditd` is not on PATH"), "{stderr}");

    let skipped = child("/nonexistent", "auto");
    assert!(skipped.status.success());
    let stderr = String::from_utf8_lossy(&skipped.stderr);
    assert!(stderr.contains("SKIP child_needs_auditd"), "{stderr}");

    let present = child(&real_path, "require");
    assert!(
        present.status.success(),
        "with auditd present the child must pass: {}",
        String::from_utf8_lossy(&present.stderr)
    );
}

#[test]
fn netns_is_made_and_removed() {
    let Some(_t) = system_test("netns_is_made_and_removed", &[Facility::Netns]) else {
        return;
    };
    let ns = NetNs::new("vtk").expect("make netns");
    let name = ns.name().to_string();
    let links = ns.exec_ok(&["ip", "-o", "link"]).expect("ip link in netns");
    assert!(links.contains("lo:"));
    {
        let _g = ns.enter().expect("enter netns");
        let here = std::fs::read_link("/proc/thread-self/ns/net").expect("ns link");
        let there = std::fs::metadata(ns.path()).expect("netns file");
        use std::os::unix::fs::MetadataExt;
        assert!(here.to_string_lossy().contains(&there.ino().to_string()));
    }
    drop(ns);
    assert!(!std::path::Path::new(&format!("/run/netns/{name}")).exists());
}

#[test]
fn conformance_data_is_found() {
    let d = virt_testkit::libvirt_data("domain-canonical");
    assert!(d.is_dir(), "{}", d.display());
}
