//! Character devices and the small device families (rng, TPM, watchdog, panic, vsock,
//! memballoon, IOMMU): per-family checks on small domains, refusals, and a line-by-line
//! comparison of these families' options against libvirt's corpus.

use virt_qemu::argv::cmdline::shell_unquote;
use virt_qemu::argv::{self, ArgvError, CommandLine, HostContext, QemuCaps};

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

fn domain(machine: &str, devices: &str) -> virt_xml::Domain {
    let xml = format!(
        "<domain type='qemu'><name>QEMUGuest1</name><uuid>{UUID}</uuid>\
         <memory unit='KiB'>219100</memory><vcpu placement='static'>1</vcpu>\
         <os><type arch='x86_64' machine='{machine}'>hvm</type></os>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}\
         <memballoon model='none'/></devices></domain>"
    );
    virt_xml::Domain::parse(&xml).expect("test domain parses")
}

fn build(machine: &str, devices: &str) -> Result<CommandLine, ArgvError> {
    let mut def = domain(machine, devices);
    let caps = QemuCaps::x86_64_7_2();
    let host = HostContext::libvirt_test_harness(&def);
    argv::prepare_and_build(&mut def, &caps, &host)
}

fn options(cmd: &CommandLine, opt: &str) -> Vec<String> {
    cmd.args
        .windows(2)
        .filter(|w| w[0] == opt)
        .map(|w| w[1].clone())
        .collect()
}

/// Whether an `.args` line (option and value) belongs to this helper's families.
fn is_mine(opt: &str, val: &str) -> bool {
    const DRIVERS: &[&str] = &[
        "isa-serial",
        "pci-serial",
        "usb-serial",
        "isa-debugcon",
        "isa-parallel",
        "virtserialport",
        "virtconsole",
        "virtio-rng-pci",
        "tpm-tis",
        "tpm-crb",
        "pvpanic",
        "vhost-vsock-pci",
        "i6300esb",
        "ib700",
        "virtio-balloon-pci",
        "intel-iommu",
        "virtio-iommu",
    ];
    match opt {
        "-chardev" => {
            let id = val
                .split(',')
                .find_map(|kv| kv.strip_prefix("id="))
                .unwrap_or("");
            [
                "charserial",
                "charparallel",
                "charchannel",
                "charconsole",
                "charrng",
                "chrtpm",
            ]
            .iter()
            .any(|p| id.starts_with(p))
        }
        "-add-fd" => ["serial", "parallel", "channel", "console", "tpm"]
            .iter()
            .any(|p| val.contains(&format!("opaque={p}"))),
        "-tpmdev" | "-watchdog-action" => true,
        "-netdev" => val.contains("guestfwd"),
        "-object" => val.contains("\"qom-type\":\"rng-") || val.contains("\"id\":\"objchar"),
        "-device" => DRIVERS.iter().any(|d| {
            val.contains(&format!("\"driver\":\"{d}\""))
                || val.contains(&format!("\"driver\":\"{d}-"))
        }),
        _ => false,
    }
}

fn mine_of_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches(" \\").trim();
        let Some((opt, rest)) = line.split_once(' ') else {
            continue;
        };
        if !opt.starts_with('-') {
            continue;
        }
        let val = shell_unquote(rest).unwrap_or_else(|| rest.to_string());
        if is_mine(opt, &val) {
            out.push(format!("{opt} {val}"));
        }
    }
    out
}

fn mine_of_cmd(cmd: &CommandLine) -> Vec<String> {
    mine_of_text(&cmd.to_args_text())
}

