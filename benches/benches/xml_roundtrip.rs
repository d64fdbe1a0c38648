//! parse + format of a virt-manager style q35 domain (libvirt's test driver does define + dumpxml +
//! undefine of the same file in about 1 ms).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use virt_xml::Domain;

fn roundtrip(c: &mut Criterion) {
    let path = virt_testkit::libvirt_data("domain-canonical")
        .join("q35-virt-manager-basic.x86_64-latest.xml");
    let xml = std::fs::read_to_string(&path).expect("bench input");
    // Compile the schema allow-list once, outside the measurement.
    let d = Domain::parse(&xml).expect("parse");
    assert_eq!(d.to_xml(), xml, "round trip is not byte-exact");
    c.bench_function("domain_parse_format_q35_virt_manager", |b| {
        b.iter(|| {
            let d = Domain::parse(black_box(&xml)).expect("parse");
            black_box(d.to_xml())
        })
    });
    c.bench_function("domain_parse_q35_virt_manager", |b| {
        b.iter(|| Domain::parse(black_box(&xml)).expect("parse"))
    });
    c.bench_function("domain_format_q35_virt_manager", |b| {
        b.iter(|| black_box(&d).to_xml())
    });
}

criterion_group!(benches, roundtrip);
criterion_main!(benches);
