//! PCI discovery from sysfs: what a device is, who drives it, which IOMMU group it is in and how it
//! can be reset.

use std::path::PathBuf;

use virt_xml::PciAddr;

use crate::config::PciConfig;
use crate::sysfs::{link_name, list_dir, parse_hex, read_attr, Sysfs};
use crate::HostdevError;

/// A PCI function as sysfs shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciDevice {
    pub addr: PciAddr,
    /// `ROOT/bus/pci/devices/ADDR`.
    pub path: PathBuf,
    pub vendor: u16,
    pub device: u16,
    /// `0xCCSSPP`.
    pub class: u32,
    pub subsystem_vendor: Option<u16>,
    pub subsystem_device: Option<u16>,
    /// The driver bound now (`driver` link), if any.
    pub driver: Option<String>,
    /// `driver_override`, `None` when unset (`(null)`).
    pub driver_override: Option<String>,
    /// The IOMMU group number, `None` when the device has none (no IOMMU).
    pub iommu_group: Option<u32>,
    /// Every function in that group (this one included), sorted.
    pub iommu_group_members: Vec<PciAddr>,
    /// `reset_method` as the kernel lists it (newer kernels); empty when the file is absent.
    pub reset_methods: Vec<String>,
    /// `max_link_speed`/`max_link_width`/`current_link_speed`/`current_link_width` (PCIe only).
    pub link: Option<LinkInfo>,
    /// The parsed `config`, when it could be read and parsed.
    pub config: Option<PciConfig>,
    /// Why `config` is `None`.
    pub config_error: Option<String>,
}

/// PCIe link attributes sysfs exposes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkInfo {
    pub max_speed: Option<String>,
    pub max_width: Option<String>,
    pub current_speed: Option<String>,
    pub current_width: Option<String>,
}

impl PciDevice {
    /// Class 0x0604xx: a PCI-to-PCI bridge.
    pub fn is_bridge(&self) -> bool {
        self.class >> 8 == 0x0604
    }

    /// Whether a function level reset is available, by the kernel's list if it has one, else by config
    /// space.
    pub fn has_flr(&self) -> bool {
        if !self.reset_methods.is_empty() {
            return self
                .reset_methods
                .iter()
                .any(|m| m == "flr" || m == "af_flr");
        }
        self.config.as_ref().is_some_and(PciConfig::flr)
    }
}

fn read_required(dev: &std::path::Path, addr: PciAddr, name: &str) -> Result<String, HostdevError> {
    let p = dev.join(name);
    match read_attr(&p)? {
        Some(v) => Ok(v),
        None if !dev.exists() => Err(HostdevError::PciNotFound {
            addr,
            path: dev.to_path_buf(),
        }),
        None => Err(HostdevError::BadAttr {
            path: p,
            what: "attribute missing".into(),
            content: String::new(),
        }),
    }
}

fn hex16(dev: &std::path::Path, addr: PciAddr, name: &str) -> Result<u16, HostdevError> {
    let p = dev.join(name);
    let v = parse_hex(&p, &read_required(dev, addr, name)?)?;
    u16::try_from(v).map_err(|_| HostdevError::BadAttr {
        path: p,
        what: "more than 16 bits".into(),
        content: format!("0x{v:x}"),
    })
}

fn opt_hex16(dev: &std::path::Path, name: &str) -> Result<Option<u16>, HostdevError> {
    let p = dev.join(name);
    match read_attr(&p)? {
        Some(t) => Ok(u16::try_from(parse_hex(&p, &t)?).ok()),
        None => Ok(None),
    }
}

/// Reads `config`: the first 256 bytes, and the extended space only when a PCI Express capability says
/// there is one (each config read of a real device is a hardware access, slow under virtualization).
fn read_config(path: &std::path::Path) -> Result<PciConfig, String> {
    use std::io::Read;
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut f = std::fs::File::open(path).map_err(err)?;
    let mut b = Vec::with_capacity(256);
    (&mut f).take(256).read_to_end(&mut b).map_err(err)?;
    let c = PciConfig::parse(&b).map_err(|e| format!("{}: {e}", path.display()))?;
    if c.pcie.is_none() || b.len() < 256 {
        return Ok(c);
    }
    f.read_to_end(&mut b).map_err(err)?;
    PciConfig::parse(&b).map_err(|e| format!("{}: {e}", path.display()))
}

