//! `<disk>` on the command line: `-blockdev` storage/format nodes, backing chains, node
//! numbering, the frontend `-device` per bus, boot indexes, and refusals.

use virt_qemu::argv::{self, CommandLine, HostContext, QemuCaps};

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

fn build(os_extra: &str, devices: &str) -> Result<CommandLine, argv::ArgvError> {
    let xml = format!(
        "<domain type='qemu'><name>QEMUGuest1</name><uuid>{UUID}</uuid>\
         <memory unit='KiB'>219100</memory><vcpu placement='static'>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type>{os_extra}</os>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}\
         <memballoon model='none'/></devices></domain>"
    );
    let mut def = virt_xml::Domain::parse(&xml).expect("valid domain");
    let caps = QemuCaps::x86_64_7_2();
    let host = HostContext::libvirt_test_harness(&def);
    argv::prepare_and_build(&mut def, &caps, &host)
}

fn values(cmd: &CommandLine, opt: &str) -> Vec<String> {
    cmd.args
        .windows(2)
        .filter(|w| w[0] == opt)
        .map(|w| w[1].clone())
        .collect()
}

#[test]
fn file_raw_virtio_nodes_and_device() {
    let cmd = build(
        "",
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='/tmp/a.img'/><target dev='vda' bus='virtio'/></disk>",
    )
    .expect("argv");
    let bd = values(&cmd, "-blockdev");
    assert_eq!(
        bd,
        vec![
            r#"{"driver":"file","filename":"/tmp/a.img","node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}"#,
            r#"{"node-name":"libvirt-1-format","read-only":false,"driver":"raw","file":"libvirt-1-storage"}"#,
        ]
    );
    let dev = values(&cmd, "-device");
    assert!(
        dev.iter().any(
            |d| d.starts_with(r#"{"driver":"virtio-blk-pci","bus":"pci.0","addr":"#)
                && d.ends_with(r#""drive":"libvirt-1-format","id":"virtio-disk0","bootindex":1}"#)
        ),
        "{dev:?}"
    );
}

#[test]
fn numbering_walks_disks_backwards_and_chains_down() {
    let cmd = build(
        "",
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
         <source file='/top.qcow2'/>\
         <backingStore type='file'><format type='qcow2'/><source file='/base.qcow2'/>\
         <backingStore/></backingStore>\
         <target dev='vda' bus='virtio'/></disk>\
         <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
         <source file='/second.qcow2'/><target dev='vdb' bus='virtio'/></disk>",
    )
    .expect("argv");
    let bd = values(&cmd, "-blockdev");
    assert_eq!(bd.len(), 6);
    // The backing image first, with read-only and the chain end.
    assert!(bd[0].contains(r#""filename":"/base.qcow2","node-name":"libvirt-3-storage""#));
    assert_eq!(
        bd[1],
        r#"{"node-name":"libvirt-3-format","read-only":true,"driver":"qcow2","file":"libvirt-3-storage","backing":null}"#
    );
    assert_eq!(
        bd[3],
        r#"{"node-name":"libvirt-2-format","read-only":false,"driver":"qcow2","file":"libvirt-2-storage","backing":"libvirt-3-format"}"#
    );
    // No <backingStore>: no backing key at all.
    assert_eq!(
        bd[5],
        r#"{"node-name":"libvirt-1-format","read-only":false,"driver":"qcow2","file":"libvirt-1-storage"}"#
    );
}

#[test]
fn cache_discard_and_write_cache() {
    let cmd = build(
        "",
        "<disk type='block' device='disk'>\
         <driver name='qemu' type='qcow2' cache='none' discard='unmap' detect_zeroes='unmap'/>\
         <source dev='/dev/vg/a'/><target dev='hda' bus='ide'/><serial>a b</serial></disk>",
    )
    .expect("argv");
    let bd = values(&cmd, "-blockdev");
    assert_eq!(
        bd[0],
        r#"{"driver":"host_device","filename":"/dev/vg/a","node-name":"libvirt-1-storage","cache":{"direct":true,"no-flush":false},"auto-read-only":true,"discard":"unmap"}"#
    );
    assert_eq!(
        bd[1],
        r#"{"node-name":"libvirt-1-format","read-only":false,"discard":"unmap","detect-zeroes":"unmap","cache":{"direct":true,"no-flush":false},"driver":"qcow2","file":"libvirt-1-storage"}"#
    );
    let dev = values(&cmd, "-device");
    assert!(
        dev.contains(
            &r#"{"driver":"ide-hd","bus":"ide.0","unit":0,"drive":"libvirt-1-format","id":"ide0-0-0","bootindex":1,"write-cache":"on","serial":"a\\ b"}"#
                .to_string()
        ),
        "{dev:?}"
    );
}

#[test]
fn empty_cdrom_and_boot_order_from_os() {
    let cmd = build(
        "<boot dev='cdrom'/><boot dev='hd'/>",
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='/a.img'/><target dev='hda' bus='ide'/></disk>\
         <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>",
    )
    .expect("argv");
    let dev = values(&cmd, "-device");
    assert!(dev.contains(
        &r#"{"driver":"ide-hd","bus":"ide.0","unit":0,"drive":"libvirt-2-format","id":"ide0-0-0","bootindex":2}"#
            .to_string()
    ));
    assert!(
        dev.contains(
            &r#"{"driver":"ide-cd","bus":"ide.1","unit":0,"id":"ide0-1-0","bootindex":1}"#
                .to_string()
        ),
        "{dev:?}"
    );
    assert_eq!(values(&cmd, "-blockdev").len(), 2);
}

#[test]
fn network_sources() {
    let cmd = build(
        "",
        "<disk type='network' device='disk'><driver name='qemu' type='raw'/>\
         <source protocol='nbd' name='bar'><host name='example.org' port='6000'/></source>\
         <target dev='vda' bus='virtio'/></disk>\
         <disk type='network' device='disk'><driver name='qemu' type='raw'/>\
         <source protocol='iscsi' name='iqn.1992-01.com.example/1'><host name='example.org'/></source>\
         <target dev='vdb' bus='virtio'/></disk>",
    )
    .expect("argv");
    let bd = values(&cmd, "-blockdev");
    assert_eq!(
        bd[0],
        r#"{"driver":"nbd","server":{"type":"inet","host":"example.org","port":"6000"},"export":"bar","node-name":"libvirt-2-storage","auto-read-only":true,"discard":"unmap"}"#
    );
    assert_eq!(
        bd[2],
        r#"{"driver":"iscsi","portal":"example.org:3260","target":"iqn.1992-01.com.example","lun":1,"transport":"tcp","node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}"#
    );
}

#[test]
fn floppy_boot_index_goes_on_the_controller() {
    let cmd = build(
        "<boot dev='fd'/>",
        "<disk type='file' device='floppy'><driver name='qemu' type='raw'/>\
         <source file='/f.img'/><target dev='fda' bus='fdc'/></disk>",
    )
    .expect("argv");
    assert_eq!(values(&cmd, "-global"), vec!["isa-fdc.bootindexA=1"]);
    let dev = values(&cmd, "-device");
    assert!(dev.contains(
        &r#"{"driver":"floppy","unit":0,"drive":"libvirt-1-format","id":"fdc0-0-0"}"#.to_string()
    ));
}

#[test]
fn unsupported_sources_are_refused() {
    let err = build(
        "",
        "<disk type='volume' device='disk'><driver name='qemu' type='raw'/>\
         <source pool='p' volume='v'/><target dev='vda' bus='virtio'/></disk>",
    )
    .expect_err("volume refused");
    assert!(err.to_string().contains("storage pool"), "{err}");
}

#[test]
fn sata_controller_outside_q35_has_its_own_name() {
    let cmd = build(
        "",
        "<disk type='block' device='disk'><source dev='/dev/HostVG/g'/>\
         <target dev='sda' bus='sata'/>\
         <address type='drive' controller='0' bus='0' target='0' unit='0'/></disk>\
         <controller type='sata' index='0'/>",
    )
    .expect("argv");
    let dev = values(&cmd, "-device");
    assert!(
        dev.iter()
            .any(|d| d.starts_with(r#"{"driver":"ahci","id":"sata0","#)),
        "{dev:?}"
    );
    assert!(
        dev.iter()
            .any(|d| d.starts_with(r#"{"driver":"ide-hd","bus":"sata0.0","#)),
        "{dev:?}"
    );
}

#[test]
fn virtio_lun_turns_scsi_passthrough_on() {
    let cmd = build(
        "",
        "<disk type='block' device='lun'><driver name='qemu' type='raw'/>\
         <source dev='/dev/sdfake'/><target dev='vda' bus='virtio'/></disk>\
         <disk type='block' device='disk'><driver name='qemu' type='raw'/>\
         <source dev='/dev/sdfake2'/><target dev='vdb' bus='virtio'/></disk>",
    )
    .expect("argv");
    let dev = values(&cmd, "-device");
    let blk: Vec<&String> = dev.iter().filter(|d| d.contains("virtio-blk")).collect();
    assert_eq!(blk.len(), 2, "{dev:?}");
    assert!(
        blk[0].starts_with(r#"{"driver":"virtio-blk-pci","scsi":true,"#),
        "{blk:?}"
    );
    // QEMU 7.2 has the switch off by default: a plain disk does not name it.
    assert!(!blk[1].contains("scsi"), "{blk:?}");
}

#[test]
fn sd_card_is_a_legacy_drive_without_a_node_number() {
    let cmd = build(
        "",
        "<disk type='file' device='disk'><source file='/some/fi,le'/>\
         <target dev='sdb' bus='sd'/><readonly/></disk>\
         <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>\
         <source file='/a.qcow2'/><target dev='vda' bus='virtio'/></disk>",
    )
    .expect("argv");
    assert_eq!(
        values(&cmd, "-drive"),
        ["file=/some/fi,,le,format=raw,if=sd,index=1,readonly=on"]
    );
    let bd = values(&cmd, "-blockdev");
    assert!(
        bd[0].contains(r#""node-name":"libvirt-1-storage""#),
        "{bd:?}"
    );
    assert!(!values(&cmd, "-device").iter().any(|d| d.contains("sdb")));
}

#[test]
fn refusals_of_lun_partition_and_encryption_format() {
    let cases = [
        (
            "<disk type='file' device='lun'><driver name='qemu' type='raw'/>\
             <source file='/dev/HostVG/g'/><target dev='vda' bus='virtio'/></disk>",
            "lun",
        ),
        (
            "<disk type='block' device='lun'><driver name='qemu' type='qcow2'/>\
             <source dev='/dev/sdx'/><target dev='vda' bus='virtio'/></disk>",
            "raw",
        ),
        (
            "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
             <source file='/img.raw'/><target dev='vdb1' bus='virtio'/></disk>",
            "partitions",
        ),
        (
            "<disk type='file' device='disk'><driver name='qemu' type='vmdk'/>\
             <source file='/e.vmdk'><encryption format='luks'>\
             <secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/>\
             </encryption></source><target dev='vdb' bus='virtio'/></disk>",
            "vmdk",
        ),
        (
            "<hostdev mode='subsystem' type='scsi_host' managed='no'>\
             <source protocol='vhost' wwpn='naa.5123456789abcde0'/><boot order='1'/></hostdev>",
            "booting",
        ),
    ];
    for (devices, word) in cases {
        match build("", devices) {
            Err(e) => assert!(e.to_string().contains(word), "{devices}: {e}"),
            Ok(cmd) => panic!("{devices}: accepted: {:?}", cmd.args),
        }
    }
}
