//! What the first `Domain::parse` of a fresh process pays for the schema allow-list: compiling it
//! from libvirt's RelaxNG files (done at build time now; measured here as the cost it would be at
//! run time), and a full parse of a virt-manager style q35 domain (schema check included).

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    c.bench_function("schema_compile_domain_from_rng", |b| {
        b.iter(|| black_box(virt_xml::schema::compile::domain()))
    });
    let path = virt_testkit::libvirt_data("domain-canonical")
        .join("q35-virt-manager-basic.x86_64-latest.xml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("{} not found: skipped", path.display());
        return;
    };
    c.bench_function("schema_check_q35_virt_manager", |b| {
        let tree = virt_xml::tree::parse(&text).expect("xml");
        b.iter(|| virt_xml::schema::domain().check(black_box(&tree)))
    });
    c.bench_function("schema_domain_parse_q35_virt_manager", |b| {
        b.iter(|| virt_xml::Domain::parse(black_box(&text)).expect("parse"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
