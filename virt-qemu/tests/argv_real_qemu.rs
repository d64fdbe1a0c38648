//! The argv builder against a real QEMU 7.2: corpus cases whose command line already matches
//! libvirt's are started for real (paused, `-S`, as libvirt starts them), and QMP shows that what
//! the command line asks for exists.
//!
//! The cases are chosen by rule, not by name: every corpus case that passes (our argv equals
//! libvirt's `.args`), whose name starts with one of [`PREFIXES`], and whose needs this host can
//! meet: the only fd it plans is the monitor, its disks are plain files in raw or qcow2 format (made
//! here with `qemu-img create`), and every other path it names exists. What is swapped before the
//! start: the harness's state directory `/tmp/lib/domain--1-NAME` becomes a temporary directory
//! holding the master key file (the key the argv's secrets were encrypted under), disk file names
//! become the made images (LUKS-encrypted ones with the passphrase the argv's secret object
//! carries), file-backed guest memory (NVDIMM and virtio-pmem files, RAM files) lives in that
//! directory, and the monitor, which the argv takes as `fd=1729`, is a real listening unix socket
//! passed at 1729 (as libvirt does).

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use virt_qemu::argv::conformance::check_case;
use virt_qemu::argv::{self, FdPurpose, HostContext, QemuCaps};
use virt_qemu::secret::{self, MasterKey};
use virt_qemu::{LaunchSpec, QemuProcess, Qmp};
use virt_testkit::{system_test, Facility, TempDir};

/// Case-name prefixes whose passing cases are started. Chardev, graphics and hostdev cases are left
/// out: they open host sockets, ports or devices that a test must not take.
const PREFIXES: &[&str] = &[
    "minimal",
    "machine",
    "cpu",
    "memory",
    "numatune",
    "hugepages",
    "smp",
    "clock",
    "boot",
    "misc",
    "disk",
    "controller",
    "pci",
    "pcie",
    "q35",
    "usb",
    "input",
    "video",
    "sound",
    "watchdog",
    "memballoon",
    "balloon",
    "rng",
    "iothreads",
    "net-user",
    "panic",
    "vhost",
    "virtio",
    "seclabel",
    "eoi",
    "kvm",
    "hyperv",
    "pmu",
    "tseg",
    "fips",
    "name",
    "os",
    "reboot",
    "encrypted",
    "bios",
    "acpi",
    "default",
    "iommu",
    "intel",
    "vcpu",
    "audio",
];

/// What QEMU 7.2 on this host says when it refuses libvirt's own argv for reasons outside the
/// command line: host kernel limits (nested KVM without Hyper-V VP_INDEX, NUMA nodes this host
/// lacks), display modules not installed, and corpus cases whose `.args` QEMU itself rejects
/// (non-multifunction slot 0 with functions, `iommu_platform` on transitional virtio devices).
/// Every case started has an argv identical to libvirt's, so such a refusal is reported, not
/// failed; any other refusal fails the test.
const QEMU_REFUSES: &[&str] = &[
    "kernel doesn't allow setting HyperV",
    "cannot bind memory to host NUMA nodes",
    "missing object type",
    "single function device can't be populated",
    "VIRTIO_F_IOMMU_PLATFORM was supported by neither legacy nor transitional device",
];

/// At least this many cases must start (the issue asks for ten).
const MIN_CASES: usize = 10;

const MONITOR_FD: i32 = 1729;

/// The `-option value` pairs of an argv.
fn options<'a>(args: &'a [String], opt: &str) -> Vec<&'a str> {
    args.windows(2)
        .filter(|w| w[0] == opt)
        .map(|w| w[1].as_str())
        .collect()
}

fn json_opts(args: &[String], opt: &str) -> Vec<Value> {
    options(args, opt)
        .into_iter()
        .filter_map(|s| serde_json::from_str::<Value>(s).ok())
        .collect()
}

/// A case made ready to start here.
struct Runnable {
    name: String,
    guest: String,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    /// (path, format, LUKS passphrase) of the images to make.
    images: Vec<(PathBuf, String, Option<Vec<u8>>)>,
    dir: TempDir,
    /// The master key the argv's secrets were encrypted under.
    master_key: MasterKey,
}

