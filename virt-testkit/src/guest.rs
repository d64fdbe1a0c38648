//! A tiny Linux guest for end-to-end tests and the demo: the host's cloud kernel and an
//! initramfs holding only busybox, whose `/init` mounts the basic filesystems, prints
//! [`READY_LINE`] on the first serial port and keeps a shell there.
//!
//! The guest powers off when the ACPI power button is pressed (QMP `system_powerdown`, a graceful
//! shutdown), unless its kernel command line holds [`IGNORE_POWER_BUTTON`]: after the ready line,
//! `/init` loads the kernel's `evdev` and ACPI `button` modules (copied from the host's
//! `/lib/modules/<kernel version>` when the kernel has them as modules) and waits in the
//! background for an event of the "Power Button" input device (printing [`POWER_BUTTON_LINE`]
//! once it listens), then runs `poweroff -f`. The guest needs ACPI (`<features><acpi/></features>` in its domain).
//!
//! The initramfs is written here as an uncompressed `newc` cpio archive; nothing is installed.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What the guest prints on its serial console once user space runs.
pub const READY_LINE: &str = "VIRT-GUEST-READY";

/// The kernel command line the guest needs (serial console, quiet boot, no reboot delay).
pub const KERNEL_CMDLINE: &str = "console=ttyS0 panic=-1 quiet";

/// What the guest prints on its serial console once it listens to the power button (some time
/// after [`READY_LINE`]; a press before it may be lost).
pub const POWER_BUTTON_LINE: &str = "VIRT-GUEST-POWER-BUTTON-ARMED";

/// Appended to the kernel command line, the guest ignores the ACPI power button (a guest that does
/// not shut down gracefully).
pub const IGNORE_POWER_BUTTON: &str = "virtguest.ignore_power_button";

/// A guest's boot files.
#[derive(Debug, Clone)]
pub struct TinyGuest {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
}

const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
echo READY > /dev/ttyS0
case " $(cat /proc/cmdline) " in
*" IGNORE "*) ;;
*) (
  for m in /lib/modules/*.ko; do [ -e "$m" ] && insmod "$m"; done
  for e in /sys/class/input/event*; do
    [ "$(cat $e/device/name)" = "Power Button" ] || continue
    n=/dev/input/${e##*/}
    i=0; while [ ! -e $n ] && [ $i -lt 50 ]; do sleep 1; i=$((i+1)); done
    (exec 3<$n; echo ARMED >/dev/ttyS0; head -c 1 <&3 >/dev/null && poweroff -f) &
  done ) </dev/null >/dev/null 2>&1 & ;;
esac
exec /bin/busybox setsid /bin/busybox cttyhack /bin/busybox sh </dev/ttyS0 >/dev/ttyS0 2>&1
"#;

/// A kernel for the guest: `$VIRT_GUEST_KERNEL`, else the newest `/boot/vmlinuz-*` (a cloud
/// kernel preferred).
pub fn find_kernel() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("VIRT_GUEST_KERNEL") {
        return Some(PathBuf::from(k)).filter(|p| p.is_file());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/boot")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-"))
        })
        .collect();
    found.sort_by_key(|p| (p.to_string_lossy().contains("cloud"), p.clone()));
    found.pop()
}

/// `/lib/modules/<version>` of the kernel `/boot/vmlinuz-<version>` (uncompressed modules only).
fn kernel_modules_dir(kernel: &Path) -> Option<PathBuf> {
    let name = kernel.file_name()?.to_str()?;
    let version = name.strip_prefix("vmlinuz-")?;
    let dir = Path::new("/lib/modules").join(version);
    dir.is_dir().then_some(dir)
}

/// A statically linked busybox: `$VIRT_GUEST_BUSYBOX`, else `/bin/busybox` when static.
pub fn find_busybox() -> Option<PathBuf> {
    if let Some(b) = std::env::var_os("VIRT_GUEST_BUSYBOX") {
        return Some(PathBuf::from(b)).filter(|p| p.is_file());
    }
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| is_static(p))
}

