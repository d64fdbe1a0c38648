//! A made sysfs tree and a small emulation of the kernel's reaction to writes in it.
//!
//! Devices get their `config` from libvirt's `virpcitestdata` blobs; `vendor`, `device` and `class`
//! are taken from those bytes here (independently of the library's parser). Drivers are directories
//! with `bind`, `unbind`, `new_id`, `remove_id`; IOMMU groups are links as the kernel makes them.
//! [`FakeKernel`] writes each value to its file, journals it, then does what the kernel would:
//! `unbind` drops the `driver` link, `bind` and `drivers_probe` make one (honouring `driver_override`
//! and each device's native driver), `driver_override` reads back `(null)` when cleared.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use virt_hostdev::{Sysfs, SysfsWriter};
use virt_testkit::TempDir;
use virt_xml::PciAddr;

#[derive(Debug)]
pub struct FakeKernel {
    root: PathBuf,
    journal: Mutex<Vec<(String, String)>>,
    native: Mutex<HashMap<PciAddr, String>>,
    /// Drivers whose probe fails (the device stays unbound).
    pub refuse: Mutex<HashSet<String>>,
    /// After a write to a path ending in this suffix, this device is hot-unplugged.
    pub vanish_after: Mutex<Option<(String, PciAddr)>>,
    /// Devices `drivers_probe` leaves alone (as with autoprobe off); an explicit `bind` still works.
    pub probe_skips: Mutex<HashSet<PciAddr>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeKernel {
    fn dev_dir(&self, addr: PciAddr) -> PathBuf {
        self.root.join(format!(
            "devices/pci{:04x}:{:02x}/{addr}",
            addr.domain, addr.bus
        ))
    }

    pub fn driver_of(&self, addr: PciAddr) -> Option<String> {
        std::fs::read_link(self.dev_dir(addr).join("driver"))
            .ok()
            .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
    }

    fn override_of(&self, addr: PciAddr) -> Option<String> {
        let s = std::fs::read_to_string(self.dev_dir(addr).join("driver_override")).ok()?;
        let s = s.trim();
        (!s.is_empty() && s != "(null)").then(|| s.to_string())
    }

    fn bind(&self, addr: PciAddr, driver: &str) -> io::Result<()> {
        let ddir = self.root.join("bus/pci/drivers").join(driver);
        if !ddir.is_dir() || lock(&self.refuse).contains(driver) {
            return Err(io::Error::from_raw_os_error(libc::ENODEV));
        }
        symlink(
            format!("../../../bus/pci/drivers/{driver}"),
            self.dev_dir(addr).join("driver"),
        )?;
        symlink(
            format!(
                "../../../../devices/pci{:04x}:{:02x}/{addr}",
                addr.domain, addr.bus
            ),
            ddir.join(addr.to_string()),
        )
    }

    fn unbind(&self, addr: PciAddr, driver: &str) -> io::Result<()> {
        if self.driver_of(addr).as_deref() != Some(driver) {
            return Err(io::Error::from_raw_os_error(libc::ENODEV));
        }
        std::fs::remove_file(self.dev_dir(addr).join("driver"))?;
        std::fs::remove_file(
            self.root
                .join("bus/pci/drivers")
                .join(driver)
                .join(addr.to_string()),
        )
    }

    /// Hot-unplug: the device, its bus link, its group link and its driver's link disappear.
    pub fn unplug(&self, addr: PciAddr) {
        if let Some(d) = self.driver_of(addr) {
            let _ = std::fs::remove_file(
                self.root
                    .join("bus/pci/drivers")
                    .join(d)
                    .join(addr.to_string()),
            );
        }
        let _ = std::fs::remove_file(self.root.join("bus/pci/devices").join(addr.to_string()));
        if let Ok(groups) = std::fs::read_dir(self.root.join("kernel/iommu_groups")) {
            for g in groups.flatten() {
                let _ = std::fs::remove_file(g.path().join("devices").join(addr.to_string()));
            }
        }
        let _ = std::fs::remove_dir_all(self.dev_dir(addr));
    }

    /// Every write, as (path under the root, value), in order.
    pub fn journal(&self) -> Vec<(String, String)> {
        lock(&self.journal).clone()
    }

    pub fn clear_journal(&self) {
        lock(&self.journal).clear();
    }

    fn react(&self, rel: &str, value: &str) -> io::Result<()> {
        let parts: Vec<&str> = rel.split('/').collect();
        let addr = || {
            value
                .trim()
                .parse::<PciAddr>()
                .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
        };
        match parts.as_slice() {
            ["bus", "pci", "drivers", d, "unbind"] => self.unbind(addr()?, d),
            ["bus", "pci", "drivers", d, "bind"] => {
                let a = addr()?;
                if self.driver_of(a).is_some() {
                    return Err(io::Error::from_raw_os_error(libc::EBUSY));
                }
                let matches = match self.override_of(a) {
                    Some(o) => o == *d,
                    None => lock(&self.native).get(&a).map(String::as_str) == Some(*d),
                };
                if !matches {
                    return Err(io::Error::from_raw_os_error(libc::ENODEV));
                }
                self.bind(a, d)
            }
            ["bus", "pci", "drivers_probe"] => {
                let a = addr()?;
                if !self.dev_dir(a).exists() {
                    return Err(io::Error::from_raw_os_error(libc::ENODEV));
                }
                if self.driver_of(a).is_some() || lock(&self.probe_skips).contains(&a) {
                    return Ok(());
                }
                let candidate = self
                    .override_of(a)
                    .or_else(|| lock(&self.native).get(&a).cloned());
                if let Some(d) = candidate {
                    // A failed probe leaves the device unbound; the write itself succeeds.
                    let _ = self.bind(a, &d);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl SysfsWriter for FakeKernel {
    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        // Like sysfs: the attribute must exist; nothing is created.
        if !path.is_file() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        let rel = path
            .strip_prefix(&self.root)
            .map_err(|_| io::Error::from_raw_os_error(libc::EACCES))?
            .to_string_lossy()
            .into_owned();
        let stored = if rel.ends_with("driver_override") && value.trim().is_empty() {
            "(null)\n".to_string()
        } else {
            value.to_string()
        };
        std::fs::write(path, stored)?;
        lock(&self.journal).push((rel.clone(), value.to_string()));
        let r = self.react(&rel, value);
        let vanish = lock(&self.vanish_after).clone();
        if let Some((suffix, a)) = vanish {
            if rel.ends_with(&suffix) {
                self.unplug(a);
            }
        }
        r
    }
}

/// A made sysfs tree under a temporary directory.
pub struct FakeSysfs {
    pub dir: TempDir,
    pub kernel: Arc<FakeKernel>,
}

pub fn pci(s: &str) -> PciAddr {
    s.parse().expect("test PCI address")
}

fn touch(p: &Path) {
    std::fs::write(p, "").expect("touch");
}

impl FakeSysfs {
    pub fn new(name: &str) -> Self {
        let dir = TempDir::new(&format!("hostdev-{name}")).expect("tempdir");
        let root = dir.path().to_path_buf();
        for d in [
            "bus/pci/devices",
            "bus/pci/drivers",
            "kernel/iommu_groups",
            "devices",
        ] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        for f in [
            "bus/pci/drivers_probe",
            "bus/pci/drivers_autoprobe",
            "bus/pci/rescan",
        ] {
            touch(&root.join(f));
        }
        let kernel = Arc::new(FakeKernel {
            root,
            journal: Mutex::default(),
            native: Mutex::default(),
            refuse: Mutex::default(),
            vanish_after: Mutex::default(),
            probe_skips: Mutex::default(),
        });
        FakeSysfs { dir, kernel }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn sysfs(&self) -> Sysfs {
        Sysfs::with_writer(self.root(), self.kernel.clone())
    }

    pub fn add_driver(&self, name: &str) -> &Self {
        let d = self.root().join("bus/pci/drivers").join(name);
        std::fs::create_dir_all(&d).expect("driver dir");
        for f in ["bind", "unbind", "new_id", "remove_id", "uevent"] {
            touch(&d.join(f));
        }
        self
    }

    /// A device from `virpcitestdata/DDDD-BB-SS.F.config`, whose native driver is `native`, bound to
    /// it when `bound`, in IOMMU group `group`.
    pub fn add_pci(
        &self,
        addr: &str,
        native: Option<&str>,
        bound: bool,
        group: Option<u32>,
    ) -> PciAddr {
        let a = pci(addr);
        let blob_name = format!(
            "{:04x}-{:02x}-{:02x}.{:x}.config",
            a.domain, a.bus, a.slot, a.function
        );
        let blob = std::fs::read(virt_testkit::libvirt_data("virpcitestdata").join(&blob_name))
            .expect("config blob");
        let w16 = |o: usize| u16::from_le_bytes([blob[o], blob[o + 1]]);
        let dev = self.kernel.dev_dir(a);
        std::fs::create_dir_all(&dev).expect("device dir");
        let files = [
            ("vendor", format!("0x{:04x}\n", w16(0))),
            ("device", format!("0x{:04x}\n", w16(2))),
            (
                "class",
                format!("0x{:02x}{:02x}{:02x}\n", blob[0x0b], blob[0x0a], blob[0x09]),
            ),
            ("subsystem_vendor", format!("0x{:04x}\n", w16(0x2c))),
            ("subsystem_device", format!("0x{:04x}\n", w16(0x2e))),
            ("revision", format!("0x{:02x}\n", blob[8])),
            ("driver_override", "(null)\n".to_string()),
        ];
        for (name, text) in files {
            std::fs::write(dev.join(name), text).expect("attr");
        }
        std::fs::write(dev.join("config"), &blob).expect("config");
        symlink(
            format!("../../../devices/pci{:04x}:{:02x}/{a}", a.domain, a.bus),
            self.root().join("bus/pci/devices").join(addr),
        )
        .expect("bus link");
        if let Some(g) = group {
            let gdir = self.root().join(format!("kernel/iommu_groups/{g}/devices"));
            std::fs::create_dir_all(&gdir).expect("group dir");
            symlink(
                format!("../../../kernel/iommu_groups/{g}"),
                dev.join("iommu_group"),
            )
            .expect("group link");
            symlink(
                format!("../../../../devices/pci{:04x}:{:02x}/{a}", a.domain, a.bus),
                gdir.join(addr),
            )
            .expect("group member link");
        }
        if let Some(n) = native {
            lock(&self.kernel.native).insert(a, n.to_string());
            self.add_driver(n);
            if bound {
                self.kernel.bind(a, n).expect("initial bind");
            }
        }
        a
    }

    /// Binds a device to a driver directly (set-up, not journaled).
    pub fn bind(&self, addr: PciAddr, driver: &str) {
        self.add_driver(driver);
        self.kernel.bind(addr, driver).expect("bind");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap_or_else(|e| format!("<{e}>"))
    }

    pub fn driver_of(&self, addr: PciAddr) -> Option<String> {
        self.kernel.driver_of(addr)
    }

    /// A USB device entry `name` (`1-1`, `usb1`...), as sysfs shows one.
    #[allow(clippy::too_many_arguments)]
    pub fn add_usb(&self, name: &str, bus: u32, dev: u32, vendor: u16, product: u16, label: &str) {
        let devdir = self.root().join(format!("devices/usb/{name}"));
        std::fs::create_dir_all(&devdir).expect("usb dir");
        let minor = (bus - 1) * 128 + (dev - 1);
        for (f, t) in [
            ("busnum", format!("{bus}\n")),
            ("devnum", format!("{dev}\n")),
            ("idVendor", format!("{vendor:04x}\n")),
            ("idProduct", format!("{product:04x}\n")),
            ("product", format!("{label}\n")),
            ("dev", format!("189:{minor}\n")),
        ] {
            std::fs::write(devdir.join(f), t).expect("usb attr");
        }
        // An interface entry beside it, which must not be taken for a device.
        let ifdir = self.root().join(format!("devices/usb/{name}:1.0"));
        std::fs::create_dir_all(&ifdir).expect("usb if dir");
        std::fs::write(ifdir.join("bInterfaceClass"), "03\n").expect("usb if attr");
        let bus_dir = self.root().join("bus/usb/devices");
        std::fs::create_dir_all(&bus_dir).expect("usb bus dir");
        for n in [name.to_string(), format!("{name}:1.0")] {
            symlink(format!("../../../devices/usb/{n}"), bus_dir.join(&n)).expect("usb link");
        }
    }
}
