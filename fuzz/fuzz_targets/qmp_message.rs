#![no_main]
//! QMP messages from QEMU are outside input: frame arbitrary bytes and parse every line.

use libfuzzer_sys::fuzz_target;
use virt_qemu::message::{parse_message, LineFramer};

fuzz_target!(|data: &[u8]| {
    let mut f = LineFramer::new(4096);
    // Feed in two chunks split at a data-chosen point to exercise partial lines.
    let cut = data
        .first()
        .map(|&b| b as usize % (data.len() + 1))
        .unwrap_or(0);
    for chunk in [&data[..cut], &data[cut..]] {
        f.push(chunk);
        loop {
            match f.next_line() {
                Ok(Some(line)) => {
                    let _ = parse_message(&line);
                }
                Ok(None) | Err(_) => break,
            }
        }
    }
    let _ = parse_message(data);
});
