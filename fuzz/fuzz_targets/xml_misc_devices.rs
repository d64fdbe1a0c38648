//! Typed `<controller>`, `<filesystem>`, `<tpm>`, `<watchdog>`, `<memballoon>`, `<panic>`,
//! `<shmem>`, device `<memory>`, `<iommu>`, `<vsock>`, `<crypto>` and `<hub>`: any element that
//! parses as XML either gives an error or a value whose written form parses back to the same
//! value. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use virt_xml::devices::controller::Controller;
use virt_xml::devices::crypto::Crypto;
use virt_xml::devices::filesystem::Filesystem;
use virt_xml::devices::hub::Hub;
use virt_xml::devices::iommu::Iommu;
use virt_xml::devices::memballoon::Memballoon;
use virt_xml::devices::memory::MemoryDevice;
use virt_xml::devices::panic::Panic;
use virt_xml::devices::shmem::Shmem;
use virt_xml::devices::tpm::Tpm;
use virt_xml::devices::vsock::Vsock;
use virt_xml::devices::watchdog::Watchdog;
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
        "controller" => check(&el, Controller::from_element, Controller::write),
        "filesystem" => check(&el, Filesystem::from_element, Filesystem::write),
        "tpm" => check(&el, Tpm::from_element, Tpm::write),
        "watchdog" => check(&el, Watchdog::from_element, Watchdog::write),
        "memballoon" => check(&el, Memballoon::from_element, Memballoon::write),
        "panic" => check(&el, Panic::from_element, Panic::write),
        "shmem" => check(&el, Shmem::from_element, Shmem::write),
        "memory" => check(&el, MemoryDevice::from_element, MemoryDevice::write),
        "iommu" => check(&el, Iommu::from_element, Iommu::write),
        "vsock" => check(&el, Vsock::from_element, Vsock::write),
        "crypto" => check(&el, Crypto::from_element, Crypto::write),
        "hub" => check(&el, Hub::from_element, Hub::write),
        _ => {}
    }
});
