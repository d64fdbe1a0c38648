//! Exact texts, derived field by field from libvirt 9.0's format strings in `domain_audit.c`.

use super::*;
use crate::VirtType;

const UUID: &str = "8f2c1d3e-4b5a-6978-8a9b-0c1d2e3f4a11";

fn vm() -> VmIdentity {
    VmIdentity::new(
        VirtType::Kvm,
        "g1",
        [
            0x8f, 0x2c, 0x1d, 0x3e, 0x4b, 0x5a, 0x69, 0x78, 0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f,
            0x4a, 0x11,
        ],
    )
}

fn spaced() -> VmIdentity {
    VmIdentity::new(VirtType::Qemu, "my vm", vm().uuid)
}

#[track_caller]
fn check(r: &Record, rtype: RecordType, summary: &str) {
    assert_eq!(r.rtype, rtype);
    assert_eq!(r.summary(), summary);
}

fn res(r: Option<Record>) -> Record {
    r.expect("a record")
}

#[test]
fn uuid_form() {
    assert_eq!(vm().uuid_string(), UUID);
}

#[test]
fn lifecycle_records() {
    check(
        &start(&vm(), "booted", 1234, Outcome::Success),
        RecordType::VirtControl,
        &format!("virt=kvm op=start reason=booted vm=\"g1\" uuid={UUID} vm-pid=1234 res=success"),
    );
    check(
        &start(&vm(), "booted", -1, Outcome::Failed),
        RecordType::VirtControl,
        &format!("virt=kvm op=start reason=booted vm=\"g1\" uuid={UUID} vm-pid=-1 res=failed"),
    );
    check(
        &stop(&vm(), "destroyed", 0),
        RecordType::VirtControl,
        &format!("virt=kvm op=stop reason=destroyed vm=\"g1\" uuid={UUID} vm-pid=0 res=success"),
    );
    check(
        &init(&VmIdentity::new(VirtType::Lxc, "c1", vm().uuid), 100, 101, 4026532000),
        RecordType::VirtControl,
        &format!(
            "virt=lxc op=init vm=\"c1\" uuid={UUID} vm-pid=100 init-pid=101 pid-ns=4026532000 res=success"
        ),
    );
    check(
        &lifecycle(&spaced(), "start", "restored", 7, Outcome::Success),
        RecordType::VirtControl,
        &format!(
            "virt=qemu op=start reason=restored vm=6D7920766D uuid={UUID} vm-pid=7 res=success"
        ),
    );
}

#[test]
fn machine_id_record() {
    check(
        &machine_id(
            &vm(),
            Some("+0:+0"),
            Some("+0:+0"),
            Some("dac"),
            Outcome::Success,
        ),
        RecordType::VirtMachineId,
        &format!("virt=kvm vm=\"g1\" uuid={UUID} vm-ctx=+0:+0 img-ctx=+0:+0 model=dac res=success"),
    );
    check(
        &machine_id(&vm(), None, None, Some("none"), Outcome::Success),
        RecordType::VirtMachineId,
        &format!("virt=kvm vm=\"g1\" uuid={UUID} vm-ctx=? img-ctx=? model=none res=success"),
    );
}

#[test]
fn generic_devices() {
    check(
        &res(disk(&vm(), "start", None, Some("/path/disk0.img"), Outcome::Success)),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=disk reason=start vm=\"g1\" uuid={UUID} old-disk=\"?\" new-disk=\"/path/disk0.img\" res=success"
        ),
    );
    check(
        &res(disk(&vm(), "update", Some("/a b.iso"), None, Outcome::Failed)),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=disk reason=update vm=\"g1\" uuid={UUID} old-disk=2F6120622E69736F new-disk=\"?\" res=failed"
        ),
    );
    assert_eq!(disk(&vm(), "start", None, None, Outcome::Success), None);
    check(
        &res(fs(&vm(), "attach", None, Some("/srv/share"), Outcome::Success)),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=fs reason=attach vm=\"g1\" uuid={UUID} old-fs=\"?\" new-fs=\"/srv/share\" res=success"
        ),
    );
    check(
        &res(chardev(&vm(), "start", None, Some("/dev/pts/0"), Outcome::Success)),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=chardev reason=start vm=\"g1\" uuid={UUID} old-chardev=\"?\" new-chardev=\"/dev/pts/0\" res=success"
        ),
    );
    check(
        &res(rng(&vm(), "start", None, Some("/dev/urandom"), Outcome::Success)),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=rng reason=start vm=\"g1\" uuid={UUID} old-rng=\"?\" new-rng=\"/dev/urandom\" res=success"
        ),
    );
}

