#![no_main]
//! QEMU capability XML (`qemuCaps`) parsing, and argv generation for any domain that parses:
//! neither may panic.

use libfuzzer_sys::fuzz_target;
use virt_qemu::argv::{self, HostContext, QemuCaps};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = QemuCaps::from_xml(text);
    if let Ok(def) = virt_xml::Domain::parse(text) {
        let caps = QemuCaps::x86_64_7_2();
        let host = HostContext::libvirt_test_harness(&def);
        if let Ok(cmd) = argv::build(&def, &caps, &host) {
            let _ = cmd.to_args_text();
        }
    }
});
