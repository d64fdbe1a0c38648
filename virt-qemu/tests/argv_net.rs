//! The NIC, hostdev, redirdev and smartcard families of the argv builder on small domains: one
//! test per option family, the fd plan, and refusals.

use virt_qemu::argv::{
    self, ArgvError, CommandLine, FdNumbering, FdPurpose, HostContext, QemuCaps,
};

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

fn domain(kind: &str, devices: &str) -> virt_xml::Domain {
    let xml = format!(
        "<domain type='{kind}'><name>QEMUGuest1</name><uuid>{UUID}</uuid>\
         <memory unit='KiB'>219100</memory><vcpu placement='static'>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>\
         <controller type='usb' index='0' model='piix3-uhci'/>{devices}\
         <memballoon model='none'/></devices></domain>"
    );
    virt_xml::Domain::parse(&xml).expect("test domain parses")
}

fn build_with(
    kind: &str,
    devices: &str,
    numbering: Option<FdNumbering>,
) -> Result<CommandLine, ArgvError> {
    let mut def = domain(kind, devices);
    let caps = QemuCaps::x86_64_7_2();
    let mut host = HostContext::libvirt_test_harness(&def);
    if let Some(n) = numbering {
        host.fd_numbering = n;
    }
    argv::prepare_and_build(&mut def, &caps, &host)
}

fn build(kind: &str, devices: &str) -> CommandLine {
    build_with(kind, devices, None).expect("argv")
}

fn options(cmd: &CommandLine, opt: &str) -> Vec<String> {
    cmd.args
        .windows(2)
        .filter(|w| w[0] == opt)
        .map(|w| w[1].clone())
        .collect()
}

fn devices_with(cmd: &CommandLine, driver: &str) -> Vec<String> {
    let needle = format!("{{\"driver\":\"{driver}\"");
    options(cmd, "-device")
        .into_iter()
        .filter(|d| d.starts_with(&needle))
        .collect()
}

