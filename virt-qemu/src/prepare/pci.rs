//! PCI address assignment as libvirt's QEMU driver does it: buses from the domain's PCI
//! controllers, the fixed chipset slots of i440fx and q35, one pass that finds how many buses
//! (pcie-root-ports, pci-bridges) the devices need, then the real assignment in libvirt's device
//! order, multifunction flags and the controllers' target defaults.

use super::view::Prep;
use virt_xml::address::Address;
use virt_xml::{DeviceKind, PciAddr};

use super::view;
use super::{Machine, PrepareError};

/// What a device plugs into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Conventional PCI endpoint.
    Pci,
    /// PCI Express endpoint.
    Pcie,
    /// Integrated on the root complex (bus 0 of pcie-root).
    Integrated,
    RootPort,
    UpstreamPort,
    DownstreamPort,
    PciBridge,
    DmiBridge,
    PcieToPciBridge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BusModel {
    PciRoot,
    PcieRoot,
    RootPort,
    UpstreamPort,
    DownstreamPort,
    PciBridge,
    DmiBridge,
    PcieToPciBridge,
}

impl BusModel {
    fn from_name(s: &str) -> Option<BusModel> {
        Some(match s {
            "pci-root" | "pci-expander-bus" => BusModel::PciRoot,
            "pcie-root" | "pcie-expander-bus" => BusModel::PcieRoot,
            "pcie-root-port" => BusModel::RootPort,
            "pcie-switch-upstream-port" => BusModel::UpstreamPort,
            "pcie-switch-downstream-port" => BusModel::DownstreamPort,
            "pci-bridge" => BusModel::PciBridge,
            "dmi-to-pci-bridge" => BusModel::DmiBridge,
            "pcie-to-pci-bridge" => BusModel::PcieToPciBridge,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            BusModel::PciRoot => "pci-root",
            BusModel::PcieRoot => "pcie-root",
            BusModel::RootPort => "pcie-root-port",
            BusModel::UpstreamPort => "pcie-switch-upstream-port",
            BusModel::DownstreamPort => "pcie-switch-downstream-port",
            BusModel::PciBridge => "pci-bridge",
            BusModel::DmiBridge => "dmi-to-pci-bridge",
            BusModel::PcieToPciBridge => "pcie-to-pci-bridge",
        }
    }

    fn slots(self) -> std::ops::RangeInclusive<u8> {
        match self {
            BusModel::RootPort | BusModel::DownstreamPort => 0..=0,
            BusModel::UpstreamPort | BusModel::DmiBridge => 0..=31,
            _ => 1..=31,
        }
    }

    fn accepts(self, c: Class) -> bool {
        match self {
            BusModel::PciRoot => matches!(c, Class::Pci | Class::Pcie | Class::PciBridge),
            BusModel::PcieRoot => {
                matches!(c, Class::RootPort | Class::DmiBridge | Class::Integrated)
            }
            BusModel::RootPort | BusModel::DownstreamPort => matches!(
                c,
                Class::Pcie | Class::UpstreamPort | Class::PcieToPciBridge
            ),
            BusModel::UpstreamPort => c == Class::DownstreamPort,
            BusModel::PciBridge | BusModel::PcieToPciBridge => {
                matches!(c, Class::Pci | Class::PciBridge)
            }
            BusModel::DmiBridge => c == Class::PciBridge,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    used: u8,
    aggregate: bool,
}

#[derive(Debug, Clone)]
struct Bus {
    model: Option<BusModel>,
    slots: [Slot; 32],
}

impl Bus {
    fn new(model: Option<BusModel>) -> Bus {
        Bus {
            model,
            slots: [Slot::default(); 32],
        }
    }
}

/// The address space of one assignment pass.
struct Space {
    buses: Vec<Bus>,
    /// Add buses when nothing fits (the first pass).
    grow: bool,
    /// Added buses whose controller already has its slot.
    placed: Vec<usize>,
    pcie: bool,
}

impl Space {
    fn reserve(&mut self, a: PciAddr, aggregate: bool) {
        let Some(bus) = self.buses.get_mut(a.bus as usize) else {
            return;
        };
        let s = &mut bus.slots[(a.slot & 31) as usize];
        s.used |= 1 << (a.function & 7);
        s.aggregate |= aggregate;
    }

    fn release(&mut self, a: PciAddr) {
        if let Some(bus) = self.buses.get_mut(a.bus as usize) {
            bus.slots[(a.slot & 31) as usize].used &= !(1 << (a.function & 7));
        }
    }

    fn slot_in_use(&self, bus: u8, slot: u8) -> bool {
        self.buses
            .get(bus as usize)
            .is_some_and(|b| b.slots[(slot & 31) as usize].used != 0)
    }

    fn find(&self, c: Class) -> Option<PciAddr> {
        let aggregate = c == Class::RootPort;
        for (bi, bus) in self.buses.iter().enumerate() {
            let Some(model) = bus.model else { continue };
            if !model.accepts(c) {
                continue;
            }
            for slot in model.slots() {
                let s = bus.slots[slot as usize];
                let function = if s.used == 0 {
                    0
                } else if aggregate && s.aggregate && s.used != 0xff {
                    (0..8).find(|f| s.used & (1 << f) == 0).unwrap_or(0)
                } else {
                    continue;
                };
                return Some(PciAddr {
                    domain: 0,
                    bus: bi as u8,
                    slot,
                    function,
                });
            }
        }
        None
    }

    /// Reserves the next free address for a device of class `c`; in the first pass, adds buses
    /// when nothing fits.
    fn next(&mut self, c: Class, what: &str) -> Result<PciAddr, PrepareError> {
        loop {
            if let Some(a) = self.find(c) {
                self.reserve(a, c == Class::RootPort);
                return Ok(a);
            }
            if !self.grow || self.buses.len() >= 256 {
                return Err(PrepareError::NoPciSlot(what.to_string()));
            }
            match (self.pcie, c) {
                (true, Class::Pcie | Class::UpstreamPort | Class::PcieToPciBridge) => {
                    self.buses.push(Bus::new(Some(BusModel::RootPort)))
                }
                (true, Class::Pci | Class::PciBridge) => {
                    // A pcie-to-pci-bridge in a new root port, whose one slot it takes.
                    let port = self.buses.len();
                    self.buses.push(Bus::new(Some(BusModel::RootPort)));
                    self.buses.push(Bus::new(Some(BusModel::PcieToPciBridge)));
                    self.reserve(
                        PciAddr {
                            domain: 0,
                            bus: port as u8,
                            slot: 0,
                            function: 0,
                        },
                        false,
                    );
                    self.placed.push(port + 1);
                }
                (false, Class::Pci | Class::Pcie | Class::PciBridge) => {
                    self.buses.push(Bus::new(Some(BusModel::PciBridge)))
                }
                _ => return Err(PrepareError::NoPciSlot(what.to_string())),
            }
        }
    }

    fn bus_full(&self, i: usize) -> bool {
        let b = &self.buses[i];
        let Some(m) = b.model else { return true };
        m.slots().all(|s| b.slots[s as usize].used != 0)
    }
}

fn pci_of(a: &Option<Address>) -> Option<PciAddr> {
    match a {
        Some(Address::Pci { addr, .. }) => Some(*addr),
        _ => None,
    }
}

fn controller_model(d: &view::Device) -> Option<BusModel> {
    (view::attr(d, "type") == Some("pci"))
        .then(|| view::attr(d, "model").and_then(BusModel::from_name))
        .flatten()
}

fn index_of(d: &view::Device) -> Option<u32> {
    view::attr(d, "index").and_then(|i| i.parse().ok())
}

/// The class of a device, or `None` when it takes no PCI address.
fn class_of(d: &view::Device, m: &Machine) -> Option<Class> {
    let virtio = if m.pcie { Class::Pcie } else { Class::Pci };
    let pcie = virtio;
    let ty = view::attr(d, "type");
    let model = view::attr(d, "model");
    // Transitional virtio devices keep the legacy interface, which only conventional PCI has.
    let transitional = model == Some("virtio-transitional")
        || view::sub_attr(d, "model", "type") == Some("virtio-transitional");
    let virtio = if transitional { Class::Pci } else { virtio };
    Some(match view::kind(d) {
        DeviceKind::Controller => match ty? {
            "pci" => match controller_model(d)? {
                BusModel::PciRoot | BusModel::PcieRoot => return None,
                BusModel::RootPort => Class::RootPort,
                BusModel::UpstreamPort => Class::UpstreamPort,
                BusModel::DownstreamPort => Class::DownstreamPort,
                BusModel::PciBridge => Class::PciBridge,
                BusModel::DmiBridge => Class::DmiBridge,
                BusModel::PcieToPciBridge => Class::PcieToPciBridge,
            },
            "usb" => match model {
                Some("none") => return None,
                Some("qemu-xhci") | Some("nec-xhci") => pcie,
                _ => Class::Pci,
            },
            "fdc" | "ccid" | "xenbus" | "isa" => return None,
            "virtio-serial" => virtio,
            "scsi" => match model {
                Some("virtio-scsi")
                | Some("virtio-transitional")
                | Some("virtio-non-transitional") => virtio,
                Some("ncr53c90") | Some("ibmvscsi") => return None,
                _ => Class::Pci,
            },
            _ => Class::Pci,
        },
        DeviceKind::Interface => {
            if ty == Some("hostdev") {
                return None;
            }
            match view::sub_attr(d, "model", "type") {
                None
                | Some("virtio")
                | Some("virtio-transitional")
                | Some("virtio-non-transitional") => virtio,
                Some("e1000e") => pcie,
                Some("spapr-vlan") | Some("usb-net") => return None,
                _ => Class::Pci,
            }
        }
        DeviceKind::Filesystem => virtio,
        DeviceKind::Sound => match model {
            Some("sb16") | Some("pcspk") | Some("usb") => return None,
            _ => Class::Pci,
        },
        DeviceKind::Disk => {
            if view::sub_attr(d, "target", "bus") != Some("virtio") {
                return None;
            }
            virtio
        }
        DeviceKind::Hostdev => {
            if view::attr(d, "mode") == Some("capabilities") {
                return None;
            }
            match ty? {
                "pci" => pcie,
                "scsi_host" => virtio,
                "mdev" if model == Some("vfio-pci") => pcie,
                _ => return None,
            }
        }
        DeviceKind::Memballoon => {
            if model == Some("none") {
                return None;
            }
            virtio
        }
        DeviceKind::Rng | DeviceKind::Crypto | DeviceKind::Vsock => virtio,
        DeviceKind::Watchdog => {
            if model != Some("i6300esb") {
                return None;
            }
            Class::Pci
        }
        DeviceKind::Video => match view::sub_attr(d, "model", "type") {
            Some("none") | Some("ramfb") => return None,
            Some("virtio") => virtio,
            _ => Class::Pci,
        },
        DeviceKind::Shmem => Class::Pci,
        DeviceKind::Input => {
            if view::attr(d, "bus") != Some("virtio") {
                return None;
            }
            virtio
        }
        DeviceKind::Serial => {
            if view::sub_attr(d, "target", "type") != Some("pci-serial") {
                return None;
            }
            Class::Pci
        }
        DeviceKind::Iommu => {
            if model != Some("virtio") {
                return None;
            }
            if m.pcie {
                Class::Integrated
            } else {
                Class::Pci
            }
        }
        DeviceKind::Memory => match model {
            Some("virtio-pmem") | Some("virtio-mem") => virtio,
            _ => return None,
        },
        DeviceKind::Panic => {
            if model != Some("pvpanic") {
                return None;
            }
            Class::Pci
        }
        _ => return None,
    })
}

/// libvirt's assignment order: PCI controllers, filesystems, NICs, sound, other controllers,
/// disks, hostdevs, balloon, rng, watchdog, video, shmem, input, serial, iommu, vsock, memory,
/// crypto, panic.
fn group_of(d: &view::Device) -> usize {
    match view::kind(d) {
        DeviceKind::Controller if view::attr(d, "type") == Some("pci") => 0,
        DeviceKind::Filesystem => 1,
        DeviceKind::Interface => 2,
        DeviceKind::Sound => 3,
        DeviceKind::Controller => 4,
        DeviceKind::Disk => 5,
        DeviceKind::Hostdev => 6,
        DeviceKind::Memballoon => 7,
        DeviceKind::Rng => 8,
        DeviceKind::Watchdog => 9,
        DeviceKind::Video => 10,
        DeviceKind::Shmem => 11,
        DeviceKind::Input => 12,
        DeviceKind::Serial => 13,
        DeviceKind::Iommu => 14,
        DeviceKind::Vsock => 15,
        DeviceKind::Memory => 16,
        DeviceKind::Crypto => 17,
        DeviceKind::Panic => 18,
        _ => 99,
    }
}

/// Devices that the chipset pass places or that are never auto-assigned by the general pass.
fn skipped_by_general_pass(d: &view::Device) -> bool {
    view::kind(d) == DeviceKind::Controller
        && view::attr(d, "type") == Some("ide")
        && index_of(d) == Some(0)
}

fn new_space(def: &Prep, m: &Machine, grow: bool, nbuses: usize) -> Space {
    let mut buses: Vec<Bus> = (0..nbuses).map(|_| Bus::new(None)).collect();
    for d in &def.devices {
        if view::kind(d) != DeviceKind::Controller {
            continue;
        }
        if let (Some(model), Some(i)) = (controller_model(d), index_of(d)) {
            if let Some(b) = buses.get_mut(i as usize) {
                b.model = Some(model);
            }
        }
    }
    if let Some(b) = buses.first_mut() {
        if b.model.is_none() {
            b.model = Some(BusModel::PciRoot);
        }
    }
    let default = if m.pcie {
        BusModel::RootPort
    } else {
        BusModel::PciBridge
    };
    for b in buses.iter_mut().skip(1) {
        if b.model.is_none() {
            b.model = Some(default);
        }
    }
    let mut space = Space {
        buses,
        grow,
        placed: Vec::new(),
        pcie: m.pcie,
    };
    for d in &def.devices {
        if let Some(a) = pci_of(&view::address(d)) {
            let agg = view::kind(d) == DeviceKind::Controller
                && controller_model(d) == Some(BusModel::RootPort);
            space.reserve(a, agg);
        }
    }
    space
}

fn pci_address(addr: PciAddr, multifunction: Option<bool>) -> Address {
    Address::Pci {
        addr,
        multifunction,
        zpci: None,
    }
}

/// The fixed slots of the chipset: PIIX3 on i440fx, ICH9 on q35, and the primary video.
fn chipset(def: &mut Prep, m: &Machine, space: &mut Space) -> Result<(), PrepareError> {
    let at = |slot: u8, function: u8| PciAddr {
        domain: 0,
        bus: 0,
        slot,
        function,
    };
    if m.i440fx {
        for d in def.devices.iter_mut() {
            if view::kind(d) != DeviceKind::Controller || index_of(d) != Some(0) {
                continue;
            }
            let fixed = match (view::attr(d, "type"), view::attr(d, "model")) {
                (Some("ide"), _) => at(1, 1),
                (Some("usb"), None | Some("piix3-uhci")) => at(1, 2),
                _ => continue,
            };
            match pci_of(&view::address(d)) {
                Some(a) if a != fixed => {
                    return Err(PrepareError::Invalid {
                        device: view::describe(d),
                        message: format!(
                            "must have PCI address 0:0:{:x}.{:x}",
                            fixed.slot, fixed.function
                        ),
                    })
                }
                Some(_) => {}
                None => {
                    view::set_address(d, &pci_address(fixed, None));
                }
            }
            space.reserve(fixed, false);
        }
        space.reserve(at(1, 0), false);
        space.reserve(at(1, 3), false);
        primary_video(def, space, at(2, 0))?;
    }
    if m.q35 {
        for d in def.devices.iter_mut() {
            if view::kind(d) != DeviceKind::Controller {
                continue;
            }
            let ty = view::attr(d, "type");
            if ty == Some("sata") && index_of(d) == Some(0) {
                let fixed = at(0x1f, 2);
                match pci_of(&view::address(d)) {
                    Some(a) if a != fixed => {
                        return Err(PrepareError::Invalid {
                            device: view::describe(d),
                            message: "primary SATA controller must have PCI address 0:0:1f.2"
                                .into(),
                        })
                    }
                    Some(_) => {}
                    None => {
                        view::set_address(d, &pci_address(fixed, None));
                        space.reserve(fixed, false);
                    }
                }
            } else if ty == Some("usb")
                && view::attr(d, "model") == Some("ich9-uhci1")
                && view::address(d).is_none()
            {
                let slot = [0x1d, 0x1a].into_iter().find(|s| !space.slot_in_use(0, *s));
                if let Some(slot) = slot {
                    space.reserve(at(slot, 0), false);
                    view::set_address(d, &pci_address(at(slot, 0), Some(true)));
                }
            } else if ty == Some("pci")
                && view::attr(d, "model") == Some("dmi-to-pci-bridge")
                && view::address(d).is_none()
                && !space.slot_in_use(0, 0x1e)
            {
                space.reserve(at(0x1e, 0), false);
                view::set_address(d, &pci_address(at(0x1e, 0), None));
            }
        }
        space.reserve(at(0x1f, 0), false);
        space.reserve(at(0x1f, 3), false);
        primary_video(def, space, at(1, 0))?;
        if !space.slot_in_use(0, 0x1b) {
            if let Some(d) = def.devices.iter_mut().find(|d| {
                view::kind(d) == DeviceKind::Sound
                    && view::attr(d, "model") == Some("ich9")
                    && view::address(d).is_none()
            }) {
                space.reserve(at(0x1b, 0), false);
                view::set_address(d, &pci_address(at(0x1b, 0), None));
            }
        }
    }
    Ok(())
}

fn primary_video(def: &mut Prep, space: &mut Space, want: PciAddr) -> Result<(), PrepareError> {
    let Some(d) = def
        .devices
        .iter_mut()
        .find(|d| view::kind(d) == DeviceKind::Video)
    else {
        return Ok(());
    };
    if matches!(
        view::sub_attr(d, "model", "type"),
        Some("none") | Some("ramfb")
    ) || view::address(d).is_some()
    {
        return Ok(());
    }
    let a = if space.slot_in_use(0, want.slot) {
        space.next(Class::Pci, &view::describe(d))?
    } else {
        space.reserve(want, false);
        want
    };
    view::set_address(d, &pci_address(a, None));
    Ok(())
}

/// One pass of the general assignment over every device still without an address.
fn assign_devices(def: &mut Prep, m: &Machine, space: &mut Space) -> Result<(), PrepareError> {
    let mut order: Vec<(usize, usize)> = def
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| class_of(d, m).is_some() && !skipped_by_general_pass(d))
        .map(|(i, d)| (group_of(d), i))
        .collect();
    order.sort();
    for (_, i) in order {
        let d = &def.devices[i];
        if view::address(d).is_some() {
            continue;
        }
        let Some(c) = class_of(d, m) else { continue };
        if let Some((function, multi)) = usb2_function(d) {
            usb2_companion(def, i, c, function, multi, space)?;
            continue;
        }
        let a = space.next(c, &view::describe(d))?;
        view::set_address(&mut def.devices[i], &pci_address(a, None));
    }
    Ok(())
}

/// The function a USB2 EHCI controller or UHCI companion takes in its shared slot, and whether
/// it carries `multifunction='on'`.
fn usb2_function(d: &view::Device) -> Option<(u8, Option<bool>)> {
    if view::kind(d) != DeviceKind::Controller || view::attr(d, "type") != Some("usb") {
        return None;
    }
    Some(match view::attr(d, "model")? {
        "ich9-ehci1" => (7, None),
        "ich9-uhci1" => (0, Some(true)),
        "ich9-uhci2" => (1, None),
        "ich9-uhci3" => (2, None),
        _ => return None,
    })
}

/// USB2 controllers of one index share a slot: the first placed picks a free slot, the others
/// take their function in it.
fn usb2_companion(
    def: &mut Prep,
    i: usize,
    c: Class,
    function: u8,
    multi: Option<bool>,
    space: &mut Space,
) -> Result<(), PrepareError> {
    let idx = index_of(&def.devices[i]);
    let placed = def.devices.iter().find_map(|o| {
        (usb2_function(o).is_some() && index_of(o) == idx)
            .then(|| pci_of(&view::address(o)))
            .flatten()
    });
    let addr = match placed {
        Some(a) => PciAddr { function, ..a },
        None => {
            let a = space.next(c, &view::describe(&def.devices[i]))?;
            // `next` took function 0 of a free slot; this controller takes its own function.
            space.release(a);
            PciAddr { function, ..a }
        }
    };
    space.reserve(addr, false);
    view::set_address(&mut def.devices[i], &pci_address(addr, multi));
    Ok(())
}

/// Assigns PCI addresses, adding the buses the devices need.
pub(super) fn assign(def: &mut Prep, m: &Machine) -> Result<(), PrepareError> {
    let max_idx = def
        .devices
        .iter()
        .filter(|d| view::kind(d) == DeviceKind::Controller && view::attr(d, "type") == Some("pci"))
        .filter_map(index_of)
        .max();
    let Some(max_idx) = max_idx else {
        return Ok(());
    };
    let nbuses = max_idx as usize + 1;

    normalize_addresses(def);
    // First pass, on a scratch copy: how many buses do the devices need?
    let mut scratch = def.clone();
    let mut space = new_space(&scratch, m, true, nbuses);
    chipset(&mut scratch, m, &mut space)?;
    if !m.pcie && (0..space.buses.len()).any(|i| !space.bus_full(i)) {
        // Room for a future bridge on pci-root machines.
        space.next(Class::Pci, "reserved slot")?;
    }
    assign_devices(&mut scratch, m, &mut space)?;
    if max_idx == 0 && space.buses.len() > nbuses && m.pcie {
        space.next(Class::Pcie, "hotplug slot")?;
    }
    let mut i = nbuses;
    while i < space.buses.len() {
        let model = space.buses[i].model.unwrap_or(BusModel::PciBridge);
        let dev = view::new_device(&format!(
            "<controller type='pci' index='{i}' model='{}'/>",
            model.name()
        ))?;
        let class = match model {
            BusModel::RootPort => Class::RootPort,
            BusModel::PcieToPciBridge => Class::PcieToPciBridge,
            BusModel::DmiBridge => Class::DmiBridge,
            _ => Class::PciBridge,
        };
        if !space.placed.contains(&i) {
            space.next(class, &view::describe(&dev))?;
        }
        super::defaults::insert_controller(def, dev);
        i += 1;
    }

    // Second pass: the real assignment.
    let mut space = new_space(def, m, false, space.buses.len());
    space.grow = false;
    chipset(def, m, &mut space)?;
    assign_devices(def, m, &mut space)?;
    set_multifunction(def);
    controller_defaults(def);
    Ok(())
}

/// Writes every PCI address in libvirt's full form.
fn normalize_addresses(def: &mut Prep) {
    for d in def.devices.iter_mut() {
        if let Some(a @ Address::Pci { .. }) = view::address(d) {
            view::set_address(d, &a);
        }
    }
}

/// `multifunction='on'` on function 0 of every slot with more than one function in use.
fn set_multifunction(def: &mut Prep) {
    let addrs: Vec<PciAddr> = def
        .devices
        .iter()
        .filter_map(|d| pci_of(&view::address(d)))
        .collect();
    for d in def.devices.iter_mut() {
        let Some(Address::Pci {
            addr,
            multifunction: None,
            zpci,
        }) = view::address(d)
        else {
            continue;
        };
        if addr.function != 0 {
            continue;
        }
        let others = addrs.iter().any(|o| {
            o.domain == addr.domain && o.bus == addr.bus && o.slot == addr.slot && o.function != 0
        });
        if others {
            view::set_address(
                d,
                &Address::Pci {
                    addr,
                    multifunction: Some(true),
                    zpci,
                },
            );
        }
    }
}

const CONTROLLER_CHILDREN_AFTER_MODEL: &[&str] = &["target", "alias", "address"];
const CONTROLLER_CHILDREN_AFTER_TARGET: &[&str] = &["alias", "address"];

/// The QEMU device name and target values of every PCI controller.
fn controller_defaults(def: &mut Prep) {
    for d in def.devices.iter_mut() {
        if view::kind(d) != DeviceKind::Controller {
            continue;
        }
        let Some(model) = controller_model(d) else {
            continue;
        };
        let idx = index_of(d).unwrap_or(0);
        let name = match model {
            BusModel::PciBridge => Some("pci-bridge"),
            BusModel::DmiBridge => Some("i82801b11-bridge"),
            BusModel::PcieToPciBridge => Some("pcie-pci-bridge"),
            BusModel::RootPort => Some("pcie-root-port"),
            BusModel::UpstreamPort => Some("x3130-upstream"),
            BusModel::DownstreamPort => Some("xio3130-downstream"),
            BusModel::PciRoot | BusModel::PcieRoot => None,
        };
        let expander = matches!(
            view::attr(d, "model"),
            Some("pci-expander-bus") | Some("pcie-expander-bus")
        );
        if expander {
            continue;
        }
        if let Some(name) = name {
            if view::sub_attr(d, "model", "name").is_none() {
                view::set_sub_attr(
                    d,
                    "model",
                    CONTROLLER_CHILDREN_AFTER_MODEL,
                    "name",
                    name,
                    &[],
                );
            }
        }
        let addr = pci_of(&view::address(d));
        match model {
            BusModel::PciBridge if view::sub_attr(d, "target", "chassisNr").is_none() => {
                view::set_sub_attr(
                    d,
                    "target",
                    CONTROLLER_CHILDREN_AFTER_TARGET,
                    "chassisNr",
                    &idx.to_string(),
                    &[],
                );
            }
            BusModel::RootPort | BusModel::DownstreamPort => {
                if view::sub_attr(d, "target", "chassis").is_none() {
                    view::set_sub_attr(
                        d,
                        "target",
                        CONTROLLER_CHILDREN_AFTER_TARGET,
                        "chassis",
                        &idx.to_string(),
                        &["chassisNr"],
                    );
                }
                if view::sub_attr(d, "target", "port").is_none() {
                    let port = match (model, addr) {
                        (BusModel::RootPort, Some(a)) => ((a.slot as u32) << 3) + a.function as u32,
                        (_, Some(a)) => a.slot as u32,
                        (_, None) => 0,
                    };
                    view::set_sub_attr(
                        d,
                        "target",
                        CONTROLLER_CHILDREN_AFTER_TARGET,
                        "port",
                        &format!("{port:#x}"),
                        &["chassisNr", "chassis"],
                    );
                }
            }
            _ => {}
        }
    }
}
