//! The argv builder against libvirt's qemuxml2argv corpus, and per-family checks of the global
//! options on small domains.

use proptest::prelude::*;
use virt_qemu::argv::conformance::run_dir;
use virt_qemu::argv::{self, shell_quote, ArgvError, CommandLine, HostContext, QemuCaps};

/// Cases passing at the last floor raise (238 of 315 with the device families of wave 2);
/// raise it as more land so regressions fail.
const PASS_FLOOR: usize = 314;
/// `.args` cases whose global options (everything outside the device families) match today.
const GLOBALS_FLOOR: usize = 276;

#[test]
fn corpus_pass_floor() {
    let dir = virt_testkit::libvirt_data("qemu-argv");
    let caps = QemuCaps::x86_64_7_2();
    let report = run_dir(&dir, &caps).expect("corpus readable");
    let total = report.passed.len() + report.failures.len();
    assert!(total >= 300, "corpus has {total} cases");
    assert!(
        report.passed.len() >= PASS_FLOOR,
        "{} passed (floor {PASS_FLOOR}); first failures: {:?}",
        report.passed.len(),
        report.failures.iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        report.globals_passed >= GLOBALS_FLOOR,
        "global options match in {} cases (floor {GLOBALS_FLOOR}); differences: {:?}",
        report.globals_passed,
        report.globals_failures
    );
}

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

fn domain(kind: &str, extra: &str, devices: &str) -> virt_xml::Domain {
    let xml = format!(
        "<domain type='{kind}'><name>QEMUGuest1</name><uuid>{UUID}</uuid>\
         <memory unit='KiB'>219100</memory><vcpu placement='static'>1</vcpu>{extra}\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}</devices></domain>"
    );
    virt_xml::Domain::parse(&xml).expect("test domain parses")
}

const PC_OS: &str = "<os><type arch='x86_64' machine='pc'>hvm</type></os>";

fn build(def: &virt_xml::Domain) -> Result<CommandLine, ArgvError> {
    let caps = QemuCaps::x86_64_7_2();
    let host = HostContext::libvirt_test_harness(def);
    argv::build(def, &caps, &host)
}

fn options(cmd: &CommandLine, opt: &str) -> Vec<String> {
    cmd.args
        .windows(2)
        .filter(|w| w[0] == opt)
        .map(|w| w[1].clone())
        .collect()
}

#[test]
fn header_machine_accel_memory() {
    let cmd = build(&domain("qemu", PC_OS, "")).expect("builds");
    assert_eq!(
        &cmd.args[..5],
        &[
            "-name",
            "guest=QEMUGuest1,debug-threads=on",
            "-S",
            "-object",
            r#"{"qom-type":"secret","id":"masterKey0","format":"raw","file":"/tmp/lib/domain--1-QEMUGuest1/master-key.aes"}"#
        ]
    );
    assert_eq!(
        cmd.option("-machine"),
        Some("pc,usb=off,dump-guest-core=off,memory-backend=pc.ram")
    );
    assert_eq!(cmd.option("-accel"), Some("tcg"));
    assert_eq!(cmd.option("-cpu"), Some("qemu64"));
    // 219100 KiB rounds up to 214 MiB.
    assert_eq!(cmd.option("-m"), Some("214"));
    assert!(options(&cmd, "-object").contains(
        &r#"{"qom-type":"memory-backend-ram","id":"pc.ram","size":224395264}"#.to_string()
    ));
    assert_eq!(cmd.option("-smp"), Some("1,sockets=1,cores=1,threads=1"));
    assert_eq!(cmd.option("-uuid"), Some(UUID));
    assert_eq!(cmd.option("-display"), Some("none"));
    assert_eq!(
        cmd.option("-chardev"),
        Some("socket,id=charmonitor,fd=1729,server=on,wait=off")
    );
    assert_eq!(cmd.option("-rtc"), Some("base=utc"));
    assert_eq!(cmd.option("-boot"), Some("strict=on"));
    assert!(cmd.args.iter().any(|a| a == "-no-acpi"));
    assert_eq!(cmd.args.last().map(String::as_str), Some("timestamp=on"));
    assert_eq!(cmd.fds.len(), 1);
    assert_eq!(cmd.fds[0].number, 1729);
    let text = cmd.to_args_text();
    assert!(text.starts_with("LC_ALL=C \\\nPATH=/bin \\\nHOME=/tmp/lib/domain--1-QEMUGuest1 \\\n"));
    assert!(text.ends_with("-msg timestamp=on\n"));
}

