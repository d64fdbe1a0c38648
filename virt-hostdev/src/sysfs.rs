//! The sysfs seam: where the tree is (an injectable root, `/sys` by default) and how attributes are
//! written (the kernel's files, or a test's emulation of the kernel behind [`SysfsWriter`]).

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::HostdevError;

/// Writes one value to one sysfs attribute. The kernel reacts to such writes (a driver unbinds, a probe
/// runs); a test tree has no kernel, so its writer emulates the reaction after writing the file.
pub trait SysfsWriter: Send + Sync + fmt::Debug {
    fn write(&self, path: &Path, value: &str) -> io::Result<()>;
}

/// Writes to the real attribute: it must exist (no file is created), and the value goes in one write.
#[derive(Debug, Default, Clone, Copy)]
pub struct KernelWriter;

impl SysfsWriter for KernelWriter {
    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).truncate(true).open(path)?;
        f.write_all(value.as_bytes())
    }
}

/// A sysfs tree and the writer used on it.
#[derive(Debug, Clone)]
pub struct Sysfs {
    root: PathBuf,
    writer: Arc<dyn SysfsWriter>,
}

impl Default for Sysfs {
    fn default() -> Self {
        Self::new("/sys")
    }
}

impl Sysfs {
    /// The tree at `root`, written through the kernel.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::with_writer(root, Arc::new(KernelWriter))
    }

    pub fn with_writer(root: impl Into<PathBuf>, writer: Arc<dyn SysfsWriter>) -> Self {
        Self {
            root: root.into(),
            writer,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `ROOT/bus/pci/devices`.
    pub fn pci_devices(&self) -> PathBuf {
        self.root.join("bus/pci/devices")
    }

    /// `ROOT/bus/pci/drivers/NAME`.
    pub fn pci_driver(&self, name: &str) -> PathBuf {
        self.root.join("bus/pci/drivers").join(name)
    }

    /// `ROOT/bus/pci/drivers_probe`.
    pub fn pci_drivers_probe(&self) -> PathBuf {
        self.root.join("bus/pci/drivers_probe")
    }

    /// `ROOT/kernel/iommu_groups`.
    pub fn iommu_groups(&self) -> PathBuf {
        self.root.join("kernel/iommu_groups")
    }

    /// `ROOT/bus/usb/devices`.
    pub fn usb_devices(&self) -> PathBuf {
        self.root.join("bus/usb/devices")
    }

    /// `ROOT/bus/mdev/devices`.
    pub fn mdev_devices(&self) -> PathBuf {
        self.root.join("bus/mdev/devices")
    }

    /// Writes through the writer, naming the attribute and value on failure.
    pub fn write(&self, path: &Path, value: &str) -> Result<(), HostdevError> {
        self.writer
            .write(path, value)
            .map_err(|source| HostdevError::Write {
                path: path.to_path_buf(),
                value: value.to_string(),
                source,
            })
    }

    pub(crate) fn write_raw(&self, path: &Path, value: &str) -> io::Result<()> {
        self.writer.write(path, value)
    }
}

/// An attribute's text without the trailing newline; `None` when it does not exist.
pub(crate) fn read_attr(path: &Path) -> Result<Option<String>, HostdevError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).trim_end().to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(HostdevError::read(path, e)),
    }
}

/// The last component of a symlink's target (`driver` -> `.../drivers/e1000e` gives `e1000e`);
/// `None` when the link does not exist.
pub(crate) fn link_name(path: &Path) -> Result<Option<String>, HostdevError> {
    match std::fs::read_link(path) {
        Ok(t) => Ok(t
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(HostdevError::read(path, e)),
    }
}

/// A hexadecimal attribute such as `vendor` (`0x8086`).
pub(crate) fn parse_hex(path: &Path, text: &str) -> Result<u32, HostdevError> {
    let t = text.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    u32::from_str_radix(digits, 16).map_err(|_| HostdevError::BadAttr {
        path: path.to_path_buf(),
        what: "not a hexadecimal number".into(),
        content: text.to_string(),
    })
}

/// Names in a directory, sorted; an absent directory is empty.
pub(crate) fn list_dir(path: &Path) -> Result<Vec<String>, HostdevError> {
    let rd = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(HostdevError::read(path, e)),
    };
    let mut names = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| HostdevError::read(path, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}
