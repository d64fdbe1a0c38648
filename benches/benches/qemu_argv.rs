//! Command-line generation per domain (prepare + build + `.args` text) for a few representative
//! cases of libvirt's qemuxml2argv corpus. libvirt's own qemuxml2argvtest spends well under a
//! millisecond per case on this step.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use virt_qemu::argv::{self, HostContext, QemuCaps};
use virt_xml::Domain;

const CASES: &[&str] = &[
    "boot-order",
    "q35-virt-manager-basic",
    "numatune-hmat",
    "hyperv",
    "firmware-manual-efi-nvram-file",
];

fn argv_generation(c: &mut Criterion) {
    let dir = virt_testkit::libvirt_data("qemu-argv");
    let caps = QemuCaps::x86_64_7_2();
    for name in CASES {
        let xml = std::fs::read_to_string(dir.join(format!("{name}.xml"))).expect("bench input");
        let def = Domain::parse(&xml).expect("parse");
        let host = HostContext::libvirt_test_harness(&def);
        c.bench_function(&format!("qemu_argv_{name}"), |b| {
            b.iter(|| {
                let mut d = black_box(&def).clone();
                let cmd = argv::prepare_and_build(&mut d, &caps, &host).expect("argv");
                black_box(cmd.to_args_text())
            })
        });
    }
    c.bench_function("qemu_caps_parse_7_2", |b| b.iter(QemuCaps::x86_64_7_2));
}

criterion_group!(benches, argv_generation);
criterion_main!(benches);