#[test]
fn cpu_features_and_enlightenments() {
    let extra = format!(
        "{PC_OS}<features><acpi/><apic eoi='on'/><hyperv mode='custom'><relaxed state='on'/>\
         <spinlocks state='on' retries='12287'/><vendor_id state='on' value='KVM Hv'/></hyperv>\
         <pvspinlock state='off'/></features>\
         <cpu mode='custom' match='exact'><model fallback='forbid'>Haswell</model>\
         <feature policy='require' name='tsc_adjust'/><feature policy='disable' name='vmx'/></cpu>"
    );
    let cmd = build(&domain("kvm", &extra, "")).expect("builds");
    assert_eq!(cmd.option("-accel"), Some("kvm"));
    assert_eq!(
        cmd.option("-cpu"),
        Some("Haswell,tsc-adjust=on,vmx=off,kvm-pv-eoi=on,kvm-pv-unhalt=off,hv-relaxed=on,hv-spinlocks=0x2fff,hv-vendor-id=KVM Hv")
    );
    assert!(!cmd.args.iter().any(|a| a == "-no-acpi"));
    assert!(cmd.to_args_text().contains("-cpu 'Haswell,"));
}

#[test]
fn smp_topology_and_numa() {
    let extra = "<os><type arch='x86_64' machine='pc'>hvm</type></os>\
        <cpu><topology sockets='1' dies='1' cores='2' threads='1'/><numa>\
        <cell id='0' cpus='0' memory='110592' unit='KiB'/>\
        <cell id='1' cpus='1' memory='108508' unit='KiB'/></numa></cpu>";
    let xml = format!(
        "<domain type='qemu'><name>n</name><memory unit='KiB'>219100</memory>\
         <vcpu placement='static'>2</vcpu>{extra}<devices/></domain>"
    );
    let def = virt_xml::Domain::parse(&xml).expect("parses");
    let cmd = build(&def).expect("builds");
    assert_eq!(
        cmd.option("-smp"),
        Some("2,sockets=1,dies=1,cores=2,threads=1")
    );
    assert_eq!(
        cmd.option("-machine"),
        Some("pc,usb=off,dump-guest-core=off")
    );
    assert_eq!(
        options(&cmd, "-numa"),
        [
            "node,nodeid=0,cpus=0,memdev=ram-node0",
            "node,nodeid=1,cpus=1,memdev=ram-node1"
        ]
    );
    assert_eq!(cmd.option("-m"), Some("214"));
}

#[test]
fn hugepages_backend_and_refusal() {
    let extra = format!("<memoryBacking><hugepages/></memoryBacking>{PC_OS}");
    let cmd = build(&domain("qemu", &extra, "")).expect("builds");
    assert!(options(&cmd, "-object").iter().any(|o| o.contains(
        r#""qom-type":"memory-backend-file","id":"pc.ram","mem-path":"/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1","x-use-canonical-path-for-ramblock-id":false,"prealloc":true"#
    )));
    let extra = format!(
        "<memoryBacking><hugepages><page size='5' unit='MiB'/></hugepages></memoryBacking>{PC_OS}"
    );
    let err = build(&domain("qemu", &extra, "")).expect_err("no 5M hugetlbfs");
    assert!(
        err.to_string().contains("hugetlbfs mount for 5120 KiB"),
        "{err}"
    );
}

