//! QMP wire format: newline-framed JSON objects, parsed into [`Message`]s.
//!
//! Everything here treats its input as untrusted: bad bytes give a [`ProtocolError`], never a panic.

use serde_json::{Map, Value};

/// The largest single QMP message accepted (QEMU's own replies, e.g. `query-qmp-schema`, stay far
/// below this).
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// A malformed or oversized QMP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("QMP message longer than {max} bytes")]
    TooLong { max: usize },
    #[error("QMP message is not valid JSON: {reason}")]
    Json { reason: String },
    #[error("QMP message is not a JSON object")]
    NotObject,
    #[error("QMP message has no 'return', 'error', 'event' or 'QMP' member (members: {members})")]
    Unknown { members: String },
    #[error("QMP message: {what}")]
    Malformed { what: String },
}

/// The timestamp QEMU puts on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub seconds: i64,
    pub microseconds: i64,
}

/// An asynchronous QMP event (`SHUTDOWN`, `STOP`, `RESUME`, `DEVICE_DELETED`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    /// The `data` member, or `Value::Null` when absent.
    pub data: Value,
    pub timestamp: Timestamp,
}

/// QEMU's version as the greeting reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QemuVersion {
    pub major: u64,
    pub minor: u64,
    pub micro: u64,
    pub package: String,
}

/// The greeting QEMU sends when a client connects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Greeting {
    pub version: QemuVersion,
    pub capabilities: Vec<String>,
}

/// One message from QEMU.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Greeting(Greeting),
    /// A successful reply; `id` is the one the command carried (if any).
    Return {
        id: Option<Value>,
        value: Value,
    },
    /// A failed reply, with QMP's error `class` and `desc`.
    Error {
        id: Option<Value>,
        class: String,
        desc: String,
    },
    Event(Event),
}

/// Splits a byte stream into newline-terminated messages, refusing any longer than `max`.
#[derive(Debug, Clone)]
pub struct LineFramer {
    buf: Vec<u8>,
    max: usize,
    /// Where the search for the next newline resumes.
    scanned: usize,
}

impl Default for LineFramer {
    fn default() -> Self {
        LineFramer::new(MAX_MESSAGE)
    }
}

impl LineFramer {
    pub fn new(max: usize) -> Self {
        LineFramer {
            buf: Vec::new(),
            max,
            scanned: 0,
        }
    }

