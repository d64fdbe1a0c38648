//! Controllers, hubs, inputs, graphics, video and sound on the command line, on small domains run
//! through address assignment and the builder; and the refusals of these families.

use virt_qemu::argv::{self, ArgvError, CommandLine, HostContext, QemuCaps};

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

fn run(machine: &str, devices: &str) -> Result<CommandLine, ArgvError> {
    let xml = format!(
        "<domain type='qemu'><name>QEMUGuest1</name><uuid>{UUID}</uuid>\
         <memory unit='KiB'>219100</memory><vcpu placement='static'>1</vcpu>\
         <os><type arch='x86_64' machine='{machine}'>hvm</type></os>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}\
         <memballoon model='none'/></devices></domain>"
    );
    let mut def = virt_xml::Domain::parse(&xml).expect("test domain parses");
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

fn devices(cmd: &CommandLine) -> Vec<String> {
    options(cmd, "-device")
}

#[test]
fn default_usb_controller_on_pc() {
    let cmd = run("pc", "").expect("argv");
    assert_eq!(
        devices(&cmd),
        vec![r#"{"driver":"piix3-usb-uhci","id":"usb","bus":"pci.0","addr":"0x1.0x2"}"#]
    );
}

#[test]
fn q35_root_ports_and_xhci() {
    let cmd = run(
        "q35",
        "<controller type='usb' index='0' model='qemu-xhci' ports='15'/>",
    )
    .expect("argv");
    let d = devices(&cmd);
    assert!(d[0].starts_with(
        r#"{"driver":"pcie-root-port","port":8,"chassis":1,"id":"pci.1","bus":"pcie.0","multifunction":true,"addr":"0x1"}"#
    ));
    assert!(
        d.iter().any(|l| l
            == r#"{"driver":"qemu-xhci","p2":15,"p3":15,"id":"usb","bus":"pci.1","addr":"0x0"}"#),
        "{d:?}"
    );
}

#[test]
fn ehci_master_before_companion() {
    let cmd = run(
        "pc",
        "<controller type='usb' index='0' model='ich9-uhci1'>\
           <master startport='0'/>\
           <address type='pci' domain='0' bus='0' slot='6' function='0' multifunction='on'/>\
         </controller>\
         <controller type='usb' index='0' model='ich9-ehci1'>\
           <address type='pci' domain='0' bus='0' slot='6' function='7'/>\
         </controller>",
    )
    .expect("argv");
    assert_eq!(
        devices(&cmd),
        vec![
            r#"{"driver":"ich9-usb-ehci1","id":"usb","bus":"pci.0","addr":"0x6.0x7"}"#,
            r#"{"driver":"ich9-usb-uhci1","masterbus":"usb.0","firstport":0,"bus":"pci.0","multifunction":true,"addr":"0x6"}"#,
        ]
    );
}

#[test]
fn virtio_scsi_tuning() {
    let cmd = run(
        "pc",
        "<controller type='usb' model='none'/>\
         <controller type='scsi' index='0' model='virtio-scsi'>\
           <driver queues='8' cmd_per_lun='50' max_sectors='512' ioeventfd='on'/>\
         </controller>",
    )
    .expect("argv");
    assert_eq!(
        devices(&cmd),
        vec![
            r#"{"driver":"virtio-scsi-pci","id":"scsi0","num_queues":8,"cmd_per_lun":50,"max_sectors":512,"ioeventfd":true,"bus":"pci.0","addr":"0x2"}"#
        ]
    );
}

#[test]
fn root_hotplug_global() {
    let cmd = run(
        "pc",
        "<controller type='pci' index='0' model='pci-root'><target hotplug='off'/></controller>",
    )
    .expect("argv");
    assert_eq!(
        options(&cmd, "-global"),
        vec!["PIIX4_PM.acpi-root-pci-hotplug=off"]
    );
}

#[test]
fn usb_and_virtio_inputs() {
    let cmd = run(
        "pc",
        "<input type='tablet' bus='usb'><address type='usb' bus='0' port='1'/></input>\
         <input type='keyboard' bus='virtio'/>",
    )
    .expect("argv");
    let d = devices(&cmd);
    assert!(
        d.contains(
            &r#"{"driver":"usb-tablet","id":"input0","bus":"usb.0","port":"1"}"#.to_string()
        ),
        "{d:?}"
    );
    assert!(
        d.iter().any(
            |l| l.starts_with(r#"{"driver":"virtio-keyboard-pci","id":"input1","bus":"pci.0""#)
        ),
        "{d:?}"
    );
}

#[test]
fn evdev_input_is_an_object() {
    let cmd = run(
        "pc",
        "<input type='evdev'><source dev='/dev/input/event1234' grab='all' grabToggle='alt-alt' repeat='on'/></input>",
    )
    .expect("argv");
    assert!(options(&cmd, "-object").contains(
        &r#"{"qom-type":"input-linux","id":"input0","evdev":"/dev/input/event1234","repeat":true,"grab_all":true,"grab-toggle":"alt-alt"}"#
            .to_string()
    ));
}

#[test]
fn vnc_and_video() {
    let cmd = run(
        "pc",
        "<graphics type='vnc' port='5903' autoport='no' listen='::' powerControl='yes'/>\
         <video><model type='qxl' ram='65536' vram='32768' vgamem='8192' heads='1'/></video>",
    )
    .expect("argv");
    assert_eq!(
        options(&cmd, "-vnc"),
        vec!["[::]:3,power-control=on,audiodev=audio1"]
    );
    assert!(devices(&cmd).contains(
        &r#"{"driver":"qxl-vga","id":"video0","max_outputs":1,"ram_size":67108864,"vram_size":33554432,"vram64_size_mb":0,"vgamem_mb":8,"bus":"pci.0","addr":"0x2"}"#
            .to_string()
    ));
}

#[test]
fn spice_options() {
    let cmd = run(
        "pc",
        "<graphics type='spice' port='5903' tlsPort='5904' autoport='no' listen='127.0.0.1'>\
           <channel name='main' mode='secure'/><image compression='auto_glz'/>\
           <filetransfer enable='no'/></graphics>",
    )
    .expect("argv");
    assert_eq!(
        options(&cmd, "-spice"),
        vec!["port=5903,tls-port=5904,addr=127.0.0.1,x509-dir=/etc/pki/libvirt-spice,tls-channel=main,image-compression=auto_glz,disable-agent-file-xfer=on,seamless-migration=on"]
    );
    // SPICE graphics get the SPICE audio backend.
    assert_eq!(
        options(&cmd, "-audiodev"),
        vec![r#"{"id":"audio1","driver":"spice"}"#]
    );
}

#[test]
fn egl_headless_alone_has_no_audio() {
    let cmd = run("pc", "<graphics type='egl-headless'/>").expect("argv");
    assert_eq!(
        options(&cmd, "-display"),
        vec!["egl-headless,rendernode=/dev/dri/foo"]
    );
    assert!(options(&cmd, "-audiodev").is_empty());
}

#[test]
fn hda_sound_with_codecs() {
    let cmd = run(
        "pc",
        "<sound model='ich6'><codec type='micro'/><codec type='output'/></sound>",
    )
    .expect("argv");
    let d = devices(&cmd);
    assert!(d
        .iter()
        .any(|l| l.starts_with(r#"{"driver":"intel-hda","id":"sound0","bus":"pci.0""#)));
    assert!(d.contains(&r#"{"driver":"hda-micro","id":"sound0-codec0","bus":"sound0.0","cad":0,"audiodev":"audio1"}"#.to_string()));
    assert!(d.contains(&r#"{"driver":"hda-output","id":"sound0-codec1","bus":"sound0.0","cad":1,"audiodev":"audio1"}"#.to_string()));
}

#[test]
fn usb_hub() {
    let cmd = run(
        "pc",
        "<hub type='usb'><address type='usb' bus='0' port='1'/></hub>",
    )
    .expect("argv");
    assert!(devices(&cmd)
        .contains(&r#"{"driver":"usb-hub","id":"hub0","bus":"usb.0","port":"1"}"#.to_string()));
}

#[test]
fn refusals() {
    let e = run(
        "pc",
        "<graphics type='sdl'/><graphics type='egl-headless'/>",
    )
    .expect_err("sdl with egl-headless");
    assert!(e.to_string().contains("egl-headless"), "{e}");
    let e = run(
        "pc",
        "<graphics type='spice'><gl enable='yes'/></graphics><graphics type='egl-headless'/>",
    )
    .expect_err("two GL displays");
    assert!(e.to_string().contains("multiple OpenGL displays"), "{e}");
    let e = run(
        "pc",
        "<controller type='usb' index='0' model='piix3-uhci' ports='4'/>",
    )
    .expect_err("ports on uhci");
    assert!(e.to_string().contains("ports"), "{e}");
}
