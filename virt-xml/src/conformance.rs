//! Running libvirt's domain test data through the parser and formatter (used by the
//! `conformance` example and the tests).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::domain::Domain;

/// A failing case: its file name and what went wrong (the first differing line, or the error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub name: String,
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.detail)
    }
}

/// The outcome of a corpus run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Passing cases with the formatted output.
    pub passed: Vec<(String, String)>,
    pub failures: Vec<Failure>,
}

impl Report {
    /// Passing share in 0..=1.
    pub fn pass_rate(&self) -> f64 {
        let total = self.passed.len() + self.failures.len();
        if total == 0 {
            0.0
        } else {
            self.passed.len() as f64 / total as f64
        }
    }
}

fn xml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Where `got` first differs from `expected`, counting lines as `unit`s (`line 3: expected "..",
/// got ".."`); `None` when they are equal. Shared by every conformance tool of the workspace.
pub fn first_difference(expected: &str, got: &str, unit: &str) -> Option<String> {
    if expected == got {
        return None;
    }
    let mut e = expected.lines();
    let mut g = got.lines();
    let mut n = 1;
    loop {
        match (e.next(), g.next()) {
            (None, None) => return Some("outputs differ only in line endings".into()),
            (a, b) if a == b => n += 1,
            (a, b) => {
                return Some(format!(
                    "{unit} {n}: expected {:?}, got {:?}",
                    a.unwrap_or("<end>"),
                    b.unwrap_or("<end>")
                ))
            }
        }
    }
}

fn check(name: String, input: &str, want: &str, report: &mut Report) {
    match Domain::parse(input) {
        Ok(d) => {
            let got = d.to_xml();
            if got == want {
                report.passed.push((name, got));
            } else {
                let detail = first_difference(want, &got, "line").unwrap_or_default();
                report.failures.push(Failure { name, detail });
            }
        }
        Err(e) => report.failures.push(Failure {
            name,
            detail: format!("refused: {e}"),
        }),
    }
}

/// `format(parse(f)) == f` for every `*.xml` in `dir`.
pub fn run_domain(dir: &Path) -> std::io::Result<Report> {
    let mut report = Report::default();
    for path in xml_files(dir)? {
        let name = file_name(&path);
        let text = fs::read_to_string(&path)?;
        check(name, &text, &text, &mut report);
    }
    Ok(report)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `format(parse(dir/in/X)) == dir/out/X`; without `out/X`, parsing must fail.
pub fn run_generic(dir: &Path) -> std::io::Result<Report> {
    let mut report = Report::default();
    for path in xml_files(&dir.join("in"))? {
        let name = file_name(&path);
        let input = fs::read_to_string(&path)?;
        let out = dir.join("out").join(&name);
        if out.exists() {
            let want = fs::read_to_string(&out)?;
            check(name, &input, &want, &mut report);
        } else {
            // libvirt's genericxml2xmltest: a case without an out twin either must be refused, or
            // is its own expected output (DO_TEST compares against the input file).
            match Domain::parse(&input) {
                Err(_) => report.passed.push((name, String::new())),
                Ok(d) => {
                    let got = d.to_xml();
                    if got == input {
                        report.passed.push((name, got));
                    } else {
                        let detail = format!(
                            "accepted, and not its own output: {}",
                            first_difference(&input, &got, "line").unwrap_or_default()
                        );
                        report.failures.push(Failure { name, detail });
                    }
                }
            }
        }
    }
    Ok(report)
}
