//! Running libvirt's nwfilter XML test data (`nwfilter-xml/in`, `nwfilter-xml/out`) through the
//! parser and formatter.

use std::fs;
use std::path::Path;

use super::{format_filter, parse_filter};

/// One failing case: its name and the first differing line (or the error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    pub name: String,
    pub detail: String,
}

/// Runs every `in/X.xml` of `dir`: with an `out/X.xml` twin, `format(parse(in)) == out`; without
/// one, the parser must refuse it. Returns the number passed and the failures.
pub fn run_xml_corpus(dir: &Path) -> std::io::Result<(usize, Vec<CaseFailure>)> {
    let mut names: Vec<String> = fs::read_dir(dir.join("in"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    names.sort();
    let mut passed = 0;
    let mut failures = Vec::new();
    for name in names {
        let input = fs::read_to_string(dir.join("in").join(&name))?;
        let expected = fs::read_to_string(dir.join("out").join(&name)).ok();
        let result = parse_filter(&input);
        let detail = match (result, expected) {
            (Ok(f), Some(exp)) => {
                let got = format_filter(&f);
                crate::conformance::first_difference(&exp, &got, "line")
            }
            (Err(e), Some(_)) => Some(format!("refused: {e}")),
            (Ok(_), None) => Some("accepted, but libvirt refuses it".to_string()),
            (Err(_), None) => None,
        };
        match detail {
            None => passed += 1,
            Some(detail) => failures.push(CaseFailure { name, detail }),
        }
    }
    Ok((passed, failures))
}
