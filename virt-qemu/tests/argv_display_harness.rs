//! Per-case driver options of libvirt's argv test program ([`argv::harness`]), and the families
//! they change: VNC/SPICE TLS, SASL, UNIX sockets and ports, the default audio backend, chardev
//! TLS; plus the virtconsole address rule, CPU feature filtering, video virtio options and the
//! root PCI bus name under a user alias.

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;

use virt_qemu::argv::conformance::check_case;
use virt_qemu::argv::harness::{self, HarnessOption, CASES, TLS_SECRET_UUID};
use virt_qemu::argv::{self, ArgvError, CommandLine, DisplayPorts, HostContext, QemuCaps};

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

fn domain(kind: &str, machine: &str, extra: &str, devices: &str) -> virt_xml::Domain {
    let xml = format!(
        "<domain type='{kind}'><name>QEMUGuest1</name><uuid>{UUID}</uuid>\
         <memory unit='KiB'>219100</memory><vcpu placement='static'>1</vcpu>\
         <os><type arch='x86_64' machine='{machine}'>hvm</type></os>{extra}\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}\
         <memballoon model='none'/></devices></domain>"
    );
    virt_xml::Domain::parse(&xml).expect("test domain parses")
}

/// Builds `devices` on the harness host with `options` changed.
fn build_with(
    devices: &str,
    options: &[HarnessOption],
    tweak: impl FnOnce(&mut HostContext),
) -> Result<CommandLine, ArgvError> {
    let mut def = domain("qemu", "pc", "", devices);
    let caps = QemuCaps::x86_64_7_2();
    let mut host = HostContext::libvirt_test_harness(&def);
    harness::apply(options, &mut host.config);
    tweak(&mut host);
    argv::prepare_and_build(&mut def, &caps, &host)
}

fn build(devices: &str, options: &[HarnessOption]) -> CommandLine {
    build_with(devices, options, |_| {}).expect("builds")
}

fn options(cmd: &CommandLine, opt: &str) -> Vec<String> {
    cmd.args
        .windows(2)
        .filter(|w| w[0] == opt)
        .map(|w| w[1].clone())
        .collect()
}

