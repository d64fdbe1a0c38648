//! The fields libaudit's `audit_log_user_message` appends about the sending process:
//! `exe=... hostname=... addr=... terminal=...`.
//!
//! libvirt calls it with hostname, address and terminal all `NULL`, so libaudit writes
//! `hostname=?` and `addr=?`, and looks for a terminal on file descriptors 0, 1 and 2 itself
//! (`terminal=?` for a daemon). `exe` is the encoded path of `/proc/self/exe`.

use std::ffi::CStr;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;

use crate::encode::{needs_encoding, push_hex};

/// The sender fields of a record's text, as libaudit would write them for this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessContext {
    /// The `exe=` value, already encoded (`"/usr/sbin/libvirtd"` with its quotes, or hex).
    pub exe: String,
    /// `hostname=`; `None` is `?`.
    pub hostname: Option<String>,
    /// `addr=`; `None` is `?`.
    pub addr: Option<String>,
    /// `terminal=`; `None` looks the terminal up on fds 0..2 at each record, as libaudit does.
    pub terminal: Option<String>,
}

impl ProcessContext {
    /// This process as libvirt's calls to libaudit describe it: its executable, no hostname, no
    /// address, and the terminal found on fds 0..2 when the record is written.
    pub fn current() -> Self {
        Self {
            exe: current_exe_field(),
            hostname: None,
            addr: None,
            terminal: None,
        }
    }

    /// A context with every field fixed (for files written elsewhere and for tests).
    pub fn fixed(exe_path: &[u8], terminal: Option<&str>) -> Self {
        Self {
            exe: exe_field(exe_path),
            hostname: None,
            addr: None,
            terminal: terminal.map(str::to_string),
        }
    }

    /// Appends ` exe=... hostname=... addr=... terminal=...` (with the leading space) to `out`.
    pub fn push_fields(&self, out: &mut String) {
        out.push_str(" exe=");
        out.push_str(&self.exe);
        out.push_str(" hostname=");
        out.push_str(self.hostname.as_deref().unwrap_or("?"));
        out.push_str(" addr=");
        out.push_str(self.addr.as_deref().unwrap_or("?"));
        out.push_str(" terminal=");
        match &self.terminal {
            Some(t) => out.push_str(t),
            None => out.push_str(controlling_tty().as_deref().unwrap_or("?")),
        }
    }
}

/// How libaudit writes an executable path: quoted, or hex when it needs encoding. (It tests the
/// whole path, NULs impossible here.)
pub fn exe_field(path: &[u8]) -> String {
    let mut s = String::with_capacity(path.len() * 2 + 2);
    if needs_encoding(path) {
        push_hex(&mut s, path);
    } else {
        s.push('"');
        s.extend(path.iter().map(|&b| b as char));
        s.push('"');
    }
    s
}

fn current_exe_field() -> String {
    use std::os::unix::ffi::OsStrExt;
    match std::fs::read_link("/proc/self/exe") {
        Ok(p) => exe_field(p.as_os_str().as_bytes()),
        Err(_) => "\"?\"".to_string(),
    }
}

/// The terminal on fd 0, 1 or 2 as libaudit names it (`pts/0`), if it passes libaudit's checks: a
/// character device, and not a hard-linked name outside `/dev/`.
pub fn controlling_tty() -> Option<String> {
    for fd in 0..3 {
        let mut buf = [0 as libc::c_char; 64];
        // SAFETY: buf is writable for its length; ttyname_r writes a NUL-terminated name or fails.
        let rc = unsafe { libc::ttyname_r(fd, buf.as_mut_ptr(), buf.len()) };
        if rc != 0 || buf[0] == 0 {
            continue;
        }
        // SAFETY: on success ttyname_r left a NUL-terminated string in buf.
        let name = unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        let ok = std::fs::symlink_metadata(&name)
            .map(|m| {
                m.file_type().is_char_device() && (m.nlink() <= 1 || name.starts_with("/dev/"))
            })
            .unwrap_or(false);
        if !ok {
            return None;
        }
        return Some(name.strip_prefix("/dev/").unwrap_or(&name).to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exe_encoding() {
        assert_eq!(exe_field(b"/usr/sbin/libvirtd"), "\"/usr/sbin/libvirtd\"");
        assert_eq!(exe_field(b"/tmp/a b"), "2F746D702F612062");
    }

    #[test]
    fn fixed_fields() {
        let mut s = String::new();
        ProcessContext::fixed(b"/usr/sbin/libvirtd", Some("?")).push_fields(&mut s);
        assert_eq!(
            s,
            " exe=\"/usr/sbin/libvirtd\" hostname=? addr=? terminal=?"
        );
    }

    #[test]
    fn current_names_this_test_binary() {
        let exe = std::env::current_exe().unwrap_or_default();
        let c = ProcessContext::current();
        assert!(c.exe.starts_with('"') || c.exe.bytes().all(|b| b.is_ascii_hexdigit()));
        if c.exe.starts_with('"') {
            assert_eq!(c.exe, format!("\"{}\"", exe.display()));
        }
    }
}
