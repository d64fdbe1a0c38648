//! PCI configuration space as sysfs' `config` file shows it: the header, the capability list, the PCI
//! Express capability and the extended capabilities (ACS), and what they say about function reset.
//!
//! The bytes come from outside (a device, or a file someone made), so every offset is checked and every
//! list walk is bounded. An unprivileged read of `config` returns only the first 64 bytes; a list that
//! points past the bytes read is reported as incomplete rather than as an error.

use thiserror::Error;

/// Offsets and identifiers from the PCI Local Bus and PCI Express base specifications.
mod reg {
    pub const VENDOR: usize = 0x00;
    pub const DEVICE: usize = 0x02;
    pub const STATUS: usize = 0x06;
    pub const REVISION: usize = 0x08;
    pub const CLASS: usize = 0x09;
    pub const HEADER_TYPE: usize = 0x0e;
    pub const SUBSYS_VENDOR: usize = 0x2c;
    pub const SUBSYS_ID: usize = 0x2e;
    pub const CAP_PTR: usize = 0x34;
    pub const CARDBUS_CAP_PTR: usize = 0x14;
    pub const STATUS_CAP_LIST: u16 = 1 << 4;
    pub const HEADER_LEN: usize = 0x40;
    pub const LEGACY_LEN: usize = 0x100;

    pub const CAP_PM: u8 = 0x01;
    pub const CAP_MSI: u8 = 0x05;
    pub const CAP_EXP: u8 = 0x10;
    pub const CAP_MSIX: u8 = 0x11;
    pub const CAP_AF: u8 = 0x13;

    pub const PM_CTRL: usize = 4;
    pub const PM_NO_SOFT_RESET: u16 = 1 << 3;

    pub const EXP_FLAGS: usize = 2;
    pub const EXP_DEVCAP: usize = 4;
    pub const EXP_DEVCAP_FLR: u32 = 1 << 28;
    pub const EXP_LNKCAP: usize = 0x0c;
    pub const EXP_LNKSTA: usize = 0x12;

    pub const AF_CAP: usize = 3;
    pub const AF_CAP_TP: u8 = 1 << 0;
    pub const AF_CAP_FLR: u8 = 1 << 1;

    pub const EXT_ACS: u16 = 0x000d;
    pub const ACS_CAP: usize = 4;
    pub const ACS_CTRL: usize = 6;
}

/// Why a config blob could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("PCI config space is {len} bytes, the standard header needs 64")]
    TooShort { len: usize },
    #[error("PCI config space: vendor id 0x{0:04x} means no device answers")]
    NoDevice(u16),
    #[error(
        "PCI config space: capability pointer 0x{pointer:02x} at 0x{at:02x} points into the header"
    )]
    BadCapPointer { at: usize, pointer: u8 },
    #[error("PCI config space: capability list loops (more than {limit} entries)")]
    CapLoop { limit: usize },
    #[error("PCI config space: extended capability at 0x{at:03x} points to 0x{next:03x}, outside 0x100..0x1000")]
    BadExtPointer { at: usize, next: usize },
    #[error("PCI config space: extended capability list loops (more than {limit} entries)")]
    ExtCapLoop { limit: usize },
}

/// The header layout (`header type` low 7 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderType {
    /// Type 0: an ordinary function.
    Endpoint,
    /// Type 1: a PCI-to-PCI bridge.
    Bridge,
    /// Type 2: a CardBus bridge.
    CardBus,
    Other(u8),
}

/// The PCI Express device/port type (PCIe capabilities register bits 7:4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortType {
    Endpoint,
    LegacyEndpoint,
    RootPort,
    UpstreamSwitchPort,
    DownstreamSwitchPort,
    PcieToPciBridge,
    PciToPcieBridge,
    RootComplexIntegratedEndpoint,
    RootComplexEventCollector,
    Other(u8),
}

impl PortType {
    fn from_bits(v: u8) -> Self {
        match v {
            0 => PortType::Endpoint,
            1 => PortType::LegacyEndpoint,
            4 => PortType::RootPort,
            5 => PortType::UpstreamSwitchPort,
            6 => PortType::DownstreamSwitchPort,
            7 => PortType::PcieToPciBridge,
            8 => PortType::PciToPcieBridge,
            9 => PortType::RootComplexIntegratedEndpoint,
            10 => PortType::RootComplexEventCollector,
            o => PortType::Other(o),
        }
    }
}

