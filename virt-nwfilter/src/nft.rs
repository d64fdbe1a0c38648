//! The nftables backend: an interface's whole rule set as two tables (`bridge nwf-IF` for the
//! layer-2 rules, `inet nwf-IF` for the IP rules), applied, replaced or removed in one
//! transaction (`nft -f` reads one batch).
//!
//! Layer-2 chains hook where ebtables' `nat` table does (prerouting -300 from the guest,
//! postrouting 300 to the guest). The IP rules need connection tracking, which this kernel only
//! offers on the IP hooks that bridged packets pass through (`br_netfilter`); there the bridge
//! port is no longer visible, so the bridge table tags packets with the port in the packet mark
//! (low 16 bits: from-port ifindex, high 16 bits: to-port ifindex) and the inet table matches
//! on it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::error::FilterError;
use crate::ruleset::{EbChain, IpChains, Ruleset};

/// Table name of an interface.
pub fn table_name(ifname: &str) -> String {
    format!("nwf-{ifname}")
}

fn unsupported(what: &str) -> FilterError {
    FilterError::Unsupported(format!("the nftables backend cannot express {what}"))
}

fn take<'a>(it: &mut std::slice::Iter<'a, String>, opt: &str) -> Result<&'a str, FilterError> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| FilterError::Unsupported(format!("{opt} without a value")))
}

fn op(neg: bool) -> &'static str {
    if neg {
        "!= "
    } else {
        ""
    }
}

fn mac_match(field: &str, v: &str, neg: bool) -> String {
    match v.split_once('/') {
        Some((addr, "ff:ff:ff:ff:ff:ff")) | Some((addr, "")) => {
            format!("ether {field} {}{addr}", op(neg))
        }
        Some((addr, mask)) => {
            // nft wants the masked value on the right.
            let a: Vec<u8> = addr
                .split(':')
                .filter_map(|x| u8::from_str_radix(x, 16).ok())
                .collect();
            let m: Vec<u8> = mask
                .split(':')
                .filter_map(|x| u8::from_str_radix(x, 16).ok())
                .collect();
            let masked: Vec<String> = a
                .iter()
                .zip(m.iter().chain(std::iter::repeat(&0)))
                .map(|(x, y)| format!("{:02x}", x & y))
                .collect();
            format!(
                "ether {field} & {mask} {} {}",
                if neg { "!=" } else { "==" },
                masked.join(":")
            )
        }
        None => format!("ether {field} {}{v}", op(neg)),
    }
}

fn ethertype(v: &str) -> Result<String, FilterError> {
    let n = match v.to_ascii_lowercase().as_str() {
        "ipv4" => 0x0800,
        "ipv6" => 0x86dd,
        "arp" => 0x0806,
        "rarp" => 0x8035,
        s => {
            let h = s.strip_prefix("0x").unwrap_or(s);
            u32::from_str_radix(h, 16).map_err(|_| unsupported(&format!("ether type '{v}'")))?
        }
    };
    Ok(format!("0x{n:04x}"))
}

fn range(v: &str) -> String {
    v.replace(':', "-")
}

fn verdict(t: &str, chain_of: &dyn Fn(&str) -> Option<String>) -> Result<String, FilterError> {
    Ok(match t {
        "ACCEPT" => "accept".into(),
        "DROP" => "drop".into(),
        "RETURN" => "return".into(),
        "CONTINUE" => "continue".into(),
        "REJECT" => "reject".into(),
        other => match chain_of(other) {
            Some(c) => format!("jump {c}"),
            None => return Err(unsupported(&format!("target '{other}'"))),
        },
    })
}

