//! USB devices from `ROOT/bus/usb/devices`: find one by bus.device or vendor:product, and name its
//! `/dev/bus/usb/BBB/DDD` node (what the guest's cgroup device ACL must allow).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use virt_audit::DevNum;
use virt_xml::UsbAddr;

use crate::sysfs::{list_dir, parse_hex, read_attr, Sysfs};
use crate::HostdevError;

/// How a USB device is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsbSelector {
    /// `BUS.DEVICE` (decimal).
    Addr(UsbAddr),
    /// `VVVV:PPPP` (hexadecimal).
    Product { vendor: u16, product: u16 },
}

impl FromStr for UsbSelector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some((v, p)) = s.split_once(':') {
            let hex = |x: &str| {
                let x = x.trim_start_matches("0x");
                if x.is_empty() || x.len() > 4 {
                    return Err(format!("USB id {s:?}: expected VVVV:PPPP in hexadecimal"));
                }
                u16::from_str_radix(x, 16)
                    .map_err(|_| format!("USB id {s:?}: expected VVVV:PPPP in hexadecimal"))
            };
            return Ok(UsbSelector::Product {
                vendor: hex(v)?,
                product: hex(p)?,
            });
        }
        s.parse::<UsbAddr>()
            .map(UsbSelector::Addr)
            .map_err(|e| e.to_string())
    }
}

impl fmt::Display for UsbSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsbSelector::Addr(a) => write!(f, "{a}"),
            UsbSelector::Product { vendor, product } => write!(f, "{vendor:04x}:{product:04x}"),
        }
    }
}

/// A USB device (not an interface) as sysfs shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbDevice {
    pub addr: UsbAddr,
    /// sysfs name, such as `1-1.2` or `usb1` for a root hub.
    pub name: String,
    pub path: PathBuf,
    pub vendor: u16,
    pub product: u16,
    pub manufacturer: Option<String>,
    pub product_name: Option<String>,
    pub serial: Option<String>,
    /// `/dev/bus/usb/BBB/DDD`.
    pub dev_node: PathBuf,
    /// The node's device number from the `dev` attribute (`189:N`), when present.
    pub rdev: Option<DevNum>,
}

impl UsbDevice {
    fn matches(&self, sel: &UsbSelector) -> bool {
        match *sel {
            UsbSelector::Addr(a) => self.addr == a,
            UsbSelector::Product { vendor, product } => {
                self.vendor == vendor && self.product == product
            }
        }
    }
}

fn parse_dev(text: &str) -> Option<DevNum> {
    let (ma, mi) = text.trim().split_once(':')?;
    Some(DevNum::new(ma.parse().ok()?, mi.parse().ok()?))
}

impl Sysfs {
    /// Every USB device (entries with `busnum` and `devnum`; interfaces are skipped), sorted by address.
    pub fn usb_list(&self) -> Result<Vec<UsbDevice>, HostdevError> {
        let bus = self.root().join("bus/usb");
        if !bus.is_dir() {
            return Err(HostdevError::NoUsb { path: bus });
        }
        let mut out = Vec::new();
        for name in list_dir(&self.usb_devices())? {
            let path = self.usb_devices().join(&name);
            let num = |attr: &str| -> Result<Option<u32>, HostdevError> {
                let p = path.join(attr);
                match read_attr(&p)? {
                    None => Ok(None),
                    Some(t) => t
                        .trim()
                        .parse()
                        .map(Some)
                        .map_err(|_| HostdevError::BadAttr {
                            path: p,
                            what: "not a decimal number".into(),
                            content: t,
                        }),
                }
            };
            let (Some(busnum), Some(devnum)) = (num("busnum")?, num("devnum")?) else {
                continue;
            };
            let hex = |attr: &str| -> Result<u16, HostdevError> {
                let p = path.join(attr);
                let t = read_attr(&p)?.unwrap_or_default();
                let v = parse_hex(&p, &t)?;
                u16::try_from(v).map_err(|_| HostdevError::BadAttr {
                    path: p,
                    what: "more than 16 bits".into(),
                    content: t,
                })
            };
            let addr = UsbAddr {
                bus: busnum,
                device: devnum,
            };
            out.push(UsbDevice {
                addr,
                name: name.clone(),
                vendor: hex("idVendor")?,
                product: hex("idProduct")?,
                manufacturer: read_attr(&path.join("manufacturer"))?,
                product_name: read_attr(&path.join("product"))?,
                serial: read_attr(&path.join("serial"))?,
                dev_node: PathBuf::from(format!("/dev/bus/usb/{busnum:03}/{devnum:03}")),
                rdev: read_attr(&path.join("dev"))?.as_deref().and_then(parse_dev),
                path,
            });
        }
        out.sort_by_key(|d| d.addr);
        Ok(out)
    }

    /// The one device `sel` names; several matches for a vendor:product are refused.
    pub fn usb_find(&self, sel: &UsbSelector) -> Result<UsbDevice, HostdevError> {
        let mut found: Vec<UsbDevice> = self
            .usb_list()?
            .into_iter()
            .filter(|d| d.matches(sel))
            .collect();
        match found.len() {
            0 => Err(HostdevError::UsbNotFound {
                selector: sel.to_string(),
                path: self.usb_devices(),
            }),
            1 => Ok(found.remove(0)),
            n => Err(HostdevError::UsbAmbiguous {
                selector: sel.to_string(),
                count: n,
                list: found
                    .iter()
                    .map(|d| d.addr.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        assert_eq!(
            "046d:c52b".parse::<UsbSelector>(),
            Ok(UsbSelector::Product {
                vendor: 0x046d,
                product: 0xc52b
            })
        );
        assert_eq!(
            "1.2".parse::<UsbSelector>(),
            Ok(UsbSelector::Addr(UsbAddr { bus: 1, device: 2 }))
        );
        assert!("046d:c52b1".parse::<UsbSelector>().is_err());
        assert!("x".parse::<UsbSelector>().is_err());
        assert_eq!(parse_dev("189:1\n"), Some(DevNum::new(189, 1)));
        assert_eq!(parse_dev("189"), None);
    }
}
