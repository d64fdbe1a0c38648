//! Hot-plug through `virt_qemu::hotplug` against a real QEMU 7.2 (TCG, q35) with real taps made in
//! a private network namespace: NIC and disk attach/detach on a booted guest (the guest kernel's
//! pciehp acknowledges the unplug), a detach that times out on a guest that never ran, an attach
//! refused midway, and the repair of attaches interrupted by a crash. Audit records are compared
//! exactly. The tests take a lock so descriptor counts of this process are not disturbed.

mod common;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use virt_audit::{Auditor, MemorySink, VirtType, VmIdentity};
use virt_net::NetHost;
use virt_qemu::hotplug::{self, HotplugError, LiveGuest, RepairOutcome};
use virt_qemu::RuntimeState;
use virt_testkit::guest::{TinyGuest, KERNEL_CMDLINE, READY_LINE};
use virt_testkit::{system_test, Facility, NetNs};
use virt_xml::address::Address;
use virt_xml::devices::controller::{Controller, ControllerModel, ControllerType, PciModel};
use virt_xml::devices::disk::{Disk, DiskBus, DiskDevice, DiskSource, SourceData};
use virt_xml::devices::interface::{Interface, Mac, Target};
use virt_xml::devices::Device;
use virt_xml::domain::InterfaceType;
use virt_xml::{Domain, DomainType, MacAddr, PciAddr};

static SERIAL: Mutex<()> = Mutex::new(());

const UUID: [u8; 16] = [
    0xc7, 0xa5, 0xfd, 0xbd, 0xed, 0xaf, 0x9a, 0x55, 0x78, 0x32, 0x4f, 0x1e, 0x0d, 0x3c, 0xa1, 0x02,
];
const UUID_S: &str = "c7a5fdbd-edaf-9a55-7832-4f1e0d3ca102";
/// Root ports the guest has (`pci.1` .. `pci.3`), as libvirt names them.
const ROOT_PORTS: u32 = 3;

fn facilities() -> Vec<Facility> {
    vec![
        Facility::Root,
        Facility::Netns,
        Facility::Tun,
        Facility::Command("qemu-system-x86_64"),
    ]
}

fn root_port_args() -> Vec<String> {
    (1..=ROOT_PORTS)
        .flat_map(|i| {
            [
                "-device".to_string(),
                format!(
                    "pcie-root-port,id=pci.{i},bus=pcie.0,chassis={i},port={:#x},addr={:#x}",
                    0x10 + i,
                    1 + i
                ),
            ]
        })
        .collect()
}

/// The live definition matching the command line: PCIe root and root ports `pci.1..3`.
fn definition(name: &str) -> Domain {
    let mut d = Domain::new(DomainType::Qemu, name);
    let mut root = Controller::new(ControllerType::Pci, 0);
    root.model = Some(ControllerModel::Pci(PciModel::PcieRoot));
    root.info.alias = Some("pcie.0".into());
    d.devices.push(Device::Controller(root));
    for i in 1..=ROOT_PORTS {
        let mut c = Controller::new(ControllerType::Pci, i);
        c.model = Some(ControllerModel::Pci(PciModel::PcieRootPort));
        c.info.alias = Some(format!("pci.{i}"));
        c.info.address = Some(Address::Pci {
            addr: PciAddr {
                domain: 0,
                bus: 0,
                slot: 1 + i as u8,
                function: 0,
            },
            multifunction: None,
            zpci: None,
        });
        d.devices.push(Device::Controller(c));
    }
    d.has_devices = true;
    d
}

struct Rig {
    // Drop order: QEMU (and monitor) first, then leave and remove the namespace.
    vm: common::Vm,
    dir: virt_testkit::TempDir,
    def: Domain,
    state: RuntimeState,
    state_path: PathBuf,
    pending: PathBuf,
    /// The definition as last persisted.
    saved_def: RefCell<Option<Domain>>,
    persists: RefCell<u32>,
    /// Make the N-th persist call panic (simulating a crash at that point).
    crash_at: Option<u32>,
    id: VmIdentity,
    auditor: Auditor,
    sink: std::sync::Arc<MemorySink>,
    net: NetHost,
    _in: virt_testkit::netns::NsGuard,
    ns: NetNs,
}

