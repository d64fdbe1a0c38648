//! NIC hot-plug against a real QEMU 7.2 with a real tap, made in a private network namespace.

mod common;

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use serde_json::{json, Value};
use virt_testkit::{system_test, Facility, NetNs};

/// `TUNSETIFF` = `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

/// Opens `/dev/net/tun` and makes tap `name` (no packet info, with vnet header), as a NIC backend
/// needs. Test-only: the real opener (with audit) is virt-net's.
fn open_tap(name: &str) -> OwnedFd {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .expect("open /dev/net/tun");
    let mut ifr = [0u8; 40];
    ifr[..name.len()].copy_from_slice(name.as_bytes());
    let flags = (libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR) as i16;
    ifr[16..18].copy_from_slice(&flags.to_ne_bytes());
    // SAFETY: TUNSETIFF reads and writes a struct ifreq (40 bytes) we own.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), TUNSETIFF as _, ifr.as_mut_ptr()) };
    assert_eq!(
        r,
        0,
        "TUNSETIFF {name}: {}",
        std::io::Error::last_os_error()
    );
    OwnedFd::from(f)
}

/// Depth-first search of `query-pci` output for a device by qdev id.
fn find_pci(v: &Value, id: &str) -> Option<Value> {
    match v {
        Value::Array(a) => a.iter().find_map(|x| find_pci(x, id)),
        Value::Object(o) => {
            if o.get("qdev_id").and_then(Value::as_str) == Some(id) {
                return Some(v.clone());
            }
            o.values().find_map(|x| find_pci(x, id))
        }
        _ => None,
    }
}

/// Runs the firmware until it has numbered the bus behind root port `rp1` (before that, with `-S`,
/// `query-pci` lists nothing behind bridges), then pauses again.
fn let_firmware_number_buses(vm: &mut common::Vm) {
    vm.proc.start_cpus(&vm.qmp).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pci = vm.qmp.execute("query-pci", None).unwrap();
        let rp = find_pci(&pci, "rp1").expect("rp1 in query-pci");
        if rp["pci_bridge"]["bus"]["secondary"].as_u64().unwrap_or(0) != 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "firmware never numbered rp1: {rp}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    vm.qmp.execute("stop", None).unwrap();
}

fn plug_nic(vm: &common::Vm, tap: &OwnedFd) {
    vm.qmp.getfd("hostnet0-fd", tap.as_fd()).unwrap();
    vm.qmp
        .execute(
            "netdev_add",
            Some(json!({"type": "tap", "id": "hostnet0", "fd": "hostnet0-fd"})),
        )
        .unwrap();
    vm.qmp
        .execute(
            "device_add",
            Some(json!({
                "driver": "virtio-net-pci", "id": "net0", "netdev": "hostnet0",
                "mac": "52:54:00:aa:bb:01", "bus": "rp1", "addr": "0x0"
            })),
        )
        .unwrap();
    let pci = vm.qmp.execute("query-pci", None).unwrap();
    let dev = find_pci(&pci, "net0").unwrap_or_else(|| panic!("net0 not in {pci}"));
    assert_eq!(dev["id"]["vendor"], 0x1af4, "{dev}");
}

/// Native PCIe hot-plug (ACPI hot-plug on bridges off): with no guest OS the slot's power stays off,
/// so QEMU removes the device at once and says DEVICE_DELETED.
#[test]
fn tap_nic_hotplug_and_unplug_native_pcie() {
    let Some(_t) = system_test(
        "qemu_tap_nic_hotplug",
        &[
            Facility::Root,
            Facility::Netns,
            Facility::Tun,
            Facility::Command("qemu-system-x86_64"),
        ],
    ) else {
        return;
    };
    let ns = NetNs::new("vq").unwrap();
    let _in = ns.enter().unwrap();
    let tap_name = format!("vqtap{}", std::process::id() % 100000);
    let tap = open_tap(&tap_name);
    let link = ns
        .exec_ok(&["ip", "-o", "link", "show", &tap_name])
        .unwrap();
    assert!(link.contains(&tap_name), "{link}");

    let mut vm = common::start(
        "hotplug",
        &[
            "-global",
            "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
            "-device",
            "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,port=0x10,addr=0x2",
        ],
        vec![],
    );
    let_firmware_number_buses(&mut vm);
    plug_nic(&vm, &tap);
    drop(tap);

    vm.qmp
        .execute("device_del", Some(json!({"id": "net0"})))
        .unwrap();
    let ev = vm
        .qmp
        .wait_event_named(
            "DEVICE_DELETED",
            &json!({"device": "net0"}),
            Duration::from_secs(10),
        )
        .unwrap();
    assert!(
        ev.data["path"].as_str().is_some_and(|p| p.contains("net0")),
        "{ev:?}"
    );
    let pci = vm.qmp.execute("query-pci", None).unwrap();
    assert!(find_pci(&pci, "net0").is_none(), "{pci}");
    // The backend (and its tap descriptor) is still there until removed; then the tap is released.
    let tun_fds = || {
        std::fs::read_dir(format!("/proc/{}/fd", vm.proc.pid()))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .ok()
                    .and_then(|e| std::fs::read_link(e.path()).ok())
                    .is_some_and(|l| l == std::path::Path::new("/dev/net/tun"))
            })
            .count()
    };
    assert_eq!(tun_fds(), 1);
    vm.qmp
        .execute("netdev_del", Some(json!({"id": "hostnet0"})))
        .unwrap();
    let e = vm
        .qmp
        .execute("netdev_del", Some(json!({"id": "hostnet0"})))
        .unwrap_err();
    assert!(e.to_string().contains("hostnet0"), "{e}");
    assert_eq!(tun_fds(), 0);
}

