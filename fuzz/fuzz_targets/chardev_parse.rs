//! Reading any element as a character device or an rng never panics, and the written form is a
//! fixed point: it reads back, and writing that again gives the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use virt_xml::devices::chardev::Chardev;
use virt_xml::devices::rng::Rng;
use virt_xml::writer::Writer;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(el) = virt_xml::tree::parse(text) else {
        return;
    };
    if let Ok(c) = Chardev::from_element(&el) {
        let mut w = Writer::new();
        c.write(&mut w, "serial");
        let first = w.finish();
        let again = virt_xml::tree::parse(&first).expect("written chardev is well-formed");
        let c2 = Chardev::from_element(&again).expect("written chardev reads back");
        let mut w = Writer::new();
        c2.write(&mut w, "serial");
        assert_eq!(w.finish(), first, "chardev output is not a fixed point");
    }
    if let Ok(r) = Rng::from_element(&el) {
        let mut w = Writer::new();
        r.write(&mut w);
        let first = w.finish();
        let again = virt_xml::tree::parse(&first).expect("written rng is well-formed");
        let r2 = Rng::from_element(&again).expect("written rng reads back");
        let mut w = Writer::new();
        r2.write(&mut w);
        assert_eq!(w.finish(), first, "rng output is not a fixed point");
    }
});
