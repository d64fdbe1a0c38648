//! The ebtables/iptables backend: the same chains and rules libvirt 9.0 makes (under their final
//! names `libvirt-I-IF`, `I-IF-SUFFIX`, `FI-IF`, `FO-IF`, `HI-IF`), written with one
//! `ebtables-restore --noflush` / `iptables-restore --noflush` / `ip6tables-restore --noflush`
//! batch per tool instead of one process per rule. What exists is read with `*-save` first so a
//! re-apply or a tear-down removes exactly this interface's chains and jumps.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::error::FilterError;
use crate::ruleset::{EbChain, IpChains, Ruleset};

fn cmd_err(program: &str, message: impl Into<String>) -> FilterError {
    FilterError::Command {
        program: program.to_string(),
        message: message.into(),
    }
}

/// Runs `program args` with `input` on stdin; returns stdout.
pub fn run(program: &str, args: &[&str], input: Option<&str>) -> Result<String, FilterError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| cmd_err(program, e.to_string()))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| cmd_err(program, e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| cmd_err(program, e.to_string()))?;
    if !out.status.success() {
        let mut msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if let Some(text) = input {
            msg.push_str("\ninput was:\n");
            msg.push_str(text);
        }
        return Err(cmd_err(program, msg));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn eb_root(incoming: bool, ifname: &str) -> String {
    format!("libvirt-{}-{ifname}", if incoming { 'I' } else { 'O' })
}

fn eb_sub(incoming: bool, ifname: &str, suffix: &str) -> String {
    format!("{}-{ifname}-{suffix}", if incoming { 'I' } else { 'O' })
}

/// Quotes an argument for the restore formats (which split on blanks and honour `"`).
fn rq(s: &str) -> String {
    if !s.is_empty()
        && !s.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        return s.to_string();
    }
    let clean: String = s
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    format!("\"{clean}\"")
}

fn join(args: &[String]) -> String {
    args.iter().map(|a| rq(a)).collect::<Vec<_>>().join(" ")
}

/// Whether `chain` is one of `ifname`'s ebtables chains (final or libvirt's temporary names).
fn is_eb_chain(chain: &str, ifname: &str) -> bool {
    ["I", "O", "J", "P"].iter().any(|p| {
        chain == format!("libvirt-{p}-{ifname}") || chain.starts_with(&format!("{p}-{ifname}-"))
    })
}

fn is_ip_chain(chain: &str, ifname: &str) -> bool {
    ["FI", "FO", "HI", "FJ", "FP", "HJ"]
        .iter()
        .any(|p| chain == format!("{p}-{ifname}"))
}

/// Lines that remove what `save` output shows of `ifname`: jumps into its chains (and, for
/// iptables, its `libvirt-in-post` accept), then its chains.
fn removal(save: &str, ifname: &str, eb: bool) -> (Vec<String>, Vec<String>) {
    let mut deletes = Vec::new();
    let mut chains = Vec::new();
    for line in save.lines() {
        if let Some(decl) = line.strip_prefix(':') {
            let name = decl.split_whitespace().next().unwrap_or("");
            let ours = if eb {
                is_eb_chain(name, ifname)
            } else {
                is_ip_chain(name, ifname)
            };
            if ours {
                chains.push(name.to_string());
            }
        } else if let Some(rule) = line.strip_prefix("-A ") {
            let words: Vec<&str> = rule.split_whitespace().collect();
            let chain = words.first().copied().unwrap_or("");
            let ours_chain = if eb {
                is_eb_chain(chain, ifname)
            } else {
                is_ip_chain(chain, ifname)
            };
            if ours_chain {
                continue;
            }
            let target = words
                .iter()
                .position(|w| *w == "-j" || *w == "-g")
                .and_then(|i| words.get(i + 1))
                .copied()
                .unwrap_or("");
            let jumps_to_ours = if eb {
                is_eb_chain(target, ifname)
            } else {
                is_ip_chain(target, ifname)
            };
            let in_post = !eb
                && chain == "libvirt-in-post"
                && words
                    .windows(2)
                    .any(|w| w[0] == "--physdev-in" && w[1] == ifname);
            if jumps_to_ours || in_post {
                deletes.push(format!("-D {rule}"));
            }
        }
    }
    (deletes, chains)
}

