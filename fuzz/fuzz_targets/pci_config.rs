//! PCI configuration space (sysfs `config`, outside input) through virt-hostdev's parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use virt_hostdev::PciConfig;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = PciConfig::parse(data) {
        let _ = c.reset_methods();
        let _ = c.flr();
        let _ = c.is_bridge();
        let _ = c.acs.map(|a| a.isolates());
        assert!(c.capabilities.len() <= 48);
        assert!(c
            .ext_capabilities
            .iter()
            .all(|(_, off)| *off + 4 <= data.len()));
    }
});
