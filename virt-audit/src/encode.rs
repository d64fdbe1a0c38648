//! Field encoding as libaudit's `audit_encode_nv_string(name, value, 0)` does it.

/// Whether libaudit would hex-encode this value rather than quote it.
pub fn needs_encoding(value: &[u8]) -> bool {
    value
        .iter()
        .any(|&b| b == b'"' || b < 0x21 || b > 0x7e)
}

/// `name="value"`, or `name=HEX` (uppercase hex of the value's bytes) when the value needs encoding.
pub fn encode_nv(name: &str, value: &[u8]) -> String {
    let mut out = String::with_capacity(name.len() + 3 + value.len() * 2);
    out.push_str(name);
    out.push('=');
    if needs_encoding(value) {
        for b in value {
            out.push_str(&format!("{b:02X}"));
        }
    } else {
        out.push('"');
        // Only bytes 0x21..=0x7e remain here, which are ASCII.
        out.extend(value.iter().map(|&b| b as char));
        out.push('"');
    }
    out
}
