//! virt-nwfilter: instantiate and remove clean-traffic (with IP) on 20 bridge ports, really
//! applied, with the nftables backend and with the ebtables/iptables backend; one interface at a
//! time (each call its own transaction) and all 20 in one batch.
//!
//! Needs root: it makes a network namespace with a bridge and 20 veth ports and works inside it.
//! For reference, libvirt 9.0 takes 28.6 s to instantiate and 18 s to remove the same.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use virt_nwfilter::instantiate::{ruleset_for, Backend, EbIptablesBackend, NftBackend};
use virt_nwfilter::ruleset::Ruleset;
use virt_nwfilter::tree::{vars_from, FilterSet};
use virt_testkit::{Facility, NetNs};
use virt_xml::nwfilter::FilterRef;

const PORTS: usize = 20;

fn rulesets() -> Vec<Ruleset> {
    let filters =
        FilterSet::load_dir(&virt_testkit::libvirt_data("nwfilter-standard")).expect("filters");
    let fref = FilterRef {
        filter: "clean-traffic".into(),
        params: Default::default(),
    };
    (0..PORTS)
        .map(|i| {
            let mac = format!("52:54:00:00:01:{i:02x}");
            let ip = format!("10.20.0.{}", i + 10);
            let vars = vars_from([("MAC", mac.as_str()), ("IP", ip.as_str())]);
            ruleset_for(&format!("vnet{i}"), &fref, &filters, &vars).expect("ruleset")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    for f in [
        Facility::Root,
        Facility::Netns,
        Facility::Command("nft"),
        Facility::Command("ebtables-restore"),
    ] {
        if let Some(why) = f.missing() {
            eprintln!("SKIP nwfilter_instantiate: {why}");
            return;
        }
    }
    let ns = NetNs::new("nwfbench").expect("netns");
    ns.exec_ok(&["ip", "link", "add", "br0", "type", "bridge"])
        .expect("bridge");
    for i in 0..PORTS {
        let v = format!("vnet{i}");
        let p = format!("peer{i}");
        ns.exec_ok(&["ip", "link", "add", &v, "type", "veth", "peer", "name", &p])
            .expect("veth");
        ns.exec_ok(&["ip", "link", "set", &v, "master", "br0"])
            .expect("master");
    }
    let _in = ns.enter().expect("enter netns");
    let sets = rulesets();
    let names: Vec<String> = sets.iter().map(|r| r.ifname.clone()).collect();
    let rules: usize = sets.iter().map(Ruleset::rule_count).sum();
    eprintln!("nwfilter_instantiate: {PORTS} interfaces, {rules} firewall rules in all");

    let mut g = c.benchmark_group("nwfilter_clean_traffic_20_ifaces");
    g.sample_size(10);
    let backends: [&dyn Backend; 2] = [&NftBackend, &EbIptablesBackend];
    for be in backends {
        g.bench_function(format!("{}/instantiate_each", be.name()), |b| {
            b.iter_custom(|iters| {
                let mut t = Duration::ZERO;
                for _ in 0..iters {
                    let s = Instant::now();
                    for rs in &sets {
                        be.apply(rs).expect("apply");
                    }
                    t += s.elapsed();
                    let n: Vec<&str> = names.iter().map(String::as_str).collect();
                    be.remove_many(&n).expect("remove");
                }
                t
            })
        });
        g.bench_function(format!("{}/remove_each", be.name()), |b| {
            b.iter_custom(|iters| {
                let mut t = Duration::ZERO;
                for _ in 0..iters {
                    be.apply_many(&sets).expect("apply");
                    let s = Instant::now();
                    for n in &names {
                        be.remove(n).expect("remove");
                    }
                    t += s.elapsed();
                }
                t
            })
        });
        g.bench_function(format!("{}/instantiate_batch", be.name()), |b| {
            b.iter_custom(|iters| {
                let mut t = Duration::ZERO;
                for _ in 0..iters {
                    let s = Instant::now();
                    be.apply_many(&sets).expect("apply");
                    t += s.elapsed();
                    let n: Vec<&str> = names.iter().map(String::as_str).collect();
                    be.remove_many(&n).expect("remove");
                }
                t
            })
        });
        g.bench_function(format!("{}/remove_batch", be.name()), |b| {
            b.iter_custom(|iters| {
                let mut t = Duration::ZERO;
                for _ in 0..iters {
                    be.apply_many(&sets).expect("apply");
                    let n: Vec<&str> = names.iter().map(String::as_str).collect();
                    let s = Instant::now();
                    be.remove_many(&n).expect("remove");
                    t += s.elapsed();
                }
                t
            })
        });
    }
    g.finish();
    // Generating the commands alone (no kernel): the pure cost of the translation.
    let filters =
        FilterSet::load_dir(&virt_testkit::libvirt_data("nwfilter-standard")).expect("filters");
    let fref = FilterRef {
        filter: "clean-traffic".into(),
        params: Default::default(),
    };
    let vars = vars_from([("MAC", "52:54:00:00:01:01"), ("IP", "10.20.0.1")]);
    c.bench_function("nwfilter_clean_traffic_ruleset_only", |b| {
        b.iter(|| ruleset_for("vnet0", &fref, &filters, &vars).expect("ruleset"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