#[test]
fn clock_pm_boot_kernel() {
    let extra = "<os><type arch='x86_64' machine='q35'>hvm</type><kernel>/vmlinuz</kernel>\
        <initrd>/initrd</initrd><cmdline>console=ttyS0 quiet</cmdline>\
        <bootmenu enable='yes' timeout='3000'/><bios rebootTimeout='0'/></os>\
        <clock offset='localtime'><timer name='rtc' tickpolicy='catchup'/>\
        <timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/></clock>\
        <pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='yes'/></pm>";
    let cmd = build(&domain("kvm", extra, "")).expect("builds");
    assert_eq!(
        cmd.option("-machine"),
        Some("q35,usb=off,dump-guest-core=off,memory-backend=pc.ram,hpet=off")
    );
    assert_eq!(cmd.option("-rtc"), Some("base=localtime,driftfix=slew"));
    assert_eq!(
        options(&cmd, "-global"),
        [
            "kvm-pit.lost_tick_policy=delay",
            "ICH9-LPC.disable_s3=1",
            "ICH9-LPC.disable_s4=0"
        ]
    );
    assert_eq!(
        cmd.option("-boot"),
        Some("menu=on,splash-time=3000,strict=on,reboot-timeout=0")
    );
    assert_eq!(cmd.option("-append"), Some("console=ttyS0 quiet"));
    assert!(cmd.to_args_text().contains("-append 'console=ttyS0 quiet'"));
}

#[test]
fn firmware_pflash() {
    let extra = "<os><type arch='x86_64' machine='pc'>hvm</type>\
        <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader></os>";
    let cmd = build(&domain("qemu", extra, "")).expect("builds");
    let bd = options(&cmd, "-blockdev");
    assert_eq!(bd.len(), 4);
    assert!(bd[2].contains("/var/lib/libvirt/qemu/nvram/QEMUGuest1_VARS.fd"));
    assert!(cmd.option("-machine").is_some_and(
        |m| m.ends_with("pflash0=libvirt-pflash0-format,pflash1=libvirt-pflash1-format")
    ));
}

#[test]
fn iothreads_with_pool_sizes() {
    let extra = "<iothreads>3</iothreads><iothreadids>\
                 <iothread id='4' thread_pool_min='0' thread_pool_max='8'/><iothread id='1'/>\
                 </iothreadids><defaultiothread thread_pool_min='2' thread_pool_max='4'/>";
    let cmd = build(&domain("qemu", &format!("{PC_OS}{extra}"), "")).expect("builds");
    let objects: Vec<String> = options(&cmd, "-object")
        .into_iter()
        .filter(|o| o.contains("iothread") || o.contains("main-loop"))
        .collect();
    assert_eq!(
        objects,
        [
            r#"{"qom-type":"iothread","id":"iothread4","thread-pool-min":0,"thread-pool-max":8}"#,
            r#"{"qom-type":"iothread","id":"iothread1"}"#,
            r#"{"qom-type":"iothread","id":"iothread2"}"#,
            r#"{"qom-type":"main-loop","id":"main-loop","thread-pool-min":2,"thread-pool-max":4}"#,
        ]
    );
}