/// One ebtables rule (match arguments and `-j`) as an nft rule.
fn eb_rule(
    args: &[String],
    chain_of: &dyn Fn(&str) -> Option<String>,
) -> Result<String, FilterError> {
    let mut out: Vec<String> = Vec::new();
    let mut it = args.iter();
    let mut verdict_s = String::new();
    while let Some(o) = it.next() {
        let o = o.as_str();
        let mut neg = false;
        let mut val = || -> Result<&str, FilterError> {
            let v = take(&mut it, o)?;
            if v == "!" {
                neg = true;
                take(&mut it, o)
            } else {
                Ok(v)
            }
        };
        match o {
            "-s" | "-d" => {
                let v = val()?;
                out.push(mac_match(if o == "-s" { "saddr" } else { "daddr" }, v, neg));
            }
            "-p" => {
                let v = val()?;
                out.push(format!("ether type {}{}", op(neg), ethertype(v)?));
            }
            "--arp-htype" => {
                let v = val()?;
                out.push(format!("arp htype {}{v}", op(neg)));
            }
            "--arp-opcode" => {
                let v = val()?;
                out.push(format!("arp operation {}{v}", op(neg)));
            }
            "--arp-ptype" => {
                let v = val()?;
                out.push(format!("arp ptype {}{}", op(neg), ethertype(v)?));
            }
            "--arp-ip-src" | "--arp-ip-dst" => {
                let v = val()?;
                let f = if o == "--arp-ip-src" {
                    "saddr"
                } else {
                    "daddr"
                };
                out.push(format!("arp {f} ip {}{v}", op(neg)));
            }
            "--arp-mac-src" | "--arp-mac-dst" => {
                let v = val()?;
                let f = if o == "--arp-mac-src" {
                    "saddr"
                } else {
                    "daddr"
                };
                out.push(format!("arp {f} ether {}{v}", op(neg)));
            }
            "--ip-source" | "--ip-destination" | "--ip6-source" | "--ip6-destination" => {
                let v = val()?;
                let fam = if o.starts_with("--ip6") { "ip6" } else { "ip" };
                let f = if o.ends_with("source") {
                    "saddr"
                } else {
                    "daddr"
                };
                out.push(format!("{fam} {f} {}{v}", op(neg)));
            }
            "--ip-protocol" => {
                let v = val()?;
                out.push(format!("ip protocol {}{v}", op(neg)));
            }
            "--ip6-protocol" => {
                let v = val()?;
                out.push(format!("ip6 nexthdr {}{v}", op(neg)));
            }
            "--ip-source-port" | "--ip6-source-port" => {
                let v = val()?;
                out.push(format!("th sport {}{}", op(neg), range(v)));
            }
            "--ip-destination-port" | "--ip6-destination-port" => {
                let v = val()?;
                out.push(format!("th dport {}{}", op(neg), range(v)));
            }
            "--ip-tos" => {
                let v = val()?;
                out.push(format!("@nh,8,8 {}{v}", op(neg)));
            }
            "--ip6-icmp-type" => {
                let v = val()?;
                let (t, c) = v.split_once('/').unwrap_or((v, "0:255"));
                if neg {
                    return Err(unsupported("a negated ICMPv6 type range"));
                }
                out.push(format!("icmpv6 type {} icmpv6 code {}", range(t), range(c)));
            }
            "--vlan-id" => {
                let v = val()?;
                out.push(format!("vlan id {}{v}", op(neg)));
            }
            "--vlan-encap" => {
                let v = val()?;
                out.push(format!("vlan type {}{}", op(neg), ethertype(v)?));
            }
            "-j" => {
                let t = take(&mut it, o)?;
                verdict_s = verdict(t, chain_of)?;
            }
            other => return Err(unsupported(&format!("ebtables option '{other}'"))),
        }
    }
    out.push(verdict_s);
    Ok(out.join(" "))
}

fn tcp_flags(s: &str) -> String {
    match s {
        "NONE" => "0x0".into(),
        "ALL" => "(fin|syn|rst|psh|ack|urg)".into(),
        s => format!("({})", s.to_ascii_lowercase().replace(',', "|")),
    }
}

fn nft_string(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c == '"' || c.is_control() { '\'' } else { c })
        .collect();
    format!("\"{clean}\"")
}

