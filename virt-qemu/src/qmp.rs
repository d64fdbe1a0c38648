//! A blocking QMP client over a unix socket.
//!
//! # Threading
//! One reader thread per connection owns the receiving half of the socket. It splits the stream into
//! messages, hands each reply to the command waiting for it (matched by the `id` every command
//! carries) and appends each event to a bounded queue. Callers on any thread send commands (writes
//! are serialized by a lock) and wait on a condition variable for their reply or for an event, always
//! with a timeout. When QEMU closes the socket (it exited or was killed) or sends something that is
//! not QMP, the reader records why, wakes every waiter, and every later call fails at once with
//! [`QmpError::Closed`]; nothing hangs.

use std::collections::{HashMap, VecDeque};
use std::io::{IoSlice, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use serde_json::{json, Value};

use crate::message::{parse_message, LineFramer, Message, ProtocolError};
pub use crate::message::{Event, Greeting, QemuVersion, Timestamp};

/// How many unread events are kept; older ones are dropped first (and counted).
pub const EVENT_QUEUE_LIMIT: usize = 4096;

/// What can go wrong talking to QEMU.
#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    #[error("QMP {op} on {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("QMP monitor {path} is closed: {reason}")]
    Closed { path: String, reason: String },
    #[error("QMP command '{command}' got no reply within {after:?}")]
    Timeout { command: String, after: Duration },
    #[error("no matching QMP event within {after:?}")]
    EventTimeout { after: Duration },
    #[error("QMP command '{command}' failed: {class}: {desc}")]
    Command {
        command: String,
        class: String,
        desc: String,
    },
    #[error("QMP monitor {path}: expected the greeting, got {got}")]
    NoGreeting { path: String, got: String },
    #[error("QMP monitor {path}: {source}")]
    Protocol {
        path: String,
        #[source]
        source: ProtocolError,
    },
    #[error("QMP command '{command}': arguments must be a JSON object")]
    BadArguments { command: String },
}

impl QmpError {
    /// QMP's error class, for a command QEMU refused.
    pub fn class(&self) -> Option<&str> {
        match self {
            QmpError::Command { class, .. } => Some(class),
            _ => None,
        }
    }
}

#[derive(Debug)]
enum Reply {
    Ok(Value),
    Err { class: String, desc: String },
}

