//! Loading QEMU capabilities: the embedded QEMU 7.2 x86_64 probe (`QemuCaps::x86_64_7_2`, built
//! from static tables compiled in by virt-qemu's build script) against parsing the same 147 KB
//! `qemuCaps` XML at run time (`QemuCaps::from_xml`), which every virtsh start used to pay.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use virt_qemu::argv::QemuCaps;

const PROBE: &str = include_str!("../../virt-qemu/data/caps_7.2.0.x86_64.xml");

fn caps_loading(c: &mut Criterion) {
    c.bench_function("qemu_caps_x86_64_7_2_embedded", |b| {
        b.iter(|| black_box(QemuCaps::x86_64_7_2()))
    });
    c.bench_function("qemu_caps_from_xml_7_2", |b| {
        b.iter(|| black_box(QemuCaps::from_xml(black_box(PROBE)).expect("caps parse")))
    });
}

criterion_group!(benches, caps_loading);
criterion_main!(benches);