/// One iptables rule (arguments after `-A CHAIN`) as an nft rule for family `fam` (ip or ip6).
fn ipt_rule(args: &[String], fam: &str) -> Result<String, FilterError> {
    let mut out: Vec<String> = Vec::new();
    let mut comment = None;
    let mut verdict_s = String::new();
    let mut neg = false;
    let mut it = args.iter();
    while let Some(o) = it.next() {
        let o = o.as_str();
        match o {
            "!" => {
                neg = true;
                continue;
            }
            "-m" => {
                take(&mut it, o)?;
                continue;
            }
            "-p" => {
                let v = take(&mut it, o)?;
                if v != "all" {
                    out.push(format!("meta l4proto {}{v}", op(neg)));
                }
            }
            "--mac-source" => {
                let v = take(&mut it, o)?;
                out.push(format!("ether saddr {}{v}", op(neg)));
            }
            "--source" | "--destination" | "--src-range" | "--dst-range" => {
                let v = take(&mut it, o)?;
                let f = if o == "--source" || o == "--src-range" {
                    "saddr"
                } else {
                    "daddr"
                };
                out.push(format!("{fam} {f} {}{v}", op(neg)));
            }
            "--dscp" => {
                let v = take(&mut it, o)?;
                out.push(format!("{fam} dscp {}{v}", op(neg)));
            }
            "--sport" | "--dport" => {
                let v = take(&mut it, o)?;
                out.push(format!("th {} {}{}", &o[2..], op(neg), range(v)));
            }
            "--tcp-flags" => {
                let m = take(&mut it, o)?;
                let f = take(&mut it, o)?;
                out.push(format!(
                    "tcp flags & {} {} {}",
                    tcp_flags(m),
                    if neg { "!=" } else { "==" },
                    tcp_flags(f)
                ));
            }
            "--icmp-type" | "--icmpv6-type" => {
                let v = take(&mut it, o)?;
                let p = if o == "--icmp-type" { "icmp" } else { "icmpv6" };
                match v.split_once('/') {
                    Some((t, c)) if !neg => out.push(format!("{p} type {t} {p} code {c}")),
                    Some(_) => return Err(unsupported("a negated ICMP type with code")),
                    None => out.push(format!("{p} type {}{v}", op(neg))),
                }
            }
            "--ctstate" => {
                let v = take(&mut it, o)?;
                out.push(format!(
                    "ct state {}{{ {} }}",
                    op(neg),
                    v.to_ascii_lowercase().replace(',', ", ")
                ));
            }
            "--ctdir" => {
                let v = take(&mut it, o)?;
                out.push(format!(
                    "ct direction {}{}",
                    op(neg),
                    v.to_ascii_lowercase()
                ));
            }
            "--comment" => {
                comment = Some(nft_string(take(&mut it, o)?));
            }
            "-j" => {
                verdict_s = verdict(take(&mut it, o)?, &|_| None)?;
            }
            "--match-set" => return Err(unsupported("ipset matches")),
            "--connlimit-above" => return Err(unsupported("connection limits")),
            "--tcp-option" => return Err(unsupported("TCP option matches")),
            other => return Err(unsupported(&format!("iptables option '{other}'"))),
        }
        neg = false;
    }
    out.push(verdict_s);
    if let Some(c) = comment {
        out.push(format!("comment {c}"));
    }
    Ok(out.join(" "))
}

fn eb_chain_name(incoming: bool, idx: usize) -> String {
    format!("c_{}{idx}", if incoming { "I" } else { "O" })
}

fn write_eb_chains(
    out: &mut String,
    chains: &[EbChain],
    incoming: bool,
) -> Result<(), FilterError> {
    let name_of = |suffix: &str| -> Option<String> {
        chains
            .iter()
            .position(|c| c.suffix.as_deref() == Some(suffix))
            .map(|i| eb_chain_name(incoming, i))
    };
    let chain_of = |t: &str| t.strip_prefix('@').and_then(name_of);
    for (i, c) in chains.iter().enumerate() {
        let _ = writeln!(out, "  chain {} {{", eb_chain_name(incoming, i));
        for r in &c.rules {
            let _ = writeln!(out, "    {}", eb_rule(r, &chain_of)?);
        }
        out.push_str("  }\n");
    }
    Ok(())
}