#[test]
fn tap_multiqueue_fds_and_vhost() {
    let cmd = build(
        "kvm",
        "<interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br0'/>\
         <model type='virtio'/><driver queues='2'/></interface>",
    );
    assert_eq!(
        options(&cmd, "-netdev"),
        vec![r#"{"type":"tap","fds":"3:4","vhost":true,"vhostfds":"44:45","id":"hostnet0"}"#]
    );
    assert_eq!(
        devices_with(&cmd, "virtio-net-pci"),
        vec![
            r#"{"driver":"virtio-net-pci","mq":true,"vectors":6,"netdev":"hostnet0","id":"net0","mac":"52:54:00:00:00:01","bus":"pci.0","addr":"0x2"}"#
        ]
    );
    let planned: Vec<(i32, FdPurpose)> = cmd
        .fds
        .iter()
        .map(|f| (f.number, f.purpose.clone()))
        .collect();
    let tap = |q| FdPurpose::Tap {
        nic_alias: "net0".into(),
        queue: q,
    };
    let vhost = |q| FdPurpose::Vhost {
        nic_alias: "net0".into(),
        queue: q,
    };
    for want in [(3, tap(0)), (4, tap(1)), (44, vhost(0)), (45, vhost(1))] {
        assert!(planned.contains(&want), "{want:?} not in {planned:?}");
    }
    // Host network devices are handed over as fds, never by name.
    assert!(!cmd
        .args
        .iter()
        .any(|a| a.contains("ifname") || a.contains("br0")));
}

#[test]
fn real_host_vhost_rules_and_sequential_fds() {
    let nic = "<interface type='ethernet'><mac address='52:54:00:00:00:02'/>\
               <model type='virtio'/></interface>\
               <interface type='ethernet'><mac address='52:54:00:00:00:03'/>\
               <model type='virtio'/><driver name='qemu'/></interface>\
               <interface type='ethernet'><mac address='52:54:00:00:00:04'/>\
               <model type='e1000'/></interface>";
    let seq = Some(FdNumbering::Sequential { first: 10 });
    let kvm = build_with("kvm", nic, seq.clone()).expect("argv");
    // Auto vhost-net needs the host's /dev/vhost-net (this kernel may have none).
    let want = if std::path::Path::new("/dev/vhost-net").exists() {
        vec![
            r#"{"type":"tap","fd":"10","vhost":true,"vhostfd":"11","id":"hostnet0"}"#,
            r#"{"type":"tap","fd":"12","id":"hostnet1"}"#,
            r#"{"type":"tap","fd":"13","id":"hostnet2"}"#,
        ]
    } else {
        vec![
            r#"{"type":"tap","fd":"10","id":"hostnet0"}"#,
            r#"{"type":"tap","fd":"11","id":"hostnet1"}"#,
            r#"{"type":"tap","fd":"12","id":"hostnet2"}"#,
        ]
    };
    assert_eq!(options(&kvm, "-netdev"), want);
    // An explicit <driver name='vhost'/> always plans the vhost fd.
    let explicit = build_with(
        "kvm",
        "<interface type='ethernet'><mac address='52:54:00:00:00:05'/>\
         <model type='virtio'/><driver name='vhost'/></interface>",
        seq.clone(),
    )
    .expect("argv");
    assert_eq!(
        options(&explicit, "-netdev"),
        vec![r#"{"type":"tap","fd":"10","vhost":true,"vhostfd":"11","id":"hostnet0"}"#]
    );
    // A TCG guest never gets vhost-net.
    let tcg = build_with("qemu", nic, seq).expect("argv");
    assert!(options(&tcg, "-netdev")
        .iter()
        .all(|n| !n.contains("vhost")));
}

#[test]
fn virtio_options_and_offloads_in_libvirt_order() {
    let cmd = build(
        "kvm",
        "<interface type='user'><mac address='52:54:00:00:00:05'/><model type='virtio'/>\
         <driver txmode='iothread' ioeventfd='off' event_idx='on' rx_queue_size='512' \
         tx_queue_size='256' rss='on' rss_hash_report='on' iommu='on' ats='on' packed='on'>\
         <host csum='off' gso='off' tso4='off' tso6='off' ecn='off' ufo='off' mrg_rxbuf='off'/>\
         <guest csum='off' tso4='off' tso6='off' ecn='off' ufo='off'/></driver>\
         <mtu size='9000'/><boot order='1'/>\
         <rom bar='off' file='/usr/share/pxe.rom'/></interface>",
    );
    assert_eq!(
        devices_with(&cmd, "virtio-net-pci"),
        vec![concat!(
            r#"{"driver":"virtio-net-pci","iommu_platform":true,"ats":true,"packed":true,"#,
            r#""tx":"bh","ioeventfd":false,"event_idx":true,"csum":false,"gso":false,"#,
            r#""host_tso4":false,"host_tso6":false,"host_ecn":false,"host_ufo":false,"#,
            r#""mrg_rxbuf":false,"guest_csum":false,"guest_tso4":false,"guest_tso6":false,"#,
            r#""guest_ecn":false,"guest_ufo":false,"rx_queue_size":512,"tx_queue_size":256,"#,
            r#""rss":true,"hash":true,"host_mtu":9000,"netdev":"hostnet0","id":"net0","#,
            r#""mac":"52:54:00:00:00:05","bootindex":1,"bus":"pci.0","addr":"0x2","#,
            r#""rombar":0,"romfile":"/usr/share/pxe.rom"}"#
        )]
    );
}

#[test]
fn user_socket_and_emulated_models() {
    let cmd = build(
        "qemu",
        "<interface type='user'><mac address='52:54:00:00:00:06'/>\
         <ip address='172.17.2.0' family='ipv4' prefix='24'/>\
         <ip address='2001:db8:ac10:fd01::' family='ipv6' prefix='64'/>\
         <model type='e1000'/></interface>\
         <interface type='mcast'><mac address='52:54:00:00:00:07'/>\
         <source address='230.0.0.1' port='5558'/><model type='rtl8139'/></interface>\
         <interface type='udp'><mac address='52:54:00:00:00:08'/>\
         <source address='192.168.10.1' port='5555'><local address='192.168.10.1' port='5556'/>\
         </source><model type='e1000e'/></interface>\
         <interface type='client'><mac address='52:54:00:00:00:09'/>\
         <source address='127.0.0.1' port='1234'/><model type='rtl8139'/></interface>",
    );
    assert_eq!(
        options(&cmd, "-netdev"),
        vec![
            r#"{"type":"user","net":"172.17.2.0/24","ipv6-prefix":"2001:db8:ac10:fd01::","ipv6-prefixlen":64,"id":"hostnet0"}"#,
            r#"{"type":"socket","mcast":"230.0.0.1:5558","id":"hostnet1"}"#,
            r#"{"type":"socket","udp":"192.168.10.1:5555","localaddr":"192.168.10.1:5556","id":"hostnet2"}"#,
            r#"{"type":"socket","connect":"127.0.0.1:1234","id":"hostnet3"}"#,
        ]
    );
    assert_eq!(devices_with(&cmd, "e1000").len(), 1);
    assert_eq!(devices_with(&cmd, "e1000e").len(), 1);
    assert_eq!(devices_with(&cmd, "rtl8139").len(), 2);
    assert!(
        !cmd.fds
            .iter()
            .any(|f| matches!(f.purpose, FdPurpose::Tap { .. } | FdPurpose::Vhost { .. })),
        "no host fds for user/socket NICs"
    );
}

#[test]
fn vhostuser_chardev_and_vdpa_fdset() {
    let cmd = build(
        "kvm",
        "<interface type='vhostuser'><mac address='52:54:00:00:00:0a'/>\
         <source type='unix' path='/tmp/vhost0.sock' mode='server'/>\
         <model type='virtio'/><driver queues='4'/></interface>\
         <interface type='vdpa'><mac address='52:54:00:00:00:0b'/>\
         <source dev='/dev/vhost-vdpa-0'/><model type='virtio'/></interface>",
    );
    let args = cmd.args.join(" ");
    let chardev = args.find("-chardev socket,id=charnet0,path=/tmp/vhost0.sock,server=on");
    let netdev =
        args.find(r#"{"type":"vhost-user","chardev":"charnet0","queues":4,"id":"hostnet0"}"#);
    assert!(
        chardev.is_some() && netdev.is_some() && chardev < netdev,
        "{args}"
    );
    let addfd = args.find("-add-fd set=0,fd=1732,opaque=net1-vdpa");
    let vdpa = args.find(r#"{"type":"vhost-vdpa","vhostdev":"/dev/fdset/0","id":"hostnet1"}"#);
    assert!(addfd.is_some() && vdpa.is_some() && addfd < vdpa, "{args}");
    assert!(cmd.fds.iter().any(|f| f.number == 1732
        && f.purpose
            == FdPurpose::Vdpa {
                nic_alias: "net1".into()
            }));
}

#[test]
fn hostdev_pci_usb_mdev() {
    let cmd = build(
        "kvm",
        "<graphics type='vnc'/>\
         <hostdev mode='subsystem' type='pci' managed='yes'><source>\
         <address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source>\
         <boot order='2'/><rom bar='on'/></hostdev>\
         <hostdev mode='subsystem' type='usb' managed='no'><source guestReset='uninitialized'>\
         <address bus='14' device='6'/></source></hostdev>\
         <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on' ramfb='on'>\
         <source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>",
    );
    let pci = devices_with(&cmd, "vfio-pci");
    assert_eq!(pci.len(), 1);
    assert!(pci[0].starts_with(
        r#"{"driver":"vfio-pci","host":"0000:06:12.5","id":"hostdev0","bootindex":2,"bus":"pci.0","addr":"#
    ));
    assert!(pci[0].ends_with(r#","rombar":1}"#), "{}", pci[0]);
    let usb = devices_with(&cmd, "usb-host");
    assert_eq!(usb.len(), 1);
    assert!(usb[0].starts_with(
        r#"{"driver":"usb-host","hostdevice":"/dev/bus/usb/014/006","id":"hostdev1","guest-reset":true,"guest-resets-all":false"#
    ));
    let mdev = devices_with(&cmd, "vfio-pci-nohotplug");
    assert_eq!(mdev.len(), 1);
    assert!(mdev[0].starts_with(
        r#"{"driver":"vfio-pci-nohotplug","id":"hostdev2","sysfsdev":"/sys/bus/mdev/devices/53764d0e-85a0-42b4-af5c-2046b460b1dc","display":"on","ramfb":true,"#
    ));
}

#[test]
fn hostdev_interface_is_vfio_with_failover() {
    let cmd = build(
        "kvm",
        "<interface type='bridge'><mac address='00:11:22:33:44:55'/><source bridge='br0'/>\
         <model type='virtio'/><teaming type='persistent'/><alias name='ua-backup0'/></interface>\
         <interface type='hostdev' managed='yes'><mac address='00:11:22:33:44:55'/>\
         <source><address type='pci' domain='0x0000' bus='0x03' slot='0x07' function='0x1'/>\
         </source><teaming type='transient' persistent='ua-backup0'/></interface>",
    );
    let virtio = devices_with(&cmd, "virtio-net-pci");
    assert!(
        virtio[0].contains(r#""failover":true,"netdev":"hostua-backup0""#),
        "{virtio:?}"
    );
    let vfio = devices_with(&cmd, "vfio-pci");
    assert_eq!(vfio.len(), 1);
    assert!(vfio[0].contains(r#""host":"0000:03:07.1""#));
    assert!(
        vfio[0].contains(r#""failover_pair_id":"ua-backup0""#),
        "{vfio:?}"
    );
    assert_eq!(
        options(&cmd, "-netdev").len(),
        1,
        "a hostdev NIC has no -netdev"
    );
}

#[test]
fn redirdev_with_filter_and_smartcard() {
    let cmd = build(
        "kvm",
        "<controller type='ccid' index='0'/>\
         <smartcard mode='host-certificates'><certificate>cert1,foo</certificate>\
         <certificate>cert2</certificate><certificate>cert3</certificate>\
         <database>/etc/pki/nssdb,foo</database></smartcard>\
         <redirdev bus='usb' type='spicevmc'/>\
         <redirfilter><usbdev class='0x08' vendor='0x1234' product='0xbeef' version='2.00' allow='yes'/>\
         <usbdev allow='no'/></redirfilter>\
         <graphics type='spice'/>",
    );
    assert!(options(&cmd, "-chardev").contains(&"spicevmc,id=charredir0,name=usbredir".to_string()));
    let redir = devices_with(&cmd, "usb-redir");
    assert_eq!(redir.len(), 1);
    assert!(
        redir[0].contains(r#""filter":"0x08:0x1234:0xBEEF:0x0200:1|-1:-1:-1:-1:0""#),
        "{redir:?}"
    );
    assert_eq!(
        devices_with(&cmd, "ccid-card-emulated"),
        vec![
            r#"{"driver":"ccid-card-emulated","backend":"certificates","cert1":"cert1,foo","cert2":"cert2","cert3":"cert3","db":"/etc/pki/nssdb,foo","id":"smartcard0","bus":"ccid0.0"}"#
        ]
    );
}

#[test]
fn refusals() {
    let bad = [
        (
            "<interface type='bridge'><mac address='52:54:00:00:00:0d'/><source bridge='br0'/>\
             <script path='/bin/true'/>\
             <model type='virtio'/></interface>",
            "scripts are not supported",
        ),
        (
            "<interface type='ethernet'><mac address='52:54:00:00:00:0c'/><model type='e1000'/>\
             <driver name='vhost'/></interface>",
            "vhost-net is only supported for virtio",
        ),
        (
            "<graphics type='vnc'/>\
             <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on' ramfb='on'>\
             <source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>\
             <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on' ramfb='on'>\
             <source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dd'/></source></hostdev>",
            "Only one vgpu device can have 'ramfb' enabled",
        ),
        (
            "<interface type='user'><mac address='52:54:00:00:00:0e'/><model type='e1000'/>\
             <rom bar='off'/>\
             <address type='usb' bus='0' port='1'/></interface>",
            "ROM tuning is only supported for PCI devices",
        ),
    ];
    for (devices, want) in bad {
        match build_with("kvm", devices, None) {
            Ok(c) => panic!("accepted {devices}: {:?}", c.args),
            Err(e) => assert!(e.to_string().contains(want), "{e} (wanted {want})"),
        }
    }
}
