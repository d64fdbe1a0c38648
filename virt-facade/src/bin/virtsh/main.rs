//! `virtsh`: virsh's commands over the virt-facade API.
//!
//! `virtsh [-c URI] [-q] [--audit-file PATH] COMMAND [ARGS...]` runs one command;
//! without a command it reads a script of commands from standard input, as virsh does.

mod commands;
mod options;
mod table;
mod words;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use commands::{Flow, Shell};

#[derive(Parser)]
#[command(
    name = "virtsh",
    version,
    about = "virsh's commands over the virt stack"
)]
struct Cli {
    /// Hypervisor connection URI (default: $VIRTSH_DEFAULT_CONNECT_URI, $LIBVIRT_DEFAULT_URI, or
    /// qemu:///system).
    #[arg(short = 'c', long = "connect", value_name = "URI")]
    connect: Option<String>,
    /// Quiet mode: no table headers, no blank line after each command.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Also append every audit record to this file.
    #[arg(long = "audit-file", value_name = "PATH")]
    audit_file: Option<PathBuf>,
    /// The command and its arguments; none reads commands from standard input.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("bad arguments");
            eprintln!("{}", first.trim_start_matches("error: ").trim());
            return ExitCode::from(1);
        }
    };
    let mut shell = Shell {
        conn: None,
        uri: cli
            .connect
            .or_else(|| std::env::var("VIRTSH_DEFAULT_CONNECT_URI").ok())
            .or_else(|| std::env::var("LIBVIRT_DEFAULT_URI").ok())
            .unwrap_or_else(|| "qemu:///system".into()),
        quiet: cli.quiet,
        audit_file: cli.audit_file,
    };
    let mut stdout = std::io::stdout().lock();
    if !cli.command.is_empty() {
        return match shell.run(&cli.command, &mut stdout) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        };
    }
    let mut script = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut script) {
        eprintln!("error: cannot read commands from standard input: {e}");
        return ExitCode::from(1);
    }
    let cmds = match words::split_script(&script) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: line {}: {}", e.line, e.message);
            return ExitCode::from(1);
        }
    };
    let mut failed = false;
    for (line, words) in cmds {
        match shell.run(&words, &mut stdout) {
            Ok(Flow::Quit) => break,
            Ok(Flow::Continue) => {}
            Err(e) => {
                eprintln!("error: line {line}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