/// What the PCI Express capability says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcieInfo {
    /// Offset of the capability in config space.
    pub offset: usize,
    /// Capability version (bits 3:0).
    pub version: u8,
    pub port_type: PortType,
    /// Device Capabilities bit 28: Function Level Reset supported.
    pub flr: bool,
    /// Link Capabilities: maximum speed code (1 = 2.5 GT/s, 2 = 5, 3 = 8, ...) and width, when the
    /// capability is long enough to hold them.
    pub link_cap: Option<(u8, u8)>,
    /// Link Status: current speed code and negotiated width.
    pub link_status: Option<(u8, u8)>,
}

/// Access Control Services (extended capability 0x000d): capability and control registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcsInfo {
    pub offset: usize,
    pub capability: u16,
    pub control: u16,
}

impl AcsInfo {
    /// Source validation, translation blocking, P2P request redirect, completion redirect, upstream
    /// forwarding: the controls that isolate a downstream port's functions from each other.
    pub const ISOLATION: u16 = 0b1_1111;

    /// Every isolation control this port offers is enabled.
    pub fn isolates(&self) -> bool {
        let offered = self.capability & Self::ISOLATION;
        self.control & offered == offered
    }
}

/// A capability found in the legacy list (id and offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    pub id: u8,
    pub offset: usize,
}

/// A parsed configuration space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciConfig {
    pub vendor: u16,
    pub device: u16,
    /// Base class, subclass and programming interface: `0xCCSSPP`, as sysfs' `class` file shows it.
    pub class: u32,
    pub revision: u8,
    pub header_type: HeaderType,
    pub multifunction: bool,
    /// Subsystem vendor and id (type 0 headers only).
    pub subsystem: Option<(u16, u16)>,
    /// The legacy capability list, in list order.
    pub capabilities: Vec<Capability>,
    /// Extended capabilities (id, offset), in list order.
    pub ext_capabilities: Vec<(u16, usize)>,
    /// `false` when a list pointed past the bytes that could be read (an unprivileged read gives 64).
    pub complete: bool,
    pub pcie: Option<PcieInfo>,
    pub acs: Option<AcsInfo>,
    /// Power management capability present and its No_Soft_Reset bit clear: a D3hot->D0 transition
    /// resets the function.
    pub pm_reset: bool,
    /// Advanced Features capability with both TP and FLR: a conventional-PCI function level reset.
    pub af_flr: bool,
}

fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

impl PciConfig {
    /// Parses a config blob (64, 256 or 4096 bytes as sysfs gives them; any length is checked).
    pub fn parse(b: &[u8]) -> Result<Self, ConfigError> {
        if b.len() < reg::HEADER_LEN {
            return Err(ConfigError::TooShort { len: b.len() });
        }
        let word = |o| u16_at(b, o).unwrap_or(0);
        let byte = |o| u8_at(b, o).unwrap_or(0);
        let vendor = word(reg::VENDOR);
        if vendor == 0xffff || vendor == 0 {
            return Err(ConfigError::NoDevice(vendor));
        }
        let class = (u32::from(byte(reg::CLASS + 2)) << 16)
            | (u32::from(byte(reg::CLASS + 1)) << 8)
            | u32::from(byte(reg::CLASS));
        let ht = byte(reg::HEADER_TYPE);
        let header_type = match ht & 0x7f {
            0 => HeaderType::Endpoint,
            1 => HeaderType::Bridge,
            2 => HeaderType::CardBus,
            o => HeaderType::Other(o),
        };
        let mut cfg = PciConfig {
            vendor,
            device: word(reg::DEVICE),
            class,
            revision: byte(reg::REVISION),
            header_type,
            multifunction: ht & 0x80 != 0,
            subsystem: (header_type == HeaderType::Endpoint)
                .then(|| (word(reg::SUBSYS_VENDOR), word(reg::SUBSYS_ID))),
            capabilities: Vec::new(),
            ext_capabilities: Vec::new(),
            complete: true,
            pcie: None,
            acs: None,
            pm_reset: false,
            af_flr: false,
        };
        if word(reg::STATUS) & reg::STATUS_CAP_LIST != 0 {
            cfg.walk_caps(b)?;
        }
        if cfg.pcie.is_some() {
            cfg.walk_ext_caps(b)?;
        }
        Ok(cfg)
    }

