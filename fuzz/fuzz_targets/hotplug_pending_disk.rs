#![no_main]
//! A disk hot-plug pending record is read back from the state directory after a crash: parse
//! arbitrary bytes as one.

use libfuzzer_sys::fuzz_target;
use virt_qemu::hotplug::parse_pending_disk;

fuzz_target!(|data: &[u8]| {
    let _ = parse_pending_disk(data, std::path::Path::new("fuzz.json"));
});