impl Rig {
    /// A q35 TCG QEMU under `-S`, with the root ports; `native` turns ACPI hot-plug off on them;
    /// `boot` gives it the tiny guest (not started yet).
    fn new(name: &str, native: bool, boot: Option<&TinyGuest>) -> Rig {
        let ns = NetNs::new("vh").expect("netns");
        let guard = ns.enter().expect("enter netns");
        let mut extra = vec!["-m".to_string(), "192".to_string()];
        if native {
            extra.extend([
                "-global".into(),
                "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off".into(),
            ]);
        }
        extra.extend(root_port_args());
        let dir = virt_testkit::TempDir::new(&format!("vh-{name}")).expect("tempdir");
        if let Some(g) = boot {
            extra.extend([
                "-kernel".into(),
                g.kernel.to_string_lossy().into_owned(),
                "-initrd".into(),
                g.initrd.to_string_lossy().into_owned(),
                "-append".into(),
                KERNEL_CMDLINE.into(),
                "-serial".into(),
                format!("file:{}", dir.path().join("serial.log").display()),
            ]);
        }
        let args: Vec<&str> = extra.iter().map(String::as_str).collect();
        let vm = common::start(name, &args, vec![]);
        let state_path = vm.dir.path().join("state.json");
        let pending = vm.dir.path().join("hotplug.json");
        let state = RuntimeState {
            pid: vm.proc.pid(),
            monitor: vm.socket.clone(),
            ..RuntimeState::default()
        };
        state.write(&state_path).expect("initial state");
        let (auditor, sink) = Auditor::memory();
        let net = NetHost::new(auditor.clone());
        Rig {
            vm,
            dir,
            def: definition(name),
            state,
            state_path,
            pending,
            saved_def: RefCell::new(None),
            persists: RefCell::new(0),
            crash_at: None,
            id: VmIdentity::new(VirtType::Qemu, name, UUID),
            auditor,
            sink,
            net,
            _in: guard,
            ns,
        }
    }

    fn with<R>(&mut self, f: impl FnOnce(&mut LiveGuest<'_>) -> R) -> R {
        let state_path = self.state_path.clone();
        let saved = &self.saved_def;
        let persists = &self.persists;
        let crash_at = self.crash_at;
        let mut persist = |s: &RuntimeState, d: &Domain| {
            *persists.borrow_mut() += 1;
            if crash_at == Some(*persists.borrow()) {
                panic!("simulated crash at persist #{}", *persists.borrow());
            }
            s.write(&state_path)?;
            *saved.borrow_mut() = Some(d.clone());
            Ok(())
        };
        let mut g = LiveGuest {
            qmp: &self.vm.qmp,
            id: &self.id,
            auditor: &self.auditor,
            net: &self.net,
            def: &mut self.def,
            state: &mut self.state,
            persist: &mut persist,
            pending: &self.pending,
        };
        f(&mut g)
    }

    /// Runs the guest and waits (bounded) for its ready line on the serial port.
    fn boot(&mut self, serial: &Path) {
        self.vm.proc.start_cpus(&self.vm.qmp).expect("cont");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let out = std::fs::read_to_string(serial).unwrap_or_default();
            if out.contains(READY_LINE) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "guest not ready within 120 s; serial:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn tap_exists(&self, name: &str) -> bool {
        self.ns
            .exec(&["ip", "link", "show", name])
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// Descriptors QEMU holds on `/dev/net/tun`.
    fn qemu_tun_fds(&self) -> usize {
        fds_to(self.vm.proc.pid(), Path::new("/dev/net/tun"))
    }

    fn peripherals(&self) -> Vec<String> {
        self.vm
            .qmp
            .execute("qom-list", Some(json!({"path": "/machine/peripheral"})))
            .expect("qom-list")
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect()
    }

    fn netdev_exists(&self, id: &str) -> bool {
        // `netdev_del` on a missing netdev fails naming it; there is no query-netdev in 7.2's
        // x86 target, so probe with a harmless `set_link`.
        let r = self
            .vm
            .qmp
            .execute("set_link", Some(json!({"name": id, "up": true})));
        r.is_ok()
    }
}

fn fds_to(pid: u32, target: &Path) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| std::fs::read_link(e.path()).is_ok_and(|l| l == target))
                .count()
        })
        .unwrap_or(0)
}

fn own_fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

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

fn nic(mac: &str, tap: &str) -> Interface {
    let mut i = Interface::new(InterfaceType::Ethernet);
    i.mac = Some(Mac {
        address: mac.parse().expect("mac"),
        mac_type: None,
        check: None,
    });
    i.model = Some("virtio".into());
    i.target = Some(Target {
        dev: tap.into(),
        managed: None,
    });
    i
}