fn write_ip_chains(out: &mut String, c: &IpChains, v: u8) -> Result<(), FilterError> {
    let fam = if v == 4 { "ip" } else { "ip6" };
    for (name, rules) in [
        ("FI", &c.from_guest),
        ("FO", &c.to_guest),
        ("HI", &c.to_host),
    ] {
        let _ = writeln!(out, "  chain c_{name}{v} {{");
        for r in rules {
            let _ = writeln!(out, "    {}", ipt_rule(r, fam)?);
        }
        out.push_str("  }\n");
    }
    Ok(())
}

/// The batch that replaces (or, with `rules == None`, removes) the interface's tables.
/// `port_id` is the interface's index, used to tag its packets for the IP rules.
pub fn batch(ifname: &str, rules: Option<&Ruleset>, port_id: u32) -> Result<String, FilterError> {
    crate::ebiptables::check_ifname(ifname)?;
    let t = table_name(ifname);
    let mut out = String::new();
    // Create-then-delete makes the delete succeed whether or not the table exists.
    for fam in ["bridge", "inet"] {
        let _ = writeln!(out, "table {fam} {t}\ndelete table {fam} {t}");
    }
    let Some(rs) = rules else {
        return Ok(out);
    };
    let id = port_id & 0xffff;
    let has_ip = rs.ipv4.is_some() || rs.ipv6.is_some();
    if has_ip && id == 0 {
        return Err(FilterError::Unsupported(format!(
            "interface '{ifname}' has no usable index for IP rules"
        )));
    }
    let _ = writeln!(out, "table bridge {t} {{");
    if has_ip {
        let _ = writeln!(
            out,
            "  chain nwf_mark_in {{\n    type filter hook prerouting priority -350;\n    iifname \"{ifname}\" meta mark set meta mark and 0xffff0000 or 0x{id:x}\n  }}"
        );
        let _ = writeln!(
            out,
            "  chain nwf_mark_out {{\n    type filter hook forward priority -250;\n    oifname \"{ifname}\" meta mark set meta mark and 0x0000ffff or 0x{:x}\n  }}",
            id << 16
        );
    }
    if !rs.eb_from_guest.is_empty() {
        let _ = writeln!(
            out,
            "  chain nwf_pre {{\n    type filter hook prerouting priority -300;\n    iifname \"{ifname}\" jump {}\n  }}",
            eb_chain_name(true, 0)
        );
        write_eb_chains(&mut out, &rs.eb_from_guest, true)?;
    }
    if !rs.eb_to_guest.is_empty() {
        let _ = writeln!(
            out,
            "  chain nwf_post {{\n    type filter hook postrouting priority 300;\n    oifname \"{ifname}\" jump {}\n  }}",
            eb_chain_name(false, 0)
        );
        write_eb_chains(&mut out, &rs.eb_to_guest, false)?;
    }
    out.push_str("}\n");
    if has_ip {
        let _ = writeln!(out, "table inet {t} {{");
        let mut fwd = String::new();
        let mut inp = String::new();
        for (v, c) in [(4u8, &rs.ipv4), (6u8, &rs.ipv6)] {
            let Some(c) = c else { continue };
            let nf = if v == 4 { "ipv4" } else { "ipv6" };
            let _ = writeln!(
                fwd,
                "    meta mark and 0xffff == 0x{id:x} meta nfproto {nf} jump c_FI{v}\n    meta mark and 0xffff0000 == 0x{:x} meta nfproto {nf} jump c_FO{v}",
                id << 16
            );
            let _ = writeln!(
                inp,
                "    meta mark and 0xffff == 0x{id:x} meta nfproto {nf} jump c_HI{v}"
            );
            write_ip_chains(&mut out, c, v)?;
        }
        let _ = writeln!(
            out,
            "  chain nwf_fwd {{\n    type filter hook forward priority 0;\n{fwd}  }}\n  chain nwf_inp {{\n    type filter hook input priority 0;\n{inp}  }}"
        );
        out.push_str("}\n");
    }
    Ok(out)
}