#[test]
fn net_records() {
    let mac = "52:54:00:aa:00:01";
    for reason in ["start", "attach"] {
        check(
            &res(net(&vm(), reason, None, Some(&mac), Outcome::Success)),
            RecordType::VirtResource,
            &format!(
                "virt=kvm resrc=net reason={reason} vm=\"g1\" uuid={UUID} old-net=\"?\" new-net=\"{mac}\" res=success"
            ),
        );
    }
    check(
        &res(net(&vm(), "detach", Some(&mac), None, Outcome::Success)),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=net reason=detach vm=\"g1\" uuid={UUID} old-net=\"{mac}\" new-net=\"?\" res=success"
        ),
    );
    check(
        &net_open(&vm(), &mac, "/dev/net/tun", Some(DevNum::new(10, 200)), Outcome::Success),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=net reason=open vm=\"g1\" uuid={UUID} net={mac} path=\"/dev/net/tun\" rdev=0A:C8 res=success"
        ),
    );
    check(
        &net_open(&vm(), &mac, "/dev/tap12", None, Outcome::Failed),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=net reason=open vm=\"g1\" uuid={UUID} net={mac} path=\"/dev/tap12\" rdev=? res=failed"
        ),
    );
    check(
        &net_open(&vm(), &mac, "/dev/vhost-net", Some(DevNum::new(10, 238)), Outcome::Success),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=net reason=open vm=\"g1\" uuid={UUID} net={mac} path=\"/dev/vhost-net\" rdev=0A:EE res=success"
        ),
    );
    // A major of 3 hex digits is not cut (%02X is a minimum width).
    assert_eq!(DevNum::new(0x1f3, 0x1234).to_string(), "1F3:1234");
}

#[test]
fn cgroup_records() {
    let cg = "/sys/fs/cgroup/devices/machine.slice/machine-qemu\\x2d1\\x2dg1.scope/";
    let cg_enc = "cgroup=\"/sys/fs/cgroup/devices/machine.slice/machine-qemu\\x2d1\\x2dg1.scope/\"";
    check(
        &cgroup(&vm(), cg, "deny", CgroupClass::All, Outcome::Success),
        RecordType::VirtResource,
        &format!("virt=kvm resrc=cgroup reason=deny vm=\"g1\" uuid={UUID} {cg_enc} class=all res=success"),
    );
    check(
        &cgroup(
            &vm(),
            cg,
            "allow",
            CgroupClass::Path {
                path: "/dev/kvm",
                rdev: Some(DevNum::new(10, 232)),
                acl: "rw",
            },
            Outcome::Success,
        ),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=cgroup reason=allow vm=\"g1\" uuid={UUID} {cg_enc} class=path path=\"/dev/kvm\" rdev=0A:E8 acl=rw res=success"
        ),
    );
    check(
        &cgroup(
            &vm(),
            cg,
            "allow",
            CgroupClass::Major {
                category: "pty",
                major: 136,
                acl: "rw",
            },
            Outcome::Success,
        ),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=cgroup reason=allow vm=\"g1\" uuid={UUID} {cg_enc} class=major category=pty maj=88 acl=rw res=success"
        ),
    );
    check(
        &cgroup(
            &vm(),
            "?",
            "deny",
            CgroupClass::Path {
                path: "/dev/my disk",
                rdev: None,
                acl: "rwm",
            },
            Outcome::Failed,
        ),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=cgroup reason=deny vm=\"g1\" uuid={UUID} cgroup=\"?\" class=path path=2F6465762F6D79206469736B rdev=? acl=rwm res=failed"
        ),
    );
}

