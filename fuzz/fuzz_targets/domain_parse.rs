//! Parsing arbitrary bytes as domain XML never panics; what parses formats and parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = virt_xml::Domain::parse(text) {
        let xml = d.to_xml();
        let again = virt_xml::Domain::parse(&xml).expect("formatted output parses");
        assert_eq!(again.to_xml(), xml, "format is not a fixed point");
    }
});
