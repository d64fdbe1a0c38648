#![no_main]
//! virt-net's interface-name and template validator (names come from domain XML `<target dev=.../>`
//! and `<source dev=.../>`).

use libfuzzer_sys::fuzz_target;
use virt_net::IfName;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(n) = IfName::parse(s) {
            // An accepted name fits IFNAMSIZ and its instances hold no '%'.
            assert!(!s.is_empty() && s.len() <= virt_net::ifname::IFNAME_MAX);
            assert!(!n.instantiate(7).contains('%'));
        }
    }
});
