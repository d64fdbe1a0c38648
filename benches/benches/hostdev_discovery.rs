//! virt-hostdev: PCI config-space parsing (libvirt's virpcitestdata blobs) and discovery of this
//! machine's real /sys/bus/pci (read-only).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use virt_hostdev::{PciConfig, Sysfs};

fn bench(c: &mut Criterion) {
    let dir = virt_testkit::libvirt_data("virpcitestdata");
    let mut blobs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("virpcitestdata")
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect();
    blobs.sort();
    let mut g = c.benchmark_group("hostdev");
    g.throughput(Throughput::Elements(blobs.len() as u64));
    g.bench_function("pci_config_parse_all_blobs", |b| {
        b.iter(|| {
            for blob in &blobs {
                let _ = black_box(PciConfig::parse(black_box(blob)));
            }
        })
    });
    let sys = Sysfs::default();
    let n = sys.pci_list().map(|l| l.len()).unwrap_or(0).max(1);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("pci_list_real_sys", |b| {
        b.iter(|| black_box(sys.pci_list()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