/// This family's lines of every `.args` case, compared in order. Prints the differences.
#[test]
fn corpus_family_lines() {
    let dir = virt_testkit::libvirt_data("qemu-argv");
    let caps = QemuCaps::x86_64_7_2();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".x86_64-latest.args"))
        .collect();
    entries.sort();
    let (mut same, mut differ) = (0usize, 0usize);
    for args in entries {
        let name = args.to_string_lossy().replace(".x86_64-latest.args", "");
        let Ok(xml) = std::fs::read_to_string(format!("{name}.xml")) else {
            continue;
        };
        let expected = mine_of_text(&std::fs::read_to_string(&args).expect("args"));
        if expected.is_empty() {
            continue;
        }
        let got = virt_xml::Domain::parse(&xml)
            .map_err(|e| e.to_string())
            .and_then(|mut def| {
                let host = HostContext::libvirt_test_harness(&def);
                argv::prepare_and_build(&mut def, &caps, &host).map_err(|e| e.to_string())
            });
        let got = match got {
            Ok(c) => mine_of_cmd(&c),
            Err(e) => vec![format!("refused: {e}")],
        };
        if got == expected {
            same += 1;
        } else {
            differ += 1;
            let short = name.rsplit('/').next().unwrap_or(&name);
            let blank = String::new();
            let first = expected
                .iter()
                .zip(got.iter().chain(std::iter::repeat(&blank)))
                .find(|(e, g)| e != g);
            match first {
                Some((e, g)) => eprintln!("DIFF {short}:\n  want {e}\n  got  {g}"),
                None => eprintln!("DIFF {short}: extra {:?}", &got[expected.len()..]),
            }
        }
    }
    eprintln!("chardev family lines: {same} cases same, {differ} differ");
    assert!(
        same >= FAMILY_FLOOR,
        "{same} cases same (floor {FAMILY_FLOOR})"
    );
}

/// Cases whose lines of these families match libvirt's today.
const FAMILY_FLOOR: usize = 155;

#[test]
fn serial_pty_and_isa_index() {
    let cmd = build(
        "pc",
        "<serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>",
    )
    .expect("builds");
    assert_eq!(options(&cmd, "-chardev")[1], "pty,id=charserial0");
    assert!(options(&cmd, "-device").contains(
        &r#"{"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":0}"#.to_string()
    ));
}

#[test]
fn serial_ports_left_out_follow_the_highest() {
    let cmd = build(
        "pc",
        "<serial type='null'/><serial type='vc'><target port='0'/></serial>",
    )
    .expect("builds");
    let devs = options(&cmd, "-device");
    assert!(devs.contains(
        &r#"{"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":1}"#.to_string()
    ));
    assert!(options(&cmd, "-chardev").contains(&"vc,id=charserial1".to_string()));
}

#[test]
fn file_chardev_and_log_pass_fdsets() {
    let cmd = build(
        "pc",
        "<serial type='file'><source path='/tmp/s.log'/>\
         <log file='/tmp/l.log' append='off'/><target port='0'/></serial>",
    )
    .expect("builds");
    assert_eq!(
        options(&cmd, "-add-fd"),
        vec![
            "set=0,fd=1750,opaque=serial0-source".to_string(),
            "set=1,fd=1751,opaque=serial0-log".to_string()
        ]
    );
    assert!(options(&cmd, "-chardev").contains(
        &"file,id=charserial0,path=/dev/fdset/0,append=on,logfile=/dev/fdset/1,logappend=on"
            .to_string()
    ));
    assert_eq!(
        cmd.fds.len(),
        3,
        "monitor, source and log fds: {:?}",
        cmd.fds
    );
}

#[test]
fn socket_udp_and_dev_backends() {
    let cmd = build(
        "pc",
        "<serial type='tcp'><source mode='bind' host='127.0.0.1' service='9999'/>\
         <protocol type='telnet'/><target port='0'/></serial>\
         <serial type='udp'><source mode='connect' service='9999'/><target port='1'/></serial>\
         <parallel type='unix'><source mode='connect' path='/tmp/p,x'/><target port='0'/></parallel>\
         <serial type='dev'><source path='/dev/ttyS2'/><target port='2'/></serial>",
    )
    .expect("builds");
    let chr = options(&cmd, "-chardev");
    assert!(chr.contains(
        &"socket,id=charserial0,host=127.0.0.1,port=9999,telnet=on,server=on,wait=off".into()
    ));
    assert!(chr.contains(&"udp,id=charserial1,host=,port=9999,localaddr=,localport=0".into()));
    assert!(chr.contains(&"serial,id=charserial2,path=/dev/ttyS2".into()));
    assert!(chr.contains(&"socket,id=charparallel0,path=/tmp/p,,x".into()));
    assert!(options(&cmd, "-device").contains(
        &r#"{"driver":"isa-parallel","chardev":"charparallel0","id":"parallel0"}"#.into()
    ));
}