    fn walk_caps(&mut self, b: &[u8]) -> Result<(), ConfigError> {
        let ptr_at = match self.header_type {
            HeaderType::CardBus => reg::CARDBUS_CAP_PTR,
            _ => reg::CAP_PTR,
        };
        // At most one capability per dword after the header.
        let limit = (reg::LEGACY_LEN - reg::HEADER_LEN) / 4;
        let mut at = ptr_at;
        let mut ptr = u8_at(b, at).unwrap_or(0) & !3;
        while ptr != 0 {
            if (ptr as usize) < reg::HEADER_LEN {
                return Err(ConfigError::BadCapPointer { at, pointer: ptr });
            }
            if self.capabilities.len() >= limit {
                return Err(ConfigError::CapLoop { limit });
            }
            let off = ptr as usize;
            let (Some(id), Some(next)) = (u8_at(b, off), u8_at(b, off + 1)) else {
                self.complete = false;
                return Ok(());
            };
            self.capabilities.push(Capability { id, offset: off });
            self.read_cap(b, id, off);
            at = off + 1;
            ptr = next & !3;
        }
        Ok(())
    }

    fn read_cap(&mut self, b: &[u8], id: u8, off: usize) {
        match id {
            reg::CAP_EXP if self.pcie.is_none() => {
                let Some(flags) = u16_at(b, off + reg::EXP_FLAGS) else {
                    self.complete = false;
                    return;
                };
                let devcap = u32_at(b, off + reg::EXP_DEVCAP);
                if devcap.is_none() {
                    self.complete = false;
                }
                let link = |o: usize| {
                    u16_at(b, off + o).map(|v| ((v & 0xf) as u8, ((v >> 4) & 0x3f) as u8))
                };
                self.pcie = Some(PcieInfo {
                    offset: off,
                    version: (flags & 0xf) as u8,
                    port_type: PortType::from_bits(((flags >> 4) & 0xf) as u8),
                    flr: devcap.is_some_and(|d| d & reg::EXP_DEVCAP_FLR != 0),
                    link_cap: link(reg::EXP_LNKCAP),
                    link_status: link(reg::EXP_LNKSTA),
                });
            }
            reg::CAP_PM => match u16_at(b, off + reg::PM_CTRL) {
                Some(ctrl) => self.pm_reset = ctrl & reg::PM_NO_SOFT_RESET == 0,
                None => self.complete = false,
            },
            reg::CAP_AF => match u8_at(b, off + reg::AF_CAP) {
                Some(c) => {
                    self.af_flr = c & reg::AF_CAP_TP != 0 && c & reg::AF_CAP_FLR != 0;
                }
                None => self.complete = false,
            },
            _ => {}
        }
    }

    fn walk_ext_caps(&mut self, b: &[u8]) -> Result<(), ConfigError> {
        const START: usize = 0x100;
        const END: usize = 0x1000;
        let limit = (END - START) / 4;
        let mut off = START;
        loop {
            let Some(h) = u32_at(b, off) else {
                // Only 256 (or 64) bytes were readable: the extended space is unknown.
                if b.len() < END {
                    self.complete = false;
                }
                return Ok(());
            };
            if h == 0 || h == 0xffff_ffff {
                return Ok(());
            }
            if self.ext_capabilities.len() >= limit {
                return Err(ConfigError::ExtCapLoop { limit });
            }
            let id = (h & 0xffff) as u16;
            self.ext_capabilities.push((id, off));
            if id == reg::EXT_ACS && self.acs.is_none() {
                match (
                    u16_at(b, off + reg::ACS_CAP),
                    u16_at(b, off + reg::ACS_CTRL),
                ) {
                    (Some(capability), Some(control)) => {
                        self.acs = Some(AcsInfo {
                            offset: off,
                            capability,
                            control,
                        })
                    }
                    _ => self.complete = false,
                }
            }
            let next = ((h >> 20) & 0xffc) as usize;
            if next == 0 {
                return Ok(());
            }
            if next < START {
                return Err(ConfigError::BadExtPointer { at: off, next });
            }
            off = next;
        }
    }

    /// Has a capability with this id in its legacy list.
    pub fn has_cap(&self, id: u8) -> bool {
        self.capabilities.iter().any(|c| c.id == id)
    }

    pub fn has_msi(&self) -> bool {
        self.has_cap(reg::CAP_MSI)
    }

    pub fn has_msix(&self) -> bool {
        self.has_cap(reg::CAP_MSIX)
    }

    /// A PCI(-to-PCI) bridge, by header type or class 0x0604.
    pub fn is_bridge(&self) -> bool {
        self.header_type == HeaderType::Bridge || self.class >> 8 == 0x0604
    }

    /// Function level reset, through PCI Express or the Advanced Features capability.
    pub fn flr(&self) -> bool {
        self.pcie.is_some_and(|p| p.flr) || self.af_flr
    }

