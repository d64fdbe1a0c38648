//! `conformance DIR`: the firewall commands of every `DIR/X.xml` on interface `vnet0` (with the
//! variables libvirt's `nwfilterxml2firewalltest` gives) against `DIR/X-linux.args`. Prints one
//! line per failing case and, last, `N passed, M failed`.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: conformance DIR");
        return ExitCode::from(2);
    };
    match virt_nwfilter::conformance::run_dir(Path::new(&dir)) {
        Ok((passed, failures)) => {
            for f in &failures {
                println!("{}: {}", f.name, f.detail);
            }
            println!("{passed} passed, {} failed", failures.len());
            if failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("{dir}: {e}");
            ExitCode::from(2)
        }
    }
}