#[test]
fn hostdev_records() {
    let pci = HostdevAddr::Pci {
        domain: 0,
        bus: 0,
        slot: 0x1f,
        function: 0,
    };
    check(
        &hostdev(&vm(), "attach", &pci, Outcome::Success),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=dev reason=attach vm=\"g1\" uuid={UUID} bus=pci device=\"0000:00:1f.0\" res=success"
        ),
    );
    let pci2 = HostdevAddr::Pci {
        domain: 0x10,
        bus: 0xab,
        slot: 3,
        function: 7,
    };
    assert_eq!(pci2.device(), "0010:ab:03.7");
    check(
        &hostdev(&vm(), "start", &HostdevAddr::Usb { bus: 1, device: 2 }, Outcome::Success),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=dev reason=start vm=\"g1\" uuid={UUID} bus=usb device=\"001.002\" res=success"
        ),
    );
    let scsi = HostdevAddr::Scsi {
        adapter: "scsi_host0".into(),
        bus: 0,
        target: 0,
        unit: 0,
    };
    check(
        &hostdev(&vm(), "detach", &scsi, Outcome::Failed),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=dev reason=detach vm=\"g1\" uuid={UUID} bus=scsi device=\"scsi_host0:0:0:0\" res=failed"
        ),
    );
    let mdev = HostdevAddr::Mdev {
        uuid: "53764d0e-85a0-42b4-af5c-2046b460b1dc".into(),
    };
    check(
        &hostdev(&vm(), "start", &mdev, Outcome::Success),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=dev reason=start vm=\"g1\" uuid={UUID} bus=mdev device=\"53764d0e-85a0-42b4-af5c-2046b460b1dc\" res=success"
        ),
    );
    let wwpn = HostdevAddr::ScsiHost {
        wwpn: "naa.5123456789abcde0".into(),
    };
    check(
        &hostdev(&vm(), "attach", &wwpn, Outcome::Success),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=dev reason=attach vm=\"g1\" uuid={UUID} bus=scsi_host device=\"naa.5123456789abcde0\" res=success"
        ),
    );
    check(
        &redirdev(&vm(), "start", Outcome::Success),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=dev reason=start vm=\"g1\" uuid={UUID} bus=usb device=555342207265646972646576 res=success"
        ),
    );
    check(
        &hostdev_storage(&vm(), "start", Some("/dev/sdf"), Outcome::Success),
        RecordType::VirtResource,
        &format!("virt=kvm resrc=hostdev reason=start vm=\"g1\" uuid={UUID} disk=\"/dev/sdf\" res=success"),
    );
    check(
        &hostdev_misc(&vm(), "attach", Some("/dev/input/event3"), Outcome::Success),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=hostdev reason=attach vm=\"g1\" uuid={UUID} chardev=\"/dev/input/event3\" res=success"
        ),
    );
}

#[test]
fn tpm_records() {
    check(
        &tpm(&vm(), "start", TpmBackend::Passthrough { path: Some("/dev/tpm0") }, Outcome::Success),
        RecordType::VirtResource,
        &format!("virt=kvm resrc=tpm reason=start vm=\"g1\" uuid={UUID} device=\"/dev/tpm0\" res=success"),
    );
    check(
        &tpm(
            &vm(),
            "start",
            TpmBackend::Emulator {
                socket: Some("/run/libvirt/qemu/swtpm/1-g1-swtpm.sock"),
            },
            Outcome::Success,
        ),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=tpm-emulator reason=start vm=\"g1\" uuid={UUID} device=\"/run/libvirt/qemu/swtpm/1-g1-swtpm.sock\" res=success"
        ),
    );
    check(
        &tpm(&vm(), "start", TpmBackend::External { socket: None }, Outcome::Failed),
        RecordType::VirtResource,
        &format!("virt=kvm resrc=tpm-external reason=start vm=\"g1\" uuid={UUID} device=\"?\" res=failed"),
    );
}

#[test]
fn shmem_and_inputs() {
    check(
        &shmem(&vm(), "start", "my_shmem0", 4194304, Outcome::Success),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=shmem reason=start vm=\"g1\" uuid={UUID} size=4194304 path=/dev/shm/my_shmem0 res=success"
        ),
    );
    check(
        &ivshmem_socket(&vm(), "attach", Some("/tmp/ivshmem_socket"), Outcome::Success),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=ivshmem-socket reason=attach vm=\"g1\" uuid={UUID} path=/tmp/ivshmem_socket res=success"
        ),
    );
    check(
        &evdev(&vm(), "start", Some("/dev/input/event1234"), Outcome::Success),
        RecordType::VirtResource,
        &format!("virt=kvm resrc=evdev reason=start vm=\"g1\" uuid={UUID} path=/dev/input/event1234 res=success"),
    );
    check(
        &evdev(&vm(), "detach", None, Outcome::Failed),
        RecordType::VirtResource,
        &format!("virt=kvm resrc=evdev reason=detach vm=\"g1\" uuid={UUID} path=? res=failed"),
    );
}

