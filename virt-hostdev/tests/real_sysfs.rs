//! Read-only discovery on this machine's real `/sys`: checked against the sysfs files themselves.
//! The test machine is a KVM guest with virtio PCI devices, no IOMMU and no USB bus.

use std::path::Path;

use virt_audit::{Auditor, VirtType, VmIdentity};
use virt_hostdev::{AssignReason, HostdevError, HostdevId, HostdevManager, IommuStatus, Sysfs};
use virt_testkit::TempDir;

fn hex_file(p: &Path) -> u32 {
    let t = std::fs::read_to_string(p).expect("sysfs attribute");
    u32::from_str_radix(t.trim().trim_start_matches("0x"), 16).expect("hex attribute")
}

#[test]
fn pci_discovery_matches_sysfs() {
    let sys = Sysfs::default();
    let devs = sys.pci_list().expect("pci list");
    let names: Vec<String> = std::fs::read_dir("/sys/bus/pci/devices")
        .expect("/sys/bus/pci/devices")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(devs.len(), names.len(), "every device listed");
    assert!(!devs.is_empty());
    for d in &devs {
        let p = Path::new("/sys/bus/pci/devices").join(d.addr.to_string());
        assert_eq!(
            u32::from(d.vendor),
            hex_file(&p.join("vendor")),
            "{}",
            d.addr
        );
        assert_eq!(
            u32::from(d.device),
            hex_file(&p.join("device")),
            "{}",
            d.addr
        );
        assert_eq!(d.class, hex_file(&p.join("class")), "{}", d.addr);
        let driver = std::fs::read_link(p.join("driver"))
            .ok()
            .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()));
        assert_eq!(d.driver, driver, "{}", d.addr);
        // No IOMMU here: no device has a group.
        assert_eq!(d.iommu_group, None, "{}", d.addr);
        assert!(d.iommu_group_members.is_empty());
        // Config space (64 bytes unprivileged, 256 or more as root) agrees with the attribute files.
        let c = d
            .config
            .as_ref()
            .unwrap_or_else(|| panic!("{}: config unreadable: {:?}", d.addr, d.config_error));
        assert_eq!(
            (c.vendor, c.device, c.class),
            (d.vendor, d.device, d.class),
            "{}",
            d.addr
        );
    }
    let virtio: Vec<_> = devs.iter().filter(|d| d.vendor == 0x1af4).collect();
    assert!(
        !virtio.is_empty(),
        "at least one virtio device (vendor 0x1af4)"
    );
    for d in &virtio {
        assert!(
            (0x1000..=0x107f).contains(&d.device),
            "{}: virtio device id {:04x}",
            d.addr,
            d.device
        );
        if let Some(drv) = &d.driver {
            assert_eq!(drv, "virtio-pci", "{}", d.addr);
        }
    }
}

#[test]
fn no_iommu_is_a_clear_reason() {
    let sys = Sysfs::default();
    let status = sys.iommu_status().expect("iommu status");
    let reason = match &status {
        IommuStatus::Unavailable { reason } => reason.clone(),
        IommuStatus::Available { groups } => {
            panic!("this machine has no IOMMU, yet {groups} groups")
        }
    };
    assert!(
        reason.starts_with("no IOMMU: /sys/kernel/iommu_groups is "),
        "{reason}"
    );
    let groups = Path::new("/sys/kernel/iommu_groups");
    if groups.is_dir() {
        assert_eq!(std::fs::read_dir(groups).expect("groups").count(), 0);
        assert!(reason.contains("is empty"), "{reason}");
    } else {
        assert!(reason.contains("is absent"), "{reason}");
    }

    // Passthrough of a real device is refused before anything is written, with that reason and a
    // failed record.
    let dev = sys
        .pci_list()
        .expect("pci list")
        .into_iter()
        .find(|d| d.vendor == 0x1af4)
        .expect("a virtio device");
    let state = TempDir::new("hostdev-real-state").expect("state");
    let (auditor, audit) = Auditor::memory();
    let mgr = HostdevManager::new(sys, state.path(), auditor).expect("manager");
    let vm = VmIdentity::new(VirtType::Kvm, "real", [1; 16]);
    let e = mgr
        .assign(&vm, &HostdevId::Pci(dev.addr), AssignReason::Attach, true)
        .expect_err("no IOMMU");
    assert!(matches!(e, HostdevError::NoIommu(_)));
    assert_eq!(
        e.to_string(),
        format!("PCI passthrough is impossible on this host: {reason}")
    );
    assert!(matches!(
        mgr.detach_host(dev.addr),
        Err(HostdevError::NoIommu(_))
    ));
    assert_eq!(
        audit.summaries(),
        vec![format!(
            "virt=kvm resrc=dev reason=attach vm=\"real\" uuid=01010101-0101-0101-0101-010101010101 bus=pci device=\"{}\" res=failed",
            dev.addr
        )]
    );
    // The device was left as it was.
    let after = mgr.sysfs().pci_device(dev.addr).expect("device");
    assert_eq!(
        (&after.driver, &after.driver_override, after.iommu_group),
        (&dev.driver, &dev.driver_override, dev.iommu_group)
    );
    assert!(mgr.held_by(&vm).expect("held").is_empty());
}

#[test]
fn no_usb_bus_is_a_clear_error() {
    let sys = Sysfs::default();
    if Path::new("/sys/bus/usb").exists() {
        // A host with USB: the listing must then agree with sysfs.
        let devs = sys.usb_list().expect("usb list");
        for d in devs {
            let busnum = std::fs::read_to_string(d.path.join("busnum")).expect("busnum");
            assert_eq!(busnum.trim().parse::<u32>().ok(), Some(d.addr.bus));
        }
        return;
    }
    let e = sys.usb_list().expect_err("no usb");
    assert_eq!(e.to_string(), "no USB bus in sysfs: /sys/bus/usb is absent");
    let e = sys
        .usb_find(&"1.2".parse().expect("selector"))
        .expect_err("no usb");
    assert!(matches!(e, HostdevError::NoUsb { .. }));
}
