//! `<disk type='volume'>`: storage pool volumes turned into the storage they stand for (local
//! paths by volume kind, iSCSI host and direct modes with the pool's host, target and login),
//! the refusals of unusable pools and volumes, and the runtime's refusal without a storage driver.

use virt_qemu::argv::volume::VolumeSource;
use virt_qemu::argv::{self, CommandLine, HostContext, QemuCaps};

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

fn domain(devices: &str) -> virt_xml::Domain {
    let xml = format!(
        "<domain type='qemu'><name>QEMUGuest1</name><uuid>{UUID}</uuid>\
         <memory unit='KiB'>219100</memory><vcpu placement='static'>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}\
         <memballoon model='none'/></devices></domain>"
    );
    virt_xml::Domain::parse(&xml).expect("valid domain")
}

fn build_with(devices: &str, volumes: VolumeSource) -> Result<CommandLine, argv::ArgvError> {
    let mut def = domain(devices);
    let caps = QemuCaps::x86_64_7_2();
    let mut host = HostContext::libvirt_test_harness(&def);
    host.volumes = volumes;
    argv::prepare_and_build(&mut def, &caps, &host)
}

fn build(devices: &str) -> Result<CommandLine, argv::ArgvError> {
    build_with(devices, VolumeSource::LibvirtTestHarness)
}

fn values(cmd: &CommandLine, opt: &str) -> Vec<String> {
    cmd.args
        .windows(2)
        .filter(|w| w[0] == opt)
        .map(|w| w[1].clone())
        .collect()
}

fn vol_disk(source: &str, dev: &str, extra: &str) -> String {
    format!(
        "<disk type='volume' device='disk'><driver name='qemu' type='raw'/>{extra}\
         <source {source}/><target dev='{dev}' bus='virtio'/></disk>"
    )
}

fn err_text(devices: &str) -> String {
    match build(devices) {
        Ok(cmd) => panic!("expected a refusal, got {:?}", values(&cmd, "-blockdev")),
        Err(e) => e.to_string(),
    }
}

#[test]
fn local_pool_volumes_by_kind() {
    let cmd = build(&format!(
        "{}{}{}",
        vol_disk("pool='pool-dir' volume='file+a.img'", "vda", ""),
        vol_disk("pool='pool-disk' volume='sdb1'", "vdb", ""),
        vol_disk("pool='pool-fs' volume='dir+share'", "vdc", "<readonly/>"),
    ))
    .expect("argv");
    let bd = values(&cmd, "-blockdev");
    assert_eq!(
        bd,
        vec![
            r#"{"driver":"file","filename":"/some/file/device/a.img","node-name":"libvirt-3-storage","auto-read-only":true,"discard":"unmap"}"#,
            r#"{"node-name":"libvirt-3-format","read-only":false,"driver":"raw","file":"libvirt-3-storage"}"#,
            r#"{"driver":"host_device","filename":"/some/block/device/sdb1","node-name":"libvirt-2-storage","auto-read-only":true,"discard":"unmap"}"#,
            r#"{"node-name":"libvirt-2-format","read-only":false,"driver":"raw","file":"libvirt-2-storage"}"#,
            r#"{"driver":"vvfat","dir":"/some/dir/device/share","floppy":false,"rw":false,"node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}"#,
            r#"{"node-name":"libvirt-1-format","read-only":true,"driver":"raw","file":"libvirt-1-storage"}"#,
        ]
    );
}

#[test]
fn iscsi_host_mode_is_the_block_device_and_direct_mode_logs_in_itself() {
    // The disk's own <auth> does not survive: the pool's login (none here) replaces it.
    let cmd = build(&format!(
        "{}{}",
        vol_disk("pool='pool-iscsi-auth' volume='unit:0:0:1'", "vda", ""),
        vol_disk(
            "pool='pool-iscsi' volume='unit:0:0:7' mode='direct'",
            "vdb",
            "<auth username='someone'><secret type='iscsi' usage='x'/></auth>"
        ),
    ))
    .expect("argv");
    let bd = values(&cmd, "-blockdev");
    assert_eq!(
        bd[0],
        r#"{"driver":"host_device","filename":"/some/block/device/unit:0:0:1","node-name":"libvirt-2-storage","auto-read-only":true,"discard":"unmap"}"#
    );
    assert_eq!(
        bd[2],
        r#"{"driver":"iscsi","portal":"iscsi.example.com:3260","target":"demo-target","lun":7,"transport":"tcp","node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}"#
    );
    assert!(
        !values(&cmd, "-object")
            .iter()
            .any(|o| o.contains("auth-secret")),
        "no login secret expected"
    );
}

