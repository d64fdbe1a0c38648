//! Device XML given to attach/detach: parsing one device, and finding the device of a definition
//! it designates (an interface by MAC, a disk by target, anything else by equal value).

use virt_xml::{Device, Domain};

use crate::error::Result;

/// Parses the XML of one device, checked as a device of a domain.
pub fn parse_device(xml: &str) -> Result<Device> {
    Ok(virt_xml::domain::parse_device(xml)?)
}

/// The index of the device in `def` that `dev` designates.
pub fn find_device(def: &Domain, dev: &Device) -> Option<usize> {
    def.devices.iter().position(|d| same_device(d, dev))
}

fn same_device(a: &Device, b: &Device) -> bool {
    match (a, b) {
        (Device::Interface(x), Device::Interface(y)) => match &y.mac {
            Some(m) => x.mac.as_ref().map(|m| m.address) == Some(m.address),
            None => x == y,
        },
        (Device::Disk(x), Device::Disk(y)) => x.target.dev == y.target.dev,
        _ => a == b,
    }
}
