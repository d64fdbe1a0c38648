//! The generated command line: environment, program, arguments and the planned fd table, with
//! libvirt's `.args` text layout.

use std::os::fd::RawFd;
use std::path::PathBuf;

/// What a planned fd is for, so a runtime can open the real thing and place it at the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdPurpose {
    /// The QMP monitor socket (libvirt's harness uses fd 1729).
    Monitor,
    /// A tap fd of NIC `nic_alias`, queue `queue`.
    Tap { nic_alias: String, queue: u32 },
    /// A vhost-net fd of NIC `nic_alias`, queue `queue`.
    Vhost { nic_alias: String, queue: u32 },
    /// A vhost-vdpa character device of NIC `nic_alias`.
    Vdpa { nic_alias: String },
    /// A vhost-vsock device fd of device `alias`.
    Vsock { alias: String },
    /// A chardev's pre-opened file or socket (`alias` is the chardev id).
    Chardev { alias: String },
    /// Anything else, described in words.
    Other { alias: String, what: String },
}

/// One fd to hand to QEMU at a planned number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassFd {
    pub number: RawFd,
    pub purpose: FdPurpose,
}

/// A complete QEMU invocation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandLine {
    /// The environment, in order (the process gets exactly this, nothing inherited).
    pub env: Vec<(String, String)>,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Fds the runtime must open and place at these numbers before exec.
    pub fds: Vec<PassFd>,
}

/// Characters that make libvirt quote a word for the shell.
const SHELL_SPECIAL: &[char] = &[
    '\r', '\t', '\n', ' ', '!', '"', '#', '$', '&', '\'', '(', ')', '*', ';', '<', '>', '?', '[',
    '\\', ']', '^', '`', '{', '|', '}', '~',
];

/// Quotes `word` for a POSIX shell as libvirt's command dumps do: unchanged when it holds no shell
/// metacharacter, otherwise in single quotes with `'` written as `'\''`; the empty word is `''`.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty() && !word.contains(SHELL_SPECIAL) {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Splits text written by [`shell_quote`] words (single quotes and bare words only) back into words;
/// `None` when it is not of that form.
pub fn shell_unquote(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        match c {
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c => out.push(c),
                }
            },
            '\\' => out.push(chars.next()?),
            c if SHELL_SPECIAL.contains(&c) => return None,
            c => out.push(c),
        }
    }
    any.then_some(out)
}

impl CommandLine {
    /// The command as libvirt's test suite writes it: each `NAME=value` on its own line, then the
    /// program, then the arguments where every argument starting with `-` begins a new line; lines
    /// end in ` \` except the last, and the text ends with a newline.
    pub fn to_args_text(&self) -> String {
        let mut lines: Vec<String> = Vec::with_capacity(self.env.len() + self.args.len() + 1);
        for (k, v) in &self.env {
            lines.push(format!("{k}={}", shell_quote(v)));
        }
        lines.push(shell_quote(&self.program.to_string_lossy()));
        for a in &self.args {
            let q = shell_quote(a);
            let joins = !a.starts_with('-') && lines.len() > self.env.len() + 1;
            match lines.last_mut() {
                Some(last) if joins => {
                    last.push(' ');
                    last.push_str(&q);
                }
                _ => lines.push(q),
            }
        }
        let mut out = lines.join(" \\\n");
        out.push('\n');
        out
    }

    /// The argv (program first) for exec.
    pub fn argv(&self) -> Vec<String> {
        let mut v = Vec::with_capacity(self.args.len() + 1);
        v.push(self.program.to_string_lossy().into_owned());
        v.extend(self.args.iter().cloned());
        v
    }

    /// The value following the first occurrence of option `opt` (e.g. `-machine`).
    pub fn option(&self, opt: &str) -> Option<&str> {
        let i = self.args.iter().position(|a| a == opt)?;
        self.args.get(i + 1).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("guest=foo=1,,bar=2"), "guest=foo=1,,bar=2");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("{\"a\":1}"), "'{\"a\":1}'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_unquote("'it'\\''s'").as_deref(), Some("it's"));
    }

    #[test]
    fn layout() {
        let c = CommandLine {
            env: vec![
                ("LC_ALL".into(), "C".into()),
                ("HOME".into(), "/a b".into()),
            ],
            program: "/usr/bin/qemu".into(),
            args: vec![
                "-name".into(),
                "guest=x".into(),
                "-S".into(),
                "-cpu".into(),
                "a b".into(),
            ],
            fds: vec![],
        };
        assert_eq!(
            c.to_args_text(),
            "LC_ALL=C \\\nHOME='/a b' \\\n/usr/bin/qemu \\\n-name guest=x \\\n-S \\\n-cpu 'a b'\n"
        );
        assert_eq!(c.option("-cpu"), Some("a b"));
    }
}