/// Runs `batch` as one transaction: in-process through libnftables when it is there, else with
/// `nft -f -`.
pub fn run_batch(batch: &str) -> Result<(), FilterError> {
    if let Some(r) = crate::nftlib::run(batch) {
        return r;
    }
    run_nft_program(batch)
}

/// Runs `nft -f -` with `batch` as one transaction.
pub fn run_nft_program(batch: &str) -> Result<(), FilterError> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| FilterError::Command {
            program: "nft".into(),
            message: e.to_string(),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(batch.as_bytes())
            .map_err(|e| FilterError::Command {
                program: "nft".into(),
                message: e.to_string(),
            })?;
    }
    let out = child.wait_with_output().map_err(|e| FilterError::Command {
        program: "nft".into(),
        message: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(FilterError::Command {
            program: "nft".into(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn ebtables_rules_translate() {
        let none = |_: &str| None;
        assert_eq!(
            eb_rule(&s(&["-s", "!", "52:54:00:11:22:33", "-j", "DROP"]), &none).expect("rule"),
            "ether saddr != 52:54:00:11:22:33 drop"
        );
        assert_eq!(
            eb_rule(
                &s(&[
                    "-s",
                    "01:02:03:04:05:06/ff:ff:ff:ff:ff:00",
                    "-p",
                    "0x806",
                    "-j",
                    "ACCEPT"
                ]),
                &none
            )
            .expect("rule"),
            "ether saddr & ff:ff:ff:ff:ff:00 == 01:02:03:04:05:00 ether type 0x0806 accept"
        );
        let sub = |t: &str| (t == "@ipv4-ip").then(|| "c_I1".to_string());
        assert_eq!(
            eb_rule(&s(&["-p", "0x0800", "-j", "@ipv4-ip"]), &sub).expect("rule"),
            "ether type 0x0800 jump c_I1"
        );
        assert!(eb_rule(&s(&["--stp-type", "1", "-j", "DROP"]), &none).is_err());
    }

    #[test]
    fn iptables_rules_translate() {
        let r = s(&[
            "-p",
            "tcp",
            "--sport",
            "22",
            "-m",
            "conntrack",
            "--ctstate",
            "NEW,ESTABLISHED",
            "-m",
            "conntrack",
            "--ctdir",
            "Original",
            "-m",
            "comment",
            "--comment",
            "a \"b\"",
            "-j",
            "RETURN",
        ]);
        assert_eq!(
            ipt_rule(&r, "ip").expect("rule"),
            "meta l4proto tcp th sport 22 ct state { new, established } ct direction original \
             return comment \"a 'b'\""
        );
        let r = s(&["-p", "all", "!", "--source", "10.0.0.0/8", "-j", "DROP"]);
        assert_eq!(
            ipt_rule(&r, "ip").expect("rule"),
            "ip saddr != 10.0.0.0/8 drop"
        );
        assert!(ipt_rule(
            &s(&["-m", "set", "--match-set", "x", "src", "-j", "DROP"]),
            "ip"
        )
        .is_err());
    }

    #[test]
    fn removal_batch_deletes_both_tables_even_if_absent() {
        let b = batch("vnet3", None, 0).expect("batch");
        assert_eq!(
            b,
            "table bridge nwf-vnet3\ndelete table bridge nwf-vnet3\n\
             table inet nwf-vnet3\ndelete table inet nwf-vnet3\n"
        );
        assert!(batch("bad name", None, 0).is_err());
        assert!(batch("x\"; flush ruleset", None, 0).is_err());
    }
}
