//! Parses every PCI config blob of libvirt's `virpcitestdata` (or the folder given) and checks the
//! header against the raw bytes; prints a line per failing blob and `N passed, M failed`.
//!
//! `cargo run -p virt-hostdev --example conformance [-- DIR]`

use std::path::PathBuf;

use virt_hostdev::PciConfig;

fn check(b: &[u8]) -> Result<String, String> {
    let c = PciConfig::parse(b).map_err(|e| e.to_string())?;
    let word = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    if (c.vendor, c.device) != (word(0), word(2)) {
        return Err(format!(
            "ids {:04x}:{:04x} differ from the header",
            c.vendor, c.device
        ));
    }
    let class = u32::from(b[0x0b]) << 16 | u32::from(b[0x0a]) << 8 | u32::from(b[0x09]);
    if c.class != class {
        return Err(format!(
            "class {:06x} differs from the header {class:06x}",
            c.class
        ));
    }
    for cap in &c.capabilities {
        if b.get(cap.offset) != Some(&cap.id) {
            return Err(format!(
                "capability {:02x} not at 0x{:02x}",
                cap.id, cap.offset
            ));
        }
    }
    Ok(format!(
        "{:04x}:{:04x} class {:06x} caps {} ext {} pcie {} resets {:?}",
        c.vendor,
        c.device,
        c.class,
        c.capabilities.len(),
        c.ext_capabilities.len(),
        c.pcie
            .map(|p| format!("{:?}", p.port_type))
            .unwrap_or_else(|| "-".into()),
        c.reset_methods()
    ))
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| virt_testkit::libvirt_data("virpcitestdata"));
    let verbose = std::env::var_os("VERBOSE").is_some();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            std::process::exit(2);
        }
    };
    files.sort();
    let (mut pass, mut fail) = (0, 0);
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "config"))
    {
        let r = std::fs::read(f)
            .map_err(|e| e.to_string())
            .and_then(|b| check(&b));
        match r {
            Ok(s) => {
                pass += 1;
                if verbose {
                    println!("ok {}: {s}", f.display());
                }
            }
            Err(e) => {
                fail += 1;
                println!("FAIL {}: {e}", f.display());
            }
        }
    }
    println!("{pass} passed, {fail} failed");
    if fail > 0 {
        std::process::exit(1);
    }
}
