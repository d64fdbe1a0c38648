//! Audit record formatting: builders (body text) and the full libaudit text, in records per second.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use virt_audit::records::{self, CgroupClass, HostdevAddr};
use virt_audit::{encode_nv, DevNum, Outcome, ProcessContext, VirtType, VmIdentity};

fn vm(name: &str) -> VmIdentity {
    VmIdentity::new(VirtType::Kvm, name, [0x8f; 16])
}

fn bench(c: &mut Criterion) {
    let plain = vm("guest-01");
    let spaced = vm("guest with spaces 01");
    let ctx = ProcessContext::fixed(b"/usr/sbin/virtqemud", Some("?"));
    let mac = "52:54:00:aa:00:01";

    let mut g = c.benchmark_group("audit_format");
    g.throughput(Throughput::Elements(1));
    g.bench_function("net_open", |b| {
        b.iter(|| {
            records::net_open(
                black_box(&plain),
                &mac,
                black_box("/dev/net/tun"),
                Some(DevNum::new(10, 200)),
                Outcome::Success,
            )
        })
    });
    g.bench_function("cgroup_path", |b| {
        b.iter(|| {
            records::cgroup(
                black_box(&plain),
                black_box(
                    "/sys/fs/cgroup/devices/machine.slice/machine-qemu\\x2d1\\x2dguest.scope/",
                ),
                "allow",
                CgroupClass::Path {
                    path: "/dev/kvm",
                    rdev: Some(DevNum::new(10, 232)),
                    acl: "rw",
                },
                Outcome::Success,
            )
        })
    });
    g.bench_function("disk_hex_encoded", |b| {
        b.iter(|| {
            records::disk(
                black_box(&spaced),
                "start",
                None,
                Some(black_box("/var/lib/libvirt/images/disk with spaces.qcow2")),
                Outcome::Success,
            )
        })
    });
    let pci = HostdevAddr::Pci {
        domain: 0,
        bus: 0,
        slot: 0x1f,
        function: 0,
    };
    g.bench_function("hostdev_pci", |b| {
        b.iter(|| {
            records::hostdev(
                black_box(&plain),
                "attach",
                black_box(&pci),
                Outcome::Success,
            )
        })
    });
    g.bench_function("lifecycle_start", |b| {
        b.iter(|| {
            records::start(
                black_box(&plain),
                "booted",
                black_box(1234),
                Outcome::Success,
            )
        })
    });
    let rec = records::net_open(
        &plain,
        &mac,
        "/dev/net/tun",
        Some(DevNum::new(10, 200)),
        Outcome::Success,
    );
    g.bench_function("full_kernel_text", |b| {
        b.iter(|| black_box(&rec).text(black_box(&ctx)))
    });
    g.bench_function("file_line", |b| {
        b.iter(|| black_box(&rec).file_line(black_box(&ctx)))
    });
    g.finish();

    let mut g = c.benchmark_group("audit_encode");
    let long = "/var/lib/libvirt/images/".repeat(4);
    g.throughput(Throughput::Bytes(long.len() as u64));
    g.bench_function("quoted_96B", |b| {
        b.iter(|| encode_nv("path", black_box(long.as_bytes())))
    });
    let long_sp = long.replace('/', " ");
    g.bench_function("hex_96B", |b| {
        b.iter(|| encode_nv("path", black_box(long_sp.as_bytes())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
