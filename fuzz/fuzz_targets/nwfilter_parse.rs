//! Parsing arbitrary bytes as nwfilter or filter-binding XML never panics; what parses formats,
//! parses again to the same value, and formatting is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use virt_xml::nwfilter::{format_binding, format_filter, parse_binding, parse_filter};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = parse_filter(text) {
        let xml = format_filter(&f);
        let again = parse_filter(&xml).expect("formatted filter parses");
        assert_eq!(format_filter(&again), xml, "format is not a fixed point");
    }
    if let Ok(b) = parse_binding(text) {
        let xml = format_binding(&b);
        let again = parse_binding(&xml).expect("formatted binding parses");
        assert_eq!(again, b);
    }
});