fn eb_batch(ifname: &str, save: &str, rs: Option<&Ruleset>) -> Option<String> {
    let (deletes, old) = removal(save, ifname, true);
    let has_new = rs.is_some_and(|r| !r.eb_from_guest.is_empty() || !r.eb_to_guest.is_empty());
    if deletes.is_empty() && old.is_empty() && !has_new {
        return None;
    }
    let mut out = String::from("*nat\n");
    for d in &deletes {
        out.push_str(d);
        out.push('\n');
    }
    for c in &old {
        out.push_str(&format!("-F {c}\n"));
    }
    for c in &old {
        out.push_str(&format!("-X {c}\n"));
    }
    if let Some(rs) = rs {
        for (chains, incoming) in [(&rs.eb_from_guest, true), (&rs.eb_to_guest, false)] {
            if chains.is_empty() {
                continue;
            }
            let name = |c: &EbChain| match &c.suffix {
                None => eb_root(incoming, ifname),
                Some(s) => eb_sub(incoming, ifname, s),
            };
            for c in chains.iter() {
                out.push_str(&format!("-N {} -P RETURN\n", name(c)));
            }
            for c in chains.iter() {
                for r in &c.rules {
                    let mut r = r.clone();
                    if let Some(pos) = r.iter().position(|x| x == "-j") {
                        if let Some(t) = r.get(pos + 1).and_then(|t| t.strip_prefix('@')) {
                            r[pos + 1] = eb_sub(incoming, ifname, t);
                        }
                    }
                    out.push_str(&format!("-A {} {}\n", name(c), join(&r)));
                }
            }
            let root = eb_root(incoming, ifname);
            if incoming {
                out.push_str(&format!("-A PREROUTING -i {ifname} -j {root}\n"));
            } else {
                out.push_str(&format!("-A POSTROUTING -o {ifname} -j {root}\n"));
            }
        }
    }
    out.push_str("COMMIT\n");
    Some(out)
}

const BASE: [&str; 4] = [
    "libvirt-in",
    "libvirt-out",
    "libvirt-in-post",
    "libvirt-host-in",
];

fn ip_batch(ifname: &str, save: &str, new: Option<&IpChains>) -> Option<String> {
    let (deletes, old) = removal(save, ifname, false);
    if deletes.is_empty() && old.is_empty() && new.is_none() {
        return None;
    }
    let mut out = String::from("*filter\n");
    for d in &deletes {
        out.push_str(d);
        out.push('\n');
    }
    for c in &old {
        out.push_str(&format!("-F {c}\n-X {c}\n"));
    }
    if let Some(c) = new {
        // The shared chains and their hooks, made once per host (or network namespace).
        let declared: Vec<&str> = save
            .lines()
            .filter_map(|l| l.strip_prefix(':'))
            .filter_map(|d| d.split_whitespace().next())
            .collect();
        for (i, b) in BASE.iter().enumerate() {
            if !declared.contains(b) {
                out.push_str(&format!("-N {b}\n"));
                let hook = if *b == "libvirt-host-in" {
                    "-I INPUT 1".to_string()
                } else {
                    format!("-I FORWARD {}", i + 1)
                };
                out.push_str(&format!("{hook} -j {b}\n"));
            }
        }
        let fi = format!("FI-{ifname}");
        let fo = format!("FO-{ifname}");
        let hi = format!("HI-{ifname}");
        for ch in [&fo, &fi, &hi] {
            out.push_str(&format!("-N {ch}\n"));
        }
        for r in &c.from_guest {
            out.push_str(&format!("-A {fi} {}\n", join(r)));
        }
        for r in &c.to_guest {
            out.push_str(&format!("-A {fo} {}\n", join(r)));
        }
        for r in &c.to_host {
            out.push_str(&format!("-A {hi} {}\n", join(r)));
        }
        out.push_str(&format!(
            "-A libvirt-out -m physdev --physdev-is-bridged --physdev-out {ifname} -g {fo}\n\
             -A libvirt-in -m physdev --physdev-in {ifname} -g {fi}\n\
             -A libvirt-host-in -m physdev --physdev-in {ifname} -g {hi}\n\
             -A libvirt-in-post -m physdev --physdev-in {ifname} -j ACCEPT\n"
        ));
    }
    out.push_str("COMMIT\n");
    Some(out)
}

/// The current state of the three tools (their `-save` output).
#[derive(Debug, Clone, Default)]
pub struct Saved {
    pub eb: String,
    pub ip4: String,
    pub ip6: String,
}

