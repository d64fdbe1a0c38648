//! Fuzzes virt-cgroup's parsers of outside input: mountinfo, /proc/mounts, /proc/PID/cgroup and
//! /proc/cgroups, and the host view built from a parsed mount table.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mounts) = virt_cgroup::parse_mountinfo(text) {
        let host = virt_cgroup::CgroupHost::from_mounts(&mounts, |_| None);
        let _ = host.libvirt_view();
        for c in virt_cgroup::Controller::ALL {
            let _ = host.controller(c);
        }
    }
    if let Ok(mounts) = virt_cgroup::parse_mounts(text) {
        let _ = virt_cgroup::CgroupHost::from_mounts(&mounts, |_| Some(text.to_string()));
    }
    let _ = virt_cgroup::parse_proc_cgroup(text);
    let _ = virt_cgroup::parse_proc_cgroups(text);
});
