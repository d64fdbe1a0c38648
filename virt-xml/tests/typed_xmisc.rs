//! The typed controller, filesystem, TPM, watchdog, memballoon, panic, shmem, memory device,
//! IOMMU, vsock, crypto and hub devices: every such element of libvirt's own documents reads,
//! writes back exactly as libvirt wrote it, and reads again to an equal value; bad values are
//! refused with their place; values built by hand write libvirt's form.

mod support;

use std::collections::BTreeMap;
use std::fmt::Debug;

use virt_xml::devices::controller::{
    Controller, ControllerDriver, ControllerModel, ControllerType, PciModel, PciModelName,
    PciTarget, ScaledSize, UsbModel, VirtioOptions,
};
use virt_xml::devices::crypto::{Crypto, CryptoBackendModel};
use virt_xml::devices::filesystem::{Filesystem, FsDriverType, FsSource, FsType};
use virt_xml::devices::hub::Hub;
use virt_xml::devices::iommu::Iommu;
use virt_xml::devices::memballoon::{Memballoon, MemballoonModel};
use virt_xml::devices::memory::{MemoryDevice, MemoryModel};
use virt_xml::devices::panic::Panic;
use virt_xml::devices::shmem::Shmem;
use virt_xml::devices::tpm::{PcrBank, Tpm, TpmBackendKind, TpmModel, TpmVersion};
use virt_xml::devices::vsock::Vsock;
use virt_xml::devices::watchdog::Watchdog;
use virt_xml::domain::{DeviceKind, OnOff};
use virt_xml::tree::{self, Element};
use virt_xml::writer::Writer;
use virt_xml::{KiB, Pos, XmlError};

/// Reads, writes and re-reads one element; returns a description of what went wrong.
fn check<T: PartialEq + Debug>(
    el: &Element,
    read: fn(&Element) -> Result<T, XmlError>,
    write: fn(&T, &mut Writer),
) -> Result<(), String> {
    let v = read(el).map_err(|e| format!("read: {e}"))?;
    let mut w = Writer::new();
    write(&v, &mut w);
    let text = w.finish();
    let want = support::reference(el);
    if text != want {
        return Err(format!("written:\n{text}expected:\n{want}"));
    }
    let again = tree::parse(&text).map_err(|e| format!("re-parse: {e}"))?;
    let v2 = read(&again).map_err(|e| format!("re-read: {e}"))?;
    if v2 != v {
        return Err(format!("re-read differs: {v:?} vs {v2:?}"));
    }
    Ok(())
}

fn check_kind(kind: DeviceKind, el: &Element) -> Result<(), String> {
    match kind {
        DeviceKind::Controller => check(el, Controller::from_element, Controller::write),
        DeviceKind::Filesystem => check(el, Filesystem::from_element, Filesystem::write),
        DeviceKind::Tpm => check(el, Tpm::from_element, Tpm::write),
        DeviceKind::Watchdog => check(el, Watchdog::from_element, Watchdog::write),
        DeviceKind::Memballoon => check(el, Memballoon::from_element, Memballoon::write),
        DeviceKind::Panic => check(el, Panic::from_element, Panic::write),
        DeviceKind::Shmem => check(el, Shmem::from_element, Shmem::write),
        DeviceKind::Memory => check(el, MemoryDevice::from_element, MemoryDevice::write),
        DeviceKind::Iommu => check(el, Iommu::from_element, Iommu::write),
        DeviceKind::Vsock => check(el, Vsock::from_element, Vsock::write),
        DeviceKind::Crypto => check(el, Crypto::from_element, Crypto::write),
        DeviceKind::Hub => check(el, Hub::from_element, Hub::write),
        _ => Ok(()),
    }
}

const KINDS: &[DeviceKind] = &[
    DeviceKind::Controller,
    DeviceKind::Filesystem,
    DeviceKind::Tpm,
    DeviceKind::Watchdog,
    DeviceKind::Memballoon,
    DeviceKind::Panic,
    DeviceKind::Shmem,
    DeviceKind::Memory,
    DeviceKind::Iommu,
    DeviceKind::Vsock,
    DeviceKind::Crypto,
    DeviceKind::Hub,
];

