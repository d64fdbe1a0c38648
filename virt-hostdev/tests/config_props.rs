//! Properties of the config-space parser: no panic on any bytes, and made chains read back exactly.

use proptest::prelude::*;
use virt_hostdev::{ConfigError, PciConfig};

/// A type 0 header with a legacy capability chain of `ids` (4 dwords each) and an extended chain of
/// `ext` (4 dwords each) in a 4096-byte space.
fn build(ids: &[u8], ext: &[u16], pcie: bool) -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    b[0..2].copy_from_slice(&0x1af4u16.to_le_bytes());
    b[2..4].copy_from_slice(&0x1041u16.to_le_bytes());
    b[0x0b] = 0x02;
    let mut chain: Vec<u8> = ids.to_vec();
    if pcie {
        chain.push(0x10);
    }
    if !chain.is_empty() {
        b[6] = 0x10;
        b[0x34] = 0x40;
    }
    for (i, id) in chain.iter().enumerate() {
        let off = 0x40 + i * 0x10;
        b[off] = *id;
        b[off + 1] = if i + 1 < chain.len() {
            (off + 0x10) as u8
        } else {
            0
        };
    }
    for (i, id) in ext.iter().enumerate() {
        let off = 0x100 + i * 0x10;
        let next = if i + 1 < ext.len() { off + 0x10 } else { 0 };
        let h = u32::from(*id) | (1 << 16) | ((next as u32) << 20);
        b[off..off + 4].copy_from_slice(&h.to_le_bytes());
    }
    b
}

proptest! {
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4200)) {
        if let Ok(c) = PciConfig::parse(&bytes) {
            prop_assert!(bytes.len() >= 64);
            for cap in &c.capabilities {
                prop_assert!(cap.offset >= 0x40 && cap.offset < bytes.len());
            }
            for (_, off) in &c.ext_capabilities {
                prop_assert!(*off >= 0x100 && *off + 4 <= bytes.len());
            }
            prop_assert!(c.capabilities.len() <= 48);
        }
    }

    #[test]
    fn made_chains_read_back(
        ids in proptest::collection::vec(1u8..0x20, 0..11),
        ext in proptest::collection::vec(1u16..0x30, 0..40),
        pcie in any::<bool>(),
    ) {
        let ids: Vec<u8> = ids.into_iter().filter(|&i| i != 0x10).collect();
        let b = build(&ids, &ext, pcie);
        let c = PciConfig::parse(&b).expect("made config parses");
        let mut want: Vec<u8> = ids.clone();
        if pcie {
            want.push(0x10);
        }
        prop_assert_eq!(c.capabilities.iter().map(|c| c.id).collect::<Vec<_>>(), want.clone());
        if pcie {
            prop_assert_eq!(
                c.ext_capabilities.iter().map(|e| e.0).collect::<Vec<_>>(),
                ext.clone()
            );
            prop_assert_eq!(c.acs.is_some(), ext.contains(&0x000d));
            prop_assert!(c.complete);
        } else {
            prop_assert!(c.ext_capabilities.is_empty(), "no extended space without PCIe");
        }
        // Cut to 64 bytes (an unprivileged read): same header, list incomplete when it existed.
        let short = PciConfig::parse(&b[..64]).expect("header parses");
        prop_assert_eq!((short.vendor, short.device, short.class), (c.vendor, c.device, c.class));
        prop_assert_eq!(short.complete, want.is_empty());
    }

    #[test]
    fn loops_are_errors(at in 0usize..10, back in 0usize..10) {
        let ids = vec![0x05u8; 10];
        let mut b = build(&ids, &[], false);
        let at = 0x40 + at * 0x10;
        let back = 0x40 + back.min((at - 0x40) / 0x10) * 0x10;
        b[at + 1] = back as u8;
        prop_assert_eq!(PciConfig::parse(&b), Err(ConfigError::CapLoop { limit: 48 }));
    }
}
