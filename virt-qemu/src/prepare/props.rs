//! Properties of the prepare stage over random device mixes: it never panics, what it writes
//! is a fixed point, no two devices share a PCI address, and every address is on a bus that
//! exists.

use proptest::prelude::*;
use virt_xml::Domain;

use crate::argv::caps::QemuCaps;

const DEVICES: &[&str] = &[
    "<disk type='file' device='disk'><source file='/a'/><target dev='vda' bus='virtio'/></disk>",
    "<disk type='file' device='disk'><source file='/b'/><target dev='vdb' bus='virtio'/></disk>",
    "<disk type='file' device='disk'><source file='/c'/><target dev='sda' bus='scsi'/></disk>",
    "<disk type='file' device='disk'><source file='/d'/><target dev='sdb' bus='sata'/></disk>",
    "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>",
    "<interface type='user'><model type='virtio'/></interface>",
    "<interface type='user'><model type='e1000'/></interface>",
    "<interface type='user'><model type='e1000e'/></interface>",
    "<controller type='usb' index='0' model='qemu-xhci'/>",
    "<controller type='scsi' index='0' model='virtio-scsi'/>",
    "<channel type='pty'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
    "<console type='pty'/>",
    "<input type='tablet' bus='usb'/>",
    "<input type='keyboard' bus='virtio'/>",
    "<graphics type='vnc'/>",
    "<graphics type='spice'/>",
    "<video><model type='qxl'/></video>",
    "<video><model type='virtio'/></video>",
    "<sound model='ich9'/>",
    "<sound model='ich6'/>",
    "<watchdog model='i6300esb'/>",
    "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
    "<memballoon model='none'/>",
];

fn domain(machine: &str, picks: &[usize]) -> String {
    let mut devs = String::new();
    for &i in picks {
        devs.push_str(DEVICES[i % DEVICES.len()]);
    }
    format!(
        "<domain type='kvm'><name>p</name><memory>65536</memory>\
         <os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices>{devs}</devices></domain>"
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prepared_definitions_are_consistent(
        q35 in any::<bool>(),
        picks in proptest::collection::vec(0usize..DEVICES.len(), 0..12),
    ) {
        let xml = domain(if q35 { "q35" } else { "pc" }, &picks);
        // Mixes the XML layer refuses are out of scope here.
        let Ok(mut d) = Domain::parse(&xml) else { return Ok(()) };
        let caps = QemuCaps::x86_64_7_2();
        if let Err(e) = super::prepare(&mut d, &caps) {
            prop_assert!(false, "{e}");
        }
        let once = d.to_xml();
        let mut again = Domain::parse(&once).expect("prepared output parses");
        super::prepare(&mut again, &caps).expect("prepared output prepares again");
        prop_assert_eq!(&once, &again.to_xml());

        let aliases = super::aliases(&d);
        let buses: Vec<u32> = aliases
            .iter()
            .filter_map(|a| a.strip_prefix("pci.").or_else(|| a.strip_prefix("pcie.")))
            .filter_map(|i| i.parse().ok())
            .collect();
        let mut seen: Vec<(virt_xml::PciAddr, &String)> = Vec::new();
        for (dev, alias) in d.devices.iter().zip(&aliases) {
            if let Some(virt_xml::address::Address::Pci { addr, .. }) = dev.address().cloned() {
                // A serial console repeats its serial port (same alias, same address).
                let twice = seen.iter().any(|(a, who)| *a == addr && *who != alias);
                prop_assert!(!twice, "{addr:?} twice in {once}");
                prop_assert!(buses.contains(&u32::from(addr.bus)), "bus of {addr:?} in {once}");
                seen.push((addr, alias));
            }
        }
        prop_assert_eq!(super::aliases(&d).len(), d.devices.len());
    }
}
