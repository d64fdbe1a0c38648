//! The conformance check over libvirt 9.0.0's `vircgroupdata`: for each host layout `X`, the
//! mount table (`X.mounts`), the process's cgroups (`X.self.cgroup`) and `/proc/cgroups`
//! (`X.cgroups`) must parse, and where libvirt recorded its view (`X.parsed`: the mount point of
//! each controller), ours must be the same, row for row.

use std::path::Path;

use virt_cgroup::{parse_mounts, parse_proc_cgroup, parse_proc_cgroups, CgroupHost};

/// One case's verdict: `Err` says why it failed.
pub fn check_case(dir: &Path, name: &str) -> Result<(), String> {
    let read = |ext: &str| {
        std::fs::read_to_string(dir.join(format!("{name}.{ext}")))
            .map_err(|e| format!("{name}.{ext}: {e}"))
    };
    let mounts = parse_mounts(&read("mounts")?).map_err(|e| format!("{name}.mounts: {e}"))?;
    if let Ok(text) = read("self.cgroup") {
        parse_proc_cgroup(&text).map_err(|e| format!("{name}.self.cgroup: {e}"))?;
    }
    if let Ok(text) = read("cgroups") {
        parse_proc_cgroups(&text).map_err(|e| format!("{name}.cgroups: {e}"))?;
    }
    let Ok(parsed) = read("parsed") else {
        return Ok(());
    };
    let host = CgroupHost::from_mounts(&mounts, |_| None);
    let ours: Vec<String> = host
        .libvirt_view()
        .iter()
        .map(|(c, mp)| {
            let v = mp.map_or("<null>".to_string(), |p| p.display().to_string());
            format!("{c} {v}")
        })
        .collect();
    let theirs: Vec<String> = parsed
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    if ours != theirs {
        let diff: Vec<String> = theirs
            .iter()
            .zip(ours.iter().chain(std::iter::repeat(&String::new())))
            .filter(|(t, o)| t != o)
            .map(|(t, o)| format!("want {t:?} got {o:?}"))
            .collect();
        return Err(format!("{name}: {}", diff.join("; ")));
    }
    Ok(())
}

/// Every case of the folder, sorted: (passed, failures).
pub fn run(dir: &Path) -> (usize, Vec<String>) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".mounts"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut passed = 0;
    let mut failures = Vec::new();
    for n in names {
        match check_case(dir, &n) {
            Ok(()) => passed += 1,
            Err(e) => failures.push(e),
        }
    }
    (passed, failures)
}
