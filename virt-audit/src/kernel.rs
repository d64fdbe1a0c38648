//! The kernel sink: records sent on a `NETLINK_AUDIT` socket as libaudit's
//! `audit_log_user_message` sends them, and the kernel's acknowledgement read back.
//!
//! Each record is one netlink message: type = the record's number (2500..2502), flags
//! `NLM_F_REQUEST | NLM_F_ACK`, payload = the record's text (body, then `exe=... hostname=? addr=?
//! terminal=... res=...`) with its terminating NUL, the length padded as `NLMSG_SPACE`. The kernel
//! answers with `NLMSG_ERROR`: error 0 means it accepted the record (with no audit daemon it goes
//! to the kernel log; with auditing disabled it is dropped, as for libvirt), a negative errno means
//! it refused it (`EPERM` without `CAP_AUDIT_WRITE`, for instance).

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{AuditError, AuditSink, ProcessContext, Record};

/// libaudit's `MAX_AUDIT_MESSAGE_LENGTH`: the largest netlink message it sends.
pub const MAX_AUDIT_MESSAGE_LENGTH: usize = 8970;

const NETLINK_AUDIT: libc::c_int = 9;
const NLMSG_HDRLEN: usize = 16;

fn nlmsg_align(len: usize) -> usize {
    (len + 3) & !3
}

/// A `NETLINK_AUDIT` socket to the kernel, shared by threads (one record in flight at a time, so
/// acknowledgements are never mixed up).
#[derive(Debug)]
pub struct KernelSink {
    conn: Mutex<Conn>,
    ctx: ProcessContext,
    ack_timeout: Duration,
}

#[derive(Debug)]
struct Conn {
    fd: OwnedFd,
    seq: u32,
}

impl KernelSink {
    /// Opens the audit socket, describing this process as libaudit would.
    pub fn open() -> Result<Self, AuditError> {
        Self::with_context(ProcessContext::current())
    }

    /// Opens the audit socket with the sender fields given.
    pub fn with_context(ctx: ProcessContext) -> Result<Self, AuditError> {
        // SAFETY: plain socket(2); the result is checked and owned below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_AUDIT,
            )
        };
        if fd < 0 {
            return Err(io_err("open", io::Error::last_os_error()));
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self {
            conn: Mutex::new(Conn { fd, seq: 0 }),
            ctx,
            ack_timeout: Duration::from_secs(5),
        })
    }

    /// How long to wait for the kernel's acknowledgement (5 s unless set).
    pub fn ack_timeout(mut self, t: Duration) -> Self {
        self.ack_timeout = t;
        self
    }

    /// The sender fields this sink appends.
    pub fn context(&self) -> &ProcessContext {
        &self.ctx
    }

    /// Sends `text` as a message of type `msg_type` and waits for the kernel's verdict.
    pub fn send_text(&self, msg_type: u16, text: &str) -> Result<(), AuditError> {
        // libaudit formats into a MAX_AUDIT_MESSAGE_LENGTH buffer and refuses (EINVAL) a message
        // whose netlink space exceeds it.
        let payload = text.len() + 1;
        let space = NLMSG_HDRLEN + nlmsg_align(payload);
        if space > MAX_AUDIT_MESSAGE_LENGTH {
            return Err(AuditError::KernelRefused {
                rtype: msg_type,
                message: format!(
                    "record of {} bytes is longer than libaudit's limit of {} bytes",
                    text.len(),
                    MAX_AUDIT_MESSAGE_LENGTH - NLMSG_HDRLEN - 1
                ),
            });
        }
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.seq = conn.seq.wrapping_add(1).max(1);
        let seq = conn.seq;

        let mut buf = vec![0u8; space];
        buf[0..4].copy_from_slice(&(space as u32).to_ne_bytes());
        buf[4..6].copy_from_slice(&msg_type.to_ne_bytes());
        let flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
        buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        // nlmsg_pid 0: the kernel fills in the sender.
        buf[NLMSG_HDRLEN..NLMSG_HDRLEN + text.len()].copy_from_slice(text.as_bytes());

        let fd = conn.fd.as_raw_fd();
        send_to_kernel(fd, &buf).map_err(|e| io_err("send", e))?;
        wait_ack(fd, seq, self.ack_timeout).map_err(|e| match e {
            AckError::Io(e) => io_err("read acknowledgement", e),
            AckError::Refused(errno) => AuditError::KernelRefused {
                rtype: msg_type,
                message: io::Error::from_raw_os_error(errno).to_string(),
            },
        })
    }
}