impl Saved {
    /// Reads the current rules of all three tools (the three `-save` programs run at once).
    pub fn read() -> Result<Self, FilterError> {
        let spawn = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| cmd_err(program, e.to_string()))
        };
        let children = [
            ("ebtables-save", spawn("ebtables-save", &[])),
            ("iptables-save", spawn("iptables-save", &["-t", "filter"])),
            ("ip6tables-save", spawn("ip6tables-save", &["-t", "filter"])),
        ];
        let mut outs = Vec::new();
        let mut first_err = None;
        for (program, child) in children {
            let r = child.and_then(|c| {
                let out = c
                    .wait_with_output()
                    .map_err(|e| cmd_err(program, e.to_string()))?;
                if !out.status.success() {
                    return Err(cmd_err(
                        program,
                        String::from_utf8_lossy(&out.stderr).trim().to_string(),
                    ));
                }
                Ok(String::from_utf8_lossy(&out.stdout).into_owned())
            });
            match r {
                Ok(o) => outs.push(o),
                Err(e) => {
                    first_err.get_or_insert(e);
                    outs.push(String::new());
                }
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        let mut it = outs.into_iter();
        Ok(Saved {
            eb: it.next().unwrap_or_default(),
            ip4: it.next().unwrap_or_default(),
            ip6: it.next().unwrap_or_default(),
        })
    }
}

/// The restore batches (ebtables, iptables, ip6tables) that make `ifname` carry exactly `rs`
/// (or nothing, with `None`), given the current state.
pub fn batches(
    ifname: &str,
    saved: &Saved,
    rs: Option<&Ruleset>,
) -> Result<[Option<String>; 3], FilterError> {
    crate::ebiptables::check_ifname(ifname)?;
    // Keep only the *nat section of ebtables-save for the parse.
    let nat: String = {
        let mut inside = false;
        let mut s = String::new();
        for l in saved.eb.lines() {
            if l.starts_with('*') {
                inside = l == "*nat";
                continue;
            }
            if inside {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    };
    Ok([
        eb_batch(ifname, &nat, rs),
        ip_batch(ifname, &saved.ip4, rs.and_then(|r| r.ipv4.as_ref())),
        ip_batch(ifname, &saved.ip6, rs.and_then(|r| r.ipv6.as_ref())),
    ])
}

/// Feeds the batches to the restore tools (each tool's batch is one transaction).
pub fn run_batches(b: &[Option<String>; 3]) -> Result<(), FilterError> {
    for (tool, batch) in ["ebtables-restore", "iptables-restore", "ip6tables-restore"]
        .iter()
        .zip(b.iter())
    {
        if let Some(text) = batch {
            let args: &[&str] = if *tool == "ebtables-restore" {
                &["--noflush"]
            } else {
                &["--noflush", "-w"]
            };
            run(tool, args, Some(text))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_finds_only_this_interfaces_chains_and_jumps() {
        let save = ":PREROUTING ACCEPT\n:libvirt-I-vnet0 RETURN\n:I-vnet0-ipv4-ip RETURN\n\
                    :libvirt-I-vnet10 RETURN\n\
                    -A PREROUTING -i vnet0 -j libvirt-I-vnet0\n\
                    -A PREROUTING -i vnet10 -j libvirt-I-vnet10\n\
                    -A libvirt-I-vnet0 -p IPv4 -j I-vnet0-ipv4-ip\n";
        let (del, chains) = removal(save, "vnet0", true);
        assert_eq!(
            del,
            vec!["-D PREROUTING -i vnet0 -j libvirt-I-vnet0".to_string()]
        );
        assert_eq!(
            chains,
            vec!["libvirt-I-vnet0".to_string(), "I-vnet0-ipv4-ip".to_string()]
        );
        let ipt = ":FI-vnet0 - [0:0]\n:libvirt-in-post - [0:0]\n\
                   -A libvirt-in -m physdev --physdev-in vnet0 -g FI-vnet0\n\
                   -A libvirt-in-post -m physdev --physdev-in vnet0 -j ACCEPT\n\
                   -A libvirt-in-post -m physdev --physdev-in vnet01 -j ACCEPT\n";
        let (del, chains) = removal(ipt, "vnet0", false);
        assert_eq!(del.len(), 2, "{del:?}");
        assert_eq!(chains, vec!["FI-vnet0".to_string()]);
    }

    #[test]
    fn restore_quoting() {
        assert_eq!(rq("abc"), "abc");
        assert_eq!(rq("a b"), "\"a b\"");
        assert_eq!(rq("a\"b\\c\nd"), "\"a'b'c d\"");
    }
}
