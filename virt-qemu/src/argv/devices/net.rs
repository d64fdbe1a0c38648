//! `<interface>`: per NIC, in document order, what its backend needs first (a vhost-user
//! `-chardev`, a vhost-vdpa `-add-fd`), then `-netdev` (tap and vhost-net fds planned through
//! [`Builder::pass_fd`], never paths or interface names), then the NIC `-device`.
//! Interfaces of type `hostdev` are PCI devices given to the guest: the hostdev family writes
//! them (`vfio-pci`) with the other host devices.
//!
//! - [`netdev`]: the `-netdev` JSON of every backend type.
//! - [`nic`]: the guest-side `-device` (virtio-net with its queues and offloads, e1000, ...).
//! - [`common`]: bus placement, ROM, boot order and chardevs shared with hostdev, redirdev and
//!   smartcard.

pub(crate) mod common;
pub(crate) mod netdev;
pub(crate) mod nic;

use virt_xml::devices::interface::Interface;
use virt_xml::domain::InterfaceType;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};

/// The interfaces of the domain with their index in `def.devices`.
pub(crate) fn interfaces<'d>(b: &Builder<'d>) -> Vec<(usize, &'d Interface)> {
    let def = b.def;
    def.devices
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            Device::Interface(n) => Some((i, n)),
            _ => None,
        })
        .collect()
}

/// The boot index of NIC `pos` (its place among the interfaces): its own `<boot order>`, or
/// for the first NIC the place of `network` in `<os><boot dev>`.
pub(crate) fn effective_boot_index(b: &Builder<'_>, nic: &Interface, pos: usize) -> Option<u32> {
    if let Some(o) = &nic.info.boot {
        return Some(o.order);
    }
    if pos == 0 {
        return common::legacy_network_boot_index(b);
    }
    None
}

/// Writes this family's options for every interface of `b.def`, in document order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    for (pos, (index, nic)) in interfaces(b).into_iter().enumerate() {
        if nic.iface_type == InterfaceType::Hostdev {
            continue;
        }
        let alias = b.alias(index).to_string();
        if alias.is_empty() {
            return Err(ArgvError::Host(format!(
                "interface {pos} has no alias (address assignment did not run)"
            )));
        }
        netdev::emit(b, nic, &alias)?;
        let boot = effective_boot_index(b, nic, pos);
        let dev = nic::props(b, nic, &alias, boot)?;
        b.device(&dev);
    }
    Ok(())
}