#[test]
fn smartcards() {
    let host = smartcard(&vm(), "start", &SmartcardSource::Host, Outcome::Success);
    assert_eq!(
        host.iter().map(Record::summary).collect::<Vec<_>>(),
        [format!(
            "virt=kvm resrc=smartcard reason=start vm=\"g1\" uuid={UUID} old-smartcard=\"?\" new-smartcard=\"nss-smartcard-device\" res=success"
        )]
    );
    let certs = smartcard(
        &vm(),
        "start",
        &SmartcardSource::HostCertificates {
            certificates: ["cert1", "cert2", "cert3"],
            database: None,
        },
        Outcome::Success,
    );
    let want: Vec<String> = ["cert1", "cert2", "cert3", "/etc/pki/nssdb"]
        .iter()
        .map(|p| {
            format!(
                "virt=kvm resrc=smartcard reason=start vm=\"g1\" uuid={UUID} old-smartcard=\"?\" new-smartcard=\"{p}\" res=success"
            )
        })
        .collect();
    assert_eq!(certs.iter().map(Record::summary).collect::<Vec<_>>(), want);
    assert!(smartcard(
        &vm(),
        "start",
        &SmartcardSource::Passthrough { path: None },
        Outcome::Success
    )
    .is_empty());
}

#[test]
fn integer_resources() {
    check(
        &memory(&vm(), "start", 0, 262144, Outcome::Success),
        RecordType::VirtResource,
        &format!("virt=kvm resrc=mem reason=start vm=\"g1\" uuid={UUID} old-mem=0 new-mem=262144 res=success"),
    );
    check(
        &vcpu(&vm(), "start", 0, 2, Outcome::Success),
        RecordType::VirtResource,
        &format!("virt=kvm resrc=vcpu reason=start vm=\"g1\" uuid={UUID} old-vcpu=0 new-vcpu=2 res=success"),
    );
    check(
        &iothread(&vm(), "update", 2, 4, Outcome::Failed),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=iothread reason=update vm=\"g1\" uuid={UUID} old-iothread=2 new-iothread=4 res=failed"
        ),
    );
    // %lld of an unsigned long long.
    check(
        &memory(&vm(), "update", u64::MAX, 1, Outcome::Success),
        RecordType::VirtResource,
        &format!("virt=kvm resrc=mem reason=update vm=\"g1\" uuid={UUID} old-mem=-1 new-mem=1 res=success"),
    );
}

#[test]
fn device_change_kept() {
    check(
        &device_change(&vm(), "disk", "start", None, None, Outcome::Success),
        RecordType::VirtResource,
        &format!(
            "virt=kvm resrc=disk reason=start vm=\"g1\" uuid={UUID} old-disk=\"?\" new-disk=\"?\" res=success"
        ),
    );
}

mod props {
    use super::*;
    use crate::encode::decode_value;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the name and path, the body stays one token per field and the encoded
        /// values decode back to the originals.
        #[test]
        fn fields_stay_tokens(name in "[^\\x00]{0,24}", path in "[^\\x00]{0,40}") {
            let vm = VmIdentity::new(VirtType::Kvm, name.clone(), [7; 16]);
            let r = net_open(&vm, &"52:54:00:00:00:01", &path, None, Outcome::Success);
            let tokens: Vec<&str> = r.body.split(' ').collect();
            prop_assert_eq!(tokens.len(), 8);
            let vm_field = tokens[3].strip_prefix("vm=").unwrap_or_default();
            prop_assert_eq!(decode_value(vm_field), Some(name.into_bytes()));
            let path_field = tokens[6].strip_prefix("path=").unwrap_or_default();
            prop_assert_eq!(decode_value(path_field), Some(path.into_bytes()));
        }
    }
}
