//! Discovery on a made tree built from libvirt's `virpcitestdata` blobs.

mod common;

use common::{pci, FakeSysfs};
use virt_hostdev::config::PortType;
use virt_hostdev::{HostdevError, IommuStatus, PciConfig};

#[test]
fn every_blob_parses() {
    let dir = virt_testkit::libvirt_data("virpcitestdata");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("virpcitestdata").flatten() {
        let b = std::fs::read(e.path()).expect("blob");
        let c = PciConfig::parse(&b).unwrap_or_else(|err| panic!("{}: {err}", e.path().display()));
        // The header words as read directly.
        assert_eq!(c.vendor, u16::from_le_bytes([b[0], b[1]]));
        assert_eq!(c.device, u16::from_le_bytes([b[2], b[3]]));
        for cap in &c.capabilities {
            assert!(cap.offset >= 0x40 && cap.offset < b.len());
            assert_eq!(b[cap.offset], cap.id);
        }
        n += 1;
    }
    assert!(n >= 15, "{n} blobs");
}

#[test]
fn discovery_reports_ids_driver_groups_and_resets() {
    let fs = FakeSysfs::new("discover");
    fs.add_driver("vfio-pci");
    fs.add_pci("0000:00:01.0", Some("iwlwifi"), true, Some(1));
    fs.add_pci("0000:00:02.0", Some("i915"), true, Some(2));
    fs.add_pci("0001:00:00.0", Some("pcieport"), true, Some(9));
    fs.add_pci("0001:01:00.0", Some("e1000e"), true, Some(10));
    fs.add_pci("0001:01:00.1", Some("e1000e"), false, Some(10));
    fs.add_pci("0005:90:01.2", None, false, None);
    // Newer kernels list reset methods; PCIe devices show link attributes.
    let dev = fs.root().join("bus/pci/devices/0001:01:00.0");
    std::fs::write(dev.join("reset_method"), "pm bus\n").expect("reset_method");
    std::fs::write(dev.join("max_link_speed"), "2.5 GT/s PCIe\n").expect("link");
    std::fs::write(dev.join("current_link_width"), "4\n").expect("link");

    let sys = fs.sysfs();
    let status = sys.iommu_status().expect("status");
    assert_eq!(status, IommuStatus::Available { groups: 4 });
    let all = sys.pci_list().expect("list");
    assert_eq!(
        all.iter().map(|d| d.addr.to_string()).collect::<Vec<_>>(),
        [
            "0000:00:01.0",
            "0000:00:02.0",
            "0001:00:00.0",
            "0001:01:00.0",
            "0001:01:00.1",
            "0005:90:01.2"
        ]
    );
    let wifi = &all[0];
    assert_eq!(
        (wifi.vendor, wifi.device, wifi.class),
        (0x8086, 0x4238, 0x028000)
    );
    assert_eq!(wifi.driver.as_deref(), Some("iwlwifi"));
    assert_eq!(wifi.iommu_group, Some(1));
    assert_eq!(wifi.iommu_group_members, vec![pci("0000:00:01.0")]);
    assert!(wifi.reset_methods.is_empty());
    assert!(wifi.has_flr(), "PCIe FLR from config space");
    let wc = wifi.config.as_ref().expect("config");
    assert_eq!(wc.reset_methods(), vec!["flr", "pm"]);

    let gfx = &all[1];
    assert_eq!(
        (gfx.vendor, gfx.device, gfx.class),
        (0x8086, 0x0046, 0x030000)
    );
    assert!(gfx.has_flr(), "Advanced Features FLR");
    assert!(gfx.config.as_ref().expect("config").pcie.is_none());

    let root_port = all[2].config.as_ref().expect("config");
    let p = root_port.pcie.expect("pcie");
    assert_eq!(p.port_type, PortType::RootPort);
    assert_eq!((p.link_cap, p.link_status), (Some((2, 8)), Some((1, 4))));

    let nic = &all[3];
    assert_eq!(
        (nic.vendor, nic.device, nic.class),
        (0x8086, 0x105e, 0x020000)
    );
    assert_eq!(
        nic.iommu_group_members,
        vec![pci("0001:01:00.0"), pci("0001:01:00.1")]
    );
    assert_eq!(nic.reset_methods, vec!["pm", "bus"]);
    assert!(!nic.has_flr(), "the kernel's list has no flr");
    let link = nic.link.as_ref().expect("link");
    assert_eq!(link.max_speed.as_deref(), Some("2.5 GT/s PCIe"));
    assert_eq!(link.current_width.as_deref(), Some("4"));
    assert_eq!(all[4].driver, None);
    assert_eq!(all[4].driver_override, None);

    let orphan = &all[5];
    assert_eq!(
        (orphan.vendor, orphan.device, orphan.class),
        (0x1033, 0x00e0, 0x0c0320)
    );
    assert_eq!(orphan.iommu_group, None);

    assert!(matches!(
        sys.pci_device(pci("0000:42:00.0")),
        Err(HostdevError::PciNotFound { .. })
    ));
}

#[test]
fn no_iommu_on_a_made_tree() {
    let fs = FakeSysfs::new("no-iommu");
    let sys = fs.sysfs();
    let reason = format!(
        "no IOMMU: {}/kernel/iommu_groups is empty (no IOMMU is enabled; turn on VT-d/AMD-Vi and boot with intel_iommu=on or amd_iommu=on)",
        fs.root().display()
    );
    assert_eq!(
        sys.iommu_status().expect("status"),
        IommuStatus::Unavailable {
            reason: reason.clone()
        }
    );
    std::fs::remove_dir(fs.root().join("kernel/iommu_groups")).expect("rmdir");
    match sys.require_iommu() {
        Err(HostdevError::NoIommu(r)) => assert_eq!(
            r,
            format!(
                "no IOMMU: {}/kernel/iommu_groups is absent (the kernel has no IOMMU support)",
                fs.root().display()
            )
        ),
        other => panic!("expected NoIommu, got {other:?}"),
    }
}
