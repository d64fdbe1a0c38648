//! virt-cgroup: parsing the mount table, and one device ACL change (allow + revoke of /dev/null)
//! on the v2 BPF map and on the v1 devices files, on the real kernel when run as root.

use std::path::Path;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use virt_audit::{Auditor, VirtType, VmIdentity};
use virt_cgroup::{parse_mountinfo, Access, CgroupHost, DeviceAclMode, GuestCgroup, GuestSpec};

fn mountinfo_sample() -> String {
    let mut s = String::from("23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n");
    s.push_str("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n");
    for (i, c) in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
    ]
    .iter()
    .enumerate()
    {
        s.push_str(&format!(
            "{} 31 0:{} / /sys/fs/cgroup/{c} rw,nosuid,nodev,noexec,relatime shared:{} - cgroup cgroup rw,{c}\n",
            32 + i,
            29 + i,
            10 + i
        ));
    }
    s.push_str("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n");
    for i in 0..30 {
        s.push_str(&format!(
            "{} 1 8:{i} / /srv/data\\040{i} rw,relatime - ext4 /dev/sda{i} rw\n",
            100 + i
        ));
    }
    s
}

fn acl_bench(c: &mut Criterion, mode: DeviceAclMode, label: &str) {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective uid.
    if !std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        eprintln!("cgroup_acl/{label}: skipped (not root)");
        return;
    }
    let Ok(host) = CgroupHost::discover() else {
        return;
    };
    let partition = format!("/machine-bench-{}-{label}", std::process::id());
    let spec = GuestSpec::new("qemu", 1, "bench")
        .partition(&partition)
        .device_acl(mode);
    let vm = VmIdentity::new(VirtType::Kvm, "bench", [0; 16]);
    let Ok(mut cg) = GuestCgroup::create(&host, &spec, &vm, &Auditor::off()) else {
        eprintln!("cgroup_acl/{label}: skipped (no such device ACL here)");
        return;
    };
    if cg.deny_all().is_ok() {
        let mut g = c.benchmark_group("cgroup_acl");
        g.throughput(Throughput::Elements(2));
        g.bench_function(label, |b| {
            b.iter(|| {
                cg.allow_path(black_box(Path::new("/dev/null")), Access::RW)
                    .unwrap();
                cg.deny_path(black_box(Path::new("/dev/null")), Access::RW)
                    .unwrap();
            })
        });
        g.finish();
    }
    let _ = cg.remove(Duration::from_secs(2));
    let _ = host.remove_partition(&partition);
}

fn bench(c: &mut Criterion) {
    let text = mountinfo_sample();
    let mut g = c.benchmark_group("cgroup_parse");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("mountinfo_and_host_view", |b| {
        b.iter(|| {
            let m = parse_mountinfo(black_box(&text)).unwrap();
            CgroupHost::from_mounts(&m, |_| None).libvirt_view().len()
        })
    });
    g.finish();
    acl_bench(c, DeviceAclMode::V2, "allow_revoke_v2_bpf");
    acl_bench(c, DeviceAclMode::V1, "allow_revoke_v1_files");
}

criterion_group!(benches, bench);
criterion_main!(benches);