impl AuditSink for KernelSink {
    fn send(&self, record: &Record) -> Result<(), AuditError> {
        self.send_text(record.rtype.number(), &record.text(&self.ctx))
    }
}

fn io_err(what: &str, source: io::Error) -> AuditError {
    AuditError::Io {
        sink: format!("kernel audit netlink ({what})"),
        source,
    }
}

fn kernel_addr() -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr
}

fn send_to_kernel(fd: libc::c_int, buf: &[u8]) -> io::Result<()> {
    let addr = kernel_addr();
    loop {
        // SAFETY: buf and addr are valid for the lengths given for the duration of the call.
        let n = unsafe {
            libc::sendto(
                fd,
                buf.as_ptr().cast(),
                buf.len(),
                0,
                (&addr as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n as usize != buf.len() {
            return Err(io::Error::other(format!(
                "short send: {n} of {} bytes",
                buf.len()
            )));
        }
        return Ok(());
    }
}

enum AckError {
    Io(io::Error),
    Refused(i32),
}

/// Reads messages until the kernel's `NLMSG_ERROR` for `seq` arrives (other messages, such as a
/// late answer to an earlier request, are skipped).
fn wait_ack(fd: libc::c_int, seq: u32, timeout: Duration) -> Result<(), AckError> {
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; MAX_AUDIT_MESSAGE_LENGTH + 64];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(AckError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no acknowledgement from the kernel within {timeout:?}"),
            )));
        }
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: pfd is one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(AckError::Io(e));
        }
        if rc == 0 {
            continue;
        }
        let mut from = kernel_addr();
        let mut fromlen = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: buf and from are writable for the lengths given.
        let n = unsafe {
            libc::recvfrom(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
                (&mut from as *mut libc::sockaddr_nl).cast(),
                &mut fromlen,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if matches!(
                e.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
            ) {
                continue;
            }
            return Err(AckError::Io(e));
        }
        if from.nl_pid != 0 {
            // Not from the kernel.
            continue;
        }
        if let Some(verdict) = find_ack(&buf[..n as usize], seq) {
            return match verdict {
                0 => Ok(()),
                e => Err(AckError::Refused(-e)),
            };
        }
    }
}

/// The `error` of the `NLMSG_ERROR` message answering `seq` in a datagram, if there is one.
fn find_ack(mut data: &[u8], seq: u32) -> Option<i32> {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes(data[0..4].try_into().ok()?) as usize;
        let mtype = u16::from_ne_bytes(data[4..6].try_into().ok()?);
        let mseq = u32::from_ne_bytes(data[8..12].try_into().ok()?);
        if len < NLMSG_HDRLEN || len > data.len() {
            return None;
        }
        if mtype == libc::NLMSG_ERROR as u16 && mseq == seq && len >= NLMSG_HDRLEN + 4 {
            let err = data[NLMSG_HDRLEN..NLMSG_HDRLEN + 4].try_into().ok()?;
            return Some(i32::from_ne_bytes(err));
        }
        data = data.get(nlmsg_align(len)..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(mtype: u16, seq: u32, error: i32) -> Vec<u8> {
        let mut m = vec![0u8; 36];
        m[0..4].copy_from_slice(&36u32.to_ne_bytes());
        m[4..6].copy_from_slice(&mtype.to_ne_bytes());
        m[8..12].copy_from_slice(&seq.to_ne_bytes());
        m[16..20].copy_from_slice(&error.to_ne_bytes());
        m
    }

    #[test]
    fn acks() {
        assert_eq!(find_ack(&msg(2, 7, 0), 7), Some(0));
        assert_eq!(find_ack(&msg(2, 7, -1), 7), Some(-1));
        assert_eq!(find_ack(&msg(2, 6, 0), 7), None);
        assert_eq!(find_ack(&msg(1000, 7, 0), 7), None);
        let mut two = msg(2, 6, 0);
        two.extend(msg(2, 7, -13));
        assert_eq!(find_ack(&two, 7), Some(-13));
        assert_eq!(find_ack(&[1, 2, 3], 7), None);
        let mut bad = msg(2, 7, 0);
        bad[0..4].copy_from_slice(&100u32.to_ne_bytes());
        assert_eq!(find_ack(&bad, 7), None);
    }

    #[test]
    fn too_long_is_refused_before_sending() {
        let Ok(sink) = KernelSink::open() else { return };
        let text = "x".repeat(MAX_AUDIT_MESSAGE_LENGTH);
        assert!(matches!(
            sink.send_text(2501, &text),
            Err(AuditError::KernelRefused { rtype: 2501, .. })
        ));
    }
}
