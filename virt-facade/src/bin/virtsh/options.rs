//! A command's options, parsed as virsh parses them: `--name value`, `--name=value`, boolean
//! `--flag`, and bare words filling the data options in their order.

use std::collections::BTreeMap;

/// One option of a command.
pub enum Opt {
    /// A boolean flag.
    Flag(&'static str),
    /// A value that may also be given positionally, in declaration order.
    Data(&'static str),
    /// A value given only as `--name value`.
    Named(&'static str),
}

/// The parsed options of one command.
#[derive(Debug, Default)]
pub struct Args {
    values: BTreeMap<&'static str, String>,
    flags: Vec<&'static str>,
}

impl Args {
    /// A data option's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A required data option's value.
    pub fn need(&self, cmd: &str, name: &str) -> Result<&str, String> {
        self.get(name)
            .ok_or_else(|| format!("command '{cmd}' requires <{name}> option"))
    }

    /// Whether a flag was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }
}

/// Parses the words after the command name.
pub fn parse(cmd: &str, spec: &[Opt], words: &[String]) -> Result<Args, String> {
    let mut args = Args::default();
    let mut positional = spec.iter().filter_map(|o| match o {
        Opt::Data(n) => Some(*n),
        _ => None,
    });
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if let Some(long) = w.strip_prefix("--").filter(|l| !l.is_empty()) {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let opt = spec
                .iter()
                .find(|o| match o {
                    Opt::Flag(n) | Opt::Data(n) | Opt::Named(n) => *n == name,
                })
                .ok_or_else(|| format!("command '{cmd}' doesn't support option --{name}"))?;
            match opt {
                Opt::Flag(n) => {
                    if inline.is_some() {
                        return Err(format!("option --{n} of command '{cmd}' takes no value"));
                    }
                    args.flags.push(n);
                }
                Opt::Data(n) | Opt::Named(n) => {
                    let v = match inline {
                        Some(v) => v,
                        None => {
                            let v = words.get(i).cloned().ok_or_else(|| {
                                format!("expected syntax: --{n} <string> for command '{cmd}'")
                            })?;
                            i += 1;
                            v
                        }
                    };
                    if args.values.insert(n, v).is_some() {
                        return Err(format!("option --{n} of command '{cmd}' given twice"));
                    }
                }
            }
        } else {
            let name = loop {
                match positional.next() {
                    Some(n) if args.values.contains_key(n) => continue,
                    Some(n) => break n,
                    None => return Err(format!("unexpected data '{w}' for command '{cmd}'")),
                }
            };
            args.values.insert(name, w.clone());
        }
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[Opt] = &[
        Opt::Data("domain"),
        Opt::Data("file"),
        Opt::Flag("live"),
        Opt::Named("format"),
    ];

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn positional_named_and_flags() {
        let a = parse("attach-device", SPEC, &w(&["vm", "nic.xml", "--live"])).unwrap();
        assert_eq!(
            (a.get("domain"), a.get("file"), a.flag("live")),
            (Some("vm"), Some("nic.xml"), true)
        );
        let a = parse(
            "attach-device",
            SPEC,
            &w(&["--file=nic.xml", "--domain", "vm"]),
        )
        .unwrap();
        assert_eq!(
            (a.get("domain"), a.get("file")),
            (Some("vm"), Some("nic.xml"))
        );
        let a = parse("attach-device", SPEC, &w(&["--domain", "vm", "nic.xml"])).unwrap();
        assert_eq!(a.get("file"), Some("nic.xml"));
        assert_eq!(
            parse("x", SPEC, &w(&["--bogus"])).unwrap_err(),
            "command 'x' doesn't support option --bogus"
        );
        assert_eq!(
            parse("x", SPEC, &w(&["a", "b", "c"])).unwrap_err(),
            "unexpected data 'c' for command 'x'"
        );
        assert!(parse("x", SPEC, &w(&["--format"])).is_err());
    }
}