#[test]
fn firmware_autoselection_from_descriptor_files() {
    let dir = virt_testkit::TempDir::new("argv-fw").expect("temp dir");
    let (etc, usr) = (dir.path().join("etc"), dir.path().join("usr"));
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(&usr).unwrap();
    let flash = |code: &str, features: &str| {
        format!(
            r#"{{"interface-types":["uefi"],"mapping":{{"device":"flash","executable":{{"filename":"{code}","format":"raw"}},"nvram-template":{{"filename":"/v.fd","format":"raw"}}}},"targets":[{{"architecture":"x86_64","machines":["pc-q35-*"]}}],"features":[{features}]}}"#
        )
    };
    std::fs::write(
        usr.join("10-sb.json"),
        flash("/fw/sb.fd", r#""requires-smm","secure-boot""#),
    )
    .unwrap();
    std::fs::write(usr.join("20-plain.json"), flash("/fw/plain.fd", "")).unwrap();
    // An empty file in the earlier directory masks the same name in the later one.
    std::fs::write(etc.join("10-sb.json"), "").unwrap();
    let descriptors = argv::firmware::FirmwareDescriptor::load(&[etc, usr]);
    assert_eq!(descriptors.len(), 1, "{descriptors:?}");

    let os = "<os firmware='efi'><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>";
    let mut def = domain("qemu", os, "");
    argv::firmware::autoselect(&mut def, &descriptors).expect("selects");
    let cmd = build(&def).expect("builds");
    assert!(
        cmd.args
            .iter()
            .any(|a| a.contains(r#""filename":"/fw/plain.fd""#)),
        "{:?}",
        cmd.args
    );
    assert!(cmd.option("-machine").unwrap().contains("pflash0="));

    // The harness's descriptors: secure boot needs SMM; BIOS is a ROM; nothing serves i440fx UEFI
    // with enrolled keys.
    let harness = argv::firmware::libvirt_test_descriptors();
    let mut def = domain("qemu", os, "");
    argv::firmware::autoselect(&mut def, &harness).expect("selects");
    let cmd = build(&def).expect("builds");
    assert!(cmd.option("-machine").unwrap().contains("smm=on"));
    assert!(cmd
        .args
        .iter()
        .any(|a| a == "driver=cfi.pflash01,property=secure,value=on"));
    let bios = "<os firmware='bios'><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>";
    let mut def = domain("qemu", bios, "");
    argv::firmware::autoselect(&mut def, &harness).expect("selects");
    assert_eq!(
        build(&def).expect("builds").option("-bios"),
        Some("/usr/share/seabios/bios-256k.bin")
    );
    let keys = "<os firmware='efi'><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>\
                <firmware><feature enabled='yes' name='enrolled-keys'/></firmware></os>";
    let mut def = domain("qemu", keys, "");
    let err = argv::firmware::autoselect(&mut def, &harness).expect_err("nothing matches");
    assert!(
        err.to_string().contains("Unable to find any firmware"),
        "{err}"
    );
}

#[test]
fn refusals_name_the_problem() {
    let bad_arch = "<os><type arch='alpha'>hvm</type></os>";
    let e = build(&domain("qemu", bad_arch, "")).expect_err("alpha");
    assert_eq!(
        e.to_string(),
        "unsupported configuration: Emulator '/usr/bin/qemu-system-x86_64' does not support arch 'alpha'"
    );
    let e = build(&domain("hvf", PC_OS, "")).expect_err("hvf");
    assert!(e.to_string().contains("virt type 'hvf'"), "{e}");
    let tseg = "<os><type arch='x86_64' machine='q35'>hvm</type></os>\
        <features><smm state='on'><tseg unit='KiB'>1000</tseg></smm></features>";
    let e = build(&domain("qemu", tseg, "")).expect_err("tseg");
    assert!(e.to_string().contains("divisible by 1 MiB"), "{e}");
    let numa = format!("<numatune><memory mode='strict' nodeset='999'/></numatune>{PC_OS}");
    let e = build(&domain("qemu", &numa, "")).expect_err("numa");
    assert!(e.to_string().contains("NUMA node 999"), "{e}");
}

proptest! {
    #[test]
    fn quoting_round_trips(s in ".{0,40}") {
        let q = shell_quote(&s);
        prop_assert_eq!(virt_qemu::argv::cmdline::shell_unquote(&q), Some(s.clone()));
    }

    #[test]
    fn args_text_never_panics(
        env in proptest::collection::vec(("[A-Z_]{1,8}", ".{0,20}"), 0..4),
        args in proptest::collection::vec(".{0,30}", 0..12),
    ) {
        let cmd = CommandLine { env, program: "/usr/bin/qemu".into(), args, fds: vec![] };
        let text = cmd.to_args_text();
        prop_assert!(text.ends_with('\n'));
        // Every line but the last ends in the continuation marker.
        let lines: Vec<&str> = text.trim_end_matches('\n').split(" \\\n").collect();
        prop_assert!(lines.len() > cmd.env.len());
    }
}