/// ACPI hot-plug (QEMU 7.2's q35 default for root ports): the unplug is only a request to the
/// guest; with no guest OS it never completes and the device stays.
#[test]
fn acpi_unplug_without_guest_never_completes() {
    let Some(_t) = system_test(
        "qemu_acpi_unplug_pending",
        &[
            Facility::Root,
            Facility::Netns,
            Facility::Tun,
            Facility::Command("qemu-system-x86_64"),
        ],
    ) else {
        return;
    };
    let ns = NetNs::new("vq").unwrap();
    let _in = ns.enter().unwrap();
    let tap = open_tap(&format!("vqtapb{}", std::process::id() % 10000));
    let mut vm = common::start(
        "acpiunplug",
        &[
            "-device",
            "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,port=0x10,addr=0x2",
        ],
        vec![],
    );
    let_firmware_number_buses(&mut vm);
    plug_nic(&vm, &tap);
    vm.qmp
        .execute("device_del", Some(json!({"id": "net0"})))
        .unwrap();
    let r = vm.qmp.wait_event_named(
        "DEVICE_DELETED",
        &json!({"device": "net0"}),
        Duration::from_millis(1500),
    );
    assert!(
        matches!(r, Err(virt_qemu::QmpError::EventTimeout { .. })),
        "{r:?}"
    );
    let pci = vm.qmp.execute("query-pci", None).unwrap();
    assert!(find_pci(&pci, "net0").is_some(), "{pci}");
}

/// Under `-S` (firmware never ran) a native-PCIe unplug also completes at once; `query-pci` cannot
/// show devices behind the root port yet, so presence is checked in the QOM tree.
#[test]
fn native_pcie_unplug_while_prelaunch() {
    let Some(_t) = system_test(
        "qemu_native_unplug_prelaunch",
        &[
            Facility::Root,
            Facility::Netns,
            Facility::Tun,
            Facility::Command("qemu-system-x86_64"),
        ],
    ) else {
        return;
    };
    let ns = NetNs::new("vq").unwrap();
    let _in = ns.enter().unwrap();
    let tap = open_tap(&format!("vqtapc{}", std::process::id() % 10000));
    let vm = common::start(
        "prelaunch-unplug",
        &[
            "-global",
            "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
            "-device",
            "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,port=0x10,addr=0x2",
        ],
        vec![],
    );
    let peripherals = || -> Vec<String> {
        vm.qmp
            .execute("qom-list", Some(json!({"path": "/machine/peripheral"})))
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect()
    };
    vm.qmp.getfd("tapfd", tap.as_fd()).unwrap();
    vm.qmp
        .execute(
            "netdev_add",
            Some(json!({"type": "tap", "id": "hostnet0", "fd": "tapfd"})),
        )
        .unwrap();
    vm.qmp
        .execute(
            "device_add",
            Some(json!({"driver": "virtio-net-pci", "id": "net0", "netdev": "hostnet0", "bus": "rp1"})),
        )
        .unwrap();
    assert!(peripherals().contains(&"net0".to_string()));
    let st = vm.qmp.execute("query-status", None).unwrap();
    assert_eq!(st["status"], "prelaunch");
    vm.qmp
        .execute("device_del", Some(json!({"id": "net0"})))
        .unwrap();
    vm.qmp
        .wait_event_named(
            "DEVICE_DELETED",
            &json!({"device": "net0"}),
            Duration::from_secs(10),
        )
        .unwrap();
    assert!(!peripherals().contains(&"net0".to_string()));
}
