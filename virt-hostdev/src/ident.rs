//! Naming a host device: for audit records, messages and the state directory.

use std::fmt;

use virt_audit::records::HostdevAddr;
use virt_xml::{PciAddr, UsbAddr, Uuid};

use crate::HostdevError;

/// A host device a guest can hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostdevId {
    Pci(PciAddr),
    Usb(UsbAddr),
    /// A SCSI host device: adapter name (`scsi_host0`), bus, target, unit.
    Scsi {
        adapter: String,
        bus: u32,
        target: u32,
        unit: u64,
    },
    /// A mediated device by UUID.
    Mdev(Uuid),
}

impl HostdevId {
    /// The audit record's `bus=`/`device=` pair.
    pub fn audit_addr(&self) -> HostdevAddr {
        match self {
            HostdevId::Pci(a) => HostdevAddr::Pci {
                domain: a.domain,
                bus: a.bus,
                slot: a.slot,
                function: a.function,
            },
            HostdevId::Usb(u) => HostdevAddr::Usb {
                bus: u.bus,
                device: u.device,
            },
            HostdevId::Scsi {
                adapter,
                bus,
                target,
                unit,
            } => HostdevAddr::Scsi {
                adapter: adapter.clone(),
                bus: *bus,
                target: *target,
                unit: *unit,
            },
            HostdevId::Mdev(u) => HostdevAddr::Mdev {
                uuid: u.to_string(),
            },
        }
    }

    /// The ownership file's name: `pci-0000:06:12.0`, `usb-001.002`, `scsi-scsi_host0:0:0:0`,
    /// `mdev-UUID`.
    pub fn state_name(&self) -> Result<String, HostdevError> {
        Ok(match self {
            HostdevId::Pci(a) => format!("pci-{a}"),
            HostdevId::Usb(u) => format!("usb-{u}"),
            HostdevId::Scsi {
                adapter,
                bus,
                target,
                unit,
            } => {
                let ok = !adapter.is_empty()
                    && adapter
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !ok {
                    return Err(HostdevError::BadName(adapter.clone()));
                }
                format!("scsi-{adapter}:{bus}:{target}:{unit}")
            }
            HostdevId::Mdev(u) => format!("mdev-{u}"),
        })
    }

    /// The inverse of [`HostdevId::state_name`].
    pub fn from_state_name(name: &str) -> Option<Self> {
        let (kind, rest) = name.split_once('-')?;
        match kind {
            "pci" => rest.parse().ok().map(HostdevId::Pci),
            "usb" => rest.parse().ok().map(HostdevId::Usb),
            "mdev" => rest.parse().ok().map(HostdevId::Mdev),
            "scsi" => {
                let mut it = rest.rsplitn(4, ':');
                let unit = it.next()?.parse().ok()?;
                let target = it.next()?.parse().ok()?;
                let bus = it.next()?.parse().ok()?;
                let adapter = it.next()?.to_string();
                Some(HostdevId::Scsi {
                    adapter,
                    bus,
                    target,
                    unit,
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for HostdevId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostdevId::Pci(a) => write!(f, "PCI device {a}"),
            HostdevId::Usb(u) => write!(f, "USB device {u}"),
            HostdevId::Scsi {
                adapter,
                bus,
                target,
                unit,
            } => write!(f, "SCSI device {adapter}:{bus}:{target}:{unit}"),
            HostdevId::Mdev(u) => write!(f, "mediated device {u}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        let ids = [
            HostdevId::Pci("0000:06:12.1".parse().expect("pci")),
            HostdevId::Usb("1.2".parse().expect("usb")),
            HostdevId::Scsi {
                adapter: "scsi_host0".into(),
                bus: 0,
                target: 3,
                unit: 7,
            },
            HostdevId::Mdev(
                "c7a5fdbd-edaf-9455-926a-d65c16db1809"
                    .parse()
                    .expect("uuid"),
            ),
        ];
        let names: Vec<String> = ids.iter().map(|i| i.state_name().expect("name")).collect();
        assert_eq!(
            names,
            [
                "pci-0000:06:12.1",
                "usb-001.002",
                "scsi-scsi_host0:0:3:7",
                "mdev-c7a5fdbd-edaf-9455-926a-d65c16db1809"
            ]
        );
        for (id, n) in ids.iter().zip(&names) {
            assert_eq!(HostdevId::from_state_name(n).as_ref(), Some(id));
        }
        let bad = HostdevId::Scsi {
            adapter: "../x".into(),
            bus: 0,
            target: 0,
            unit: 0,
        };
        assert!(matches!(bad.state_name(), Err(HostdevError::BadName(_))));
    }
}
