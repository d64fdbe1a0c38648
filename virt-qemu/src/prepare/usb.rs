//! USB port addresses, which libvirt gives USB devices when a guest starts (the persistent
//! definition keeps them only when the user wrote them).

use super::view::Prep;
use virt_xml::address::Address;
use virt_xml::DeviceKind;
use virt_xml::Domain;

use super::view;
use super::PrepareError;

fn ports_of(d: &view::Device) -> u32 {
    let declared = view::attr(d, "ports").and_then(|p| p.parse().ok());
    match view::attr(d, "model") {
        Some("none") | Some("ich9-uhci1") | Some("ich9-uhci2") | Some("ich9-uhci3") => 0,
        Some("piix3-uhci") | Some("piix4-uhci") | Some("vt82c686b-uhci") => 2,
        Some("ehci") | Some("ich9-ehci1") => 6,
        Some("pci-ohci") => 3,
        Some("qemu-xhci") | Some("nec-xhci") => declared.unwrap_or(4),
        _ => declared.unwrap_or(2),
    }
}

/// Whether a device plugs into a USB port.
fn is_usb_device(d: &view::Device) -> bool {
    match view::kind(d) {
        DeviceKind::Input | DeviceKind::Disk => {
            view::attr(d, "bus") == Some("usb") || view::sub_attr(d, "target", "bus") == Some("usb")
        }
        DeviceKind::Sound => view::attr(d, "model") == Some("usb"),
        DeviceKind::Hostdev => view::attr(d, "type") == Some("usb"),
        DeviceKind::Redirdev | DeviceKind::Hub => true,
        DeviceKind::Controller => view::attr(d, "type") == Some("ccid"),
        DeviceKind::Serial => view::sub_attr(d, "target", "type") == Some("usb-serial"),
        DeviceKind::Interface => view::sub_attr(d, "model", "type") == Some("usb-net"),
        _ => false,
    }
}

fn rank(d: &view::Device) -> usize {
    match view::kind(d) {
        DeviceKind::Hub => 0,
        DeviceKind::Input => 1,
        DeviceKind::Sound => 2,
        DeviceKind::Disk => 3,
        DeviceKind::Hostdev => 4,
        DeviceKind::Redirdev => 5,
        DeviceKind::Controller => 6,
        DeviceKind::Serial => 7,
        _ => 8,
    }
}

/// Gives every USB device without a port the first free port of the USB controllers, in
/// controller index order (as libvirt does for a guest it starts). Devices are taken hubs first,
/// then input, sound, disks, host devices, redirection, smartcard readers, serial ports, NICs.
pub fn assign_usb_ports(def: &mut Domain) -> Result<(), PrepareError> {
    let mut p = Prep::new(std::mem::replace(def, Domain::new(def.domain_type, "")))?;
    let r = assign_usb_ports_of(&mut p);
    *def = p.finish()?;
    r
}

fn assign_usb_ports_of(def: &mut Prep) -> Result<(), PrepareError> {
    let mut buses: Vec<(u32, u32)> = def
        .devices
        .iter()
        .filter(|d| view::kind(d) == DeviceKind::Controller && view::attr(d, "type") == Some("usb"))
        .filter_map(|d| {
            let idx = view::attr(d, "index")?.parse().ok()?;
            Some((idx, ports_of(d)))
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    buses.sort();
    let mut used: Vec<(u32, String)> = def
        .devices
        .iter()
        .filter_map(|d| match view::address(d) {
            Some(Address::Usb { bus, port: Some(p) }) => Some((bus.unwrap_or(0), p)),
            _ => None,
        })
        .collect();
    let mut order: Vec<(usize, usize)> = def
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| is_usb_device(d))
        .map(|(i, d)| (rank(d), i))
        .collect();
    order.sort();
    for (_, i) in order {
        let d = &def.devices[i];
        let bus_wanted = match view::address(d) {
            Some(Address::Usb { port: Some(_), .. }) => continue,
            Some(Address::Usb { bus, port: None }) => bus,
            Some(_) => continue,
            None => None,
        };
        let free = buses
            .iter()
            .filter(|(b, _)| bus_wanted.is_none_or(|w| w == *b))
            .find_map(|&(b, n)| {
                (1..=n)
                    .map(|p| p.to_string())
                    .find(|p| !used.contains(&(b, p.clone())))
                    .map(|p| (b, p))
            });
        let Some((bus, port)) = free else {
            return Err(PrepareError::NoUsbPort(view::describe(d)));
        };
        used.push((bus, port.clone()));
        view::set_address(
            &mut def.devices[i],
            &Address::Usb {
                bus: Some(bus),
                port: Some(port),
            },
        );
    }
    Ok(())
}