#[derive(Debug, Default)]
struct State {
    /// Ids of commands sent and not yet answered, oldest first.
    pending: VecDeque<u64>,
    replies: HashMap<u64, Reply>,
    events: VecDeque<Event>,
    dropped_events: u64,
    closed: Option<String>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    cond: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked while holding it; the state stays usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A connected, capabilities-negotiated QMP monitor.
#[derive(Debug)]
pub struct Qmp {
    path: String,
    writer: Mutex<UnixStream>,
    shared: Arc<Shared>,
    next_id: Mutex<u64>,
    greeting: Greeting,
    reader: Option<JoinHandle<()>>,
    default_timeout: Duration,
}

fn io<'a>(op: &'static str, path: &'a str) -> impl FnOnce(std::io::Error) -> QmpError + 'a {
    move |source| QmpError::Io {
        op,
        path: path.to_string(),
        source,
    }
}

impl Qmp {
    /// Connects to a monitor socket, retrying until `timeout` while the socket does not exist yet or
    /// refuses (QEMU still starting), then reads the greeting and negotiates capabilities.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Qmp, QmpError> {
        let name = path.display().to_string();
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e)
                    if Instant::now() < deadline
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                        ) =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(io("connect", &name)(e)),
            }
        };
        Qmp::from_stream(
            stream,
            &name,
            deadline.saturating_duration_since(Instant::now()),
        )
    }

    /// Uses an already connected stream (e.g. one end of a socketpair whose other end QEMU got as
    /// `-chardev socket,fd=N`). `name` names the monitor in errors.
    pub fn from_stream(stream: UnixStream, name: &str, timeout: Duration) -> Result<Qmp, QmpError> {
        let timeout = timeout.max(Duration::from_millis(100));
        let mut framer = LineFramer::default();
        let mut rd = stream.try_clone().map_err(io("clone", name))?;
        rd.set_read_timeout(Some(timeout))
            .map_err(io("set timeout", name))?;
        let mut buf = [0u8; 8192];
        let line = loop {
            match framer.next_line() {
                Ok(Some(l)) => break l,
                Ok(None) => {}
                Err(source) => {
                    return Err(QmpError::Protocol {
                        path: name.into(),
                        source,
                    })
                }
            }
            let n = match rd.read(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(QmpError::NoGreeting {
                        path: name.into(),
                        got: format!("nothing within {timeout:?}"),
                    })
                }
                Err(e) => return Err(io("read greeting", name)(e)),
            };
            if n == 0 {
                return Err(QmpError::Closed {
                    path: name.into(),
                    reason: "end of file before the greeting (QEMU exited?)".into(),
                });
            }
            framer.push(&buf[..n]);
        };
        let greeting = match parse_message(&line) {
            Ok(Message::Greeting(g)) => g,
            Ok(other) => {
                return Err(QmpError::NoGreeting {
                    path: name.into(),
                    got: format!("{other:?}").chars().take(200).collect(),
                })
            }
            Err(source) => {
                return Err(QmpError::Protocol {
                    path: name.into(),
                    source,
                })
            }
        };
        rd.set_read_timeout(None).map_err(io("set timeout", name))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            cond: Condvar::new(),
        });
        let reader = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("qmp-reader".into())
                .spawn(move || read_loop(rd, framer, &shared))
                .map_err(io("spawn reader", name))?
        };
        let qmp = Qmp {
            path: name.into(),
            writer: Mutex::new(stream),
            shared,
            next_id: Mutex::new(0),
            greeting,
            reader: Some(reader),
            default_timeout: Duration::from_secs(30),
        };
        qmp.execute_timeout("qmp_capabilities", None, timeout)?;
        Ok(qmp)
    }

    /// The greeting QEMU sent.
    pub fn greeting(&self) -> &Greeting {
        &self.greeting
    }

    /// The timeout [`execute`](Self::execute) uses (30 s unless changed).
    pub fn set_default_timeout(&mut self, t: Duration) {
        self.default_timeout = t;
    }

    /// Runs a command with the default timeout; `args` must be a JSON object when given.
    pub fn execute(&self, command: &str, args: Option<Value>) -> Result<Value, QmpError> {
        self.execute_timeout(command, args, self.default_timeout)
    }

    /// Runs a command and waits at most `timeout` for its reply.
    pub fn execute_timeout(
        &self,
        command: &str,
        args: Option<Value>,
        timeout: Duration,
    ) -> Result<Value, QmpError> {
        self.send_and_wait(command, args, None, timeout)
    }

    /// Runs a command with a descriptor attached (SCM_RIGHTS), as `getfd` and `add-fd` need. The
    /// descriptor stays open here; QEMU receives its own copy.
    pub fn execute_with_fd(
        &self,
        command: &str,
        args: Option<Value>,
        fd: BorrowedFd<'_>,
        timeout: Duration,
    ) -> Result<Value, QmpError> {
        self.send_and_wait(command, args, Some(fd), timeout)
    }

    /// `getfd`: hands `fd` to QEMU under `fdname` (for `netdev_add ... fd=fdname`).
    pub fn getfd(&self, fdname: &str, fd: BorrowedFd<'_>) -> Result<(), QmpError> {
        self.execute_with_fd(
            "getfd",
            Some(json!({ "fdname": fdname })),
            fd,
            self.default_timeout,
        )
        .map(drop)
    }

    /// `closefd`: drops a descriptor given with [`getfd`](Self::getfd) and not consumed.
    pub fn closefd(&self, fdname: &str) -> Result<(), QmpError> {
        self.execute("closefd", Some(json!({ "fdname": fdname })))
            .map(drop)
    }

    /// `add-fd`: adds `fd` to fd set `fdset_id` (a new set when `None`); returns `(fdset-id, fd)` as
    /// QEMU numbers them (usable as `/dev/fdset/ID`).
    pub fn add_fd(
        &self,
        fd: BorrowedFd<'_>,
        fdset_id: Option<u64>,
        opaque: Option<&str>,
    ) -> Result<(u64, i64), QmpError> {
        let mut args = serde_json::Map::new();
        if let Some(id) = fdset_id {
            args.insert("fdset-id".into(), id.into());
        }
        if let Some(o) = opaque {
            args.insert("opaque".into(), o.into());
        }
        let r = self.execute_with_fd(
            "add-fd",
            Some(Value::Object(args)),
            fd,
            self.default_timeout,
        )?;
        let set = r.get("fdset-id").and_then(Value::as_u64);
        let fd = r.get("fd").and_then(Value::as_i64);
        match (set, fd) {
            (Some(s), Some(f)) => Ok((s, f)),
            _ => Err(QmpError::Protocol {
                path: self.path.clone(),
                source: ProtocolError::Malformed {
                    what: format!("add-fd reply lacks fdset-id/fd: {r}"),
                },
            }),
        }
    }

    fn closed_error(&self, st: &State) -> Option<QmpError> {
        st.closed.as_ref().map(|reason| QmpError::Closed {
            path: self.path.clone(),
            reason: reason.clone(),
        })
    }

    fn send_and_wait(
        &self,
        command: &str,
        args: Option<Value>,
        fd: Option<BorrowedFd<'_>>,
        timeout: Duration,
    ) -> Result<Value, QmpError> {
        let mut msg = serde_json::Map::new();
        msg.insert("execute".into(), command.into());
        match args {
            None => {}
            Some(Value::Object(a)) => {
                msg.insert("arguments".into(), Value::Object(a));
            }
            Some(_) => {
                return Err(QmpError::BadArguments {
                    command: command.into(),
                })
            }
        }
        let id = {
            let mut n = self.next_id.lock().unwrap_or_else(|e| e.into_inner());
            *n += 1;
            *n
        };
        msg.insert("id".into(), id.into());
        let mut bytes = Value::Object(msg).to_string().into_bytes();
        bytes.push(b'\n');

        {
            // Hold the writer lock while registering the id so ids reach QEMU in `pending` order.
            let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            {
                let mut st = self.shared.lock();
                if let Some(e) = self.closed_error(&st) {
                    return Err(e);
                }
                st.pending.push_back(id);
            }
            if let Err(e) = write_all(&w, &bytes, fd) {
                let mut st = self.shared.lock();
                st.pending.retain(|&p| p != id);
                if let Some(closed) = self.closed_error(&st) {
                    return Err(closed);
                }
                return Err(io("write", &self.path)(e));
            }
        }

        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if let Some(reply) = st.replies.remove(&id) {
                return match reply {
                    Reply::Ok(v) => Ok(v),
                    Reply::Err { class, desc } => Err(QmpError::Command {
                        command: command.into(),
                        class,
                        desc,
                    }),
                };
            }
            if let Some(e) = self.closed_error(&st) {
                st.pending.retain(|&p| p != id);
                return Err(e);
            }
            let now = Instant::now();
            if now >= deadline {
                // A late reply is dropped by the reader once the id is no longer pending.
                st.pending.retain(|&p| p != id);
                return Err(QmpError::Timeout {
                    command: command.into(),
                    after: timeout,
                });
            }
            st = self
                .shared
                .cond
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits up to `timeout` for an event that `pred` accepts, removing it from the queue (events
    /// already queued count). Other events stay queued.
    pub fn wait_event(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> Result<Event, QmpError> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if let Some(i) = st.events.iter().position(&mut pred) {
                if let Some(ev) = st.events.remove(i) {
                    return Ok(ev);
                }
            }
            if let Some(e) = self.closed_error(&st) {
                return Err(e);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(QmpError::EventTimeout { after: timeout });
            }
            st = self
                .shared
                .cond
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits for the event named `name` (e.g. `DEVICE_DELETED`) whose `data` members equal those given
    /// in `data` (e.g. `{"device": "net0"}`).
    pub fn wait_event_named(
        &self,
        name: &str,
        data: &Value,
        timeout: Duration,
    ) -> Result<Event, QmpError> {
        self.wait_event(timeout, |e| {
            e.name == name
                && match data.as_object() {
                    Some(want) => want.iter().all(|(k, v)| e.data.get(k) == Some(v)),
                    None => true,
                }
        })
    }

    /// Removes and returns every queued event.
    pub fn take_events(&self) -> Vec<Event> {
        self.shared.lock().events.drain(..).collect()
    }

    /// How many events were dropped because nobody took them and the queue was full.
    pub fn dropped_events(&self) -> u64 {
        self.shared.lock().dropped_events
    }

    /// Why the monitor is closed, or `None` while it is open.
    pub fn closed_reason(&self) -> Option<String> {
        self.shared.lock().closed.clone()
    }
}

impl Drop for Qmp {
    fn drop(&mut self) {
        if let Ok(w) = self.writer.lock() {
            let _ = w.shutdown(std::net::Shutdown::Both);
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

fn write_all(s: &UnixStream, mut bytes: &[u8], fd: Option<BorrowedFd<'_>>) -> std::io::Result<()> {
    let raw = fd.map(|f| [f.as_raw_fd()]);
    let mut first = true;
    while !bytes.is_empty() {
        let iov = [IoSlice::new(bytes)];
        let cmsg;
        let cmsgs: &[ControlMessage] = match (&raw, first) {
            (Some(r), true) => {
                cmsg = [ControlMessage::ScmRights(r)];
                &cmsg
            }
            _ => &[],
        };
        match sendmsg::<()>(
            s.as_fd().as_raw_fd(),
            &iov,
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                bytes = &bytes[n..];
                first = false;
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn read_loop(mut rd: UnixStream, mut framer: LineFramer, shared: &Shared) {
    let mut buf = vec![0u8; 64 * 1024];
    let reason = 'outer: loop {
        loop {
            match framer.next_line() {
                Ok(Some(line)) => match parse_message(&line) {
                    Ok(msg) => dispatch(shared, msg),
                    Err(e) => break 'outer format!("protocol error: {e}"),
                },
                Ok(None) => break,
                Err(e) => break 'outer format!("protocol error: {e}"),
            }
        }
        match rd.read(&mut buf) {
            Ok(0) => break "end of file (QEMU exited or closed the monitor)".to_string(),
            Ok(n) => framer.push(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                break "connection reset (QEMU exited or closed the monitor)".to_string()
            }
            Err(e) => break format!("read error: {e}"),
        }
    };
    let _ = rd.shutdown(std::net::Shutdown::Both);
    let mut st = shared.lock();
    st.closed = Some(reason);
    drop(st);
    shared.cond.notify_all();
}

fn dispatch(shared: &Shared, msg: Message) {
    let mut st = shared.lock();
    match msg {
        Message::Event(ev) => {
            if st.events.len() >= EVENT_QUEUE_LIMIT {
                st.events.pop_front();
                st.dropped_events += 1;
            }
            st.events.push_back(ev);
        }
        Message::Return { id, value } => deliver(&mut st, id, Reply::Ok(value)),
        Message::Error { id, class, desc } => deliver(&mut st, id, Reply::Err { class, desc }),
        // A second greeting is meaningless; ignore it.
        Message::Greeting(_) => return,
    }
    drop(st);
    shared.cond.notify_all();
}

fn deliver(st: &mut State, id: Option<Value>, reply: Reply) {
    // Replies carry our numeric id; one without (QEMU could not parse the command) answers the
    // oldest pending command, since QEMU answers in order.
    let id = match id.as_ref().and_then(Value::as_u64) {
        Some(id) if st.pending.contains(&id) => id,
        Some(_) => return, // late reply to a command that timed out
        None => match st.pending.front() {
            Some(&id) => id,
            None => return,
        },
    };
    st.pending.retain(|&p| p != id);
    st.replies.insert(id, reply);
}
