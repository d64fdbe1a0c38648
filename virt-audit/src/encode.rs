//! Field encoding as libaudit's `audit_encode_nv_string(name, value, 0)` does it.
//!
//! The rule (libaudit's `audit_value_needs_encoding` over a signed `char` string): a value needs
//! encoding when any byte is a double quote, below 0x21 (space and the control characters), 0x7f, or
//! at or above 0x80. Such a value is written as the uppercase hex of its bytes (`name=2F746D7020`);
//! any other value is written in double quotes (`name="/dev/kvm"`). An empty value is `name=""`, an
//! absent one `name="?"`.
//!
//! libvirt passes length 0, so libaudit takes the value's `strlen`: a value is cut at its first NUL
//! byte. [`encode_nv`] does the same, so it agrees with libaudit on any byte string.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The part of `value` libaudit looks at with length 0: everything before the first NUL byte.
pub fn c_string(value: &[u8]) -> &[u8] {
    match value.iter().position(|&b| b == 0) {
        Some(n) => &value[..n],
        None => value,
    }
}

/// Whether libaudit would hex-encode this value rather than quote it (the whole slice is examined;
/// see [`c_string`] for where libaudit stops).
pub fn needs_encoding(value: &[u8]) -> bool {
    value
        .iter()
        .any(|&b| b == b'"' || !(0x21..=0x7e).contains(&b))
}

/// Appends the uppercase hex of `bytes` to `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    let mut buf = [0u8; 128];
    for chunk in bytes.chunks(buf.len() / 2) {
        for (i, &b) in chunk.iter().enumerate() {
            buf[2 * i] = HEX[usize::from(b >> 4)];
            buf[2 * i + 1] = HEX[usize::from(b & 0x0f)];
        }
        // Hex digits are ASCII, so this never fails.
        if let Ok(s) = std::str::from_utf8(&buf[..2 * chunk.len()]) {
            out.push_str(s);
        }
    }
}

/// Appends the encoded value (without `name=`) to `out`: hex, or the value in double quotes.
pub fn push_value(out: &mut String, value: &[u8]) {
    let value = c_string(value);
    if needs_encoding(value) {
        push_hex(out, value);
    } else {
        out.push('"');
        // Only bytes 0x21..=0x7e other than '"' remain here: ASCII, so valid UTF-8.
        match std::str::from_utf8(value) {
            Ok(v) => out.push_str(v),
            Err(_) => out.extend(value.iter().map(|&b| b as char)),
        }
        out.push('"');
    }
}

/// Appends `name=VALUE` to `out`, encoded as [`encode_nv`] does.
pub fn push_nv(out: &mut String, name: &str, value: &[u8]) {
    out.push_str(name);
    out.push('=');
    push_value(out, value);
}

/// `name="value"`, or `name=HEX` (uppercase hex of the value's bytes) when the value needs encoding.
pub fn encode_nv(name: &str, value: &[u8]) -> String {
    let mut out = String::with_capacity(name.len() + 3 + value.len() * 2);
    push_nv(&mut out, name, value);
    out
}

/// [`encode_nv`] for a value that may be absent: libaudit writes an absent value as `name="?"`
/// (libvirt's `VIR_AUDIT_STR`).
pub fn encode_nv_opt(name: &str, value: Option<&[u8]>) -> String {
    encode_nv(name, value.unwrap_or(b"?"))
}

/// Decodes a value as written by [`encode_nv`] (quoted or hex); `None` when it is neither.
/// The inverse used by tests and by readers of record text.
pub fn decode_value(field: &str) -> Option<Vec<u8>> {
    if let Some(inner) = field.strip_prefix('"').and_then(|f| f.strip_suffix('"')) {
        return Some(inner.as_bytes().to_vec());
    }
    if field.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    field
        .as_bytes()
        .chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quoted_and_hex() {
        assert_eq!(encode_nv("vm", b"g1"), r#"vm="g1""#);
        assert_eq!(encode_nv("path", b"/dev/net/tun"), r#"path="/dev/net/tun""#);
        assert_eq!(encode_nv("vm", b"my vm"), "vm=6D7920766D");
        assert_eq!(encode_nv("vm", b"a\"b"), "vm=612262");
        assert_eq!(encode_nv("vm", b"a~"), r#"vm="a~""#);
        assert_eq!(encode_nv("vm", b"a\x7f"), "vm=617F");
        assert_eq!(encode_nv("vm", "é".as_bytes()), "vm=C3A9");
        assert_eq!(encode_nv("vm", b"\x01"), "vm=01");
        assert_eq!(encode_nv("vm", b"\xff"), "vm=FF");
        assert_eq!(encode_nv("vm", b"'"), r#"vm="'""#);
    }

    #[test]
    fn empty_absent_and_nul() {
        assert_eq!(encode_nv("x", b""), r#"x="""#);
        assert_eq!(encode_nv_opt("x", None), r#"x="?""#);
        assert_eq!(encode_nv("x", b"a\0b c"), r#"x="a""#);
        assert_eq!(encode_nv("x", b"\0"), r#"x="""#);
    }

    proptest! {
        #[test]
        fn decodes_back(value in proptest::collection::vec(any::<u8>(), 0..64)) {
            let enc = encode_nv("n", &value);
            let field = enc.strip_prefix("n=").unwrap_or_default();
            prop_assert_eq!(decode_value(field), Some(c_string(&value).to_vec()));
        }

        #[test]
        fn one_token(value in proptest::collection::vec(any::<u8>(), 0..64)) {
            // The encoded field never contains a separator a log parser would split on, and is
            // ASCII, as audit logs require.
            let enc = encode_nv("n", &value);
            prop_assert!(enc.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        }

        #[test]
        fn rule(value in proptest::collection::vec(any::<u8>(), 0..64)) {
            let v = c_string(&value);
            let enc = encode_nv("n", &value);
            let quoted = enc.starts_with("n=\"");
            let plain = v.iter().all(|&b| b != b'"' && (0x21..=0x7e).contains(&b));
            prop_assert_eq!(quoted, plain);
            if !quoted {
                prop_assert_eq!(enc.len(), 2 + 2 * v.len());
            }
        }
    }
}
