//! libvirt 9.0's firewall test data: every case must give exactly libvirt's commands, and every
//! shipped filter must instantiate.

use std::collections::BTreeSet;

use virt_nwfilter::ebiptables::apply_new_rules;
use virt_nwfilter::tree::{flatten, missing_variables, vars_from, FilterSet, FilterSource};

#[test]
fn firewall_corpus_passes_completely() {
    let dir = virt_testkit::libvirt_data("nwfilter-firewall");
    let (passed, failures) = virt_nwfilter::conformance::run_dir(&dir).expect("read corpus");
    for f in &failures {
        eprintln!("{}: {}", f.name, f.detail);
    }
    assert!(passed >= 20, "only {passed} cases");
    assert!(failures.is_empty(), "{} failures", failures.len());
}

#[test]
fn standard_filters_all_instantiate() {
    let dir = virt_testkit::libvirt_data("nwfilter-standard");
    let set = FilterSet::load_dir(&dir).expect("load");
    assert!(set.filters.len() >= 20);
    let vars = vars_from([
        ("MAC", "52:54:00:11:22:33"),
        ("IP", "192.168.122.10"),
        ("IPV6", "fd00::10"),
        ("GATEWAY_MAC", "52:54:00:aa:bb:cc"),
        ("CTRL_IP_LEARNING", "any"),
        ("DHCPSERVER", "192.168.122.1"),
    ]);
    for (name, f) in &set.filters {
        let given: BTreeSet<String> = vars.keys().cloned().collect();
        let missing = missing_variables(f, &set, &given).expect(name);
        let mut v = vars.clone();
        for m in &missing {
            v.insert(m.clone(), vec!["1.2.3.4".into()]);
        }
        let rules = flatten(f, &set, &v).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cmds = apply_new_rules("vnet7", &rules).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!cmds.is_empty(), "{name}");
        // Both real backends can express every shipped filter.
        let rs = virt_nwfilter::ruleset::Ruleset::new("vnet7", &rules).expect("ruleset");
        virt_nwfilter::nft::batch("vnet7", Some(&rs), 7)
            .unwrap_or_else(|e| panic!("{name}: nftables: {e}"));
        virt_nwfilter::restore::batches("vnet7", &Default::default(), Some(&rs))
            .unwrap_or_else(|e| panic!("{name}: restore: {e}"));
    }
}

#[test]
fn clean_traffic_needs_ip_and_mac() {
    let dir = virt_testkit::libvirt_data("nwfilter-standard");
    let set = FilterSet::load_dir(&dir).expect("load");
    let ct = set.filter("clean-traffic").expect("clean-traffic");
    let given: BTreeSet<String> = ["MAC".to_string()].into();
    let missing = missing_variables(&ct, &set, &given).expect("walk");
    assert_eq!(missing, ["IP".to_string()].into());
    let all = virt_nwfilter::tree::required_variables(&ct, &set).expect("walk");
    assert_eq!(all, ["IP".to_string(), "MAC".to_string()].into());
    // Without IP the instantiation is refused, naming the variable.
    let err = flatten(&ct, &set, &vars_from([("MAC", "52:54:00:11:22:33")]))
        .and_then(|r| apply_new_rules("vnet0", &r))
        .expect_err("IP missing");
    assert!(err.to_string().contains("'IP'"), "{err}");
}

#[test]
fn variable_values_are_checked_before_use() {
    let dir = virt_testkit::libvirt_data("nwfilter-standard");
    let set = FilterSet::load_dir(&dir).expect("load");
    let ct = set.filter("clean-traffic").expect("clean-traffic");
    for bad in ["1.2.3.4; rm -rf /", "1.2.3.4\n", "a b", "\"x\"", ""] {
        let err = flatten(
            &ct,
            &set,
            &vars_from([("MAC", "52:54:00:11:22:33"), ("IP", bad)]),
        )
        .expect_err(bad);
        assert!(err.to_string().contains("not valid"), "{err}");
    }
}
