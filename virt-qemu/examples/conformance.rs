//! Runs libvirt's qemuxml2argv corpus through the argv builder.
//!
//! `cargo run --release -p virt-qemu --example conformance -- DIR` (DIR defaults to the shared
//! corpus `qemu-argv` folder). Prints one line per failing case, a per-prefix summary, and last
//! `N passed, M failed`.

use std::path::PathBuf;
use std::process::ExitCode;

use virt_qemu::argv::conformance::run_dir;
use virt_qemu::argv::QemuCaps;

fn main() -> ExitCode {
    let dir = match std::env::args_os().nth(1) {
        Some(d) => PathBuf::from(d),
        None => virt_testkit::libvirt_data("qemu-argv"),
    };
    let caps = QemuCaps::x86_64_7_2();
    let report = match run_dir(&dir, &caps) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            return ExitCode::from(2);
        }
    };
    for f in &report.failures {
        println!("FAIL {}: {}", f.name, f.detail);
    }
    for f in &report.globals_failures {
        println!("GLOBALS {}: {}", f.name, f.detail);
    }
    println!(
        "-- global options (outside device families) match in {} of {} .args cases",
        report.globals_passed,
        report.globals_passed + report.globals_failures.len()
    );
    println!("-- by prefix (passed/total):");
    for (prefix, (pass, total)) in report.by_prefix() {
        println!("{prefix}: {pass}/{total}");
    }
    println!(
        "{} passed, {} failed",
        report.passed.len(),
        report.failures.len()
    );
    ExitCode::SUCCESS
}
