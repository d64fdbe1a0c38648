//! `cargo run -p virt-cgroup --example conformance [-- DIR]`: checks the cgroup parsers and the
//! controller view against libvirt 9.0.0's `vircgroupdata` (default: the shared conformance
//! folder), printing one line per failing case and `N passed, M failed` last.

mod check;

use std::path::PathBuf;

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| virt_testkit::libvirt_data("vircgroupdata"));
    let (passed, failures) = check::run(&dir);
    for f in &failures {
        println!("FAIL {f}");
    }
    println!("{passed} passed, {} failed", failures.len());
    if !failures.is_empty() || passed == 0 {
        std::process::exit(1);
    }
}
