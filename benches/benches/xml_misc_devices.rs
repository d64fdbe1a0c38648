//! Typed `<controller>` and `<memballoon>` devices: reading them from their checked elements and
//! writing libvirt's form, for the controllers of a q35 domain with many PCIe root ports (libvirt
//! parses and formats the whole domain of a virt-manager q35 guest in about 1 ms).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use virt_xml::devices::controller::Controller;
use virt_xml::devices::memballoon::Memballoon;
use virt_xml::domain::DeviceKind;
use virt_xml::writer::Writer;

fn misc_devices(c: &mut Criterion) {
    let path = virt_testkit::libvirt_data("domain-canonical")
        .join("q35-virt-manager-basic.x86_64-latest.xml");
    let xml = std::fs::read_to_string(&path).expect("bench input");
    let root = virt_xml::domain::normalized(&xml).expect("parse");
    let devices = root.child("devices").expect("devices");
    let controllers: Vec<_> = devices
        .elements()
        .filter(|x| x.name == DeviceKind::Controller.as_str())
        .cloned()
        .collect();
    let balloon = devices
        .elements()
        .find(|x| x.name == DeviceKind::Memballoon.as_str())
        .cloned()
        .expect("memballoon");
    assert!(controllers.len() > 5, "{}", controllers.len());
    let typed: Vec<Controller> = controllers
        .iter()
        .map(|e| Controller::from_element(e).expect("controller"))
        .collect();
    c.bench_function("controllers_read_q35_virt_manager", |b| {
        b.iter(|| {
            for e in black_box(&controllers) {
                black_box(Controller::from_element(e).expect("controller"));
            }
        })
    });
    c.bench_function("controllers_write_q35_virt_manager", |b| {
        b.iter(|| {
            let mut w = Writer::new();
            for t in black_box(&typed) {
                t.write(&mut w);
            }
            black_box(w.finish())
        })
    });
    c.bench_function("memballoon_read_write", |b| {
        b.iter(|| {
            let m = Memballoon::from_element(black_box(&balloon)).expect("memballoon");
            let mut w = Writer::new();
            m.write(&mut w);
            black_box(w.finish())
        })
    });
}

criterion_group!(benches, misc_devices);
criterion_main!(benches);
