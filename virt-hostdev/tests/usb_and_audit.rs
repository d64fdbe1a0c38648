//! USB discovery on a made tree, and the exact audit texts for every bus.

mod common;

use common::{pci, FakeSysfs};
use virt_audit::records::{hostdev, HostdevAddr};
use virt_audit::{Auditor, DevNum, Outcome, VirtType, VmIdentity};
use virt_hostdev::{AssignReason, Assigned, HostdevError, HostdevId, HostdevManager, UsbSelector};
use virt_testkit::TempDir;
use virt_xml::UsbAddr;

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

fn vm(name: &str) -> VmIdentity {
    let u: virt_xml::Uuid = UUID.parse().expect("uuid");
    VmIdentity::new(VirtType::Qemu, name, u.0)
}

fn usb_tree(name: &str) -> FakeSysfs {
    let fs = FakeSysfs::new(name);
    fs.add_usb("usb1", 1, 1, 0x1d6b, 0x0002, "EHCI Host Controller");
    fs.add_usb("1-1", 1, 2, 0x046d, 0xc52b, "USB Receiver");
    fs.add_usb("1-2", 1, 5, 0x0781, 0x5567, "Cruzer Blade");
    fs.add_usb("2-1", 2, 3, 0x0781, 0x5567, "Cruzer Blade");
    fs
}

#[test]
fn usb_find_by_address_and_by_ids() {
    let fs = usb_tree("usb-find");
    let sys = fs.sysfs();
    let all = sys.usb_list().expect("list");
    assert_eq!(
        all.iter().map(|d| d.addr.to_string()).collect::<Vec<_>>(),
        ["001.001", "001.002", "001.005", "002.003"],
        "interfaces are not devices"
    );
    let d = sys.usb_find(&"1.2".parse().expect("sel")).expect("1.2");
    assert_eq!((d.vendor, d.product), (0x046d, 0xc52b));
    assert_eq!(d.name, "1-1");
    assert_eq!(d.product_name.as_deref(), Some("USB Receiver"));
    assert_eq!(d.dev_node, std::path::PathBuf::from("/dev/bus/usb/001/002"));
    assert_eq!(d.rdev, Some(DevNum::new(189, 1)));

    let d = sys
        .usb_find(&"046d:c52b".parse().expect("sel"))
        .expect("ids");
    assert_eq!(d.addr, UsbAddr { bus: 1, device: 2 });

    let e = sys
        .usb_find(&"0781:5567".parse().expect("sel"))
        .expect_err("two sticks");
    assert_eq!(
        e.to_string(),
        "USB device 0781:5567 is ambiguous: 2 devices match (001.005, 002.003); name it by bus.device"
    );
    let d = sys.usb_find(&"2.3".parse().expect("sel")).expect("2.3");
    assert_eq!(d.dev_node, std::path::PathBuf::from("/dev/bus/usb/002/003"));
    assert_eq!(d.rdev, Some(DevNum::new(189, 130)));

    let e = sys
        .usb_find(&UsbSelector::Product {
            vendor: 0xdead,
            product: 0xbeef,
        })
        .expect_err("absent");
    assert_eq!(
        e.to_string(),
        format!(
            "USB device dead:beef not found under {}/bus/usb/devices",
            fs.root().display()
        )
    );
}

#[test]
fn usb_assign_is_owned_and_audited() {
    let fs = usb_tree("usb-assign");
    let state = TempDir::new("hostdev-usb-state").expect("state");
    let (auditor, audit) = Auditor::memory();
    let mgr = HostdevManager::new(fs.sysfs(), state.path(), auditor).expect("manager");
    let (a, b) = (
        vm("usb-a"),
        VmIdentity::new(VirtType::Qemu, "usb-b", [9; 16]),
    );
    let id = HostdevId::Usb(UsbAddr { bus: 1, device: 2 });
    let got = mgr
        .assign(&a, &id, AssignReason::Start, false)
        .expect("usb");
    match got {
        Assigned::Usb(d) => {
            assert_eq!(d.dev_node, std::path::PathBuf::from("/dev/bus/usb/001/002"))
        }
        o => panic!("expected USB, got {o:?}"),
    }
    assert!(matches!(
        mgr.assign(&b, &id, AssignReason::Attach, false),
        Err(HostdevError::InUse { .. })
    ));
    let missing = HostdevId::Usb(UsbAddr { bus: 3, device: 9 });
    assert!(matches!(
        mgr.assign(&b, &missing, AssignReason::Attach, false),
        Err(HostdevError::UsbNotFound { .. })
    ));
    mgr.release(&a, &id).expect("release");
    assert!(
        fs.kernel.journal().is_empty(),
        "USB passthrough writes nothing to sysfs"
    );
    let bu = b.uuid_string();
    assert_eq!(
        audit.summaries(),
        vec![
            format!("virt=qemu resrc=dev reason=start vm=\"usb-a\" uuid={UUID} bus=usb device=\"001.002\" res=success"),
            format!("virt=qemu resrc=dev reason=attach vm=\"usb-b\" uuid={bu} bus=usb device=\"001.002\" res=failed"),
            format!("virt=qemu resrc=dev reason=attach vm=\"usb-b\" uuid={bu} bus=usb device=\"003.009\" res=failed"),
            format!("virt=qemu resrc=dev reason=detach vm=\"usb-a\" uuid={UUID} bus=usb device=\"001.002\" res=success"),
        ]
    );
}