fn env(cmd: &CommandLine, key: &str) -> Option<String> {
    cmd.env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

const VNC: &str = "<graphics type='vnc' port='5903' autoport='no' listen='127.0.0.1'>\
                   <listen type='address' address='127.0.0.1'/></graphics>";

#[test]
fn settings_table_is_applied_per_case() {
    assert_eq!(CASES.len(), 18);
    assert!(harness::options_for("minimal").is_empty());
    let def = domain("qemu", "pc", "", "");
    let base = HostContext::libvirt_test_harness(&def).config;
    for case in CASES {
        let cfg = HostContext::libvirt_test_case(&def, case.name).config;
        assert_ne!(cfg, base, "{} changes nothing", case.name);
    }
    let cfg = HostContext::libvirt_test_case(&def, "graphics-vnc-tls-secret").config;
    assert_eq!(cfg.vnc_sasl_dir, Some(PathBuf::from("/root/.sasl2")));
    assert_eq!(cfg.vnc_tls_dir, Some(PathBuf::from("/etc/pki/libvirt-vnc")));
    assert!(cfg.vnc_tls_verify);
    assert_eq!(cfg.vnc_tls_secret_uuid, Some(TLS_SECRET_UUID));
    let cfg = HostContext::libvirt_test_case(&def, "serial-tcp-tlsx509-chardev-verify").config;
    assert_eq!(
        cfg.chardev_tls,
        Some((PathBuf::from("/etc/pki/libvirt-chardev"), true))
    );
    let cfg = HostContext::libvirt_test_case(&def, "audio-default-vnc").config;
    assert_eq!(cfg.host_audio_driver.as_deref(), Some("alsa"));
    assert!(cfg.vnc_allow_host_audio && !cfg.nographics_allow_host_audio);
    // The base is libvirt's qemu.conf defaults plus the harness's own settings; the real
    // driver's defaults keep every changed option off.
    let real = argv::DriverConfig::default();
    assert!(real.vnc_tls_dir.is_none() && real.vnc_sasl_dir.is_none() && !real.spice_sasl);
    assert!(real.chardev_tls.is_none() && !real.vnc_auto_unix_socket);
    assert!(!real.vnc_allow_host_audio && real.host_audio_driver.is_none());
    assert_eq!(
        real.display_ports,
        DisplayPorts::FirstFree {
            min: 5900,
            max: 65535
        }
    );
    assert_eq!(base.display_ports, DisplayPorts::Pretend);
}

/// Every case of the table present in this corpus copy passes (disk cases are another family's).
#[test]
fn table_cases_in_the_corpus_pass() {
    let dir = virt_testkit::libvirt_data("qemu-argv");
    let caps = QemuCaps::x86_64_7_2();
    let mut checked = 0;
    for case in CASES.iter().filter(|c| !c.name.starts_with("disk-")) {
        let Ok(xml) = std::fs::read_to_string(dir.join(format!("{}.xml", case.name))) else {
            continue;
        };
        let want = std::fs::read_to_string(dir.join(format!("{}.x86_64-latest.args", case.name)))
            .expect("args");
        if let Err(e) = check_case(case.name, &xml, Some(&want), &caps) {
            panic!("{}: {e}", case.name);
        }
        checked += 1;
    }
    assert!(checked >= 8, "{checked} cases checked");
}

#[test]
fn vnc_sasl_and_tls() {
    let cmd = build(VNC, &[HarnessOption::VncSasl]);
    assert_eq!(env(&cmd, "SASL_CONF_PATH").as_deref(), Some("/root/.sasl2"));
    assert_eq!(
        cmd.option("-vnc"),
        Some("127.0.0.1:3,sasl=on,audiodev=audio1")
    );
    let cmd = build(VNC, &[HarnessOption::VncSasl, HarnessOption::VncTls]);
    assert!(options(&cmd, "-object").contains(
        &r#"{"qom-type":"tls-creds-x509","id":"vnc-tls-creds0","dir":"/etc/pki/libvirt-vnc","endpoint":"server","verify-peer":true}"#.to_string()
    ));
    assert_eq!(
        cmd.option("-vnc"),
        Some("127.0.0.1:3,tls-creds=vnc-tls-creds0,sasl=on,audiodev=audio1")
    );
    let cmd = build(VNC, &[HarnessOption::VncTls, HarnessOption::VncTlsSecret]);
    let objects = options(&cmd, "-object");
    let secret = objects
        .iter()
        .position(|o| o.contains(r#""id":"vnc-tls-creds0-secret0""#))
        .expect("secret object");
    let creds = objects
        .iter()
        .position(|o| o.contains(r#""passwordid":"vnc-tls-creds0-secret0""#))
        .expect("creds name the secret");
    assert!(secret < creds);
    assert!(objects[secret].contains(r#""keyid":"masterKey0""#));
    // Without the option nothing of it is written.
    let cmd = build(VNC, &[]);
    assert_eq!(cmd.option("-vnc"), Some("127.0.0.1:3,audiodev=audio1"));
    assert!(env(&cmd, "SASL_CONF_PATH").is_none());
}

#[test]
fn vnc_auto_unix_socket_and_ports() {
    let plain = "<graphics type='vnc'/>";
    let cmd = build(plain, &[HarnessOption::VncAutoUnixSocket]);
    assert_eq!(
        cmd.option("-vnc"),
        Some("vnc=unix:/tmp/lib/domain--1-QEMUGuest1/vnc.sock,audiodev=audio1")
    );
    // A given address is kept; autoport in a pretend start is 5900.
    let cmd = build(VNC, &[HarnessOption::VncAutoUnixSocket]);
    assert_eq!(cmd.option("-vnc"), Some("127.0.0.1:3,audiodev=audio1"));
    assert_eq!(
        build(plain, &[]).option("-vnc"),
        Some("127.0.0.1:0,audiodev=audio1")
    );
    let bad = "<graphics type='vnc' port='80' autoport='no'/>";
    let e = build_with(bad, &[], |_| {}).expect_err("port out of range");
    assert!(e.to_string().contains("vnc port must be in range"), "{e}");
}

#[test]
fn spice_sasl_socket_and_autoport() {
    let spice = "<graphics type='spice' port='5903' tlsPort='5904' autoport='no' \
                 listen='127.0.0.1' defaultMode='secure'><listen type='address' \
                 address='127.0.0.1'/></graphics>";
    let cmd = build(spice, &[HarnessOption::SpiceSasl]);
    assert_eq!(env(&cmd, "SASL_CONF_PATH").as_deref(), Some("/root/.sasl2"));
    assert_eq!(
        cmd.option("-spice"),
        Some("port=5903,tls-port=5904,addr=127.0.0.1,sasl=on,x509-dir=/etc/pki/libvirt-spice,tls-channel=default,seamless-migration=on")
    );
    let auto = "<graphics type='spice' autoport='yes'><listen type='address'/></graphics>";
    let cmd = build(auto, &[]);
    assert_eq!(
        cmd.option("-spice"),
        Some("port=5901,tls-port=5902,addr=127.0.0.1,x509-dir=/etc/pki/libvirt-spice,seamless-migration=on")
    );
    let cmd = build(auto, &[HarnessOption::SpiceAutoUnixSocket]);
    assert_eq!(
        cmd.option("-spice"),
        Some("unix,addr=/tmp/lib/domain--1-QEMUGuest1/spice.sock,seamless-migration=on")
    );
    // Without a SPICE password ticketing is off.
    let cmd = build_with(auto, &[], |h| h.config.spice_password = None).expect("builds");
    assert!(cmd
        .option("-spice")
        .is_some_and(|s| s.contains("disable-ticketing=on")));
    // A TLS port without TLS in the driver is refused.
    let e = build_with(spice, &[], |h| h.config.spice_tls_dir = None).expect_err("no TLS");
    assert!(
        e.to_string().contains("TLS is disabled in qemu.conf"),
        "{e}"
    );
}

/// Real port allocation: the lowest free ports of the range, skipping one this test holds.
#[test]
fn spice_autoport_takes_free_host_ports() {
    // Find three consecutive free ports in a high range, then hold the first.
    let base = (42000u16..43000)
        .step_by(7)
        .find(|p| (0..3).all(|i| TcpListener::bind((Ipv4Addr::UNSPECIFIED, p + i)).is_ok()))
        .expect("free ports");
    let _held = TcpListener::bind((Ipv4Addr::UNSPECIFIED, base)).expect("hold");
    let auto = "<graphics type='spice' autoport='yes'><listen type='address'/></graphics>";
    let range = DisplayPorts::FirstFree {
        min: base,
        max: base + 2,
    };
    let cmd = build_with(auto, &[], |h| h.config.display_ports = range.clone()).expect("builds");
    assert_eq!(
        cmd.option("-spice"),
        Some(
            format!(
                "port={},tls-port={},addr=127.0.0.1,x509-dir=/etc/pki/libvirt-spice,seamless-migration=on",
                base + 1,
                base + 2
            )
            .as_str()
        )
    );
    let e = build_with(auto, &[], |h| {
        h.config.display_ports = DisplayPorts::FirstFree {
            min: base,
            max: base,
        }
    })
    .expect_err("range exhausted");
    assert!(
        e.to_string().contains("Unable to find an unused port"),
        "{e}"
    );
    // Without TLS in the driver only the plain port is taken; a secure default mode then
    // cannot get its TLS port.
    let cmd = build_with(auto, &[], |h| {
        h.config.display_ports = range.clone();
        h.config.spice_tls_dir = None;
    })
    .expect("builds");
    assert_eq!(
        cmd.option("-spice"),
        Some(format!("port={},addr=127.0.0.1,seamless-migration=on", base + 1).as_str())
    );
    let secure = auto.replace("autoport='yes'", "autoport='yes' defaultMode='secure'");
    let e = build_with(&secure, &[], |h| {
        h.config.display_ports = range;
        h.config.spice_tls_dir = None;
    })
    .expect_err("TLS port without TLS");
    assert!(e.to_string().contains("spice TLS is disabled"), "{e}");
}

#[test]
fn default_audio_backend_follows_host_audio_settings() {
    let audiodev = |cmd: &CommandLine| options(cmd, "-audiodev");
    let sdl = "<graphics type='sdl'/>";
    let cmd = build(sdl, &[HarnessOption::HostAudioSdl]);
    assert_eq!(env(&cmd, "SDL_AUDIODRIVER").as_deref(), Some("esd"));
    assert_eq!(audiodev(&cmd), [r#"{"id":"audio1","driver":"sdl"}"#]);
    // SDL passes host audio through: without a host driver there is no backend.
    assert!(audiodev(&build(sdl, &[])).is_empty());
    let vnc = "<graphics type='vnc'/>";
    let alsa = [r#"{"id":"audio1","driver":"alsa"}"#];
    let none = [r#"{"id":"audio1","driver":"none"}"#];
    let opts = [
        HarnessOption::HostAudioAlsa,
        HarnessOption::VncAllowHostAudio,
    ];
    assert_eq!(audiodev(&build(vnc, &opts)), alsa);
    assert_eq!(audiodev(&build(vnc, &[HarnessOption::HostAudioAlsa])), none);
    let opts = [
        HarnessOption::HostAudioAlsa,
        HarnessOption::NographicsAllowHostAudio,
    ];
    assert_eq!(audiodev(&build("", &opts)), alsa);
    assert_eq!(audiodev(&build("", &[])), none);
    // The last display decides.
    let both = "<graphics type='vnc'/><graphics type='spice' autoport='yes'/>";
    assert_eq!(
        audiodev(&build(both, &[])),
        [r#"{"id":"audio1","driver":"spice"}"#]
    );
    let e = build_with(vnc, &[HarnessOption::VncAllowHostAudio], |h| {
        h.config.host_audio_driver = Some("beeper".into())
    })
    .expect_err("unknown driver");
    assert!(
        e.to_string()
            .contains("unknown QEMU_AUDIO_DRV setting beeper"),
        "{e}"
    );
}

#[test]
fn chardev_tls_lines() {
    let tcp = "<serial type='tcp'><source mode='connect' host='127.0.0.1' service='5555'/>\
               <protocol type='raw'/><target port='0'/></serial>";
    let cmd = build(tcp, &[HarnessOption::ChardevTls]);
    assert!(options(&cmd, "-object").contains(
        &r#"{"qom-type":"tls-creds-x509","id":"objcharserial0_tls0","dir":"/etc/pki/libvirt-chardev","endpoint":"client","verify-peer":true}"#.to_string()
    ));
    assert!(options(&cmd, "-chardev").contains(
        &"socket,id=charserial0,host=127.0.0.1,port=5555,tls-creds=objcharserial0_tls0".to_string()
    ));
    // A listening server verifies clients only when the driver says so.
    let listen = tcp.replace("mode='connect'", "mode='bind'");
    let cmd = build(&listen, &[HarnessOption::ChardevTls]);
    assert!(options(&cmd, "-object")
        .iter()
        .any(|o| o.contains(r#""endpoint":"server","verify-peer":false"#)));
    let cmd = build(
        &listen,
        &[HarnessOption::ChardevTls, HarnessOption::ChardevTlsVerify],
    );
    assert!(options(&cmd, "-object")
        .iter()
        .any(|o| o.contains(r#""endpoint":"server","verify-peer":true"#)));
    // tls='no' on the source wins over the driver.
    let off = tcp.replace("service='5555'", "service='5555' tls='no'");
    let cmd = build(&off, &[HarnessOption::ChardevTls]);
    assert!(!options(&cmd, "-object")
        .iter()
        .any(|o| o.contains("tls-creds-x509")));
    // The key password secret comes first and is named by the credentials.
    let cmd = build(
        tcp,
        &[HarnessOption::ChardevTls, HarnessOption::ChardevTlsSecret],
    );
    let objects = options(&cmd, "-object");
    assert!(objects
        .iter()
        .any(|o| o.contains(r#""qom-type":"secret","id":"charserial0-secret0""#)));
    assert!(objects
        .iter()
        .any(|o| o.contains(r#""passwordid":"charserial0-secret0""#)));
}

#[test]
fn virtconsole_has_no_address_unless_given() {
    let devices = "<console type='pty'><target type='virtio'/></console>\
                   <console type='pty'><target type='virtio'/></console>\
                   <channel type='pty'><target type='virtio' name='org.example.0'/></channel>";
    let cmd = build(devices, &[]);
    let devs = options(&cmd, "-device");
    assert!(devs.contains(
        &r#"{"driver":"virtconsole","chardev":"charconsole0","id":"console0"}"#.to_string()
    ));
    assert!(devs.contains(
        &r#"{"driver":"virtconsole","chardev":"charconsole1","id":"console1"}"#.to_string()
    ));
    // The consoles' ports (0 and 1) are still taken: the channel gets port 2.
    assert!(devs.iter().any(|d| d.starts_with(
        r#"{"driver":"virtserialport","bus":"virtio-serial0.0","nr":2,"chardev":"charchannel0""#
    )));
    let given = "<console type='pty'><target type='virtio'/>\
                 <address type='virtio-serial' controller='0' bus='0' port='3'/></console>";
    let devs = options(&build(given, &[]), "-device");
    assert!(devs.contains(
        &r#"{"driver":"virtconsole","bus":"virtio-serial0.0","nr":3,"chardev":"charconsole0","id":"console0"}"#.to_string()
    ));
}

#[test]
fn cpu_features_as_libvirt_starts_the_guest() {
    let build_cpu = |extra: &str, devices: &str| {
        let mut def = domain("qemu", "pc", extra, devices);
        let caps = QemuCaps::x86_64_7_2();
        let host = HostContext::libvirt_test_harness(&def);
        argv::prepare_and_build(&mut def, &caps, &host).expect("builds")
    };
    // A removed feature of the model is disabled explicitly; a disabled feature QEMU does not
    // know is dropped; features QEMU never takes are dropped; libvirt names are translated.
    let cpu = "<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>\
               Icelake-Server</model><feature name='pconfig' policy='disable'/>\
               <feature name='cmt' policy='require'/><feature name='lahf_lm' policy='require'/>\
               </cpu>";
    assert_eq!(
        build_cpu(cpu, "").option("-cpu"),
        Some("Icelake-Server,lahf-lm=on,intel-pt=off")
    );
    let clock = "<clock offset='utc'><timer name='kvmclock' present='no'/></clock>";
    assert_eq!(
        build_cpu(clock, "<panic model='hyperv'/>").option("-cpu"),
        Some("qemu64,kvmclock=off,hv-crash")
    );
}

#[test]
fn vhost_user_vga_takes_no_virtio_options() {
    let video = |primary: &str, slot: u8| {
        format!(
            "<video><driver ats='on' name='vhostuser'/><model type='virtio' heads='1' \
             primary='{primary}'/><address type='pci' domain='0x0000' bus='0x00' \
             slot='0x0{slot}' function='0x0'/></video>"
        )
    };
    let devices = format!("{}{}", video("yes", 2), video("no", 3));
    let cmd = build_with(&devices, &[], |_| {}).expect("builds");
    let devs = options(&cmd, "-device");
    let vga = devs
        .iter()
        .find(|d| d.contains("vhost-user-vga"))
        .expect("vga");
    assert!(!vga.contains("ats"), "{vga}");
    let gpu = devs
        .iter()
        .find(|d| d.contains("vhost-user-gpu-pci"))
        .expect("gpu");
    assert!(gpu.contains(r#""ats":true"#), "{gpu}");
}

#[test]
fn root_bus_keeps_qemu_name_under_user_alias() {
    let devices = "<controller type='pci' index='0' model='pci-root'><alias name='ua-Root'/>\
                   </controller><disk type='file' device='disk'><source file='/tmp/d.img'/>\
                   <target dev='vda' bus='virtio'/><alias name='ua-Disk'/></disk>";
    let cmd = build(devices, &[]);
    assert!(options(&cmd, "-device")
        .iter()
        .any(|d| d.contains(r#""driver":"virtio-blk-pci","bus":"pci.0""#)));
}

#[test]
fn parallel_device_uses_the_parallel_backend() {
    let devices = "<parallel type='dev'><source path='/dev/parport0'/><target port='0'/>\
                   </parallel><serial type='dev'><source path='/dev/ttyS2'/><target port='0'/>\
                   <address type='isa' iobase='0x3f8' irq='0x4'/></serial>";
    let cmd = build(devices, &[]);
    let chardevs = options(&cmd, "-chardev");
    assert!(chardevs.contains(&"parallel,id=charparallel0,path=/dev/parport0".to_string()));
    assert!(chardevs.contains(&"serial,id=charserial0,path=/dev/ttyS2".to_string()));
    assert!(options(&cmd, "-device").contains(
        &r#"{"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":0,"iobase":1016,"irq":4}"#.to_string()
    ));
}
