//! virt-net: tap create + open + delete per second, with 1 and 4 queues.
//!
//! Needs root: it makes a network namespace of its own and works inside it.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use virt_audit::{Auditor, VirtType, VmIdentity};
use virt_net::{NetHost, TapConfig, VhostPolicy};
use virt_testkit::{Facility, NetNs};

fn tap_cycle(c: &mut Criterion) {
    if let Some(why) = Facility::Root.missing().or_else(|| Facility::Tun.missing()) {
        eprintln!("SKIP net_tap: {why}");
        return;
    }
    let ns = NetNs::new("vbench").expect("netns");
    let _in = ns.enter().expect("enter netns");
    let (auditor, sink) = Auditor::memory();
    let host = NetHost::new(auditor);
    let vm = VmIdentity::new(VirtType::Kvm, "bench", [7; 16]);
    let mac = "52:54:00:be:0c:01".parse().expect("mac");

    let mut g = c.benchmark_group("net_tap");
    g.throughput(Throughput::Elements(1));
    for queues in [1u32, 4] {
        let mut cfg = TapConfig::new(mac);
        cfg.queues = queues;
        cfg.vnet_hdr = true;
        g.bench_function(format!("create_open_delete/{queues}q"), |b| {
            b.iter(|| {
                let nic = host
                    .open_tap(&vm, &cfg, VhostPolicy::Qemu)
                    .expect("open tap");
                host.release(nic).expect("release");
                sink.clear();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, tap_cycle);
criterion_main!(benches);
