//! libvirt 9.0.0's `vircgroupdata`: every layout parses and every recorded view matches.

#[path = "../examples/conformance/check.rs"]
mod check;

#[test]
fn vircgroupdata() {
    let dir = virt_testkit::libvirt_data("vircgroupdata");
    let (passed, failures) = check::run(&dir);
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        passed >= 10,
        "only {passed} cases found in {}",
        dir.display()
    );
}

#[test]
fn a_wrong_view_is_caught() {
    // The check itself must be able to fail: a layout whose recorded view disagrees.
    let tmp = virt_testkit::TempDir::new("virt-cgroup-conf").unwrap();
    std::fs::write(
        tmp.path().join("x.mounts"),
        "cgroup /cg/cpu cgroup rw,cpu 0 0\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("x.parsed"), "cpu /elsewhere\n").unwrap();
    let (passed, failures) = check::run(tmp.path());
    assert_eq!(passed, 0);
    assert_eq!(failures.len(), 1);
}
