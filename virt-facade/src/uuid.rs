//! Random UUIDs (version 4) for definitions that come without one.

use virt_xml::Uuid;

/// A random version-4 UUID from the kernel's random source.
pub fn random() -> Uuid {
    let mut b = [0u8; 16];
    let mut filled = 0;
    while filled < b.len() {
        // SAFETY: the buffer is valid for `len - filled` bytes at that offset.
        let n = unsafe { libc::getrandom(b[filled..].as_mut_ptr().cast(), b.len() - filled, 0) };
        if n > 0 {
            filled += n as usize;
        }
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid(b)
}