impl Sysfs {
    /// `ROOT/bus/pci/devices/ADDR`.
    pub fn pci_device_path(&self, addr: PciAddr) -> PathBuf {
        self.pci_devices().join(addr.to_string())
    }

    /// Every PCI function under `ROOT/bus/pci/devices`, sorted by address. A name that is not an
    /// address is skipped; a device that fails to read fails the listing with its path.
    pub fn pci_list(&self) -> Result<Vec<PciDevice>, HostdevError> {
        let mut out = Vec::new();
        for name in list_dir(&self.pci_devices())? {
            let Ok(addr) = name.parse::<PciAddr>() else {
                continue;
            };
            out.push(self.pci_device(addr)?);
        }
        out.sort_by_key(|d| d.addr);
        Ok(out)
    }

    /// One function's facts.
    pub fn pci_device(&self, addr: PciAddr) -> Result<PciDevice, HostdevError> {
        let dev = self.pci_device_path(addr);
        if !dev.exists() {
            return Err(HostdevError::PciNotFound { addr, path: dev });
        }
        let vendor = hex16(&dev, addr, "vendor")?;
        let device = hex16(&dev, addr, "device")?;
        let class_path = dev.join("class");
        let class = parse_hex(&class_path, &read_required(&dev, addr, "class")?)?;
        let driver = link_name(&dev.join("driver"))?;
        let driver_override =
            read_attr(&dev.join("driver_override"))?.filter(|s| !s.is_empty() && s != "(null)");
        let (iommu_group, iommu_group_members) = self.pci_group_of(addr)?;
        let reset_methods = read_attr(&dev.join("reset_method"))?
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        let link = LinkInfo {
            max_speed: read_attr(&dev.join("max_link_speed"))?,
            max_width: read_attr(&dev.join("max_link_width"))?,
            current_speed: read_attr(&dev.join("current_link_speed"))?,
            current_width: read_attr(&dev.join("current_link_width"))?,
        };
        let link = (link != LinkInfo::default()).then_some(link);
        let (config, config_error) = match read_config(&dev.join("config")) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        Ok(PciDevice {
            addr,
            path: dev.clone(),
            vendor,
            device,
            class,
            subsystem_vendor: opt_hex16(&dev, "subsystem_vendor")?,
            subsystem_device: opt_hex16(&dev, "subsystem_device")?,
            driver,
            driver_override,
            iommu_group,
            iommu_group_members,
            reset_methods,
            link,
            config,
            config_error,
        })
    }

    /// The device's IOMMU group and the group's members (from `ROOT/kernel/iommu_groups/N/devices`).
    pub fn pci_group_of(&self, addr: PciAddr) -> Result<(Option<u32>, Vec<PciAddr>), HostdevError> {
        let link = self.pci_device_path(addr).join("iommu_group");
        let Some(name) = link_name(&link)? else {
            return Ok((None, Vec::new()));
        };
        let group = name.parse::<u32>().map_err(|_| HostdevError::BadAttr {
            path: link.clone(),
            what: "IOMMU group link does not end in a number".into(),
            content: name.clone(),
        })?;
        Ok((Some(group), self.iommu_group_members(group)?))
    }

    /// The PCI functions in IOMMU group `group`, sorted.
    pub fn iommu_group_members(&self, group: u32) -> Result<Vec<PciAddr>, HostdevError> {
        let dir = self.iommu_groups().join(group.to_string()).join("devices");
        let mut members: Vec<PciAddr> = list_dir(&dir)?
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect();
        members.sort();
        Ok(members)
    }

    /// The driver bound to the device now.
    pub fn pci_driver_of(&self, addr: PciAddr) -> Result<Option<String>, HostdevError> {
        link_name(&self.pci_device_path(addr).join("driver"))
    }
}