#[test]
fn scsi_and_mdev_records() {
    let fs = FakeSysfs::new("scsi-mdev");
    let mdev_uuid = "2fde2a4a-2a5f-4c7e-a1a2-8f2c9f1b3e11";
    std::fs::create_dir_all(fs.root().join("bus/mdev/devices").join(mdev_uuid)).expect("mdev");
    let state = TempDir::new("hostdev-scsi-state").expect("state");
    let (auditor, audit) = Auditor::memory();
    let mgr = HostdevManager::new(fs.sysfs(), state.path(), auditor).expect("manager");
    let g = vm("guest-s");
    let scsi = HostdevId::Scsi {
        adapter: "scsi_host0".into(),
        bus: 0,
        target: 3,
        unit: 7,
    };
    let mdev = HostdevId::Mdev(mdev_uuid.parse().expect("uuid"));
    let absent = HostdevId::Mdev(
        "00000000-0000-0000-0000-000000000001"
            .parse()
            .expect("uuid"),
    );
    mgr.assign(&g, &scsi, AssignReason::Attach, false)
        .expect("scsi");
    mgr.assign(&g, &mdev, AssignReason::Start, false)
        .expect("mdev");
    let e = mgr
        .assign(&g, &absent, AssignReason::Attach, false)
        .expect_err("absent mdev");
    assert!(matches!(e, HostdevError::MdevNotFound { .. }));
    mgr.release(&g, &scsi).expect("scsi release");
    assert_eq!(mgr.held_by(&g).expect("held"), vec![mdev.clone()]);
    assert_eq!(
        audit.summaries(),
        vec![
            format!("virt=qemu resrc=dev reason=attach vm=\"guest-s\" uuid={UUID} bus=scsi device=\"scsi_host0:0:3:7\" res=success"),
            format!("virt=qemu resrc=dev reason=start vm=\"guest-s\" uuid={UUID} bus=mdev device=\"{mdev_uuid}\" res=success"),
            format!("virt=qemu resrc=dev reason=attach vm=\"guest-s\" uuid={UUID} bus=mdev device=\"00000000-0000-0000-0000-000000000001\" res=failed"),
            format!("virt=qemu resrc=dev reason=detach vm=\"guest-s\" uuid={UUID} bus=scsi device=\"scsi_host0:0:3:7\" res=success"),
        ]
    );
}

#[test]
fn audit_addresses_match_the_record_builder() {
    // HostdevId's audit address is the one virt-audit formats: PCI in lowercase hex, USB zero-padded;
    // a name with a quote in it is hex-encoded, as libaudit does.
    let g = VmIdentity::new(VirtType::Kvm, "vm \"q\"", [0xab; 16]);
    let id = HostdevId::Pci(pci("0000:00:1f.0"));
    assert_eq!(
        id.audit_addr(),
        HostdevAddr::Pci {
            domain: 0,
            bus: 0,
            slot: 0x1f,
            function: 0
        }
    );
    assert_eq!(
        hostdev(&g, "attach", &id.audit_addr(), Outcome::Success).summary(),
        "virt=kvm resrc=dev reason=attach vm=766D20227122 uuid=abababab-abab-abab-abab-abababababab bus=pci device=\"0000:00:1f.0\" res=success"
    );
    let usb = HostdevId::Usb(UsbAddr { bus: 1, device: 2 });
    assert_eq!(
        hostdev(&g, "detach", &usb.audit_addr(), Outcome::Failed).summary(),
        "virt=kvm resrc=dev reason=detach vm=766D20227122 uuid=abababab-abab-abab-abab-abababababab bus=usb device=\"001.002\" res=failed"
    );
}
