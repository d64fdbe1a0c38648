//! Ordered property lists for `-device`, `-object`, `-blockdev`, `-netdev`, `-audiodev` and friends,
//! written either as JSON (key order kept, as QEMU's JSON syntax of those options accepts) or as
//! QEMU's `key=value,...` syntax (commas in values doubled).

use std::fmt::Write as _;

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    UInt(u64),
    Null,
    Obj(Props),
    Arr(Vec<Value>),
}

/// Properties in insertion order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Props {
    items: Vec<(String, Value)>,
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Value {
    fn write_json(&self, out: &mut String) {
        match self {
            Value::Str(s) => json_string(out, s),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::UInt(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Null => out.push_str("null"),
            Value::Obj(p) => p.write_json(out),
            Value::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
        }
    }
}

impl Props {
    pub fn new() -> Props {
        Props::default()
    }

    /// Appends any value.
    pub fn add(mut self, key: &str, value: Value) -> Props {
        self.items.push((key.to_string(), value));
        self
    }

    /// Appends a string.
    pub fn str(self, key: &str, value: impl Into<String>) -> Props {
        self.add(key, Value::Str(value.into()))
    }

    /// Appends a string when present.
    pub fn opt_str(self, key: &str, value: Option<impl Into<String>>) -> Props {
        match value {
            Some(v) => self.str(key, v),
            None => self,
        }
    }

    pub fn bool(self, key: &str, value: bool) -> Props {
        self.add(key, Value::Bool(value))
    }

    pub fn opt_bool(self, key: &str, value: Option<bool>) -> Props {
        match value {
            Some(v) => self.bool(key, v),
            None => self,
        }
    }

    pub fn uint(self, key: &str, value: u64) -> Props {
        self.add(key, Value::UInt(value))
    }

    pub fn opt_uint(self, key: &str, value: Option<u64>) -> Props {
        match value {
            Some(v) => self.uint(key, v),
            None => self,
        }
    }

    pub fn int(self, key: &str, value: i64) -> Props {
        self.add(key, Value::Int(value))
    }

    pub fn obj(self, key: &str, value: Props) -> Props {
        self.add(key, Value::Obj(value))
    }

    /// Appends in place (for loops).
    pub fn push(&mut self, key: &str, value: Value) {
        self.items.push((key.to_string(), value));
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.items.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (k, v)) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_string(out, k);
            out.push(':');
            v.write_json(out);
        }
        out.push('}');
    }

    /// Compact JSON, keys in insertion order.
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        self.write_json(&mut s);
        s
    }

    /// QEMU's `key=value,...` syntax: booleans as `on`/`off`, commas in strings doubled. Nested
    /// objects and arrays are written in JSON (QEMU's keyval form has no nesting).
    pub fn to_keyval(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push('=');
            match v {
                Value::Str(s) => out.push_str(&escape_comma(s)),
                Value::Bool(b) => out.push_str(if *b { "on" } else { "off" }),
                Value::Int(n) => {
                    let _ = write!(out, "{n}");
                }
                Value::UInt(n) => {
                    let _ = write!(out, "{n}");
                }
                other => other.write_json(&mut out),
            }
        }
        out
    }
}

/// Doubles every comma, as QEMU's option syntax requires inside a value.
pub fn escape_comma(s: &str) -> String {
    s.replace(',', ",,")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_order_and_escapes() {
        let p = Props::new()
            .str("qom-type", "secret")
            .str("id", "a\"b")
            .uint("size", 224_395_264)
            .bool("prealloc", true)
            .obj("server", Props::new().str("type", "inet"));
        assert_eq!(
            p.to_json(),
            r#"{"qom-type":"secret","id":"a\"b","size":224395264,"prealloc":true,"server":{"type":"inet"}}"#
        );
    }

    #[test]
    fn keyval() {
        let p = Props::new()
            .str("guest", "foo=1,bar=2")
            .bool("debug-threads", true)
            .int("x", -1);
        assert_eq!(p.to_keyval(), "guest=foo=1,,bar=2,debug-threads=on,x=-1");
    }
}