/// Absolute paths named inside an argument (after `=`, `"`, `:` or `,`, or at its start).
fn paths_in(arg: &str) -> Vec<&str> {
    let bytes = arg.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i] == b'/' && (i == 0 || matches!(bytes[i - 1], b'=' | b'"' | b','));
        if starts {
            let end = arg[i..]
                .find([',', '"', ' ', '}'])
                .map(|e| i + e)
                .unwrap_or(arg.len());
            out.push(&arg[i..end]);
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// Makes `name`'s argv runnable here, or says why it cannot be.
fn make_runnable(name: &str, xml: &str, caps: &QemuCaps) -> Result<Runnable, String> {
    let mut def = virt_xml::Domain::parse(xml).map_err(|e| e.to_string())?;
    let host = HostContext::libvirt_test_case(&def, name);
    let cmd = argv::prepare_and_build(&mut def, caps, &host).map_err(|e| e.to_string())?;
    if let Some(fd) = cmd.fds.iter().find(|f| f.purpose != FdPurpose::Monitor) {
        return Err(format!("plans fd {} ({:?})", fd.number, fd.purpose));
    }
    if !cmd.program.exists() {
        return Err(format!("emulator {} missing", cmd.program.display()));
    }
    for opt in ["-vnc", "-spice", "-add-fd"] {
        if !options(&cmd.args, opt).is_empty() {
            return Err(format!("uses {opt}"));
        }
    }
    let dir = TempDir::new(&format!("argvq-{}", &name[..name.len().min(24)]))
        .map_err(|e| e.to_string())?;
    let state = host.state_dir.display().to_string();
    let runtime = host.runtime_dir.display().to_string();
    let lib = dir.path().join("lib");
    let run = dir.path().join("run");
    for d in [&lib, &run] {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    let swap = |s: &str| {
        s.replace(&state, &lib.display().to_string())
            .replace(&runtime, &run.display().to_string())
    };

    // Disks: every protocol node must be a plain file; its format node says the image format.
    let blockdevs = json_opts(&cmd.args, "-blockdev");
    let mut format_of: BTreeMap<String, (String, Option<Vec<u8>>)> = BTreeMap::new();
    for n in &blockdevs {
        if let (Some(file), Some(drv)) = (n["file"].as_str(), n["driver"].as_str()) {
            // An encrypted image's passphrase: its secret object decrypted with the master key.
            let key_id = n["key-secret"]
                .as_str()
                .or(n["encrypt"]["key-secret"].as_str());
            let passphrase = match key_id {
                Some(id) => Some(secret_value(&cmd.args, id, &host.master_key)?),
                None => None,
            };
            format_of.insert(file.to_string(), (drv.to_string(), passphrase));
        }
    }
    let mut renames: Vec<(String, PathBuf)> = Vec::new();
    let mut images = Vec::new();
    for n in &blockdevs {
        if n["file"].is_string() {
            let drv = n["driver"].as_str().unwrap_or("");
            if drv != "raw" && drv != "qcow2" && drv != "luks" {
                return Err(format!("block node {} is a {drv}", n["node-name"]));
            }
            continue;
        }
        let Some(filename) = n["filename"].as_str().filter(|_| n["driver"] == "file") else {
            return Err(format!(
                "block node {} is a {}",
                n["node-name"], n["driver"]
            ));
        };
        let node = n["node-name"].as_str().unwrap_or("");
        let (fmt, passphrase) = format_of
            .get(node)
            .cloned()
            .unwrap_or_else(|| ("raw".to_string(), None));
        if fmt != "raw" && fmt != "qcow2" && fmt != "luks" {
            return Err(format!("disk {filename} has format {fmt}"));
        }
        let image = dir.path().join(format!("disk{}.{fmt}", images.len()));
        renames.push((filename.to_string(), image.clone()));
        images.push((image, fmt, passphrase));
    }
    // File-backed memory (NVDIMM and virtio-pmem files, RAM in the memory backing directory)
    // gets a file of its own in the temporary directory, which QEMU creates; memory on a
    // hugetlbfs mount stays the host's (a mount this host lacks is refused below).
    let mut mem_files: Vec<(String, PathBuf)> = Vec::new();
    for o in json_opts(&cmd.args, "-object") {
        let Some(path) = o["mem-path"]
            .as_str()
            .filter(|_| o["qom-type"] == "memory-backend-file")
        else {
            continue;
        };
        let on_hugetlbfs = host
            .config
            .hugetlbfs
            .iter()
            .any(|(_, mount)| Path::new(path).starts_with(mount));
        if !on_hugetlbfs && !mem_files.iter().any(|(p, _)| p == path) {
            let file = dir.path().join(format!("mem{}", mem_files.len()));
            mem_files.push((path.to_string(), file));
        }
    }
    let mut args: Vec<String> = cmd.args.iter().map(|a| swap(a)).collect();
    for a in args.iter_mut() {
        for (old, new) in &renames {
            let from = format!("\"filename\":\"{old}\"");
            let to = format!("\"filename\":\"{}\"", new.display());
            *a = a.replace(&from, &to);
        }
        for (old, new) in &mem_files {
            let from = format!("\"mem-path\":{}", json!(old));
            let to = format!("\"mem-path\":{}", json!(new.display().to_string()));
            *a = a.replace(&from, &to);
        }
    }
    for a in &args {
        for p in paths_in(a) {
            let ours = Path::new(p).starts_with(dir.path());
            if !ours && !Path::new(p).exists() {
                return Err(format!("names {p}, which this host lacks"));
            }
        }
    }
    let mut argv = vec![cmd.program.display().to_string()];
    argv.extend(args);
    let env = cmd
        .env
        .iter()
        .filter(|(k, _)| k != "PATH")
        .map(|(k, v)| (k.clone(), swap(v)))
        .collect();
    Ok(Runnable {
        name: name.to_string(),
        guest: def.name.clone(),
        argv,
        env,
        images,
        dir,
        master_key: host.master_key.clone(),
    })
}

/// The clear value of the `-object secret` with id `id` (encrypted under `key`).
fn secret_value(args: &[String], id: &str, key: &MasterKey) -> Result<Vec<u8>, String> {
    let o = json_opts(args, "-object")
        .into_iter()
        .find(|o| o["qom-type"] == "secret" && o["id"] == id)
        .ok_or_else(|| format!("no secret object {id}"))?;
    let field = |k: &str| {
        o[k].as_str()
            .and_then(secret::base64_decode)
            .ok_or_else(|| format!("secret {id} has no base64 {k}"))
    };
    let iv: [u8; 16] = field("iv")?
        .try_into()
        .map_err(|_| format!("secret {id}: IV is not 16 bytes"))?;
    secret::decrypt(key, &iv, &field("data")?).map_err(|e| format!("secret {id}: {e}"))
}

/// The corpus cases to start, each made runnable, and the reasons others were passed over.
fn choose(caps: &QemuCaps) -> (Vec<Runnable>, Vec<String>) {
    let dir = virt_testkit::libvirt_data("qemu-argv");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus readable")
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            Some(n.strip_suffix(".x86_64-latest.args")?.to_string())
        })
        .filter(|n| {
            let prefix = virt_qemu::argv::conformance::prefix_of(n);
            PREFIXES.contains(&prefix)
        })
        .collect();
    names.sort();
    let mut chosen = Vec::new();
    let mut skipped = Vec::new();
    for name in names {
        let xml = std::fs::read_to_string(dir.join(format!("{name}.xml"))).expect("xml");
        let want =
            std::fs::read_to_string(dir.join(format!("{name}.x86_64-latest.args"))).expect("args");
        if check_case(&name, &xml, Some(&want), caps).is_err() {
            continue;
        }
        match make_runnable(&name, &xml, caps) {
            Ok(r) => chosen.push(r),
            Err(why) => skipped.push(format!("{name}: {why}")),
        }
    }
    (chosen, skipped)
}

