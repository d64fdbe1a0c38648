//! Where a hot-plugged PCI device goes and what it is called, chosen from the live definition as
//! libvirt does: on a PCIe machine the first `pcie-root-port` with nothing behind it (slot 0 of its
//! bus), on a legacy PCI machine the first free slot of bus 0; aliases `net<N>` / `virtio-disk<N>`.

use virt_xml::address::Address;
use virt_xml::devices::controller::{ControllerModel, ControllerType, PciModel};
use virt_xml::devices::Device;
use virt_xml::{Domain, PciAddr};

use super::HotplugError;

/// A PCI place for a hot-plugged device: the guest address recorded in the definition and the
/// QEMU bus id and `addr` given to `device_add`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciPlacement {
    pub addr: PciAddr,
    /// The QEMU id of the bus (`pci.3`, `pcie.0`, `pci.0`).
    pub bus_id: String,
}

impl PciPlacement {
    /// `addr` for `device_add`: `0x<slot>` (function 0).
    pub fn qemu_addr(&self) -> String {
        format!("{:#x}", self.addr.slot)
    }
}

fn pci_controllers(def: &Domain) -> impl Iterator<Item = (u32, Option<PciModel>, Option<&str>)> {
    def.devices.iter().filter_map(|d| match d {
        Device::Controller(c) if c.kind == ControllerType::Pci => {
            let model = match c.model {
                Some(ControllerModel::Pci(m)) => Some(m),
                _ => None,
            };
            Some((c.index, model, c.info.alias.as_deref()))
        }
        _ => None,
    })
}

fn used_pci(def: &Domain) -> Vec<PciAddr> {
    def.devices
        .iter()
        .filter_map(|d| match d.address() {
            Some(Address::Pci { addr, .. }) => Some(*addr),
            _ => None,
        })
        .collect()
}

/// Chooses a free hot-pluggable PCI place for `what` (named in the error).
pub fn choose_pci_address(def: &Domain, what: &str) -> Result<PciPlacement, HotplugError> {
    let used = used_pci(def);
    let ctrls: Vec<_> = pci_controllers(def).collect();
    let pcie = ctrls.iter().any(|(_, m, _)| *m == Some(PciModel::PcieRoot));
    if pcie {
        for (index, model, alias) in &ctrls {
            if *model != Some(PciModel::PcieRootPort) {
                continue;
            }
            let Ok(bus) = u8::try_from(*index) else {
                continue;
            };
            if used.iter().any(|a| a.domain == 0 && a.bus == bus) {
                continue;
            }
            let addr = PciAddr {
                domain: 0,
                bus,
                slot: 0,
                function: 0,
            };
            let bus_id = alias.map_or_else(|| format!("pci.{index}"), str::to_string);
            return Ok(PciPlacement { addr, bus_id });
        }
        return Err(HotplugError::NoFreeSlot(what.to_string()));
    }
    let root = ctrls
        .iter()
        .find(|(i, m, _)| *i == 0 && matches!(m, Some(PciModel::PciRoot) | None));
    let Some((_, _, alias)) = root else {
        return Err(HotplugError::Unsupported {
            what: what.to_string(),
            why: "the domain has no PCI root controller".into(),
        });
    };
    // Slot 0 is the host bridge and slot 1 the ISA bridge on a PC machine.
    for slot in 2..32u8 {
        if used
            .iter()
            .any(|a| a.domain == 0 && a.bus == 0 && a.slot == slot)
        {
            continue;
        }
        let addr = PciAddr {
            domain: 0,
            bus: 0,
            slot,
            function: 0,
        };
        let bus_id = alias.map_or_else(|| "pci.0".to_string(), str::to_string);
        return Ok(PciPlacement { addr, bus_id });
    }
    Err(HotplugError::NoFreeSlot(what.to_string()))
}

/// The next alias `<prefix><N>`: one more than the highest `N` any device of the definition uses
/// with this prefix (0 when none does).
pub fn next_alias(def: &Domain, prefix: &str) -> String {
    let n = def
        .devices
        .iter()
        .filter_map(|d| d.info()?.alias.as_deref())
        .filter_map(|a| a.strip_prefix(prefix)?.parse::<u32>().ok())
        .max()
        .map_or(0, |m| m + 1);
    format!("{prefix}{n}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use virt_xml::devices::controller::Controller;
    use virt_xml::devices::interface::Interface;
    use virt_xml::domain::InterfaceType;
    use virt_xml::DomainType;

    fn pci(bus: u8, slot: u8) -> Address {
        Address::Pci {
            addr: PciAddr {
                domain: 0,
                bus,
                slot,
                function: 0,
            },
            multifunction: None,
            zpci: None,
        }
    }

    fn ctrl(index: u32, model: PciModel) -> Device {
        let mut c = Controller::new(ControllerType::Pci, index);
        c.model = Some(ControllerModel::Pci(model));
        Device::Controller(c)
    }

    fn nic_at(alias: &str, addr: Address) -> Device {
        let mut i = Interface::new(InterfaceType::Ethernet);
        i.info.alias = Some(alias.into());
        i.info.address = Some(addr);
        Device::Interface(i)
    }

    #[test]
    fn q35_takes_the_first_empty_root_port() {
        let mut d = Domain::new(DomainType::Qemu, "g");
        d.devices.push(ctrl(0, PciModel::PcieRoot));
        for i in 1..=3 {
            d.devices.push(ctrl(i, PciModel::PcieRootPort));
        }
        d.devices.push(nic_at("net0", pci(1, 0)));
        let p = choose_pci_address(&d, "x").unwrap();
        assert_eq!((p.addr.bus, p.addr.slot), (2, 0));
        assert_eq!(p.bus_id, "pci.2");
        assert_eq!(p.qemu_addr(), "0x0");
        d.devices.push(nic_at("net1", pci(2, 0)));
        d.devices.push(nic_at("net4", pci(3, 0)));
        let e = choose_pci_address(&d, "interface 52:54:00:00:00:01").unwrap_err();
        assert_eq!(
            e.to_string(),
            "no free hot-pluggable PCI slot for interface 52:54:00:00:00:01 (add a pcie-root-port controller)"
        );
        assert_eq!(next_alias(&d, "net"), "net5");
        assert_eq!(next_alias(&d, "virtio-disk"), "virtio-disk0");
    }

    #[test]
    fn pc_takes_the_first_free_slot_of_bus_0() {
        let mut d = Domain::new(DomainType::Kvm, "g");
        d.devices.push(ctrl(0, PciModel::PciRoot));
        d.devices.push(nic_at("net0", pci(0, 2)));
        d.devices.push(nic_at("net1", pci(0, 3)));
        let p = choose_pci_address(&d, "x").unwrap();
        assert_eq!((p.addr.bus, p.addr.slot), (0, 4));
        assert_eq!(p.bus_id, "pci.0");
        assert_eq!(p.qemu_addr(), "0x4");
        let none = Domain::new(DomainType::Kvm, "g");
        assert!(matches!(
            choose_pci_address(&none, "x"),
            Err(HotplugError::Unsupported { .. })
        ));
    }
}
