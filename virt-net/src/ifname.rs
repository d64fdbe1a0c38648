//! Interface names and name templates, checked by the kernel's own rules before any use.
//!
//! A name is 1 to 15 bytes, not `.` or `..`, with no `/`, `:`, whitespace or NUL. A template is such
//! a name with exactly one `%d`, which the kernel (tap) or this crate (macvtap) replaces by the lowest
//! free number; any other `%` is refused, since the kernel would read it as a template too.

use std::fmt;

use crate::NetError;

/// The longest interface name (`IFNAMSIZ` less the terminating NUL).
pub const IFNAME_MAX: usize = 15;

/// A host interface name to use, or a template to pick a free one from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IfName {
    /// Exactly this name; it must not exist yet.
    Exact(String),
    /// A template with one `%d` (`vnet%d`, `macvtap%d`).
    Template(String),
}

impl IfName {
    /// Reads `s` as a template when it holds `%`, else as an exact name, and checks it.
    pub fn parse(s: &str) -> Result<IfName, NetError> {
        let n = if s.contains('%') {
            IfName::Template(s.to_string())
        } else {
            IfName::Exact(s.to_string())
        };
        n.validate()?;
        Ok(n)
    }

    /// `vnet%d`, libvirt's template for taps.
    pub fn tap_default() -> IfName {
        IfName::Template("vnet%d".into())
    }

    /// `macvtap%d`, libvirt's template for macvtap interfaces.
    pub fn macvtap_default() -> IfName {
        IfName::Template("macvtap%d".into())
    }

    pub fn as_str(&self) -> &str {
        match self {
            IfName::Exact(s) | IfName::Template(s) => s,
        }
    }

    /// Checks the name or template against the kernel's rules.
    pub fn validate(&self) -> Result<(), NetError> {
        match self {
            IfName::Exact(s) => validate_name(s),
            IfName::Template(s) => validate_template(s),
        }
    }

    /// The template with `%d` replaced by `n`; an exact name is returned as it is.
    pub fn instantiate(&self, n: u32) -> String {
        match self {
            IfName::Exact(s) => s.clone(),
            IfName::Template(s) => s.replacen("%d", &n.to_string(), 1),
        }
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn bad(name: &str, reason: &'static str) -> NetError {
    NetError::InvalidName {
        name: name.to_string(),
        reason,
    }
}

fn check_chars(name: &str) -> Result<(), NetError> {
    if name.is_empty() {
        return Err(bad(name, "empty"));
    }
    if name.len() > IFNAME_MAX {
        return Err(bad(name, "longer than 15 bytes"));
    }
    if name == "." || name == ".." {
        return Err(bad(name, "'.' and '..' are not interface names"));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
    {
        return Err(bad(name, "holds '/', ':', NUL or whitespace"));
    }
    Ok(())
}

/// An exact interface name: the kernel's `dev_valid_name` rules, and no `%`.
pub fn validate_name(name: &str) -> Result<(), NetError> {
    check_chars(name)?;
    if name.contains('%') {
        return Err(bad(name, "'%' is only allowed as the '%d' of a template"));
    }
    Ok(())
}

/// A template: the same rules, and exactly one `%`, as `%d`. Its longest instance must still fit
/// (the number may take up to 15 - (len - 2) digits, at least one).
pub fn validate_template(template: &str) -> Result<(), NetError> {
    check_chars(template)?;
    let Some(at) = template.find('%') else {
        return Err(bad(template, "a template needs '%d'"));
    };
    if !template[at..].starts_with("%d") || template[at + 2..].contains('%') {
        return Err(bad(
            template,
            "a template holds exactly one '%d' and no other '%'",
        ));
    }
    if template.len() - 2 >= IFNAME_MAX {
        return Err(bad(template, "no room left for the number"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_and_templates() {
        assert_eq!(IfName::parse("vnet%d").unwrap(), IfName::tap_default());
        assert_eq!(IfName::parse("tap0").unwrap(), IfName::Exact("tap0".into()));
        assert_eq!(IfName::tap_default().instantiate(12), "vnet12");
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:b",
            "a b",
            "a\tb",
            "0123456789abcdef",
            "a%s",
            "%d%d",
            "a%",
            "%%d",
            "0123456789abcd%d",
        ] {
            assert!(IfName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_template("tap0").is_err());
        assert!(validate_name("a%d").is_err());
        assert!(IfName::parse("0123456789abc%d").is_ok());
        assert!(IfName::parse("0123456789abcde").is_ok());
    }

    #[test]
    fn error_names_the_input() {
        let e = IfName::parse("eth 0").unwrap_err().to_string();
        assert!(e.contains("\"eth 0\""), "{e}");
    }

    proptest! {
        /// Whatever the input, validation never panics, and an accepted exact name satisfies the
        /// kernel's rules on its own.
        #[test]
        fn accepted_names_follow_kernel_rules(s in "\\PC{0,20}") {
            if let Ok(n) = IfName::parse(&s) {
                let b = s.as_bytes();
                prop_assert!(!b.is_empty() && b.len() <= IFNAME_MAX);
                prop_assert!(!b.iter().any(|c| matches!(c, b'/' | b':' | 0) || c.is_ascii_whitespace()));
                match n {
                    IfName::Exact(_) => prop_assert!(!s.contains('%')),
                    IfName::Template(t) => {
                        prop_assert_eq!(t.matches('%').count(), 1);
                        let inst = IfName::Template(t).instantiate(u32::from(u8::MAX));
                        prop_assert!(validate_name(&inst).is_ok() || inst.len() > IFNAME_MAX);
                        prop_assert!(!inst.contains('%'));
                    }
                }
            }
        }

        /// Names made of the usual characters are accepted exactly when they fit.
        #[test]
        fn plain_names_accepted_when_short(s in "[a-z][a-z0-9_.-]{0,20}") {
            let ok = s.len() <= IFNAME_MAX && s != "." && s != "..";
            prop_assert_eq!(IfName::parse(&s).is_ok(), ok);
        }

        /// A template's instances with small numbers are valid exact names.
        #[test]
        fn template_instances_are_names(p in "[a-z]{1,8}", n in 0u32..1000) {
            let t = IfName::parse(&format!("{p}%d")).unwrap();
            prop_assert!(validate_name(&t.instantiate(n)).is_ok());
        }
    }
}
