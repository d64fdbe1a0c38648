//! Value types shared across the stack, each with `FromStr` and `Display` in libvirt's textual form.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A value string that does not parse as the named type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {kind} '{value}': {reason}")]
pub struct ValueError {
    pub kind: &'static str,
    pub value: String,
    pub reason: String,
}

fn verr(kind: &'static str, value: &str, reason: impl Into<String>) -> ValueError {
    ValueError {
        kind,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// A domain UUID. Parses 32 hex digits with hyphens between any byte pairs (as libvirt accepts);
/// displays as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl FromStr for Uuid {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let mut out = [0u8; 16];
        let mut n = 0;
        let mut chars = t.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '-' {
                continue;
            }
            let d = chars
                .next()
                .ok_or_else(|| verr("UUID", s, "odd number of hex digits"))?;
            let hi = c
                .to_digit(16)
                .ok_or_else(|| verr("UUID", s, "not a hex digit"))?;
            let lo = d
                .to_digit(16)
                .ok_or_else(|| verr("UUID", s, "not a hex digit"))?;
            if n == 16 {
                return Err(verr("UUID", s, "more than 32 hex digits"));
            }
            out[n] = (hi * 16 + lo) as u8;
            n += 1;
        }
        if n != 16 {
            return Err(verr("UUID", s, "expected 32 hex digits"));
        }
        Ok(Uuid(out))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// An Ethernet MAC address, `aa:bb:cc:dd:ee:ff` (parsing accepts one or two hex digits per byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// Multicast addresses (low bit of the first byte) cannot be a NIC's own address.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// The host side of a tap for this guest MAC, as libvirt sets it: first byte 0xFE, so the host
    /// bridge never takes the guest's address.
    pub fn host_side(&self) -> MacAddr {
        let mut m = self.0;
        m[0] = 0xfe;
        MacAddr(m)
    }
}

impl FromStr for MacAddr {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for b in out.iter_mut() {
            let p = parts
                .next()
                .ok_or_else(|| verr("MAC address", s, "expected six ':'-separated bytes"))?;
            if p.is_empty() || p.len() > 2 || !p.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(verr("MAC address", s, "each byte is one or two hex digits"));
            }
            *b = u8::from_str_radix(p, 16).map_err(|_| verr("MAC address", s, "not a hex byte"))?;
        }
        if parts.next().is_some() {
            return Err(verr("MAC address", s, "more than six bytes"));
        }
        Ok(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// A PCI address `dddd:bb:ss.f` (parsing also takes `bb:ss.f`, domain 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PciAddr {
    pub domain: u32,
    pub bus: u8,
    pub slot: u8,
    pub function: u8,
}

impl PciAddr {
    pub fn new(domain: u32, bus: u8, slot: u8, function: u8) -> Result<Self, ValueError> {
        let a = PciAddr {
            domain,
            bus,
            slot,
            function,
        };
        if slot > 0x1f {
            return Err(verr(
                "PCI address",
                &a.to_string(),
                "slot must be at most 0x1f",
            ));
        }
        if function > 7 {
            return Err(verr(
                "PCI address",
                &a.to_string(),
                "function must be at most 7",
            ));
        }
        if domain > 0xffff {
            return Err(verr(
                "PCI address",
                &a.to_string(),
                "domain must be at most 0xffff",
            ));
        }
        Ok(a)
    }

    /// The attributes of libvirt's `<address type='pci' .../>` form:
    /// `domain='0x0000' bus='0x00' slot='0x1f' function='0x0'`.
    pub fn xml_attrs(&self) -> String {
        format!(
            "domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'",
            self.domain, self.bus, self.slot, self.function
        )
    }
}

fn hex_field(s: &str, part: &str, what: &str, max: u32) -> Result<u32, ValueError> {
    if part.is_empty() || !part.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(verr("PCI address", s, format!("{what} is not hex")));
    }
    let v = u32::from_str_radix(part, 16)
        .map_err(|_| verr("PCI address", s, format!("{what} is too large")))?;
    if v > max {
        return Err(verr(
            "PCI address",
            s,
            format!("{what} must be at most {max:#x}"),
        ));
    }
    Ok(v)
}

impl FromStr for PciAddr {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (head, function) = s
            .rsplit_once('.')
            .ok_or_else(|| verr("PCI address", s, "expected dddd:bb:ss.f"))?;
        let parts: Vec<&str> = head.split(':').collect();
        let (domain, bus, slot) = match parts.as_slice() {
            [d, b, sl] => (hex_field(s, d, "domain", 0xffff)?, *b, *sl),
            [b, sl] => (0, *b, *sl),
            _ => return Err(verr("PCI address", s, "expected dddd:bb:ss.f")),
        };
        Ok(PciAddr {
            domain,
            bus: hex_field(s, bus, "bus", 0xff)? as u8,
            slot: hex_field(s, slot, "slot", 0x1f)? as u8,
            function: hex_field(s, function, "function", 7)? as u8,
        })
    }
}

impl fmt::Display for PciAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.slot, self.function
        )
    }
}

