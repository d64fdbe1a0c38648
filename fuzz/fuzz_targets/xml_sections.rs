//! Typed top-level domain sections (`virt_xml::sections::Section`): any element that parses as
//! XML either gives an error or a value whose written form parses back to the same value (a
//! section with nothing set may write nothing). Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use virt_xml::sections::Section;
use virt_xml::tree;
use virt_xml::writer::Writer;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(el) = tree::parse(text) else {
        return;
    };
    if let Ok(s) = Section::from_element(&el) {
        let mut w = Writer::new();
        s.write(&mut w);
        let written = w.finish();
        if written.is_empty() {
            return;
        }
        let again = tree::parse(&written).expect("written text is well-formed");
        assert_eq!(Section::from_element(&again).expect("written text parses"), s);
    }
});