fn tap_name(tag: &str) -> String {
    format!("vh{tag}{}", std::process::id() % 100000)
}

fn head(reason: &str) -> String {
    format!("virt=qemu resrc=net reason={reason} vm=\"{{NAME}}\" uuid={UUID_S}")
}

/// `resrc=net reason=open` for /dev/net/tun, as virt-net writes it.
fn open_rec(name: &str, mac: &str) -> String {
    let rdev = std::fs::metadata("/dev/net/tun")
        .map(|m| std::os::unix::fs::MetadataExt::rdev(&m))
        .expect("stat tun");
    let (ma, mi) = (libc::major(rdev), libc::minor(rdev));
    format!(
        "{} net={mac} path=\"/dev/net/tun\" rdev={ma:02X}:{mi:02X} res=success",
        head("open")
    )
    .replace("{NAME}", name)
}

fn net_rec(name: &str, reason: &str, old: &str, new: &str, res: &str) -> String {
    format!(
        "{} old-net=\"{old}\" new-net=\"{new}\" res={res}",
        head(reason)
    )
    .replace("{NAME}", name)
}

#[test]
fn booted_guest_nic_and_disk_attach_detach() {
    let Some(_t) = system_test("hotplug_live_booted", &facilities()) else {
        return;
    };
    let _l = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let gdir = virt_testkit::TempDir::new("vh-guest").expect("tempdir");
    let guest = TinyGuest::build(gdir.path()).expect("tiny guest");
    let name = "hp-booted";
    let mut rig = Rig::new(name, true, Some(&guest));
    let serial = rig.dir.path().join("serial.log");
    rig.boot(&serial);

    let fds_before = own_fd_count();
    let tap = tap_name("b");
    let mac: MacAddr = "52:54:00:aa:00:01".parse().unwrap();
    rig.with(|g| hotplug::attach_interface(g, &nic("52:54:00:aa:00:01", &tap)))
        .expect("attach interface");
    let pci = rig.vm.qmp.execute("query-pci", None).unwrap();
    let dev = find_pci(&pci, "net0").unwrap_or_else(|| panic!("net0 not in {pci}"));
    assert_eq!(dev["id"]["vendor"], 0x1af4, "{dev}");
    assert_eq!(dev["bus"], 1, "net0 behind the first root port: {dev}");
    assert!(rig.tap_exists(&tap), "tap {tap} exists");
    assert_eq!(rig.qemu_tun_fds(), 1, "QEMU holds the tap fd");
    assert_eq!(fds_to(std::process::id(), Path::new("/dev/net/tun")), 0);
    assert!(!rig.pending.exists());
    let st = RuntimeState::read(&rig.state_path).unwrap();
    assert_eq!(st.nics.len(), 1);
    assert_eq!(st.nics[0].mac, mac);
    assert_eq!(st.nics[0].ifname.as_deref(), Some(tap.as_str()));
    let saved = rig.saved_def.borrow().clone().unwrap();
    let live = saved
        .interfaces()
        .next()
        .expect("interface in the live definition");
    assert_eq!(live.info.alias.as_deref(), Some("net0"));
    assert!(
        matches!(live.info.address, Some(Address::Pci { addr, .. }) if addr.bus == 1 && addr.slot == 0)
    );

    rig.with(|g| hotplug::detach_interface(g, mac, Duration::from_secs(30)))
        .expect("detach interface");
    assert!(find_pci(&rig.vm.qmp.execute("query-pci", None).unwrap(), "net0").is_none());
    assert!(!rig.tap_exists(&tap), "tap {tap} is gone");
    assert_eq!(rig.qemu_tun_fds(), 0);
    assert!(!rig.netdev_exists("hostnet0"));
    assert_eq!(own_fd_count(), fds_before, "no descriptor of ours remains");
    assert!(RuntimeState::read(&rig.state_path).unwrap().nics.is_empty());
    assert_eq!(rig.def.interfaces().count(), 0);

    // A disk, on the next free root port (the NIC's is free again: the first).
    let img = rig.vm.dir.path().join("data.img");
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    let img_s = img.to_string_lossy().into_owned();
    let disk = Disk::new(
        DiskDevice::Disk,
        DiskSource::new(SourceData::File {
            file: Some(img_s.clone()),
            fdgroup: None,
        }),
        "vdb",
        DiskBus::Virtio,
    );
    rig.with(|g| hotplug::attach_disk(g, &disk))
        .expect("attach disk");
    let pci = rig.vm.qmp.execute("query-pci", None).unwrap();
    let dev = find_pci(&pci, "virtio-disk1").unwrap_or_else(|| panic!("disk not in {pci}"));
    assert_eq!(dev["id"]["device"], 0x1042, "virtio-blk (modern): {dev}");
    let blocks = rig.vm.qmp.execute("query-named-block-nodes", None).unwrap();
    assert!(blocks.to_string().contains("libvirt-1-format"), "{blocks}");
    rig.with(|g| hotplug::detach_disk(g, "vdb", Duration::from_secs(30)))
        .expect("detach disk");
    let blocks = rig.vm.qmp.execute("query-named-block-nodes", None).unwrap();
    assert!(!blocks.to_string().contains("libvirt-1"), "{blocks}");
    assert_eq!(rig.def.disks().count(), 0);

    let disk_rec = |reason: &str, old: &str, new: &str| {
        format!(
            "virt=qemu resrc=disk reason={reason} vm=\"{name}\" uuid={UUID_S} old-disk=\"{old}\" new-disk=\"{new}\" res=success"
        )
    };
    assert_eq!(
        rig.sink.summaries(),
        vec![
            open_rec(name, "52:54:00:aa:00:01"),
            net_rec(name, "attach", "?", "52:54:00:aa:00:01", "success"),
            net_rec(name, "detach", "52:54:00:aa:00:01", "?", "success"),
            disk_rec("attach", "?", &img_s),
            disk_rec("detach", &img_s, "?"),
        ]
    );
}