/// A USB device by bus and device number, displayed `BBB.DDD` as libvirt's audit writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct UsbAddr {
    pub bus: u32,
    pub device: u32,
}

impl FromStr for UsbAddr {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (b, d) = s
            .split_once('.')
            .ok_or_else(|| verr("USB address", s, "expected BUS.DEVICE"))?;
        let num = |p: &str, what: &str| -> Result<u32, ValueError> {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                return Err(verr(
                    "USB address",
                    s,
                    format!("{what} is not a decimal number"),
                ));
            }
            p.parse()
                .map_err(|_| verr("USB address", s, format!("{what} is too large")))
        };
        Ok(UsbAddr {
            bus: num(b, "bus")?,
            device: num(d, "device")?,
        })
    }
}

impl fmt::Display for UsbAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}.{:03}", self.bus, self.device)
    }
}

/// A disk's guest device name (`vda`, `sdb`, `hdaa`, `xvdc`): a bus prefix and a 0-based index
/// (`a` = 0, `z` = 25, `aa` = 26), as libvirt numbers them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiskName {
    pub prefix: String,
    pub index: u32,
}

const DISK_PREFIXES: &[&str] = &["xvd", "ubd", "vd", "sd", "hd", "fd", "mmcblk", "nvme"];

impl FromStr for DiskName {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let prefix = DISK_PREFIXES
            .iter()
            .find(|p| s.starts_with(*p))
            .ok_or_else(|| {
                verr(
                    "disk name",
                    s,
                    "expected a prefix hd, sd, vd, xvd, ubd or fd",
                )
            })?;
        let letters = &s[prefix.len()..];
        if letters.is_empty() || !letters.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(verr(
                "disk name",
                s,
                "expected lowercase letters after the prefix",
            ));
        }
        let mut index: u64 = 0;
        for c in letters.chars() {
            index = index * 26 + (c as u64 - 'a' as u64 + 1);
            if index > u32::MAX as u64 {
                return Err(verr("disk name", s, "index too large"));
            }
        }
        Ok(DiskName {
            prefix: prefix.to_string(),
            index: (index - 1) as u32,
        })
    }
}

impl fmt::Display for DiskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut letters = Vec::new();
        let mut n = self.index as u64 + 1;
        while n > 0 {
            let r = ((n - 1) % 26) as u8;
            letters.push((b'a' + r) as char);
            n = (n - 1) / 26;
        }
        let s: String = letters.into_iter().rev().collect();
        write!(f, "{}{s}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_round_trip() {
        let u: Uuid = "c7a5fdbd-edaf-9455-926a-d65c16db1809"
            .parse()
            .expect("uuid");
        assert_eq!(u.to_string(), "c7a5fdbd-edaf-9455-926a-d65c16db1809");
        let v: Uuid = "c7a5fdbdedaf9455926ad65c16db1809".parse().expect("uuid");
        assert_eq!(u, v);
        assert!("c7a5fdbd-edaf-9455-926a-d65c16db180"
            .parse::<Uuid>()
            .is_err());
        assert!("zz".parse::<Uuid>().is_err());
    }

    #[test]
    fn mac_round_trip() {
        let m: MacAddr = "52:54:00:AA:0:01".parse().expect("mac");
        assert_eq!(m.to_string(), "52:54:00:aa:00:01");
        assert_eq!(m.host_side().to_string(), "fe:54:00:aa:00:01");
        assert!("52:54:00:aa:00".parse::<MacAddr>().is_err());
        assert!("52:54:00:aa:00:01:02".parse::<MacAddr>().is_err());
        assert!("52:54:00:aa:00:xy".parse::<MacAddr>().is_err());
    }

    #[test]
    fn pci_round_trip() {
        let p: PciAddr = "0000:00:1f.0".parse().expect("pci");
        assert_eq!(p.to_string(), "0000:00:1f.0");
        assert_eq!(
            p.xml_attrs(),
            "domain='0x0000' bus='0x00' slot='0x1f' function='0x0'"
        );
        assert_eq!(
            "06:12.7".parse::<PciAddr>().expect("pci").to_string(),
            "0000:06:12.7"
        );
        assert!("0000:00:20.0".parse::<PciAddr>().is_err());
        assert!("0000:00:1f.8".parse::<PciAddr>().is_err());
    }

    #[test]
    fn disk_names() {
        for (s, i) in [("vda", 0), ("sdz", 25), ("hdaa", 26), ("xvdbz", 77)] {
            let d: DiskName = s.parse().expect("disk name");
            assert_eq!(d.index, i, "{s}");
            assert_eq!(d.to_string(), s);
        }
        assert!("vd".parse::<DiskName>().is_err());
        assert!("qda".parse::<DiskName>().is_err());
        assert!("vdA".parse::<DiskName>().is_err());
    }

    #[test]
    fn usb_round_trip() {
        let u: UsbAddr = "1.2".parse().expect("usb");
        assert_eq!(u.to_string(), "001.002");
        assert!("1".parse::<UsbAddr>().is_err());
    }
}
