//! The typed `<disk>` and `<lease>` devices against every instance in libvirt's own documents:
//! each parses, writes back exactly as libvirt's formatter did, and reads back to an equal value.
//! Plus error cases and values built by hand.

mod support;

use virt_xml::devices::disk::{
    Auth, AuthSecretType, BackingStore, CacheMode, Disk, DiskBus, DiskDevice, DiskSource, IoTune,
    NetHost, NetProtocol, NetworkSource, SecretLookup, SourceData, StorageFormat,
};
use virt_xml::devices::lease::Lease;
use virt_xml::tree::{self, Element};
use virt_xml::writer::Writer;
use virt_xml::{Pos, XmlError};

fn write_disk(d: &Disk) -> String {
    let mut w = Writer::new();
    d.write(&mut w);
    w.finish()
}

fn write_lease(l: &Lease) -> String {
    let mut w = Writer::new();
    l.write(&mut w);
    w.finish()
}

fn check<T: PartialEq + std::fmt::Debug>(
    name: &str,
    el: &Element,
    parse: impl Fn(&Element) -> Result<T, XmlError>,
    write: impl Fn(&T) -> String,
    failures: &mut Vec<String>,
) {
    let expected = support::reference(el);
    let v = match parse(el) {
        Ok(v) => v,
        Err(e) => {
            failures.push(format!("{name}: parse: {e}\n{expected}"));
            return;
        }
    };
    let got = write(&v);
    if got != expected {
        failures.push(format!(
            "{name}: written differently\n--- expected\n{expected}--- got\n{got}"
        ));
        return;
    }
    match tree::parse(&got).and_then(|e| parse(&e)) {
        Ok(again) if again == v => {}
        Ok(again) => failures.push(format!("{name}: reparse differs\n{v:?}\n{again:?}")),
        Err(e) => failures.push(format!("{name}: reparse: {e}")),
    }
}

#[test]
fn every_corpus_disk_and_lease_round_trips() {
    let mut failures = Vec::new();
    let (mut disks, mut leases, mut nvrams) = (0, 0, 0);
    for (name, d) in support::corpus_domains() {
        for dev in &d.devices {
            match dev.xml.name.as_str() {
                "disk" => {
                    disks += 1;
                    check(
                        &name,
                        &dev.xml,
                        Disk::from_element,
                        write_disk,
                        &mut failures,
                    );
                }
                "lease" => {
                    leases += 1;
                    check(
                        &name,
                        &dev.xml,
                        Lease::from_element,
                        write_lease,
                        &mut failures,
                    );
                }
                _ => {}
            }
        }
        // <os><nvram type><source> is the same storage-source structure.
        let nvram = d.os_def.as_ref().and_then(|os| os.nvram.as_ref());
        if let Some(n) = nvram {
            if let (Some(src), Some(kind)) = (&n.source, n.kind) {
                nvrams += 1;
                check(
                    &name,
                    src,
                    |e| DiskSource::from_element(e, kind),
                    |s| {
                        let mut w = Writer::new();
                        s.write(&mut w);
                        w.finish()
                    },
                    &mut failures,
                );
            }
        }
    }
    for f in &failures {
        eprintln!("{f}\n");
    }
    eprintln!(
        "checked {disks} disks, {leases} leases, {nvrams} nvram sources; {} failures",
        failures.len()
    );
    assert_eq!(failures.len(), 0, "failures");
    assert!(disks > 400, "disks checked: {disks}");
    assert!(leases >= 1, "leases checked: {leases}");
    assert!(nvrams >= 1, "nvram sources checked: {nvrams}");
}

/// Exploration aid: `XDISK_EXPLORE=1` prints how the disks of the argv corpus's input documents
/// (not canonical, so differences are expected) are written.
#[test]
fn explore_argv_inputs() {
    if std::env::var("XDISK_EXPLORE").is_err() {
        return;
    }
    let dir = virt_testkit::libvirt_data("qemu-argv");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    for f in files {
        let Ok(d) = support::parse_raw(&std::fs::read_to_string(&f).expect("read")) else {
            continue;
        };
        for dev in d.devices.iter().filter(|d| d.xml.name == "disk") {
            let expected = support::reference(&dev.xml);
            match Disk::from_element(&dev.xml) {
                Ok(v) => {
                    let got = write_disk(&v);
                    if got != expected {
                        eprintln!("=== {}\n{expected}---\n{got}", f.display());
                    }
                }
                Err(e) => eprintln!("=== {}: {e}", f.display()),
            }
        }
    }
}

fn disk_el(xml: &str) -> Element {
    tree::parse(xml).expect("well-formed")
}

