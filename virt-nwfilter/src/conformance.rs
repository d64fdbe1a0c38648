//! Checking generated commands against libvirt 9.0's `nwfilterxml2firewalltest` data: each
//! `X.xml` instantiated on interface `vnet0` with that test's variables must give the commands in
//! `X-linux.args` (after the commands common to every case are taken out, as the test does).

use std::fs;
use std::path::Path;

use virt_xml::nwfilter::parse_filter;

use crate::ebiptables::apply_new_rules;
use crate::error::FilterError;
use crate::tree::{flatten, vars_from, FilterDir};
use crate::vars::Vars;

/// The variables libvirt's test gives every case.
pub fn test_vars() -> Vars {
    vars_from([
        ("IPSETNAME", "tck_test"),
        ("A", "1.1.1.1"),
        ("A", "2.2.2.2"),
        ("A", "3.3.3.3"),
        ("A", "3.3.3.3"),
        ("B", "80"),
        ("B", "90"),
        ("B", "80"),
        ("B", "80"),
        ("C", "1080"),
        ("C", "1090"),
        ("C", "1100"),
        ("C", "1110"),
    ])
}

/// Command blocks every case produces; the test removes each once, in order.
const COMMON: [&str; 7] = [
    "ebtables --concurrent -t nat -D PREROUTING -i vnet0 -j libvirt-J-vnet0\n\
     ebtables --concurrent -t nat -D POSTROUTING -o vnet0 -j libvirt-P-vnet0\n\
     ebtables --concurrent -t nat -L libvirt-J-vnet0\n\
     ebtables --concurrent -t nat -L libvirt-P-vnet0\n\
     ebtables --concurrent -t nat -F libvirt-J-vnet0\n\
     ebtables --concurrent -t nat -X libvirt-J-vnet0\n\
     ebtables --concurrent -t nat -F libvirt-P-vnet0\n\
     ebtables --concurrent -t nat -X libvirt-P-vnet0\n",
    "ebtables --concurrent -t nat -N libvirt-J-vnet0\n\
     ebtables --concurrent -t nat -N libvirt-P-vnet0\n",
    IPT_DROP_V4,
    IPT_CREATE_V4,
    IPT_DROP_V6,
    IPT_CREATE_V6,
    "ebtables --concurrent -t nat -A PREROUTING -i vnet0 -j libvirt-J-vnet0\n\
     ebtables --concurrent -t nat -A POSTROUTING -o vnet0 -j libvirt-P-vnet0\n",
];

macro_rules! ipt_drop {
    ($t:literal) => {
        concat!(
            $t,
            " -w -D libvirt-out -m physdev --physdev-is-bridged --physdev-out vnet0 -g FP-vnet0\n",
            $t,
            " -w -D libvirt-out -m physdev --physdev-out vnet0 -g FP-vnet0\n",
            $t,
            " -w -D libvirt-in -m physdev --physdev-in vnet0 -g FJ-vnet0\n",
            $t,
            " -w -D libvirt-host-in -m physdev --physdev-in vnet0 -g HJ-vnet0\n",
            $t,
            " -w -F FP-vnet0\n",
            $t,
            " -w -X FP-vnet0\n",
            $t,
            " -w -F FJ-vnet0\n",
            $t,
            " -w -X FJ-vnet0\n",
            $t,
            " -w -F HJ-vnet0\n",
            $t,
            " -w -X HJ-vnet0\n"
        )
    };
}

macro_rules! ipt_create {
    ($t:literal) => {
        concat!(
            $t,
            " -w -N libvirt-in\n",
            $t,
            " -w -N libvirt-out\n",
            $t,
            " -w -N libvirt-in-post\n",
            $t,
            " -w -N libvirt-host-in\n",
            $t,
            " -w -D FORWARD -j libvirt-in\n",
            $t,
            " -w -D FORWARD -j libvirt-out\n",
            $t,
            " -w -D FORWARD -j libvirt-in-post\n",
            $t,
            " -w -D INPUT -j libvirt-host-in\n",
            $t,
            " -w -I FORWARD 1 -j libvirt-in\n",
            $t,
            " -w -I FORWARD 2 -j libvirt-out\n",
            $t,
            " -w -I FORWARD 3 -j libvirt-in-post\n",
            $t,
            " -w -I INPUT 1 -j libvirt-host-in\n",
            $t,
            " -w -N FP-vnet0\n",
            $t,
            " -w -N FJ-vnet0\n",
            $t,
            " -w -N HJ-vnet0\n",
            $t,
            " -w -A libvirt-out -m physdev --physdev-is-bridged --physdev-out vnet0 -g FP-vnet0\n",
            $t,
            " -w -A libvirt-in -m physdev --physdev-in vnet0 -g FJ-vnet0\n",
            $t,
            " -w -A libvirt-host-in -m physdev --physdev-in vnet0 -g HJ-vnet0\n",
            $t,
            " -w -D libvirt-in-post -m physdev --physdev-in vnet0 -j ACCEPT\n",
            $t,
            " -w -A libvirt-in-post -m physdev --physdev-in vnet0 -j ACCEPT\n"
        )
    };
}

const IPT_DROP_V4: &str = ipt_drop!("iptables");
const IPT_DROP_V6: &str = ipt_drop!("ip6tables");
const IPT_CREATE_V4: &str = ipt_create!("iptables");
const IPT_CREATE_V6: &str = ipt_create!("ip6tables");

/// The commands for `xml` (a filter file in `dir`, whose references are `dir/NAME.xml`), as the
/// test prints them (one per line) with the common blocks removed.
pub fn commands_text(dir: &Path, xml: &str) -> Result<String, FilterError> {
    let f = parse_filter(xml).map_err(|source| FilterError::Xml {
        name: "input".into(),
        source: Box::new(source),
    })?;
    let rules = flatten(&f, &FilterDir(dir.to_path_buf()), &test_vars())?;
    let cmds = apply_new_rules("vnet0", &rules)?;
    let mut text: String = cmds.iter().map(|c| c.to_shell() + "\n").collect();
    let mut offset = 0;
    for c in COMMON {
        if let Some(i) = text[offset..].find(c) {
            let at = offset + i;
            text.replace_range(at..at + c.len(), "");
            offset = at;
        }
    }
    Ok(text)
}

/// Reads an `.args` file the way libvirt's tests do: lines ending in `\` join the next.
pub fn unwrap_args(s: &str) -> String {
    s.replace("\\\n", "")
}

/// One failing case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    pub name: String,
    pub detail: String,
}

/// Runs every `X.xml` with an `X-linux.args` twin in `dir`.
pub fn run_dir(dir: &Path) -> std::io::Result<(usize, Vec<CaseFailure>)> {
    let mut names: Vec<String> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix("-linux.args").map(str::to_string))
        .collect();
    names.sort();
    let mut passed = 0;
    let mut failures = Vec::new();
    for name in names {
        let expected = unwrap_args(&fs::read_to_string(dir.join(format!("{name}-linux.args")))?);
        let xml = match fs::read_to_string(dir.join(format!("{name}.xml"))) {
            Ok(x) => x,
            Err(e) => {
                failures.push(CaseFailure {
                    name,
                    detail: format!("no XML: {e}"),
                });
                continue;
            }
        };
        match commands_text(dir, &xml) {
            Err(e) => failures.push(CaseFailure {
                name,
                detail: format!("error: {e}"),
            }),
            Ok(got) => match virt_xml::conformance::first_difference(&expected, &got, "command") {
                None => passed += 1,
                Some(d) => failures.push(CaseFailure { name, detail: d }),
            },
        }
    }
    Ok((passed, failures))
}
