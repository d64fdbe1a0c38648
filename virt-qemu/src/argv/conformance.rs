//! Running libvirt's `qemuxml2argv` corpus: every `X.xml` with an `X.x86_64-latest.args` (the
//! expected command line) or `X.x86_64-latest.err` (an expected refusal), each on the fake host of
//! libvirt's test program with the driver options that program sets for case `X`
//! ([`HostContext::libvirt_test_case`], [`super::harness`]). Used by the `conformance` example and
//! the corpus test.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use virt_xml::conformance::first_difference;
use virt_xml::Domain;

use super::caps::QemuCaps;
use super::host::HostContext;

/// A failing case and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub name: String,
    pub detail: String,
}

/// The outcome of a corpus run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub passed: Vec<String>,
    pub failures: Vec<Failure>,
    /// `.args` cases whose global options (outside the device families) match.
    pub globals_passed: usize,
    /// `.args` cases whose global options differ, with the first difference.
    pub globals_failures: Vec<Failure>,
}

/// The family of a case: its name up to the first `-` (`net-user` -> `net`).
pub fn prefix_of(name: &str) -> &str {
    name.split(['-', '.']).next().unwrap_or(name)
}

impl Report {
    /// (passed, total) per case-name prefix.
    pub fn by_prefix(&self) -> BTreeMap<String, (usize, usize)> {
        let mut m: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for n in &self.passed {
            let e = m.entry(prefix_of(n).to_string()).or_default();
            e.0 += 1;
            e.1 += 1;
        }
        for f in &self.failures {
            m.entry(prefix_of(&f.name).to_string()).or_default().1 += 1;
        }
        m
    }
}

/// Whether a `.args` line belongs to a device family (not to the global options this builder
/// writes today): `-device`, disk `-blockdev`s, `-netdev`, chardevs other than the monitor, ...
fn is_device_line(line: &str) -> bool {
    const DEVICE_OPTS: &[&str] = &[
        "-device ",
        "-netdev ",
        "-fsdev ",
        "-tpmdev ",
        "-vnc ",
        "-spice ",
        "-add-fd ",
        "-watchdog-action ",
        "-global isa-fdc.",
        "-global PIIX4_PM.acpi-",
        "-global ICH9-LPC.acpi-",
        "SASL_CONF_PATH=",
    ];
    if DEVICE_OPTS.iter().any(|o| line.starts_with(o)) {
        return true;
    }
    if line.starts_with("-blockdev ") {
        return !line.contains("libvirt-pflash");
    }
    if line.starts_with("-chardev ") {
        return !line.contains("id=charmonitor");
    }
    if line.starts_with("-display ") {
        return line != "-display none \\";
    }
    if let Some(rest) = line.strip_prefix("-object ") {
        const GLOBAL_OBJECTS: &[&str] = &[
            "\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram",
            "\"id\":\"ram-node",
            "\"id\":\"pc.ram\"",
            "\"id\":\"tc-ram-node",
            "\"id\":\"masterKey0\"",
            "\"qom-type\":\"iothread\"",
            "\"qom-type\":\"sev-guest\"",
        ];
        return !GLOBAL_OBJECTS.iter().any(|g| rest.contains(g));
    }
    false
}

/// The text without device-family lines (continuations normalised), for comparing only the global
/// options.
pub fn globals_only(args_text: &str) -> String {
    args_text
        .lines()
        .map(|l| l.trim_end_matches(" \\"))
        .filter(|l| !is_device_line(&format!("{l} \\")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// For `.args` case `name`: whether the global options (everything outside the device families)
/// match libvirt's; `None` for `.err` cases and refused domains.
pub fn check_globals(
    name: &str,
    xml: &str,
    expected_args: &str,
    caps: &QemuCaps,
) -> Option<Result<(), String>> {
    let mut def = Domain::parse(xml).ok()?;
    let host = HostContext::libvirt_test_case(&def, name);
    let cmd = match super::prepare_and_build(&mut def, caps, &host) {
        Ok(c) => c,
        Err(e) => return Some(Err(format!("refused: {e}"))),
    };
    let want = globals_only(expected_args);
    let got = globals_only(&cmd.to_args_text());
    Some(match first_difference(&want, &got, "global line") {
        None => Ok(()),
        Some(d) => Err(d),
    })
}

/// Outcome of case `name`: `Ok(())` when it passes, else the first difference or the error.
pub fn check_case(
    name: &str,
    xml: &str,
    expected_args: Option<&str>,
    caps: &QemuCaps,
) -> Result<(), String> {
    let mut def = match Domain::parse(xml) {
        Ok(d) => d,
        Err(e) => {
            return match expected_args {
                None => Ok(()),
                Some(_) => Err(format!("XML refused: {e}")),
            }
        }
    };
    let host = HostContext::libvirt_test_case(&def, name);
    let result = super::prepare_and_build(&mut def, caps, &host);
    match (expected_args, result) {
        (None, Err(_)) => Ok(()),
        (None, Ok(_)) => Err("accepted, but libvirt refuses it".into()),
        (Some(_), Err(e)) => Err(format!("refused: {e}")),
        (Some(want), Ok(cmd)) => match first_difference(want, &cmd.to_args_text(), "line") {
            None => Ok(()),
            Some(d) => Err(d),
        },
    }
}

/// Runs every case in `dir` (sorted by name).
pub fn run_dir(dir: &Path, caps: &QemuCaps) -> std::io::Result<Report> {
    let mut names: Vec<String> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".xml"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    let mut report = Report::default();
    for name in names {
        let args = dir.join(format!("{name}.x86_64-latest.args"));
        let err = dir.join(format!("{name}.x86_64-latest.err"));
        let expected = if args.exists() {
            Some(fs::read_to_string(&args)?)
        } else if err.exists() {
            None
        } else {
            continue;
        };
        let xml = fs::read_to_string(dir.join(format!("{name}.xml")))?;
        if let Some(want) = expected.as_deref() {
            match check_globals(&name, &xml, want, caps) {
                Some(Ok(())) => report.globals_passed += 1,
                Some(Err(detail)) => report.globals_failures.push(Failure {
                    name: name.clone(),
                    detail,
                }),
                None => {}
            }
        }
        match check_case(&name, &xml, expected.as_deref(), caps) {
            Ok(()) => report.passed.push(name),
            Err(detail) => report.failures.push(Failure { name, detail }),
        }
    }
    Ok(report)
}