    /// Appends bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line (without its newline; blank lines are skipped), `Ok(None)` when more
    /// bytes are needed, or an error when the pending line is already longer than the limit.
    pub fn next_line(&mut self) -> Result<Option<Vec<u8>>, ProtocolError> {
        loop {
            match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let end = self.scanned + i;
                    if end > self.max {
                        return Err(ProtocolError::TooLong { max: self.max });
                    }
                    let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                    line.pop();
                    self.scanned = 0;
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Ok(Some(line));
                }
                None => {
                    self.scanned = self.buf.len();
                    if self.buf.len() > self.max {
                        return Err(ProtocolError::TooLong { max: self.max });
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// Bytes received but not yet part of a complete line.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

fn str_member<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<&'a str, ProtocolError> {
    obj.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ProtocolError::Malformed {
            what: format!("{ctx} has no string member '{key}'"),
        })
}

fn u64_member(obj: &Map<String, Value>, key: &str) -> u64 {
    obj.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// Parses one QMP message (one line, without its newline).
pub fn parse_message(line: &[u8]) -> Result<Message, ProtocolError> {
    let v: Value = serde_json::from_slice(line).map_err(|e| ProtocolError::Json {
        reason: e.to_string(),
    })?;
    let Value::Object(obj) = v else {
        return Err(ProtocolError::NotObject);
    };
    let id = obj.get("id").cloned();
    if let Some(value) = obj.get("return") {
        return Ok(Message::Return {
            id,
            value: value.clone(),
        });
    }
    if let Some(err) = obj.get("error") {
        let err = err.as_object().ok_or_else(|| ProtocolError::Malformed {
            what: "'error' is not an object".into(),
        })?;
        return Ok(Message::Error {
            id,
            class: str_member(err, "class", "'error'")?.to_string(),
            desc: str_member(err, "desc", "'error'")?.to_string(),
        });
    }
    if obj.contains_key("event") {
        let name = str_member(&obj, "event", "event")?.to_string();
        let timestamp = match obj.get("timestamp").and_then(Value::as_object) {
            Some(ts) => Timestamp {
                seconds: ts.get("seconds").and_then(Value::as_i64).unwrap_or(0),
                microseconds: ts.get("microseconds").and_then(Value::as_i64).unwrap_or(0),
            },
            None => Timestamp::default(),
        };
        return Ok(Message::Event(Event {
            name,
            data: obj.get("data").cloned().unwrap_or(Value::Null),
            timestamp,
        }));
    }
    if let Some(qmp) = obj.get("QMP") {
        let qmp = qmp.as_object().ok_or_else(|| ProtocolError::Malformed {
            what: "greeting 'QMP' is not an object".into(),
        })?;
        let mut greeting = Greeting::default();
        if let Some(ver) = qmp.get("version").and_then(Value::as_object) {
            if let Some(q) = ver.get("qemu").and_then(Value::as_object) {
                greeting.version.major = u64_member(q, "major");
                greeting.version.minor = u64_member(q, "minor");
                greeting.version.micro = u64_member(q, "micro");
            }
            greeting.version.package = ver
                .get("package")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
        }
        match qmp.get("capabilities") {
            Some(Value::Array(caps)) => {
                for c in caps {
                    let c = c.as_str().ok_or_else(|| ProtocolError::Malformed {
                        what: "greeting capability is not a string".into(),
                    })?;
                    greeting.capabilities.push(c.to_string());
                }
            }
            None => {}
            Some(_) => {
                return Err(ProtocolError::Malformed {
                    what: "greeting 'capabilities' is not an array".into(),
                })
            }
        }
        return Ok(Message::Greeting(greeting));
    }
    let mut members: Vec<&str> = obj.keys().map(String::as_str).collect();
    members.truncate(8);
    Err(ProtocolError::Unknown {
        members: members.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        let g = parse_message(br#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2"}, "capabilities": ["oob"]}}"#).unwrap();
        let Message::Greeting(g) = g else {
            panic!("{g:?}")
        };
        assert_eq!(
            (g.version.major, g.version.minor, g.version.micro),
            (7, 2, 22)
        );
        assert_eq!(g.version.package, "Debian 1:7.2");
        assert_eq!(g.capabilities, vec!["oob".to_string()]);

        assert_eq!(
            parse_message(br#"{"return": {}, "id": 3}"#).unwrap(),
            Message::Return {
                id: Some(3.into()),
                value: serde_json::json!({})
            }
        );
        assert_eq!(
            parse_message(br#"{"id": "x", "error": {"class": "GenericError", "desc": "no"}}"#)
                .unwrap(),
            Message::Error {
                id: Some("x".into()),
                class: "GenericError".into(),
                desc: "no".into()
            }
        );
        let e = parse_message(br#"{"timestamp": {"seconds": 5, "microseconds": 6}, "event": "DEVICE_DELETED", "data": {"device": "n1"}}"#).unwrap();
        let Message::Event(e) = e else {
            panic!("{e:?}")
        };
        assert_eq!(e.name, "DEVICE_DELETED");
        assert_eq!(e.data["device"], "n1");
        assert_eq!(
            e.timestamp,
            Timestamp {
                seconds: 5,
                microseconds: 6
            }
        );
    }

    #[test]
    fn rejects_bad_messages() {
        assert!(matches!(
            parse_message(b"[1]"),
            Err(ProtocolError::NotObject)
        ));
        assert!(matches!(
            parse_message(b"{"),
            Err(ProtocolError::Json { .. })
        ));
        assert!(matches!(
            parse_message(br#"{"foo": 1}"#),
            Err(ProtocolError::Unknown { .. })
        ));
        assert!(matches!(
            parse_message(br#"{"error": 1}"#),
            Err(ProtocolError::Malformed { .. })
        ));
        assert!(matches!(
            parse_message(br#"{"error": {"class": 1, "desc": ""}}"#),
            Err(ProtocolError::Malformed { .. })
        ));
        assert!(matches!(
            parse_message(br#"{"event": 7}"#),
            Err(ProtocolError::Malformed { .. })
        ));
        assert!(matches!(
            parse_message(br#"{"QMP": {"capabilities": [1]}}"#),
            Err(ProtocolError::Malformed { .. })
        ));
    }

    #[test]
    fn framer_splits_and_limits() {
        let mut f = LineFramer::new(10);
        f.push(b"{\"a\":1}\r\n\n  \n{\"b\"");
        assert_eq!(f.next_line().unwrap().unwrap(), b"{\"a\":1}");
        assert_eq!(f.next_line().unwrap(), None);
        f.push(b":2}\n");
        assert_eq!(f.next_line().unwrap().unwrap(), b"{\"b\":2}");
        f.push(b"0123456789abc");
        assert_eq!(f.next_line(), Err(ProtocolError::TooLong { max: 10 }));
    }
}