/// `0x3` or `0x1.0x2` as (slot, function).
fn slot_function(addr: &str) -> Option<(u64, u64)> {
    let num = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
    match addr.split_once('.') {
        Some((s, f)) => Some((num(s)?, num(f)?)),
        None => Some((num(addr)?, 0)),
    }
}

/// Every device in `query-pci`'s answer as (bus number, slot, function, qdev id).
fn pci_devices(buses: &Value) -> Vec<(u64, u64, u64, String)> {
    fn walk(devs: &Value, bus: u64, out: &mut Vec<(u64, u64, u64, String)>) {
        for d in devs.as_array().into_iter().flatten() {
            out.push((
                bus,
                d["slot"].as_u64().unwrap_or(u64::MAX),
                d["function"].as_u64().unwrap_or(u64::MAX),
                d["qdev_id"].as_str().unwrap_or("").to_string(),
            ));
            if let Some(br) = d.get("pci_bridge") {
                let sec = br["bus"]["secondary"].as_u64().unwrap_or(u64::MAX);
                walk(&br["devices"], sec, out);
            }
        }
    }
    let mut out = Vec::new();
    for b in buses.as_array().into_iter().flatten() {
        walk(&b["devices"], b["bus"].as_u64().unwrap_or(0), &mut out);
    }
    out
}