#[test]
fn channels_guest_agent_and_guestfwd() {
    let cmd = build(
        "pc",
        "<channel type='unix'><source mode='bind' path='/tmp/ga'/>\
         <target type='virtio' name='org.qemu.guest_agent.0'/></channel>\
         <channel type='pipe'><source path='/tmp/fwd'/>\
         <target type='guestfwd' address='10.0.2.1' port='4600'/></channel>",
    )
    .expect("builds");
    assert!(options(&cmd, "-chardev")
        .contains(&"socket,id=charchannel0,fd=1729,server=on,wait=off".into()));
    assert!(options(&cmd, "-device").iter().any(|d| d.starts_with(
        r#"{"driver":"virtserialport","bus":"virtio-serial0.0","nr":1,"chardev":"charchannel0","id":"channel0","name":"org.qemu.guest_agent.0"}"#
    )));
    assert_eq!(
        options(&cmd, "-netdev"),
        vec![r#"{"type":"user","guestfwd":[{"str":"tcp:10.0.2.1:4600-chardev:charchannel1"}],"id":"channel1"}"#.to_string()]
    );
}

#[test]
fn rng_backends_and_rate() {
    let cmd = build(
        "pc",
        "<rng model='virtio'><rate bytes='123' period='1234'/>\
         <backend model='random'>/dev/random</backend></rng>\
         <rng model='virtio'><backend model='builtin'/></rng>",
    )
    .expect("builds");
    let obj = options(&cmd, "-object");
    assert!(obj
        .contains(&r#"{"qom-type":"rng-random","id":"objrng0","filename":"/dev/random"}"#.into()));
    assert!(obj.contains(&r#"{"qom-type":"rng-builtin","id":"objrng1"}"#.into()));
    assert!(options(&cmd, "-device").iter().any(|d| d.starts_with(
        r#"{"driver":"virtio-rng-pci","rng":"objrng0","id":"rng0","max-bytes":123,"period":1234,"bus":"pci.0""#
    )));
}

#[test]
fn tpm_passthrough_and_emulator() {
    let cmd = build(
        "pc",
        "<tpm model='tpm-crb'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>",
    )
    .expect("builds");
    assert_eq!(
        options(&cmd, "-tpmdev"),
        vec!["passthrough,id=tpm-tpm0,path=/dev/fdset/0,cancel-path=/dev/fdset/1".to_string()]
    );
    assert_eq!(
        options(&cmd, "-add-fd"),
        vec![
            "set=0,fd=1730,opaque=tpm0-tpm".to_string(),
            "set=1,fd=1731,opaque=tpm0-cancel".to_string()
        ]
    );
    assert!(options(&cmd, "-device")
        .contains(&r#"{"driver":"tpm-crb","tpmdev":"tpm-tpm0","id":"tpm0"}"#.into()));
    let cmd = build(
        "pc",
        "<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>",
    )
    .expect("builds");
    assert_eq!(
        options(&cmd, "-tpmdev"),
        vec!["emulator,id=tpm-tpm0,chardev=chrtpm".to_string()]
    );
}

#[test]
fn watchdog_panic_vsock_balloon() {
    let xml = "<watchdog model='ib700' action='dump'/><panic model='isa'>\
               <address type='isa' iobase='0x505'/></panic>\
               <vsock model='virtio'><cid auto='no' address='4'/></vsock>";
    let cmd = build("pc", xml).expect("builds");
    let devs = options(&cmd, "-device");
    assert!(devs.contains(&r#"{"driver":"ib700","id":"watchdog0"}"#.into()));
    assert_eq!(options(&cmd, "-watchdog-action"), vec!["pause".to_string()]);
    assert!(devs.contains(&r#"{"driver":"pvpanic","ioport":1285}"#.into()));
    assert!(devs.iter().any(|d| d.starts_with(
        r#"{"driver":"vhost-vsock-pci","id":"vsock0","guest-cid":4,"vhostfd":"6789""#
    )));
    assert!(!devs.iter().any(|d| d.contains("virtio-balloon")));
}

#[test]
fn intel_iommu_options_and_refusal() {
    let xml = "<iommu model='intel'><driver intremap='on' caching_mode='on'/></iommu>";
    let cmd = build("q35", xml).expect("builds");
    assert!(options(&cmd, "-device").contains(
        &r#"{"driver":"intel-iommu","id":"iommu0","intremap":"on","caching-mode":true}"#.into()
    ));
    let err = build("pc", "<iommu model='intel'/>").expect_err("refused");
    assert!(err.to_string().contains("only supported with Q35"), "{err}");
}
