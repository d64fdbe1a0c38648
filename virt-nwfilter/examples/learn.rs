//! Learn a guest's IP address from a capture file or a live interface.
//!
//! ```text
//! learn --pcap FILE --mac MAC [--detect any|dhcp|static] [--ipv6] [--max N]
//! learn --iface IF --mac MAC [--listen-dev PARENT] [--timeout SECS] [--detect ...] [--ipv6] [--max N]
//! ```
//! Prints each learned address with how it was learned, then, as its last line, the learned IPv4
//! address or `none`.

use std::process::ExitCode;
use std::time::Duration;

use virt_nwfilter::learner::{
    replay_file, ApplyError, Detect, LearnOptions, Learned, MatchOptions, Outcome, Registry, Target,
};
use virt_xml::MacAddr;

struct Args {
    pcap: Option<String>,
    iface: Option<String>,
    listen_dev: Option<String>,
    mac: MacAddr,
    detect: Detect,
    ipv6: bool,
    max: usize,
    timeout: Option<Duration>,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut pcap, mut iface, mut listen_dev, mut mac) = (None, None, None, None);
    let (mut detect, mut ipv6, mut max, mut timeout) = (Detect::Any, false, 1usize, None);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--pcap" => pcap = Some(val()?),
            "--iface" => iface = Some(val()?),
            "--listen-dev" => listen_dev = Some(val()?),
            "--mac" => mac = Some(val()?.parse::<MacAddr>().map_err(|e| e.to_string())?),
            "--detect" => detect = val()?.parse()?,
            "--ipv6" => ipv6 = true,
            "--max" => max = val()?.parse().map_err(|e| format!("--max: {e}"))?,
            "--timeout" => {
                let s: f64 = val()?.parse().map_err(|e| format!("--timeout: {e}"))?;
                timeout =
                    Some(Duration::try_from_secs_f64(s).map_err(|e| format!("--timeout: {e}"))?);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let mac = mac.ok_or("--mac is required")?;
    if pcap.is_some() == iface.is_some() {
        return Err("give exactly one of --pcap FILE or --iface IF".into());
    }
    Ok(Args {
        pcap,
        iface,
        listen_dev,
        mac,
        detect,
        ipv6,
        max,
        timeout,
    })
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("learn: {e}");
            }
            eprintln!(
                "usage: learn (--pcap FILE | --iface IF [--listen-dev PARENT] [--timeout SECS]) \
                 --mac MAC [--detect any|dhcp|static] [--ipv6] [--max N]"
            );
            return ExitCode::from(2);
        }
    };
    let matching = MatchOptions {
        detect: args.detect,
        ipv6: args.ipv6,
    };
    let learned: Vec<Learned> = if let Some(path) = &args.pcap {
        match replay_file(std::path::Path::new(path), args.mac, matching, args.max) {
            Ok(r) => {
                for (n, l) in &r.learned {
                    println!("frame {n}: {} via {}", l.addr, l.how);
                }
                r.learned.into_iter().map(|(_, l)| l).collect()
            }
            Err(e) => {
                eprintln!("learn: {e}");
                println!("none");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let iface = args.iface.clone().unwrap_or_default();
        let opts = LearnOptions {
            matching,
            max_per_family: args.max,
            timeout: args.timeout,
            listen_dev: args.listen_dev.clone(),
            ..LearnOptions::default()
        };
        let report = |t: &Target, l: &[Learned]| -> Result<(), ApplyError> {
            if let Some(last) = l.last() {
                println!("{}: {} via {}", t.ifname, last.addr, last.how);
            }
            Ok(())
        };
        match Registry::global()
            .start(&iface, args.mac, opts, report)
            .and_then(|h| h.join())
        {
            Ok(Outcome::Learned(l)) => l,
            Ok(Outcome::NotLearned(why)) => {
                eprintln!("learn: {iface}: {why}");
                Vec::new()
            }
            Err(e) => {
                eprintln!("learn: {e}");
                println!("none");
                return ExitCode::FAILURE;
            }
        }
    };
    match learned.iter().find(|l| l.addr.is_ipv4()) {
        Some(l) => println!("{}", l.addr),
        None => println!("none"),
    }
    ExitCode::SUCCESS
}