#[test]
fn bad_enum_value_names_attribute_and_place() {
    let el = disk_el(
        "<disk type='file' device='disk'>\n  <driver name='qemu' cache='sometimes'/>\n  \
         <target dev='vda'/>\n</disk>",
    );
    let err = Disk::from_element(&el).expect_err("bad cache");
    match &err {
        XmlError::InvalidValue {
            pos,
            element,
            what,
            value,
            ..
        } => {
            assert_eq!(element, "driver");
            assert_eq!(what, "attribute 'cache'");
            assert_eq!(value, "sometimes");
            assert_eq!(*pos, Pos { line: 2, col: 23 });
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("2:23"), "{err}");
}

#[test]
fn bad_number_names_attribute_and_place() {
    let el = disk_el(
        "<disk type='network' device='disk'>\n<source protocol='nbd' name='x'>\n\
         <host name='h' port='eighty'/>\n</source>\n<target dev='vda'/>\n</disk>",
    );
    match Disk::from_element(&el).expect_err("bad port") {
        XmlError::InvalidValue {
            pos, element, what, ..
        } => {
            assert_eq!(element, "host");
            assert_eq!(what, "attribute 'port'");
            assert_eq!(pos.line, 3);
        }
        other => panic!("unexpected error {other:?}"),
    }
    let el = disk_el(
        "<disk type='file'>\n<target dev='vda'/>\n<iotune>\n<total_iops_sec>lots</total_iops_sec>\n\
         </iotune>\n</disk>",
    );
    match Disk::from_element(&el).expect_err("bad iotune") {
        XmlError::InvalidValue { pos, element, .. } => {
            assert_eq!(element, "total_iops_sec");
            assert_eq!(pos.line, 4);
        }
        other => panic!("unexpected error {other:?}"),
    }
    let el = disk_el("<lease>\n<key>k</key>\n<target path='/p' offset='-1'/>\n</lease>");
    match Lease::from_element(&el).expect_err("bad offset") {
        XmlError::InvalidValue { pos, what, .. } => {
            assert_eq!(what, "attribute 'offset'");
            assert_eq!(pos.line, 3);
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn missing_parts_are_refused() {
    let el = disk_el("<disk type='file' device='disk'>\n<source file='/a'/>\n</disk>");
    match Disk::from_element(&el) {
        Err(XmlError::Missing { pos, element, what }) => {
            assert_eq!(element, "disk");
            assert_eq!(what, "element <target>");
            assert_eq!(pos, Pos { line: 1, col: 1 });
        }
        other => panic!("unexpected result {other:?}"),
    }
    let el = disk_el("<disk type='network'>\n<source name='x'/>\n<target dev='vda'/>\n</disk>");
    assert!(matches!(
        Disk::from_element(&el),
        Err(XmlError::Missing { .. })
    ));
}

#[test]
fn empty_network_drive_becomes_an_empty_file_drive() {
    let el = disk_el(
        "<disk type='network' device='cdrom'><driver name='qemu' type='raw'/>\
         <target dev='hdd' bus='ide'/><readonly/></disk>",
    );
    let d = Disk::from_element(&el).expect("parse");
    assert_eq!(
        write_disk(&d),
        "<disk type='file' device='cdrom'>\n  <driver name='qemu' type='raw'/>\n  \
         <target dev='hdd' bus='ide'/>\n  <readonly/>\n</disk>\n"
    );
    let el = disk_el("<disk type='file'><target dev='ioemu:hda'/></disk>");
    assert_eq!(Disk::from_element(&el).expect("ioemu").target.dev, "hda");
}

#[test]
fn libvirt_defaults_and_canonical_forms() {
    // Bus from the target name, floppy on fdc, cache='default' and tray='closed' unwritten,
    // aio read as raw, zero limits dropped, snapshot='no' on a readonly disk unwritten.
    let el = disk_el(
        "<disk type='file' device='cdrom' snapshot='no'><driver name='qemu' type='aio' \
         cache='default'/><source file='/iso'/><target dev='hdc' tray='closed'/><readonly/>\
         <iotune><total_bytes_sec>0</total_bytes_sec><read_iops_sec>10</read_iops_sec>\
         </iotune></disk>",
    );
    let d = Disk::from_element(&el).expect("parse");
    assert_eq!(d.target.bus, DiskBus::Ide);
    assert_eq!(d.driver.format, Some(StorageFormat::Raw));
    assert_eq!(d.driver.cache, None);
    assert_eq!(
        write_disk(&d),
        "<disk type='file' device='cdrom'>\n  <driver name='qemu' type='raw'/>\n  \
         <source file='/iso'/>\n  <target dev='hdc' bus='ide'/>\n  <iotune>\n    \
         <read_iops_sec>10</read_iops_sec>\n  </iotune>\n  <readonly/>\n</disk>\n"
    );
    let el = disk_el("<disk type='file' device='floppy'><target dev='fda'/></disk>");
    assert_eq!(
        Disk::from_element(&el).expect("floppy").target.bus,
        DiskBus::Fdc
    );
    // An empty drive has no <source>.
    let el = disk_el("<disk type='block' device='cdrom'><target dev='sdb'/></disk>");
    let d = Disk::from_element(&el).expect("empty drive");
    assert_eq!(d.source.data, SourceData::Block { dev: None });
    assert_eq!(
        write_disk(&d),
        "<disk type='block' device='cdrom'>\n  <target dev='sdb' bus='scsi'/>\n</disk>\n"
    );
}

#[test]
fn network_disk_built_by_hand() {
    let mut net = NetworkSource::new(NetProtocol::Rbd);
    net.name = Some("pool/image".into());
    net.hosts.push(NetHost {
        transport: virt_xml::devices::disk::HostTransport::Tcp,
        name: Some("mon1.example.org".into()),
        port: Some(6321),
        socket: None,
    });
    let mut src = DiskSource::new(SourceData::Network(Box::new(net)));
    src.auth = Some(Auth {
        username: "admin".into(),
        secret_type: AuthSecretType::Ceph,
        secret: SecretLookup::Usage("ceph-admin".into()),
    });
    let mut d = Disk::new(DiskDevice::Disk, src, "vdb", DiskBus::Virtio);
    d.driver.format = Some(StorageFormat::Raw);
    d.driver.cache = Some(CacheMode::None);
    d.iotune = Some(IoTune {
        total_iops_sec: Some(500),
        group_name: Some("g".into()),
        ..Default::default()
    });
    d.serial = Some("S1".into());
    let text = write_disk(&d);
    assert_eq!(
        text,
        "<disk type='network' device='disk'>\n  \
         <driver name='qemu' type='raw' cache='none'/>\n  \
         <source protocol='rbd' name='pool/image'>\n    \
         <host name='mon1.example.org' port='6321'/>\n    \
         <auth username='admin'>\n      <secret type='ceph' usage='ceph-admin'/>\n    </auth>\n  \
         </source>\n  <target dev='vdb' bus='virtio'/>\n  <iotune>\n    \
         <total_iops_sec>500</total_iops_sec>\n    <group_name>g</group_name>\n  </iotune>\n  \
         <serial>S1</serial>\n</disk>\n"
    );
    let again = Disk::from_element(&tree::parse(&text).expect("xml")).expect("parse");
    assert_eq!(again, d);
}

#[test]
fn backing_chain_built_by_hand() {
    let mut d = Disk::new(
        DiskDevice::Disk,
        DiskSource::file("/top.qcow2"),
        "vda",
        DiskBus::Virtio,
    );
    d.driver.format = Some(StorageFormat::Qcow2);
    d.backing_store = Some(BackingStore::Image(Box::new(
        virt_xml::devices::disk::BackingImage {
            index: Some(1),
            format: Some(virt_xml::devices::disk::DiskFormat {
                format: StorageFormat::Raw,
                metadata_cache_max_size: None,
            }),
            source: DiskSource::block("/dev/vg/base"),
            backing_store: Some(BackingStore::End),
        },
    )));
    let text = write_disk(&d);
    assert!(
        text.contains(
            "  <backingStore type='block' index='1'>\n    <format type='raw'/>\n    \
             <source dev='/dev/vg/base'/>\n    <backingStore/>\n  </backingStore>\n"
        ),
        "{text}"
    );
    assert_eq!(
        Disk::from_element(&tree::parse(&text).expect("xml")).expect("parse"),
        d
    );
}

/// Every attribute of every element inside a corpus disk, as (element path index, attribute).
fn attr_slots(el: &Element, path: &mut Vec<usize>, out: &mut Vec<(Vec<usize>, String)>) {
    for a in &el.attrs {
        out.push((path.clone(), a.name.clone()));
    }
    for (i, c) in el.elements().enumerate() {
        path.push(i);
        attr_slots(c, path, out);
        path.pop();
    }
}

fn element_at<'a>(el: &'a mut Element, path: &[usize]) -> Option<&'a mut Element> {
    let Some((first, rest)) = path.split_first() else {
        return Some(el);
    };
    let child = el
        .children
        .iter_mut()
        .filter_map(|n| match n {
            tree::Node::Element(e) => Some(e),
            tree::Node::Text(_) => None,
        })
        .nth(*first)?;
    element_at(child, rest)
}

fn corpus_disk_elements() -> Vec<Element> {
    let mut out = Vec::new();
    for (_, d) in support::corpus_domains() {
        for dev in d.devices.iter().filter(|d| d.xml.name == "disk") {
            out.push(dev.xml.clone());
        }
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Any attribute of a real disk set to any text: an error, or a value that writes and reads
    /// back to itself. Never a panic.
    #[test]
    fn mutated_corpus_disks_round_trip_or_fail_cleanly(
        pick in proptest::prelude::any::<proptest::sample::Index>(),
        slot in proptest::prelude::any::<proptest::sample::Index>(),
        value in "[ -~]{0,12}",
    ) {
        static DISKS: std::sync::OnceLock<Vec<Element>> = std::sync::OnceLock::new();
        let disks = DISKS.get_or_init(corpus_disk_elements);
        let mut el = disks[pick.index(disks.len())].clone();
        let mut slots = Vec::new();
        attr_slots(&el, &mut Vec::new(), &mut slots);
        let (path, name) = slots[slot.index(slots.len())].clone();
        if let Some(target) = element_at(&mut el, &path) {
            if let Some(a) = target.attrs.iter_mut().find(|a| a.name == name) {
                a.value = value;
            }
        }
        if let Ok(d) = Disk::from_element(&el) {
            let text = write_disk(&d);
            let again = Disk::from_element(&tree::parse(&text).expect("well-formed"))
                .expect("written text parses");
            proptest::prop_assert_eq!(again, d);
        }
    }
}
