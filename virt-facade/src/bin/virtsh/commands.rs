//! virsh's commands over a [`Connect`], with virsh's messages.

use std::io::Write;

use virt_facade::{Connect, DeviceScope};

use crate::options::{parse, Opt};
use crate::table;

/// What running a command asks of the shell.
pub enum Flow {
    Continue,
    Quit,
}

/// The shell's state: the connection and output settings.
pub struct Shell {
    pub conn: Option<Connect>,
    pub uri: String,
    pub quiet: bool,
    pub audit_file: Option<std::path::PathBuf>,
}

struct CommandDef {
    name: &'static str,
    help: &'static str,
    opts: &'static [Opt],
}

const COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "define",
        help: "define (but don't start) a domain from an XML file",
        opts: &[Opt::Data("file")],
    },
    CommandDef {
        name: "undefine",
        help: "undefine a domain",
        opts: &[Opt::Data("domain")],
    },
    CommandDef {
        name: "start",
        help: "start a (previously defined) inactive domain",
        opts: &[Opt::Data("domain")],
    },
    CommandDef {
        name: "shutdown",
        help: "gracefully shutdown a domain",
        opts: &[Opt::Data("domain")],
    },
    CommandDef {
        name: "destroy",
        help: "destroy (stop) a domain",
        opts: &[Opt::Data("domain")],
    },
    CommandDef {
        name: "list",
        help: "list domains",
        opts: &[
            Opt::Flag("all"),
            Opt::Flag("inactive"),
            Opt::Flag("name"),
            Opt::Flag("uuid"),
        ],
    },
    CommandDef {
        name: "dumpxml",
        help: "domain information in XML",
        opts: &[
            Opt::Data("domain"),
            Opt::Flag("inactive"),
            Opt::Flag("security-info"),
            Opt::Flag("migratable"),
        ],
    },
    CommandDef {
        name: "domstate",
        help: "domain state",
        opts: &[Opt::Data("domain"), Opt::Flag("reason")],
    },
    CommandDef {
        name: "attach-device",
        help: "attach device from an XML file",
        opts: &[
            Opt::Data("domain"),
            Opt::Data("file"),
            Opt::Flag("live"),
            Opt::Flag("config"),
            Opt::Flag("persistent"),
            Opt::Flag("current"),
        ],
    },
    CommandDef {
        name: "detach-device",
        help: "detach device from an XML file",
        opts: &[
            Opt::Data("domain"),
            Opt::Data("file"),
            Opt::Flag("live"),
            Opt::Flag("config"),
            Opt::Flag("persistent"),
            Opt::Flag("current"),
        ],
    },
    CommandDef {
        name: "domxml-to-native",
        help: "convert domain XML to native config",
        opts: &[Opt::Data("format"), Opt::Data("xml"), Opt::Named("domain")],
    },
    CommandDef {
        name: "uri",
        help: "print the hypervisor canonical URI",
        opts: &[],
    },
    CommandDef {
        name: "connect",
        help: "(re)connect to hypervisor",
        opts: &[Opt::Data("name")],
    },
    CommandDef {
        name: "help",
        help: "print help",
        opts: &[Opt::Data("command")],
    },
    CommandDef {
        name: "quit",
        help: "quit this interactive terminal",
        opts: &[],
    },
    CommandDef {
        name: "exit",
        help: "quit this interactive terminal",
        opts: &[],
    },
];

/// The named domain, or virsh's "failed to get domain" error.
fn lookup<'c>(conn: &'c Connect, name: &str) -> Result<virt_facade::DomainHandle<'c>, String> {
    conn.lookup_by_name(name)
        .map_err(|_| format!("failed to get domain '{name}'"))
}

fn read_file(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("Failed to open file '{path}': {e}"))
}

impl Shell {
    fn conn(&mut self) -> Result<&Connect, String> {
        if self.conn.is_none() {
            let c = virt_facade::Connect::open_with(
                &self.uri,
                virt_facade::ConnectOptions {
                    audit_file: self.audit_file.clone(),
                },
            )
            .map_err(|e| format!("failed to connect to the hypervisor: {e}"))?;
            self.conn = Some(c);
        }
        self.conn
            .as_ref()
            .ok_or_else(|| "no connection".to_string())
    }

