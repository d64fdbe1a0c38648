#![no_main]
//! libaudit field encoding on arbitrary bytes: never panics, always one ASCII token without
//! separators, and decodes back to the value up to its first NUL (where libaudit stops).

use libfuzzer_sys::fuzz_target;
use virt_audit::encode::{c_string, decode_value, encode_nv};

fuzz_target!(|data: &[u8]| {
    let enc = encode_nv("path", data);
    assert!(enc.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    let value = enc.strip_prefix("path=").expect("name kept");
    assert_eq!(decode_value(value).as_deref(), Some(c_string(data)));
});