/// Starts one case paused, checks it through QMP, quits it. Returns what was checked.
fn run_case(r: &Runnable) -> Result<String, String> {
    for (path, fmt, passphrase) in &r.images {
        let mut cmd = Command::new("qemu-img");
        cmd.args(["create", "-q", "-f", fmt]);
        if let Some(p) = passphrase {
            // A low iteration time keeps the key derivation quick.
            let opts = if fmt == "luks" {
                "key-secret=sec0,iter-time=10"
            } else {
                "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10"
            };
            cmd.arg("--object")
                .arg(format!(
                    "secret,id=sec0,format=base64,data={}",
                    secret::base64(p)
                ))
                .args(["-o", opts]);
        }
        let out = cmd
            .arg(path)
            .arg("64M")
            .output()
            .map_err(|e| format!("qemu-img: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "qemu-img create {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    // The key the argv's secrets were encrypted under (the host context's).
    let key = r.dir.path().join("lib/master-key.aes");
    std::fs::write(&key, r.master_key.as_bytes()).map_err(|e| e.to_string())?;
    let socket = r.dir.path().join("monitor.sock");
    let listener = UnixListener::bind(&socket).map_err(|e| e.to_string())?;
    let mut spec = LaunchSpec::new(r.argv.clone(), r.dir.path().join("qemu.log"));
    spec.home = Some(r.dir.path().join("lib"));
    spec.env = r.env.clone();
    spec = spec.pass_fd(OwnedFd::from(listener), MONITOR_FD);
    let mut proc = QemuProcess::spawn(spec).map_err(|e| e.to_string())?;
    let log = |proc: &mut QemuProcess| {
        let _ = proc.wait_timeout(Duration::from_millis(300));
        virt_qemu::process::log_tail(proc.log_path(), 1500)
    };
    let qmp = match Qmp::connect(&socket, Duration::from_secs(30)) {
        Ok(q) => q,
        Err(e) => return Err(format!("QMP connect: {e}; QEMU said: {}", log(&mut proc))),
    };
    let result = check_guest(r, &qmp);
    let quit = qmp.execute("quit", None);
    let exited = proc.wait_timeout(Duration::from_secs(20));
    let checked = result.map_err(|e| format!("{e}; QEMU said: {}", log(&mut proc)))?;
    if !matches!(quit, Ok(_) | Err(virt_qemu::QmpError::Closed { .. })) {
        return Err(format!("quit: {quit:?}"));
    }
    match exited {
        Ok(Some(_)) => Ok(checked),
        other => Err(format!("QEMU did not exit after quit: {other:?}")),
    }
}

fn q(qmp: &Qmp, cmd: &str, args: Option<Value>) -> Result<Value, String> {
    qmp.execute(cmd, args).map_err(|e| format!("{cmd}: {e}"))
}

/// The QMP checks of one started guest.
fn check_guest(r: &Runnable, qmp: &Qmp) -> Result<String, String> {
    let args = &r.argv;
    let name = q(qmp, "query-name", None)?;
    if name["name"] != r.guest.as_str() {
        return Err(format!("query-name {name} is not {}", r.guest));
    }
    let status = q(qmp, "query-status", None)?;
    if status["status"] != "prelaunch" {
        return Err(format!("status {status}, wanted prelaunch (-S)"));
    }
    let kvm = q(qmp, "query-kvm", None)?;
    let want_kvm = options(args, "-accel").first() == Some(&"kvm");
    if kvm["enabled"].as_bool() != Some(want_kvm) {
        return Err(format!("query-kvm {kvm}, accel kvm wanted: {want_kvm}"));
    }
    let cpus = q(qmp, "query-cpus-fast", None)?;
    if let Some(smp) = options(args, "-smp").first() {
        let n: usize = smp.split(',').next().unwrap_or("").parse().unwrap_or(0);
        let got = cpus.as_array().map(Vec::len).unwrap_or(0);
        if n != 0 && got != n {
            return Err(format!("{got} vCPUs, -smp {smp}"));
        }
    }

    let devices = json_opts(args, "-device");
    let peripheral = q(
        qmp,
        "qom-list",
        Some(json!({"path": "/machine/peripheral"})),
    )?;
    let qom: BTreeSet<&str> = peripheral
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    let ids: Vec<&str> = devices.iter().filter_map(|d| d["id"].as_str()).collect();
    for id in &ids {
        if !qom.contains(id) {
            return Err(format!("device {id} not in /machine/peripheral {qom:?}"));
        }
    }

    // Devices behind bridges have no bus number before the firmware runs (-S), so query-pci
    // places only root-bus devices; every PCI device's devfn is read back through QOM.
    let pci = pci_devices(&q(qmp, "query-pci", None)?);
    let mut pci_checked = 0;
    for d in &devices {
        let (Some(id), Some(bus), Some((slot, func))) = (
            d["id"].as_str(),
            d["bus"].as_str(),
            d["addr"].as_str().and_then(slot_function),
        ) else {
            continue;
        };
        if !bus.starts_with("pci") {
            continue;
        }
        let devfn = q(
            qmp,
            "qom-get",
            Some(json!({"path": format!("/machine/peripheral/{id}"), "property": "addr"})),
        )?;
        if devfn.as_u64() != Some(slot * 8 + func) {
            return Err(format!(
                "{id} has devfn {devfn}, argv says {bus} {slot}.{func}"
            ));
        }
        if bus == "pci.0" || bus == "pcie.0" {
            let Some(found) = pci.iter().find(|p| p.3 == id) else {
                return Err(format!("PCI device {id} missing from query-pci"));
            };
            if (found.0, found.1, found.2) != (0, slot, func) {
                return Err(format!("{id} at {found:?}, argv says {bus} {slot}.{func}"));
            }
        }
        pci_checked += 1;
    }

    let nodes = q(qmp, "query-named-block-nodes", Some(json!({"flat": true})))?;
    let node_names: BTreeSet<&str> = nodes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["node-name"].as_str())
        .collect();
    let blockdevs = json_opts(args, "-blockdev");
    for b in &blockdevs {
        if let Some(n) = b["node-name"].as_str() {
            if !node_names.contains(n) {
                return Err(format!("block node {n} missing: {node_names:?}"));
            }
        }
    }
    let block = q(qmp, "query-block", None)?;
    let mut drives = 0;
    for d in &devices {
        let (Some(id), Some(drive)) = (d["id"].as_str(), d["drive"].as_str()) else {
            continue;
        };
        let attached = block.as_array().into_iter().flatten().find(|b| {
            b["qdev"]
                .as_str()
                .is_some_and(|q| q == id || q.contains(&format!("/{id}/")))
        });
        let Some(attached) = attached else {
            return Err(format!("disk device {id} missing from query-block"));
        };
        if attached["inserted"]["node-name"] != drive {
            return Err(format!(
                "{id} has {}, argv says {drive}",
                attached["inserted"]
            ));
        }
        drives += 1;
    }
    Ok(format!(
        "{} devices in qom, {pci_checked} on PCI at their addresses, {} block nodes, {drives} \
         disks attached, {} vCPUs, kvm={want_kvm}",
        ids.len(),
        blockdevs.len(),
        cpus.as_array().map(Vec::len).unwrap_or(0)
    ))
}

#[test]
fn corpus_cases_start_on_real_qemu() {
    let Some(_t) = system_test(
        "argv_real_qemu",
        &[
            Facility::Root,
            Facility::Kvm,
            Facility::Command("qemu-system-x86_64"),
            Facility::Command("qemu-img"),
        ],
    ) else {
        return;
    };
    let caps = QemuCaps::x86_64_7_2();
    let (chosen, skipped) = choose(&caps);
    for s in &skipped {
        eprintln!("not started: {s}");
    }
    assert!(
        chosen.len() >= MIN_CASES,
        "only {} startable passing cases: {:?}; passed over: {skipped:?}",
        chosen.len(),
        chosen.iter().map(|r| &r.name).collect::<Vec<_>>()
    );
    let mut failures = Vec::new();
    let mut started = 0;
    for r in &chosen {
        match run_case(r) {
            Ok(what) => {
                started += 1;
                eprintln!("started {}: {what}", r.name);
            }
            Err(e) if QEMU_REFUSES.iter().any(|k| e.contains(k)) => {
                eprintln!("QEMU refuses libvirt's own argv of {}: {e}", r.name);
            }
            Err(e) => failures.push(format!("{}: {e}", r.name)),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        started >= MIN_CASES,
        "only {started} cases started and checked"
    );
}

#[test]
fn paths_are_found_in_arguments() {
    assert_eq!(
        paths_in(r#"{"driver":"file","filename":"/a/b.img","x":1}"#),
        vec!["/a/b.img"]
    );
    assert_eq!(paths_in("file=/x/y,id=z,path=/q"), vec!["/x/y", "/q"]);
    assert!(paths_in("pc,usb=off").is_empty());
    assert_eq!(slot_function("0x1.0x2"), Some((1, 2)));
    assert_eq!(slot_function("0x1f"), Some((31, 0)));
}