fn is_static(p: &Path) -> bool {
    // A static ELF has no PT_INTERP program header.
    let Ok(data) = std::fs::read(p) else {
        return false;
    };
    if data.len() < 64 || &data[..4] != b"\x7fELF" || data[4] != 2 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([data[o], data[o + 1]]) as usize;
    let u64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&data[o..o + 8]);
        u64::from_le_bytes(b) as usize
    };
    let (phoff, phentsize, phnum) = (u64_at(32), u16_at(54), u16_at(56));
    (0..phnum).all(|i| {
        let o = phoff + i * phentsize;
        o + 4 <= data.len()
            && u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]) != 3
    })
}

impl TinyGuest {
    /// Builds the initramfs in `dir` next to the host's kernel. Fails naming what is missing.
    pub fn build(dir: &Path) -> io::Result<TinyGuest> {
        let kernel = find_kernel().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no guest kernel (/boot/vmlinuz-*; install linux-image-cloud-amd64)",
            )
        })?;
        let busybox = find_busybox().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no static busybox (install busybox-static)",
            )
        })?;
        let initrd = dir.join("initramfs.cpio");
        let mut cpio = Cpio::default();
        for d in ["bin", "dev", "proc", "sys", "tmp"] {
            cpio.dir(d);
        }
        cpio.node("dev/console", 0o020600, 5, 1);
        cpio.node("dev/ttyS0", 0o020600, 4, 64);
        cpio.file("bin/busybox", 0o100755, &std::fs::read(&busybox)?);
        // The power button's modules, when the kernel has them as modules (built in otherwise).
        cpio.dir("lib");
        cpio.dir("lib/modules");
        if let Some(mods) = kernel_modules_dir(&kernel) {
            for (m, rel) in [
                ("evdev.ko", "kernel/drivers/input/evdev.ko"),
                ("button.ko", "kernel/drivers/acpi/button.ko"),
            ] {
                if let Ok(data) = std::fs::read(mods.join(rel)) {
                    cpio.file(&format!("lib/modules/{m}"), 0o100644, &data);
                }
            }
        }
        cpio.file(
            "init",
            0o100755,
            INIT.replace("IGNORE", IGNORE_POWER_BUTTON)
                .replace("ARMED", POWER_BUTTON_LINE)
                .replace("READY", READY_LINE)
                .as_bytes(),
        );
        let mut f = std::fs::File::create(&initrd)?;
        f.write_all(&cpio.finish())?;
        f.sync_all()?;
        Ok(TinyGuest { kernel, initrd })
    }
}

/// A `newc` cpio archive under construction.
#[derive(Default)]
struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.ino += 1;
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino,
            mode,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() + 1,
            0
        );
        self.out.extend_from_slice(header.as_bytes());
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while self.out.len() % 4 != 0 {
            self.out.push(0);
        }
    }

    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, (0, 0), &[]);
    }

    fn node(&mut self, name: &str, mode: u32, major: u32, minor: u32) {
        self.entry(name, mode, (major, minor), &[]);
    }

    fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, mode, (0, 0), data);
    }

    fn finish(mut self) -> Vec<u8> {
        self.ino = 0;
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_layout() {
        let mut c = Cpio::default();
        c.file("init", 0o100755, b"abc");
        let out = c.finish();
        assert!(out.starts_with(b"070701"));
        assert_eq!(out.len() % 4, 0);
        let s = String::from_utf8_lossy(&out);
        assert!(s.contains("init\0"));
        assert!(s.contains("TRAILER!!!"));
        // namesize of "init" is 5, file size 3
        assert_eq!(&s[6 + 6 * 8..6 + 7 * 8], "00000003");
        assert_eq!(&s[6 + 11 * 8..6 + 12 * 8], "00000005");
    }
}
