//! Connection URIs, as libvirt spells them.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::Error;

/// Where a connection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectUri {
    /// `test:///default`: an in-memory driver with libvirt's default test domain, no hypervisor.
    TestDefault,
    /// `qemu:///embed?root=DIR`: the QEMU driver with its configuration and state under DIR.
    QemuEmbed { root: PathBuf },
    /// `qemu:///system`: the QEMU driver with the system paths.
    QemuSystem,
}

impl FromStr for ConnectUri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::Uri {
            uri: s.to_string(),
            reason: why.to_string(),
        };
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| bad("expected SCHEME://[HOST]/PATH"))?;
        let (hostpath, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest, None),
        };
        let path = hostpath
            .strip_prefix('/')
            .ok_or_else(|| bad("remote hosts are not supported; use SCHEME:///PATH"))?;
        match (scheme, path) {
            ("test", "default") => {
                if query.is_some() {
                    return Err(bad("test:///default takes no parameters"));
                }
                Ok(ConnectUri::TestDefault)
            }
            ("test", _) => Err(bad("only test:///default is supported")),
            ("qemu", "embed") => {
                let mut root = None;
                for kv in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
                    match kv.split_once('=') {
                        Some(("root", v)) if !v.is_empty() => root = Some(PathBuf::from(v)),
                        _ => return Err(bad(&format!("unknown parameter '{kv}'"))),
                    }
                }
                let root = root.ok_or_else(|| bad("qemu:///embed needs root=DIR"))?;
                if !root.is_absolute() {
                    return Err(bad("the embed root must be an absolute path"));
                }
                Ok(ConnectUri::QemuEmbed { root })
            }
            ("qemu", "system") => {
                if query.is_some() {
                    return Err(bad("qemu:///system takes no parameters"));
                }
                Ok(ConnectUri::QemuSystem)
            }
            ("qemu", "session") => Err(bad("qemu:///session is not supported")),
            ("qemu", _) => Err(bad("expected qemu:///system or qemu:///embed?root=DIR")),
            _ => Err(bad(&format!("no driver for scheme '{scheme}'"))),
        }
    }
}

impl fmt::Display for ConnectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectUri::TestDefault => f.write_str("test:///default"),
            ConnectUri::QemuEmbed { root } => write!(f, "qemu:///embed?root={}", root.display()),
            ConnectUri::QemuSystem => f.write_str("qemu:///system"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_uris() {
        assert_eq!(
            "test:///default".parse::<ConnectUri>().unwrap(),
            ConnectUri::TestDefault
        );
        assert_eq!(
            "qemu:///embed?root=/tmp/x".parse::<ConnectUri>().unwrap(),
            ConnectUri::QemuEmbed {
                root: "/tmp/x".into()
            }
        );
        assert_eq!(
            "qemu:///system".parse::<ConnectUri>().unwrap(),
            ConnectUri::QemuSystem
        );
        for (u, why) in [
            ("qemu:///embed", "needs root"),
            ("qemu:///embed?root=rel", "absolute"),
            ("qemu://host/system", "remote"),
            ("xen:///system", "no driver"),
            ("nonsense", "SCHEME"),
            ("qemu:///embed?root=/x&foo=1", "unknown parameter 'foo=1'"),
        ] {
            let e = u.parse::<ConnectUri>().unwrap_err().to_string();
            assert!(e.contains(u) && e.contains(why), "{u}: {e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for u in [
            "test:///default",
            "qemu:///system",
            "qemu:///embed?root=/var/tmp/r",
        ] {
            assert_eq!(u.parse::<ConnectUri>().unwrap().to_string(), u);
        }
    }
}
