//! Parsing nwfilter XML (schema check + typed rules) and formatting it back.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use virt_xml::nwfilter::{format_filter, parse_filter};

fn bench(c: &mut Criterion) {
    let dir = virt_testkit::libvirt_data("nwfilter-standard");
    let Ok(text) = std::fs::read_to_string(dir.join("clean-traffic-gateway.xml")) else {
        eprintln!("nwfilter-standard not found: skipped");
        return;
    };
    let f = parse_filter(&text).expect("parse");
    c.bench_function("nwfilter_parse_clean_traffic_gateway", |b| {
        b.iter(|| parse_filter(black_box(&text)).expect("parse"))
    });
    let tree = virt_xml::tree::parse(&text).expect("xml");
    c.bench_function("nwfilter_schema_check_clean_traffic_gateway", |b| {
        b.iter(|| virt_xml::schema::nwfilter().check(black_box(&tree)))
    });
    c.bench_function("nwfilter_format_clean_traffic_gateway", |b| {
        b.iter(|| format_filter(black_box(&f)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