#[test]
fn every_corpus_element_round_trips() {
    let mut checked: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = 0;
    for (file, d) in support::corpus_domains() {
        for dev in &d.devices {
            if !KINDS.contains(&dev.kind) {
                continue;
            }
            *checked.entry(dev.kind.as_str()).or_default() += 1;
            if let Err(e) = check_kind(dev.kind, &dev.xml) {
                failures += 1;
                println!("FAIL {file} <{}>: {e}", dev.kind);
            }
        }
    }
    println!("checked: {checked:?}; {failures} failures");
    assert_eq!(failures, 0);
    // Every kind the corpus holds was seen (tpm and crypto have no corpus instance).
    for kind in [
        "controller",
        "memballoon",
        "filesystem",
        "panic",
        "vsock",
        "watchdog",
        "shmem",
        "iommu",
        "hub",
        "memory",
    ] {
        assert!(checked.get(kind).copied().unwrap_or(0) > 0, "no <{kind}>");
    }
    assert!(checked["controller"] > 1000, "{checked:?}");
    assert!(checked["memballoon"] > 300, "{checked:?}");
    assert!(checked["filesystem"] >= 16, "{checked:?}");
    assert!(checked["panic"] >= 20, "{checked:?}");
}

fn domain_with(devices: &str) -> support::Raw {
    let xml = format!(
        "<domain type='kvm'>\n<name>t</name>\n<memory>1048576</memory>\n\
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\n<devices>\n{devices}\n</devices>\n</domain>"
    );
    support::parse_raw(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

fn device(d: &support::Raw, kind: DeviceKind) -> &Element {
    &d.devices
        .iter()
        .find(|x| x.kind == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
        .xml
}

#[test]
fn tpm_backends_from_hand_written_domains() {
    let d = domain_with(
        "<tpm model='tpm-tis'><backend type='emulator' version='2.0' persistent_state='yes'>\
         <active_pcr_banks><sha512/><sha256/></active_pcr_banks>\
         <encryption secret='32ee7e76-2178-47a1-ab7b-269e6e348015'/></backend>\
         <alias name='tpm0'/></tpm>",
    );
    let el = device(&d, DeviceKind::Tpm);
    let t = Tpm::from_element(el).expect("tpm");
    assert_eq!(t.model, Some(TpmModel::TpmTis));
    assert_eq!(t.backend.version, Some(TpmVersion::V2_0));
    match &t.backend.kind {
        TpmBackendKind::Emulator {
            active_pcr_banks,
            encryption_secret,
            ..
        } => {
            assert_eq!(
                active_pcr_banks.as_deref(),
                Some(&[PcrBank::Sha256, PcrBank::Sha512][..])
            );
            assert_eq!(
                encryption_secret.map(|u| u.to_string()).as_deref(),
                Some("32ee7e76-2178-47a1-ab7b-269e6e348015")
            );
        }
        other => panic!("{other:?}"),
    }
    let mut w = Writer::new();
    t.write(&mut w);
    let text = w.finish();
    assert_eq!(
        text,
        "<tpm model='tpm-tis'>\n  <backend type='emulator' version='2.0' persistent_state='yes'>\n    \
         <encryption secret='32ee7e76-2178-47a1-ab7b-269e6e348015'/>\n    <active_pcr_banks>\n      \
         <sha256/>\n      <sha512/>\n    </active_pcr_banks>\n  </backend>\n  <alias name='tpm0'/>\n</tpm>\n"
    );
    assert_eq!(
        Tpm::from_element(&tree::parse(&text).expect("parse")).expect("again"),
        t
    );

    for (xml, want) in [
        (
            "<tpm model='tpm-crb'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>",
            "<tpm model='tpm-crb'>\n  <backend type='passthrough'>\n    <device path='/dev/tpm0'/>\n  </backend>\n</tpm>\n",
        ),
        (
            "<tpm model='tpm-tis'><backend type='external'><source type='unix' mode='connect' path='/tmp/s.sock'/></backend></tpm>",
            "<tpm model='tpm-tis'>\n  <backend type='external'>\n    <source type='unix' mode='connect' path='/tmp/s.sock'/>\n  </backend>\n</tpm>\n",
        ),
        (
            "<tpm model='tpm-tis'><backend type='emulator' version='1.2'/></tpm>",
            "<tpm model='tpm-tis'>\n  <backend type='emulator' version='1.2'/>\n</tpm>\n",
        ),
    ] {
        let d = domain_with(xml);
        let el = device(&d, DeviceKind::Tpm);
        assert_eq!(support::reference(el), want);
        check(el, Tpm::from_element, Tpm::write).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn crypto_reads_and_writes() {
    // The 9.0 schema has no <crypto>: read straight from the tree.
    let el = tree::parse(
        "<crypto model='virtio' type='qemu'><backend model='lkcf' queues='2'/>\
         <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/></crypto>",
    )
    .expect("parse");
    let c = Crypto::from_element(&el).expect("crypto");
    assert_eq!(c.backend.map(|b| b.model), Some(CryptoBackendModel::Lkcf));
    check(&el, Crypto::from_element, Crypto::write).unwrap_or_else(|e| panic!("{e}"));
    let bad = tree::parse("<crypto model='virtio' type='qemu'>\n<backend model='hw'/></crypto>")
        .expect("parse");
    let e = Crypto::from_element(&bad).expect_err("bad backend");
    assert_eq!(e.pos(), Pos { line: 2, col: 10 });
}

#[test]
fn hand_written_devices_of_every_kind_round_trip() {
    let d = domain_with(
        "<controller type='scsi' index='0' model='virtio-scsi'>\
           <driver queues='4' cmd_per_lun='8' max_sectors='512' ioeventfd='on' iothread='1' iommu='on' ats='off' packed='on' page_per_vq='off'/></controller>\
         <controller type='pci' index='1' model='pcie-expander-bus'>\
           <model name='pxb-pcie'/><target busNr='200'><node>1</node></target></controller>\
         <controller type='pci' index='2' model='pcie-root-port'>\
           <model name='pcie-root-port'/><target chassis='2' port='0x10' hotplug='off'/></controller>\
         <controller type='virtio-serial' index='0' model='virtio' ports='16' vectors='4'/>\
         <controller type='xenbus' index='0' maxGrantFrames='64' maxEventChannels='2047'/>\
         <filesystem type='mount' accessmode='passthrough'>\
           <driver type='virtiofs' queue='1024' iommu='on'/>\
           <binary path='/usr/libexec/virtiofsd' xattr='on'><cache mode='always'/>\
           <sandbox mode='chroot'/><lock posix='off' flock='on'/><thread_pool size='16'/></binary>\
           <source dir='/srv'/><target dir='tag'/><boot order='2'/><alias name='fs0'/></filesystem>\
         <filesystem type='mount' accessmode='mapped' multidevs='remap' fmode='0644' dmode='0755'>\
           <driver type='path' wrpolicy='immediate'/><source dir='/x'/><target dir='y'/><readonly/>\
           <space_hard_limit unit='bytes'>1048576</space_hard_limit><space_soft_limit unit='bytes'>4096</space_soft_limit></filesystem>\
         <filesystem type='file' accessmode='passthrough'><driver type='loop' format='raw'/>\
           <source file='/img'/><target dir='/'/></filesystem>\
         <filesystem type='mount'><source socket='/run/fs.sock'/><target dir='t'/></filesystem>\
         <watchdog model='i6300esb' action='inject-nmi'><alias name='wd0'/></watchdog>\
         <memballoon model='virtio' autodeflate='on' freePageReporting='off'><stats period='10'/>\
           <alias name='balloon0'/><driver iommu='on' packed='on'/></memballoon>\
         <panic model='hyperv'/>\
         <shmem name='s0' role='peer'><model type='ivshmem-doorbell'/><server/><msi vectors='8' ioeventfd='on'/></shmem>\
         <memory model='virtio-mem'><source><nodemask>0-1</nodemask><pagesize unit='KiB'>2048</pagesize></source>\
           <target><size unit='GiB'>2</size><node>0</node><block unit='MiB'>2</block><requested unit='MiB'>1024</requested></target></memory>\
         <memory model='nvdimm' access='shared' discard='yes'><uuid>49545eb3-75e1-2d0a-acdd-f0294406c99e</uuid>\
           <source><path>/tmp/nv</path><alignsize unit='KiB'>2048</alignsize><pmem/></source>\
           <target><size unit='KiB'>523264</size><node>0</node><label><size unit='KiB'>128</size></label><readonly/></target></memory>\
         <iommu model='intel'><driver intremap='on' caching_mode='on' eim='on' iotlb='on' aw_bits='48'/></iommu>\
         <vsock model='virtio'><cid auto='yes'/><driver iommu='on'/></vsock>\
         <hub type='usb'><address type='usb' bus='0' port='1'/></hub>",
    );
    let mut failures = Vec::new();
    let mut n = 0;
    for dev in &d.devices {
        if KINDS.contains(&dev.kind) {
            n += 1;
            if let Err(e) = check_kind(dev.kind, &dev.xml) {
                failures.push(format!("<{}>: {e}", dev.kind));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(n, 18);

    let c = Controller::from_element(device(&d, DeviceKind::Controller)).expect("controller");
    let drv = c.driver.expect("driver");
    assert_eq!(drv.queues, Some(4));
    assert_eq!(drv.virtio.packed, Some(OnOff::On));
    let m: Vec<MemoryDevice> = d
        .devices
        .iter()
        .filter(|x| x.kind == DeviceKind::Memory)
        .map(|x| MemoryDevice::from_element(&x.xml).expect("memory"))
        .collect();
    assert_eq!(m[0].model, MemoryModel::VirtioMem);
    assert_eq!(m[0].target.size, KiB(2 * 1024 * 1024));
    assert_eq!(m[0].target.requested, Some(KiB(1024 * 1024)));
    assert!(m[1].source.as_ref().is_some_and(|s| s.pmem));
    let f = Filesystem::from_element(device(&d, DeviceKind::Filesystem)).expect("fs");
    assert_eq!(f.driver.and_then(|d| d.kind), Some(FsDriverType::Virtiofs));
    assert_eq!(f.info.boot.map(|b| b.order), Some(2));
}

#[test]
fn bad_values_name_attribute_and_place() {
    let bad = |xml: &str| -> XmlError {
        let el = tree::parse(xml).expect("well-formed");
        let kind: DeviceKind = el.name.parse().expect("kind");
        let e = match kind {
            DeviceKind::Controller => Controller::from_element(&el).map(|_| ()),
            DeviceKind::Filesystem => Filesystem::from_element(&el).map(|_| ()),
            DeviceKind::Shmem => Shmem::from_element(&el).map(|_| ()),
            DeviceKind::Memory => MemoryDevice::from_element(&el).map(|_| ()),
            DeviceKind::Memballoon => Memballoon::from_element(&el).map(|_| ()),
            DeviceKind::Watchdog => Watchdog::from_element(&el).map(|_| ()),
            DeviceKind::Tpm => Tpm::from_element(&el).map(|_| ()),
            DeviceKind::Vsock => Vsock::from_element(&el).map(|_| ()),
            DeviceKind::Iommu => Iommu::from_element(&el).map(|_| ()),
            other => panic!("{other}"),
        };
        e.expect_err(xml)
    };
    // A USB model on a PCI controller.
    let e = bad("<controller type='pci' index='0' model='qemu-xhci'/>");
    assert_eq!(e.pos(), Pos { line: 1, col: 34 });
    assert!(e.to_string().contains("'model'"), "{e}");
    // A number that is not one.
    let e = bad("<controller type='usb'\n index='x'/>");
    assert_eq!(e.pos(), Pos { line: 2, col: 2 });
    assert!(e.to_string().contains("'index'"), "{e}");
    // A PCI port too large for a byte.
    let e = bad("<controller type='pci' index='1' model='pcie-root-port'>\n  <target port='0x100'/></controller>");
    assert_eq!(e.pos(), Pos { line: 2, col: 11 });
    assert!(e.to_string().contains("'port'"), "{e}");
    let e = bad("<filesystem fmode='0999'><source dir='/'/><target dir='/'/></filesystem>");
    assert!(e.to_string().contains("'fmode'"), "{e}");
    assert_eq!(e.pos(), Pos { line: 1, col: 13 });
    let e = bad("<shmem name='s'>\n<size unit='parsec'>4</size></shmem>");
    assert!(e.to_string().contains("'unit'"), "{e}");
    assert_eq!(e.pos(), Pos { line: 2, col: 7 });
    let e = bad("<memory model='dimm'><target>\n<size unit='KiB'>lots</size></target></memory>");
    assert!(e.to_string().contains("content"), "{e}");
    assert_eq!(e.pos(), Pos { line: 2, col: 1 });
    let e = bad("<memballoon model='balloon'/>");
    assert!(e.to_string().contains("'model'"), "{e}");
    let e = bad("<watchdog model='ib700' action='explode'/>");
    assert_eq!(e.pos(), Pos { line: 1, col: 25 });
    let e = bad("<tpm model='tpm-tis'>\n<backend type='emulator'><encryption secret='nope'/></backend></tpm>");
    assert!(e.to_string().contains("'secret'"), "{e}");
    let e = bad("<vsock model='virtio'><cid address='-1'/></vsock>");
    assert!(e.to_string().contains("'address'"), "{e}");
    let e = bad("<iommu model='intel'><driver aw_bits='300'/></iommu>");
    assert!(e.to_string().contains("'aw_bits'"), "{e}");
    // Something required that is absent.
    let e = bad("<memory model='dimm'/>");
    assert!(matches!(e, XmlError::Missing { .. }), "{e}");
    let e = bad("<tpm model='tpm-tis'/>");
    assert!(matches!(e, XmlError::Missing { .. }), "{e}");
}

#[test]
fn values_built_by_hand_write_libvirts_form() {
    let mut root = Controller::new(ControllerType::Pci, 0);
    root.model = Some(ControllerModel::Pci(PciModel::PcieRoot));
    root.pcihole64 = Some(KiB(1048576));
    let mut port = Controller::new(ControllerType::Pci, 1);
    port.model = Some(ControllerModel::Pci(PciModel::PcieRootPort));
    port.model_name = Some(PciModelName::PcieRootPort);
    port.target = Some(PciTarget {
        chassis: Some(1),
        port: Some(0x10),
        ..Default::default()
    });
    let mut usb = Controller::new(ControllerType::Usb, 0);
    usb.model = Some(ControllerModel::Usb(UsbModel::Ich9Uhci1));
    usb.info.master_startport = Some(0);
    let mut scsi = Controller::new(ControllerType::Scsi, 0);
    scsi.driver = Some(ControllerDriver {
        iothread: Some(2),
        virtio: VirtioOptions {
            iommu: Some(OnOff::On),
            ..Default::default()
        },
        ..Default::default()
    });
    let mut w = Writer::new();
    for c in [&root, &port, &usb, &scsi] {
        c.write(&mut w);
    }
    assert_eq!(
        w.finish(),
        "<controller type='pci' index='0' model='pcie-root'>\n  <pcihole64 unit='KiB'>1048576</pcihole64>\n</controller>\n\
         <controller type='pci' index='1' model='pcie-root-port'>\n  <model name='pcie-root-port'/>\n  \
         <target chassis='1' port='0x10'/>\n</controller>\n\
         <controller type='usb' index='0' model='ich9-uhci1'>\n  <master startport='0'/>\n</controller>\n\
         <controller type='scsi' index='0'>\n  <driver iothread='2' iommu='on'/>\n</controller>\n"
    );

    let mut ram = Filesystem::new(FsSource::Ram(ScaledSize::new(1024, "KiB")), "/mnt");
    ram.kind = Some(FsType::Ram);
    let mut w = Writer::new();
    ram.write(&mut w);
    assert_eq!(
        w.finish(),
        "<filesystem type='ram'>\n  <source usage='1024' units='KiB'/>\n  <target dir='/mnt'/>\n</filesystem>\n"
    );
    assert_eq!(
        ScaledSize::new(1024, "KiB").bytes(1),
        Some(1024 * 1024),
        "units scale"
    );

    let none = Memballoon::new(MemballoonModel::None);
    let mut w = Writer::new();
    none.write(&mut w);
    assert_eq!(w.finish(), "<memballoon model='none'/>\n");
}

/// libvirt's input documents (not in canonical form): every element of these kinds still reads,
/// and what is written reads back to the same value.
#[test]
fn input_documents_read_and_write_stably() {
    let mut checked = 0;
    let mut failures = 0;
    for sub in ["qemu-argv", "generic-xml/in"] {
        let dir = virt_testkit::libvirt_data(sub);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for f in rd.filter_map(|e| e.ok().map(|e| e.path())) {
            if f.extension().is_none_or(|e| e != "xml") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let Ok(d) = support::parse_raw(&text) else {
                continue;
            };
            for dev in d.devices.iter().filter(|x| KINDS.contains(&x.kind)) {
                checked += 1;
                let el = &dev.xml;
                // Re-write through the typed value, then compare value against value.
                let outcome = match dev.kind {
                    DeviceKind::Controller => {
                        stable(el, Controller::from_element, Controller::write)
                    }
                    DeviceKind::Filesystem => {
                        stable(el, Filesystem::from_element, Filesystem::write)
                    }
                    DeviceKind::Tpm => stable(el, Tpm::from_element, Tpm::write),
                    DeviceKind::Watchdog => stable(el, Watchdog::from_element, Watchdog::write),
                    DeviceKind::Memballoon => {
                        stable(el, Memballoon::from_element, Memballoon::write)
                    }
                    DeviceKind::Panic => stable(el, Panic::from_element, Panic::write),
                    DeviceKind::Shmem => stable(el, Shmem::from_element, Shmem::write),
                    DeviceKind::Memory => {
                        stable(el, MemoryDevice::from_element, MemoryDevice::write)
                    }
                    DeviceKind::Iommu => stable(el, Iommu::from_element, Iommu::write),
                    DeviceKind::Vsock => stable(el, Vsock::from_element, Vsock::write),
                    DeviceKind::Hub => stable(el, Hub::from_element, Hub::write),
                    _ => Ok(()),
                };
                if let Err(e) = outcome {
                    failures += 1;
                    println!("FAIL {sub}/{} <{}>: {e}", f.display(), dev.kind);
                }
            }
        }
    }
    println!("input documents: {checked} elements, {failures} failures");
    assert_eq!(failures, 0);
    assert!(checked > 1000, "{checked}");
}

fn stable<T: PartialEq + Debug>(
    el: &Element,
    read: fn(&Element) -> Result<T, XmlError>,
    write: fn(&T, &mut Writer),
) -> Result<(), String> {
    let v = read(el).map_err(|e| format!("read: {e}"))?;
    let mut w = Writer::new();
    write(&v, &mut w);
    let text = w.finish();
    let again = tree::parse(&text).map_err(|e| format!("re-parse: {e}"))?;
    let v2 = read(&again).map_err(|e| format!("re-read: {e}"))?;
    if v2 != v {
        return Err(format!("re-read differs: {v:?} vs {v2:?}"));
    }
    Ok(())
}

mod props {
    use super::*;
    use proptest::prelude::*;
    use virt_xml::devices::filesystem::{FsAccessMode, FsBinary, FsDriver, FsLock};
    use virt_xml::devices::memory::{MemorySource, MemoryTarget};

    fn onoff() -> impl Strategy<Value = Option<OnOff>> {
        proptest::option::of(prop_oneof![Just(OnOff::On), Just(OnOff::Off)])
    }

    fn virtio() -> impl Strategy<Value = VirtioOptions> {
        (onoff(), onoff(), onoff(), onoff()).prop_map(|(iommu, ats, packed, page_per_vq)| {
            VirtioOptions {
                iommu,
                ats,
                packed,
                page_per_vq,
            }
        })
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9/_.<>&'\" -]{0,12}"
    }

    fn round_trip<T: PartialEq + Debug>(
        v: &T,
        read: fn(&Element) -> Result<T, XmlError>,
        write: fn(&T, &mut Writer),
    ) -> Result<(), TestCaseError> {
        let mut w = Writer::new();
        write(v, &mut w);
        let text = w.finish();
        let el = tree::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let again = read(&el).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&again, v, "{}", text);
        Ok(())
    }

    proptest! {
        #[test]
        fn controllers_round_trip(
            kind in prop::sample::select(ControllerType::ALL),
            index in any::<u32>(),
            model_pick in any::<prop::sample::Index>(),
            ports in proptest::option::of(any::<u32>()),
            target in proptest::option::of((
                proptest::option::of(any::<u8>()),
                proptest::option::of(any::<u8>()),
                proptest::option::of(any::<u8>()),
                onoff(),
                proptest::option::of(any::<u32>()),
            )),
            hole in proptest::option::of(0u64..(1 << 40)),
            driver in proptest::option::of((proptest::option::of(any::<u32>()), onoff(), virtio())),
        ) {
            let mut c = Controller::new(kind, index);
            let names: Vec<&str> = match kind {
                ControllerType::Pci => PciModel::ALL.iter().map(|m| m.as_str()).collect(),
                ControllerType::Usb => UsbModel::ALL.iter().map(|m| m.as_str()).collect(),
                _ => Vec::new(),
            };
            if !names.is_empty() {
                let name = names[model_pick.index(names.len())];
                c.model = Some(ControllerModel::parse(kind, name).expect("model"));
            }
            c.ports = ports;
            c.target = target.map(|(chassis, port, bus_nr, hotplug, node)| PciTarget {
                chassis,
                port,
                bus_nr,
                hotplug,
                node,
                ..Default::default()
            });
            c.pcihole64 = hole.map(KiB);
            c.driver = driver.map(|(queues, ioeventfd, virtio)| ControllerDriver {
                queues,
                ioeventfd,
                virtio,
                ..Default::default()
            });
            round_trip(&c, Controller::from_element, Controller::write)?;
        }

        #[test]
        fn filesystems_round_trip(
            dir in text(),
            target in text(),
            mode in proptest::option::of(0u32..0o1000),
            access in proptest::option::of(prop::sample::select(FsAccessMode::ALL)),
            driver in proptest::option::of((proptest::option::of(prop::sample::select(FsDriverType::ALL)), proptest::option::of(any::<u32>()), virtio())),
            binary in proptest::option::of((proptest::option::of(text()), onoff(), onoff(), proptest::option::of(any::<i64>()))),
            limit in proptest::option::of(any::<u64>()),
            readonly in any::<bool>(),
        ) {
            let mut f = Filesystem::new(FsSource::Dir(dir), target);
            f.fmode = mode;
            f.accessmode = access;
            f.readonly = readonly;
            f.driver = driver.map(|(kind, queue, virtio)| FsDriver { kind, queue, virtio, ..Default::default() });
            f.binary = binary.map(|(path, xattr, posix, pool)| FsBinary {
                path,
                xattr,
                lock: Some(FsLock { posix, flock: None }),
                thread_pool_size: pool,
                ..Default::default()
            });
            f.space_hard_limit = limit.map(|v| ScaledSize::new(v, "bytes"));
            round_trip(&f, Filesystem::from_element, Filesystem::write)?;
        }

        #[test]
        fn memory_devices_round_trip(
            model in prop::sample::select(MemoryModel::ALL),
            size in any::<u64>(),
            node in proptest::option::of(any::<u32>()),
            path in proptest::option::of("/[a-z0-9/]{1,10}"),
            pagesize in proptest::option::of(any::<u64>()),
            pmem in any::<bool>(),
            requested in proptest::option::of(any::<u64>()),
        ) {
            let mut t = MemoryTarget::new(KiB(size));
            t.node = node;
            t.requested = requested.map(KiB);
            let mut m = MemoryDevice::new(model, t);
            m.source = Some(MemorySource { path, pagesize: pagesize.map(KiB), pmem, ..Default::default() });
            round_trip(&m, MemoryDevice::from_element, MemoryDevice::write)?;
        }

        #[test]
        fn arbitrary_attribute_values_never_panic(value in "\\PC{0,8}") {
            let v = virt_xml::writer::escape(&value);
            for xml in [
                format!("<controller type='pci' index='{v}' model='{v}'><target port='{v}'/><pcihole64 unit='{v}'>{v}</pcihole64></controller>"),
                format!("<filesystem fmode='{v}'><source usage='{v}' units='{v}'/><target dir='{v}'/></filesystem>"),
                format!("<memory model='dimm'><target><size unit='{v}'>{v}</size><node>{v}</node></target></memory>"),
                format!("<shmem name='{v}'><size unit='{v}'>{v}</size><msi vectors='{v}'/></shmem>"),
                format!("<tpm model='{v}'><backend type='{v}' version='{v}'/></tpm>"),
            ] {
                if let Ok(el) = tree::parse(&xml) {
                    let _ = Controller::from_element(&el);
                    let _ = Filesystem::from_element(&el);
                    let _ = MemoryDevice::from_element(&el);
                    let _ = Shmem::from_element(&el);
                    let _ = Tpm::from_element(&el);
                }
            }
        }
    }
}