    /// Runs one command; output goes to `out`. An error is one line (without `error: `).
    pub fn run(&mut self, words: &[String], out: &mut dyn Write) -> Result<Flow, String> {
        let Some((name, rest)) = words.split_first() else {
            return Ok(Flow::Continue);
        };
        let def = COMMANDS
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| format!("unknown command: '{name}'"))?;
        let a = parse(def.name, def.opts, rest)?;
        let mut text = String::new();
        let cmd = def.name;
        match cmd {
            "define" => {
                let file = a.need(cmd, "file")?;
                let xml = read_file(file)?;
                let d = self
                    .conn()?
                    .define_xml(&xml)
                    .map_err(|e| format!("Failed to define domain from {file}: {e}"))?;
                text = format!("Domain '{}' defined from {file}\n", d.name());
            }
            "undefine" | "start" | "shutdown" | "destroy" => {
                let name = a.need(cmd, "domain")?;
                let conn = self.conn()?;
                let d = lookup(conn, name)?;
                let (r, done, verb) = match cmd {
                    "undefine" => (d.undefine(), "has been undefined", "undefine"),
                    "start" => (d.start(), "started", "start"),
                    "shutdown" => (d.shutdown(), "is being shutdown", "shutdown"),
                    _ => (d.destroy(), "destroyed", "destroy"),
                };
                r.map_err(|e| format!("Failed to {verb} domain '{name}': {e}"))?;
                text = format!("Domain '{name}' {done}\n");
            }
            "list" => {
                let all = self.conn()?.list_all().map_err(|e| e.to_string())?;
                let shown: Vec<_> = all
                    .into_iter()
                    .filter(|d| {
                        if a.flag("inactive") {
                            !d.state.is_active()
                        } else {
                            a.flag("all") || d.state.is_active()
                        }
                    })
                    .collect();
                if a.flag("name") || a.flag("uuid") {
                    for d in &shown {
                        match (a.flag("uuid"), a.flag("name")) {
                            (true, true) => text.push_str(&format!("{}  {}\n", d.uuid, d.name)),
                            (true, false) => text.push_str(&format!("{}\n", d.uuid)),
                            _ => text.push_str(&format!("{}\n", d.name)),
                        }
                    }
                } else {
                    let mut rows = vec![vec!["Id".to_string(), "Name".into(), "State".into()]];
                    for d in &shown {
                        rows.push(vec![
                            d.id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
                            d.name.clone(),
                            d.state.to_string(),
                        ]);
                    }
                    text = table::format(&rows, !self.quiet);
                }
            }
            "dumpxml" => {
                let name = a.need(cmd, "domain")?;
                let conn = self.conn()?;
                let d = lookup(conn, name)?;
                text = d.xml_desc(a.flag("inactive")).map_err(|e| e.to_string())?;
            }
            "domstate" => {
                let name = a.need(cmd, "domain")?;
                let conn = self.conn()?;
                let d = lookup(conn, name)?;
                let (s, r) = d.state().map_err(|e| e.to_string())?;
                text = if a.flag("reason") {
                    format!("{s} ({r})\n")
                } else {
                    format!("{s}\n")
                };
            }
            "attach-device" | "detach-device" => {
                let name = a.need(cmd, "domain")?;
                let file = a.need(cmd, "file")?;
                let xml = read_file(file)?;
                let scope = DeviceScope {
                    live: a.flag("live") || a.flag("persistent"),
                    config: a.flag("config") || a.flag("persistent"),
                };
                if a.flag("current") && (scope.live || scope.config) {
                    return Err(
                        "Options --current and --live/--config are mutually exclusive".into(),
                    );
                }
                let conn = self.conn()?;
                let d = lookup(conn, name)?;
                if cmd == "attach-device" {
                    d.attach_device(&xml, scope)
                        .map_err(|e| format!("Failed to attach device from {file}: {e}"))?;
                    text = "Device attached successfully\n".into();
                } else {
                    d.detach_device(&xml, scope)
                        .map_err(|e| format!("Failed to detach device from {file}: {e}"))?;
                    text = "Device detached successfully\n".into();
                }
            }
            "domxml-to-native" => {
                let format = a.need(cmd, "format")?;
                let xml = match (a.get("xml"), a.get("domain")) {
                    (Some(f), None) => read_file(f)?,
                    (None, Some(name)) => {
                        let conn = self.conn()?;
                        let d = lookup(conn, name)?;
                        d.xml_desc(true).map_err(|e| e.to_string())?
                    }
                    _ => {
                        return Err(
                            "command 'domxml-to-native' needs exactly one of <xml> or --domain"
                                .into(),
                        )
                    }
                };
                text = self
                    .conn()?
                    .domain_xml_to_native(format, &xml)
                    .map_err(|e| format!("Failed to convert domain XML to {format}: {e}"))?;
            }
            "uri" => text = format!("{}\n", self.conn()?.uri()),
            "connect" => {
                if let Some(u) = a.get("name") {
                    self.uri = u.to_string();
                }
                self.conn = None;
                self.conn()?;
            }
            "help" => match a.get("command") {
                Some(c) => {
                    let d = COMMANDS
                        .iter()
                        .find(|d| d.name == c)
                        .ok_or_else(|| format!("command or command group '{c}' doesn't exist"))?;
                    text = format!("  NAME\n    {} - {}\n", d.name, d.help);
                }
                None => {
                    text.push_str(" Domain Management (help keyword 'domain'):\n");
                    for d in COMMANDS {
                        text.push_str(&format!("    {:<20}{}\n", d.name, d.help));
                    }
                }
            },
            "quit" | "exit" => return Ok(Flow::Quit),
            _ => return Err(format!("unknown command: '{name}'")),
        }
        let _ = out.write_all(text.as_bytes());
        if !self.quiet {
            let _ = out.write_all(b"\n");
        }
        Ok(Flow::Continue)
    }
}
