//! Refusals of this stage: device addresses that cannot be, or that collide.

use super::view::Prep;
use virt_xml::address::Address;
use virt_xml::DeviceKind;

use super::view;
use super::PrepareError;

fn invalid(d: &view::Device, message: String) -> PrepareError {
    PrepareError::Invalid {
        device: view::describe(d),
        message,
    }
}

type DriveKey = (String, u32, u32, u32, u32);

fn drive_key(d: &view::Device, bus: &str) -> Option<DriveKey> {
    match view::address(d)? {
        Address::Drive {
            controller,
            bus: b,
            target,
            unit,
        } => Some((
            bus.to_string(),
            controller.unwrap_or(0),
            b.unwrap_or(0),
            target.unwrap_or(0),
            unit.unwrap_or(0),
        )),
        _ => None,
    }
}

/// Address types that do not fit the device, and drive addresses used twice.
pub(super) fn addresses(def: &Prep) -> Result<(), PrepareError> {
    let mut drives: Vec<(DriveKey, usize)> = Vec::new();
    for (i, d) in def.devices.iter().enumerate() {
        match view::kind(d) {
            DeviceKind::Disk => {
                let name = view::sub_attr(d, "target", "dev").unwrap_or("").to_string();
                let bus = view::sub_attr(d, "target", "bus").unwrap_or("");
                let addr = view::address(d);
                match (bus, &addr) {
                    ("ide" | "sata" | "scsi" | "fdc", Some(a))
                        if !matches!(a, Address::Drive { .. }) =>
                    {
                        return Err(invalid(
                            d,
                            format!(
                                "invalid address type '{}' for the disk '{name}' with the bus type '{bus}'",
                                a.type_name()
                            ),
                        ))
                    }
                    ("usb", Some(a)) if !matches!(a, Address::Usb { .. }) => {
                        return Err(invalid(d, "unexpected address type for usb disk".into()))
                    }
                    _ => {}
                }
                if let Some(k) = drive_key(d, bus) {
                    drives.push((k, i));
                }
            }
            DeviceKind::Hostdev if view::attr(d, "type") == Some("scsi") => {
                if let Some(k) = drive_key(d, "scsi") {
                    drives.push((k, i));
                }
            }
            DeviceKind::Video
                if view::sub_attr(d, "model", "type") == Some("ramfb")
                    && view::address(d).is_some() =>
            {
                return Err(invalid(
                    d,
                    "address not supported for video type ramfb".into(),
                ));
            }
            _ => {}
        }
    }
    for (n, (k, i)) in drives.iter().enumerate() {
        if let Some((_, j)) = drives[n + 1..].iter().find(|(o, _)| o == k) {
            let (first, other) = (&def.devices[*i], &def.devices[*j]);
            let what = if view::kind(other) == DeviceKind::Hostdev {
                "a SCSI host device"
            } else {
                "another disk"
            };
            return Err(invalid(
                first,
                format!(
                    "drive address controller='{}' bus='{}' target='{}' unit='{}' is also used by {what}",
                    k.1, k.2, k.3, k.4
                ),
            ));
        }
    }
    Ok(())
}

/// Two devices at one PCI address.
pub(super) fn pci_duplicates(def: &Prep) -> Result<(), PrepareError> {
    let mut seen: Vec<virt_xml::PciAddr> = Vec::new();
    // A serial console repeats its serial port's address.
    for d in def
        .devices
        .iter()
        .filter(|d| view::kind(d) != DeviceKind::Console)
    {
        if let Some(Address::Pci { addr, .. }) = view::address(d) {
            if seen.contains(&addr) {
                return Err(invalid(
                    d,
                    format!(
                        "PCI address {:04x}:{:02x}:{:02x}.{:x} is already in use",
                        addr.domain, addr.bus, addr.slot, addr.function
                    ),
                ));
            }
            seen.push(addr);
        }
    }
    Ok(())
}