#[test]
fn direct_mode_takes_the_pools_login_and_initiator() {
    let cmd = build(&vol_disk(
        "pool='pool-iscsi-auth' volume='unit:0:0:2' mode='direct'",
        "vda",
        "",
    ))
    .expect("argv");
    let bd = values(&cmd, "-blockdev");
    assert_eq!(
        bd[0],
        r#"{"driver":"iscsi","portal":"iscsi.example.com:3260","target":"demo-target","lun":2,"transport":"tcp","user":"admin","password-secret":"libvirt-1-storage-auth-secret0","node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}"#
    );
    assert!(values(&cmd, "-object")
        .iter()
        .any(|o| o.contains(r#""id":"libvirt-1-storage-auth-secret0""#)));

    // An iscsi-direct pool is always direct, with its initiator name.
    let cmd = build(&vol_disk(
        "pool='pool-iscsi-direct' volume='unit:0:0:4'",
        "vda",
        "",
    ))
    .expect("argv");
    assert_eq!(
        values(&cmd, "-blockdev")[0],
        r#"{"driver":"iscsi","portal":"iscsi.example.com:3260","target":"iqn.2013-06.com.example:iscsi-pool","lun":4,"transport":"tcp","initiator-name":"iqn.2013-06.com.example:iscsi-initiator","node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap"}"#
    );
}

#[test]
fn empty_volume_drive_takes_a_number_and_has_no_nodes() {
    let cmd = build(
        "<disk type='volume' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>\
         <disk type='file' device='disk'><source file='/tmp/a.img'/>\
         <target dev='hda' bus='ide'/></disk>",
    )
    .expect("argv");
    let bd = values(&cmd, "-blockdev");
    assert_eq!(bd.len(), 2, "{bd:?}");
    // Disks are kept in target order (hda, hdc): the empty hdc holds number 1.
    assert!(
        bd[0].contains(r#""node-name":"libvirt-2-storage""#),
        "{bd:?}"
    );
    let dev = values(&cmd, "-device");
    assert!(
        dev.iter()
            .any(|d| d.starts_with(r#"{"driver":"ide-cd""#) && !d.contains(r#""drive":"#)),
        "{dev:?}"
    );
}

#[test]
fn backing_volume_in_a_chain() {
    let cmd = build(
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
         <source file='/tmp/top.qcow2'/>\
         <backingStore type='volume'><format type='raw'/>\
         <source pool='pool-logical' volume='base'/><backingStore/></backingStore>\
         <target dev='vda' bus='virtio'/></disk>",
    )
    .expect("argv");
    let bd = values(&cmd, "-blockdev");
    assert_eq!(
        bd[0],
        r#"{"driver":"host_device","filename":"/some/block/device/base","node-name":"libvirt-2-storage","auto-read-only":true,"discard":"unmap"}"#
    );
    assert!(bd[3].contains(r#""backing":"libvirt-2-format""#), "{bd:?}");
}

#[test]
fn refusals_name_what_is_wrong() {
    let e = err_text(&vol_disk(
        "pool='pool-dir' volume='file+a' mode='host'",
        "vda",
        "",
    ));
    assert!(
        e.contains("disk 'vda'") && e.contains("only valid when storage pool is of iscsi type"),
        "{e}"
    );
    let e = err_text(&vol_disk("pool='inactive' volume='x'", "vda", ""));
    assert!(
        e.contains("storage pool 'inactive' containing volume 'x' is not active"),
        "{e}"
    );
    let e = err_text(&vol_disk("pool='no-such-pool' volume='x'", "vda", ""));
    assert!(
        e.contains("no storage pool with matching name 'no-such-pool'"),
        "{e}"
    );
    let e = err_text(&vol_disk("pool='pool-dir' volume='nonexistent'", "vda", ""));
    assert!(
        e.contains("no storage vol with matching name 'nonexistent'"),
        "{e}"
    );
    let e = err_text(&vol_disk("pool='pool-dir' volume='tape+x'", "vda", ""));
    assert!(e.contains("invalid volume type 'tape'"), "{e}");
    let e = err_text(&vol_disk("pool='pool-dir' volume='network+x'", "vda", ""));
    assert!(
        e.contains("unexpected storage volume type 'network' for storage pool type 'dir'"),
        "{e}"
    );
    let e = err_text(&vol_disk("pool='pool-rbd' volume='x'", "vda", ""));
    assert!(
        e.contains("using 'rbd' pools for backing 'volume' disks"),
        "{e}"
    );
    let e = err_text(&vol_disk(
        "pool='pool-iscsi' volume='lun5' mode='direct'",
        "vda",
        "",
    ));
    assert!(e.contains("unexpected iscsi volume name 'lun5'"), "{e}");
}

#[test]
fn without_storage_pools_the_disk_pool_and_volume_are_named() {
    let devices = vol_disk("pool='pool-dir' volume='file+a.img'", "vdb", "");
    let e = build_with(&devices, VolumeSource::None)
        .expect_err("no storage driver")
        .to_string();
    assert!(
        e.contains("disk 'vdb'")
            && e.contains("pool 'pool-dir'")
            && e.contains("volume 'file+a.img'"),
        "{e}"
    );
}

#[test]
fn the_domain_xml_keeps_its_volumes() {
    let devices = vol_disk(
        "pool='pool-iscsi' volume='unit:0:0:1' mode='direct'",
        "vda",
        "",
    );
    let mut def = domain(&devices);
    let caps = QemuCaps::x86_64_7_2();
    let host = HostContext::libvirt_test_harness(&def);
    argv::prepare_and_build(&mut def, &caps, &host).expect("argv");
    let xml = def.to_xml();
    assert!(
        xml.contains("<disk type='volume' device='disk'>")
            && xml.contains("<source pool='pool-iscsi' volume='unit:0:0:1' mode='direct'/>"),
        "{xml}"
    );
}