#[test]
fn detach_times_out_when_guest_never_acknowledges() {
    let Some(_t) = system_test("hotplug_live_timeout", &facilities()) else {
        return;
    };
    let _l = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = "hp-timeout";
    // ACPI hot-plug (QEMU's q35 default) and no guest: the unplug request is never acknowledged.
    let mut rig = Rig::new(name, false, None);
    let tap = tap_name("t");
    let mac: MacAddr = "52:54:00:aa:00:02".parse().unwrap();
    rig.with(|g| hotplug::attach_interface(g, &nic("52:54:00:aa:00:02", &tap)))
        .expect("attach");
    let t0 = Instant::now();
    let e = rig
        .with(|g| hotplug::detach_interface(g, mac, Duration::from_millis(1500)))
        .unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert!(matches!(e, HotplugError::DetachTimeout { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "guest did not release device 'net0' within 1.5s (no DEVICE_DELETED); it stays attached"
    );
    // Still attached and recorded everywhere.
    assert!(rig.peripherals().contains(&"net0".to_string()));
    assert!(rig.tap_exists(&tap));
    assert_eq!(rig.qemu_tun_fds(), 1);
    assert_eq!(rig.def.interfaces().count(), 1);
    assert_eq!(RuntimeState::read(&rig.state_path).unwrap().nics.len(), 1);
    assert_eq!(
        rig.sink.summaries(),
        vec![
            open_rec(name, "52:54:00:aa:00:02"),
            net_rec(name, "attach", "?", "52:54:00:aa:00:02", "success"),
        ]
    );
}

#[test]
fn attach_refused_midway_leaves_nothing() {
    let Some(_t) = system_test("hotplug_live_refused", &facilities()) else {
        return;
    };
    let _l = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = "hp-refused";
    let mut rig = Rig::new(name, true, None);
    // The definition claims a root port QEMU does not have, and no other is free.
    for d in rig.def.devices.iter_mut() {
        if let Device::Controller(c) = d {
            if c.index >= 1 {
                c.info.alias = Some(format!("pci.{}", c.index + 10));
            }
        }
    }
    let fds_before = own_fd_count();
    let tap = tap_name("r");
    let e = rig
        .with(|g| hotplug::attach_interface(g, &nic("52:54:00:aa:00:03", &tap)))
        .unwrap_err();
    assert!(
        matches!(
            &e,
            HotplugError::Qmp {
                step: "device_add",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("pci.11"), "{e}");
    assert!(!rig.tap_exists(&tap));
    assert_eq!(rig.qemu_tun_fds(), 0);
    assert!(!rig.netdev_exists("hostnet0"));
    assert!(!rig.peripherals().contains(&"net0".to_string()));
    assert_eq!(own_fd_count(), fds_before);
    assert!(!rig.pending.exists());
    assert!(rig.state.nics.is_empty());
    assert!(RuntimeState::read(&rig.state_path).unwrap().nics.is_empty());
    assert_eq!(rig.def.interfaces().count(), 0);
    assert_eq!(
        rig.sink.summaries(),
        vec![
            open_rec(name, "52:54:00:aa:00:03"),
            net_rec(name, "attach", "?", "52:54:00:aa:00:03", "failed"),
        ]
    );
}

/// Runs an attach that "crashes" at persist call `n` (a panic: our fds close as a killed process's
/// would), then reloads state and definition from what was persisted.
fn crashed_attach(rig: &mut Rig, n: u32, iface: &Interface) {
    rig.crash_at = Some(*rig.persists.borrow() + n);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rig.with(|g| hotplug::attach_interface(g, iface))
    }));
    assert!(r.is_err(), "the simulated crash happened");
    rig.crash_at = None;
    rig.state = RuntimeState::read(&rig.state_path).expect("persisted state");
    rig.def = rig
        .saved_def
        .borrow()
        .clone()
        .unwrap_or_else(|| definition(&rig.id.name));
}

#[test]
fn repair_of_interrupted_attach() {
    let Some(_t) = system_test("hotplug_live_repair", &facilities()) else {
        return;
    };
    let _l = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = "hp-repair";
    let mut rig = Rig::new(name, true, None);
    assert_eq!(
        rig.with(hotplug::repair_pending).unwrap(),
        RepairOutcome::Nothing
    );

    // Crash right after the pending record and state were written, before QEMU got the fds.
    let tap1 = tap_name("p");
    let mac1: MacAddr = "52:54:00:aa:00:04".parse().unwrap();
    crashed_attach(&mut rig, 1, &nic("52:54:00:aa:00:04", &tap1));
    let p = hotplug::read_pending(&rig.pending)
        .unwrap()
        .expect("pending record");
    assert_eq!(p.mac, mac1);
    assert_eq!(p.alias, "net0");
    assert_eq!(p.ifname.as_deref(), Some(tap1.as_str()));
    assert_eq!(rig.state.nics.len(), 0, "the crash came before the write");
    assert_eq!(
        rig.with(hotplug::repair_pending).unwrap(),
        RepairOutcome::RolledBack(mac1)
    );
    assert!(!rig.pending.exists());
    assert!(!rig.tap_exists(&tap1));
    assert_eq!(rig.qemu_tun_fds(), 0);
    assert!(RuntimeState::read(&rig.state_path).unwrap().nics.is_empty());

    // Crash after device_add, at the final persist: QEMU has the device; repair completes it.
    let tap2 = tap_name("q");
    let mac2: MacAddr = "52:54:00:aa:00:05".parse().unwrap();
    crashed_attach(&mut rig, 2, &nic("52:54:00:aa:00:05", &tap2));
    assert!(rig.pending.exists());
    assert!(rig.peripherals().contains(&"net0".to_string()));
    assert_eq!(rig.state.nics.len(), 1);
    assert_eq!(rig.def.interfaces().count(), 0);
    assert_eq!(
        rig.with(hotplug::repair_pending).unwrap(),
        RepairOutcome::Completed(mac2)
    );
    assert!(!rig.pending.exists());
    assert_eq!(rig.def.interfaces().count(), 1);
    assert!(rig.tap_exists(&tap2));
    assert_eq!(rig.qemu_tun_fds(), 1);
    // And the guest is usable: the NIC detaches (native PCIe, never-run guest: at once).
    rig.with(|g| hotplug::detach_interface(g, mac2, Duration::from_secs(10)))
        .expect("detach after repair");
    assert!(!rig.tap_exists(&tap2));
    assert_eq!(rig.qemu_tun_fds(), 0);
    assert_eq!(
        rig.sink.summaries(),
        vec![
            open_rec(name, "52:54:00:aa:00:04"),
            net_rec(name, "attach", "?", "52:54:00:aa:00:04", "failed"),
            open_rec(name, "52:54:00:aa:00:05"),
            net_rec(name, "attach", "?", "52:54:00:aa:00:05", "success"),
            net_rec(name, "detach", "52:54:00:aa:00:05", "?", "success"),
        ]
    );
}
