//! Conformance against libvirt 9.0.0's test data.
//!
//! `conformance domain DIR`: every `DIR/*.xml` must format back byte for byte.
//! `conformance generic DIR`: `DIR/in/X.xml` must format to `DIR/out/X.xml`; an `in` file without
//! an `out` twin must be refused or, as in libvirt's genericxml2xmltest (`DO_TEST` compares with
//! the input itself), format back to exactly itself.
//! Prints one line per failing case and, last, `N passed, M failed`.

use std::path::Path;
use std::process::ExitCode;

use virt_xml::conformance::{run_domain, run_generic, Report};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: conformance domain|generic|nwfilter DIR");
        return ExitCode::from(2);
    };
    let dir = Path::new(dir);
    let report: std::io::Result<Report> = match mode.as_str() {
        "domain" => run_domain(dir),
        "generic" => run_generic(dir),
        "nwfilter" => match virt_xml::nwfilter::conformance::run_xml_corpus(dir) {
            Ok((passed, failures)) => {
                for f in &failures {
                    println!("{}: {}", f.name, f.detail);
                }
                println!("{passed} passed, {} failed", failures.len());
                return if failures.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                };
            }
            Err(e) => {
                eprintln!("{}: {e}", dir.display());
                return ExitCode::from(2);
            }
        },
        other => {
            eprintln!("unknown mode '{other}': expected domain, generic or nwfilter");
            return ExitCode::from(2);
        }
    };
    match report {
        Ok(r) => {
            for f in &r.failures {
                println!("{f}");
            }
            let refused = r.passed.iter().filter(|(_, out)| out.is_empty()).count();
            if refused > 0 {
                eprintln!("({refused} of the passing cases are refusals, as libvirt refuses them)");
            }
            println!("{} passed, {} failed", r.passed.len(), r.failures.len());
            if r.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            ExitCode::from(2)
        }
    }
}