    /// The reset methods the config space offers, in the order the kernel tries them (`flr`, `af_flr`,
    /// `pm`); `bus` (secondary bus reset) depends on the topology and is not decided here.
    pub fn reset_methods(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if self.pcie.is_some_and(|p| p.flr) {
            m.push("flr");
        }
        if self.af_flr {
            m.push("af_flr");
        }
        if self.pm_reset {
            m.push("pm");
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal type 0 header with a capability list made of `caps` (id, bytes after the header).
    pub(crate) fn blob(len: usize, caps: &[(u8, &[u8])]) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[0..2].copy_from_slice(&0x8086u16.to_le_bytes());
        b[2..4].copy_from_slice(&0x10c9u16.to_le_bytes());
        b[0x09] = 0x00;
        b[0x0a] = 0x00;
        b[0x0b] = 0x02;
        let mut off = 0x40usize;
        if !caps.is_empty() {
            b[6] = 0x10;
            b[0x34] = off as u8;
        }
        for (i, (id, body)) in caps.iter().enumerate() {
            b[off] = *id;
            let size = (2 + body.len()).div_ceil(4) * 4;
            let next = if i + 1 < caps.len() { off + size } else { 0 };
            b[off + 1] = next as u8;
            b[off + 2..off + 2 + body.len()].copy_from_slice(body);
            off += size;
        }
        b
    }

    #[test]
    fn header_and_caps() {
        // PM with No_Soft_Reset clear; PCIe endpoint v2 with FLR.
        let pm = [0x03, 0x00, 0x00, 0x00, 0x00, 0x00];
        let mut exp = vec![0u8; 0x3a];
        exp[0] = 0x02; // flags: version 2, endpoint
        exp[2..6].copy_from_slice(&(1u32 << 28).to_le_bytes());
        let b = blob(256, &[(0x01, &pm), (0x10, &exp)]);
        let c = PciConfig::parse(&b).expect("parse");
        assert_eq!((c.vendor, c.device, c.class), (0x8086, 0x10c9, 0x020000));
        assert_eq!(c.header_type, HeaderType::Endpoint);
        assert_eq!(c.capabilities.len(), 2);
        let p = c.pcie.expect("pcie");
        assert_eq!(
            (p.version, p.port_type, p.flr),
            (2, PortType::Endpoint, true)
        );
        assert!(c.pm_reset);
        assert_eq!(c.reset_methods(), vec!["flr", "pm"]);
        // Only 256 bytes: the extended space is unknown.
        assert!(!c.complete);
    }

    #[test]
    fn acs_in_extended_space() {
        let mut exp = vec![0u8; 0x3a];
        exp[0] = 0x42; // version 2, root port
        let mut b = blob(4096, &[(0x10, &exp)]);
        // AER at 0x100 -> ACS at 0x148.
        b[0x100..0x104].copy_from_slice(&(0x0001u32 | (1 << 16) | (0x148 << 20)).to_le_bytes());
        b[0x148..0x14c].copy_from_slice(&(0x000du32 | (1 << 16)).to_le_bytes());
        b[0x14c..0x14e].copy_from_slice(&0x001fu16.to_le_bytes());
        b[0x14e..0x150].copy_from_slice(&0x001du16.to_le_bytes());
        let c = PciConfig::parse(&b).expect("parse");
        assert!(c.complete);
        assert_eq!(c.ext_capabilities, vec![(0x0001, 0x100), (0x000d, 0x148)]);
        let acs = c.acs.expect("acs");
        assert_eq!(c.pcie.map(|p| p.port_type), Some(PortType::RootPort));
        assert!(!acs.isolates(), "translation blocking offered but off");
        b[0x14e] = 0x1f;
        assert!(PciConfig::parse(&b)
            .expect("parse")
            .acs
            .expect("acs")
            .isolates());
    }

    #[test]
    fn bad_input() {
        assert_eq!(
            PciConfig::parse(&[0; 10]),
            Err(ConfigError::TooShort { len: 10 })
        );
        assert_eq!(
            PciConfig::parse(&[0xff; 64]),
            Err(ConfigError::NoDevice(0xffff))
        );
        let mut b = blob(256, &[(0x05, &[0, 0])]);
        b[0x41] = 0x40; // points at itself
        assert_eq!(
            PciConfig::parse(&b),
            Err(ConfigError::CapLoop { limit: 48 })
        );
        b[0x41] = 0x10;
        assert_eq!(
            PciConfig::parse(&b),
            Err(ConfigError::BadCapPointer {
                at: 0x41,
                pointer: 0x10
            })
        );
        // A list that leaves the 64 bytes an unprivileged reader gets is incomplete, not wrong.
        let c = PciConfig::parse(&blob(256, &[(0x05, &[0, 0])])[..64]).expect("short read");
        assert!(!c.complete);
        assert!(c.capabilities.is_empty());
    }
}
