//! Typed `<disk>` (with its storage source, backing chain, mirror, iotune) and `<lease>`: any
//! element that parses as XML either gives an error or a value whose written form parses back to
//! the same value. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use virt_xml::devices::disk::Disk;
use virt_xml::devices::lease::Lease;
use virt_xml::tree::{self, Element};
use virt_xml::writer::Writer;
use virt_xml::XmlError;

fn check<T: PartialEq + std::fmt::Debug>(
    el: &Element,
    parse: fn(&Element) -> Result<T, XmlError>,
    write: fn(&T, &mut Writer),
) {
    if let Ok(v) = parse(el) {
        let mut w = Writer::new();
        write(&v, &mut w);
        let text = w.finish();
        let again = tree::parse(&text).expect("written text is well-formed");
        assert_eq!(parse(&again).expect("written text parses"), v);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(el) = tree::parse(text) else {
        return;
    };
    match el.name.as_str() {
        "disk" => check(&el, Disk::from_element, Disk::write),
        "lease" => check(&el, Lease::from_element, Lease::write),
        _ => {}
    }
});
