//! The typed `<os>`, `<features>`, `<clock>` and `<cpu>` sections: values read from libvirt's
//! own documents, libvirt's normalisations, and errors with their place.

mod support;

use virt_xml::clock::{ClockBasis, ClockOffset, TickPolicy, TimerName};
use virt_xml::cpu::{CpuMatch, CpuMode, FeaturePolicy};
use virt_xml::domain::OnOff;
use virt_xml::features::{HypervMode, Stimer};
use virt_xml::os::{BootDev, LoaderType, OsType, SourceType};
use virt_xml::{Domain, KiB, Pos};

fn corpus(name: &str) -> Domain {
    let path = virt_testkit::libvirt_data("domain-canonical").join(name);
    let xml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Domain::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn with(sections: &str) -> String {
    format!("<domain type='kvm'>\n<name>t</name>\n{sections}\n</domain>")
}

#[test]
fn os_values_from_libvirt_documents() {
    let d = corpus("firmware-manual-efi-nvram-file.x86_64-latest.xml");
    let os = d.os_def.expect("os");
    assert_eq!(os.os_type, OsType::Hvm);
    assert_eq!(os.machine.as_deref(), Some("pc"));
    let loader = os.loader.expect("loader");
    assert_eq!(loader.kind, Some(LoaderType::Pflash));
    assert_eq!(loader.readonly, Some(true));
    assert_eq!(loader.path.as_deref(), Some("/usr/share/OVMF/OVMF_CODE.fd"));
    let nvram = os.nvram.expect("nvram");
    assert_eq!(nvram.kind, Some(SourceType::File));
    assert_eq!(
        nvram
            .source
            .and_then(|s| s.attr("file").map(str::to_string)),
        Some("/var/lib/libvirt/nvram/guest_VARS.fd".to_string())
    );
    assert_eq!(os.boot, vec![BootDev::Hd]);
    let d = corpus("reboot-timeout-disabled.xml");
    assert_eq!(
        d.os_def.and_then(|o| o.bios).and_then(|b| b.reboot_timeout),
        Some(-1)
    );
}

#[test]
fn os_without_boot_device_gets_hd_and_libvirt_order() {
    let d = Domain::parse(&with(
        "<os><smbios mode='host'/><bootmenu enable='yes' timeout='3000'/><type>hvm</type></os>",
    ))
    .expect("parse");
    let xml = d.to_xml();
    assert!(
        xml.contains(
            "  <os>\n    <type arch='x86_64'>hvm</type>\n    <boot dev='hd'/>\n    \
             <bootmenu enable='yes' timeout='3000'/>\n    <smbios mode='host'/>\n  </os>\n"
        ),
        "{xml}"
    );
}

#[test]
fn features_values_and_normalisation() {
    let d = corpus("hyperv-stimer-direct.xml");
    let f = d.features.expect("features");
    assert!(f.acpi);
    let hv = f.hyperv.expect("hyperv");
    assert_eq!(hv.mode, Some(HypervMode::Custom));
    assert_eq!(
        hv.stimer,
        Some(Stimer {
            state: OnOff::On,
            direct: Some(OnOff::On)
        })
    );
    let d = corpus("tseg-explicit-size.x86_64-latest.xml");
    let smm = d.features.and_then(|f| f.smm).expect("smm");
    assert_eq!(smm.tseg, Some(KiB(48 * 1024)));

    // A feature given without state is on; libvirt's order, not the document's.
    let d = Domain::parse(&with("<features><pmu/><pae/><acpi/></features>")).expect("parse");
    assert!(
        d.to_xml().contains(
            "  <features>\n    <acpi/>\n    <pae/>\n    <pmu state='on'/>\n  </features>\n"
        ),
        "{}",
        d.to_xml()
    );
    // An empty <features/> says nothing.
    let d = Domain::parse(&with("<features/>")).expect("parse");
    assert_eq!(d.features, None);
    assert!(!d.to_xml().contains("features"));
}

#[test]
fn clock_values_and_adjustment() {
    let d = Domain::parse(&with(
        "<clock offset='localtime' adjustment='-3600'>\
         <timer name='rtc' tickpolicy='catchup' track='guest'><catchup slew='120'/></timer></clock>",
    ))
    .expect("parse");
    let c = d.clock.clone().expect("clock");
    assert_eq!(
        c.offset,
        ClockOffset::Variable {
            adjustment: -3600,
            basis: ClockBasis::Localtime
        }
    );
    assert_eq!(c.timers[0].name, TimerName::Rtc);
    assert_eq!(c.timers[0].tickpolicy, Some(TickPolicy::Catchup));
    assert_eq!(c.timers[0].catchup.and_then(|k| k.slew), Some(120));
    let xml = d.to_xml();
    assert!(
        xml.contains("<clock offset='variable' adjustment='-3600' basis='localtime'>"),
        "{xml}"
    );
}

#[test]
fn cpu_values_from_libvirt_documents() {
    let d = corpus("cpu-numa-disordered.xml");
    let cpu = d.cpu.expect("cpu");
    let topo = cpu.topology.expect("topology");
    assert_eq!(
        (topo.sockets, topo.dies, topo.cores, topo.threads),
        (2, 1, 4, 2)
    );
    let numa = cpu.numa.expect("numa");
    assert_eq!(numa.cells.len(), 3);
    assert_eq!(numa.cells[1].cpus.as_deref(), Some("11-15"));
    assert_eq!(numa.cells[1].memory, KiB(109550));

    let d = Domain::parse(&with(
        "<cpu match='exact' mode='custom'><feature name='vmx' policy='require'/>\
         <model fallback='forbid'>Haswell</model></cpu>",
    ))
    .expect("parse");
    let cpu = d.cpu.clone().expect("cpu");
    assert_eq!(cpu.mode, Some(CpuMode::Custom));
    assert_eq!(cpu.match_, Some(CpuMatch::Exact));
    assert_eq!(cpu.features[0].policy, FeaturePolicy::Require);
    assert!(
        d.to_xml().contains(
            "  <cpu mode='custom' match='exact'>\n    <model fallback='forbid'>Haswell</model>\n    \
             <feature policy='require' name='vmx'/>\n  </cpu>\n"
        ),
        "{}",
        d.to_xml()
    );
}

#[test]
fn typed_section_errors_name_their_place() {
    let e = Domain::parse(&with(
        "<os>\n  <type>hvm</type>\n  <boot dev='usb'/>\n</os>",
    ))
    .expect_err("bad boot device");
    assert_eq!(e.pos(), Pos { line: 5, col: 9 }, "{e}");
    assert!(e.to_string().contains("'usb'"), "{e}");
    let e = Domain::parse(&with(
        "<clock offset='utc'>\n<timer name='sundial'/></clock>",
    ))
    .expect_err("bad timer");
    assert_eq!(e.pos().line, 4, "{e}");
    let e = Domain::parse(&with("<cpu>\n<numa><cell id='0' cpus='0'/></numa></cpu>"))
        .expect_err("cell without memory");
    assert_eq!(e.pos().line, 4, "{e}");
    assert!(e.to_string().contains("memory"), "{e}");
}

#[test]
fn every_device_address_in_the_corpus_is_typed_and_formats_back() {
    let dir = virt_testkit::libvirt_data("domain-canonical");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let path = entry.expect("entry").path();
        let Ok(xml) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(d) = support::parse_raw(&xml) else {
            continue;
        };
        for dev in &d.devices {
            let Some(el) = dev.xml.child("address") else {
                continue;
            };
            let a = virt_xml::address::Address::from_element(el)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut want = virt_xml::writer::Writer::new();
            want.tree(el);
            let mut got = virt_xml::writer::Writer::new();
            a.write(&mut got);
            assert_eq!(got.finish(), want.finish(), "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen > 500, "only {seen} addresses");
}
