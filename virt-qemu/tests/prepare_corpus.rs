//! libvirt's post-parse output for QEMU 7.2 (`domain-canonical/X.x86_64-latest.xml`) from the
//! argv corpus' inputs (`qemu-argv/X.xml`).

use virt_qemu::argv::caps::QemuCaps;
use virt_qemu::prepare;
use virt_xml::address::Address;
use virt_xml::conformance::first_difference;
use virt_xml::Domain;

#[test]
fn prepare_matches_libvirt_canonical_output() {
    let argv = virt_testkit::libvirt_data("qemu-argv");
    let canon = virt_testkit::libvirt_data("domain-canonical");
    let mut names: Vec<String> = std::fs::read_dir(&argv)
        .expect("read qemu-argv")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|n| n.strip_suffix(".xml").map(str::to_string))
        .filter(|n| canon.join(format!("{n}.x86_64-latest.xml")).exists())
        .collect();
    names.sort();
    let caps = QemuCaps::x86_64_7_2();
    let (mut pass, mut fail) = (0, 0);
    for n in &names {
        let input = std::fs::read_to_string(argv.join(format!("{n}.xml"))).expect("read input");
        let want = std::fs::read_to_string(canon.join(format!("{n}.x86_64-latest.xml")))
            .expect("read twin");
        let outcome = Domain::parse(&input)
            .map_err(|e| format!("parse: {e}"))
            .and_then(|mut d| {
                prepare::prepare_with(&mut d, &caps, &harness_options(n))
                    .map_err(|e| format!("prepare: {e}"))?;
                Ok(d.to_xml())
            });
        match outcome {
            Ok(got) => {
                if let Some(dir) = std::env::var_os("PREPARE_DUMP") {
                    let _ =
                        std::fs::write(std::path::Path::new(&dir).join(format!("{n}.xml")), &got);
                }
                match first_difference(&want, &got, "line") {
                    None => pass += 1,
                    Some(d) => {
                        fail += 1;
                        println!("FAIL {n}: {d}");
                    }
                }
            }
            Err(e) => {
                fail += 1;
                println!("FAIL {n}: {e}");
            }
        }
    }
    println!("{pass} passed, {fail} failed");
    assert!(pass >= 47, "{pass} passed");
}

/// The driver settings libvirt's test program uses for a case (qemuxml2xmltest.c sets
/// `QEMU_AUDIO_DRV` and the host-audio switches around the audio-default cases).
fn harness_options(name: &str) -> prepare::PrepareOptions {
    let mut o = prepare::PrepareOptions::default();
    match name {
        "audio-default-vnc" => {
            o.vnc_allow_host_audio = true;
            o.host_audio = Some("alsa".into());
        }
        "audio-default-nographics" => {
            o.nographics_allow_host_audio = true;
            o.host_audio = Some("alsa".into());
        }
        "audio-default-sdl" => o.host_audio = Some("sdl".into()),
        _ => {}
    }
    o
}

/// libvirt's post-parse output is a fixed point: preparing a canonical x86_64 QEMU 7.2 output
/// again changes nothing.
#[test]
fn prepare_keeps_libvirt_canonical_output() {
    let canon = virt_testkit::libvirt_data("domain-canonical");
    let caps = QemuCaps::x86_64_7_2();
    let mut names: Vec<String> = std::fs::read_dir(&canon)
        .expect("read domain-canonical")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".x86_64-latest.xml"))
        .collect();
    names.sort();
    let (mut pass, mut fail, mut skipped) = (0, 0, 0);
    for n in &names {
        let text = std::fs::read_to_string(canon.join(n)).expect("read");
        let Ok(mut d) = Domain::parse(&text) else {
            skipped += 1;
            continue;
        };
        let x86 = d
            .os_def
            .as_ref()
            .and_then(|o| o.arch.clone())
            .is_some_and(|a| a == "x86_64" || a == "i686");
        let qemu = matches!(
            d.domain_type,
            virt_xml::DomainType::Qemu | virt_xml::DomainType::Kvm
        );
        if !x86 || !qemu || d.to_xml() != text {
            // The formatter itself does not reproduce this case yet.
            skipped += 1;
            continue;
        }
        match prepare::prepare(&mut d, &caps) {
            Ok(()) => match first_difference(&text, &d.to_xml(), "line") {
                None => pass += 1,
                Some(diff) => {
                    fail += 1;
                    println!("CHANGED {n}: {diff}");
                }
            },
            Err(e) => {
                fail += 1;
                println!("REFUSED {n}: {e}");
            }
        }
    }
    println!("fixed point: {pass} passed, {fail} failed, {skipped} not formatted yet");
    assert!(pass >= 69, "{pass} passed");
}

/// The PCI placement in libvirt's QEMU 7.2 command lines (`"bus":"pci.1","addr":"0x2"` with the
/// device's alias as `"id"`) is the one `prepare` writes into the definition.
#[test]
fn prepare_places_devices_where_the_argv_corpus_does() {
    let argv = virt_testkit::libvirt_data("qemu-argv");
    let caps = QemuCaps::x86_64_7_2();
    let mut names: Vec<String> = std::fs::read_dir(&argv)
        .expect("read qemu-argv")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|n| n.strip_suffix(".x86_64-latest.args").map(str::to_string))
        .collect();
    names.sort();
    let (mut pass, mut fail) = (0, 0);
    for n in &names {
        let Ok(input) = std::fs::read_to_string(argv.join(format!("{n}.xml"))) else {
            continue;
        };
        let args = std::fs::read_to_string(argv.join(format!("{n}.x86_64-latest.args")))
            .expect("read args");
        let Ok(mut d) = Domain::parse(&input) else {
            continue;
        };
        if let Err(e) =
            prepare::prepare(&mut d, &caps).and_then(|()| prepare::assign_usb_ports(&mut d))
        {
            fail += 1;
            println!("REFUSED {n}: {e}");
            continue;
        }
        let want = argv_placements(&args);
        if want.is_empty() {
            continue;
        }
        let q35 = args.contains("\"bus\":\"pcie.0\"") || args.contains("bus=pcie.0");
        let got = prepared_placements(&d, q35);
        let mut bad = None;
        for (id, place) in &want {
            // USB companions share their master's alias: any device of that alias may match.
            let mine: Vec<&String> = got
                .iter()
                .filter(|(a, _)| a == id)
                .map(|(_, p)| p)
                .collect();
            if !mine.contains(&place) {
                bad = Some(format!("{id}: argv {place}, prepared {mine:?}"));
                break;
            }
        }
        if bad.is_none() && std::env::var_os("PREPARE_REVERSE").is_some() {
            for (id, place) in &got {
                if !want.iter().any(|(w, _)| w == id) && !args.contains(&format!("\"{id}\"")) {
                    println!("EXTRA {n}: {id} {place}");
                }
            }
        }
        match bad {
            None => pass += 1,
            Some(b) => {
                fail += 1;
                println!("PLACEMENT {n}: {b}");
            }
        }
    }
    println!("argv placement: {pass} passed, {fail} failed");
    assert!(pass >= 256, "{pass} passed");
}

/// `(id, "bus/addr")` of every `-device` with a PCI bus in an argv file.
fn argv_placements(args: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in args.lines() {
        let Some(json) = line
            .trim()
            .trim_end_matches('\\')
            .trim()
            .strip_prefix("-device '")
            .and_then(|l| l.strip_suffix('\''))
        else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
            continue;
        };
        let (Some(bus), Some(id)) = (
            v.get("bus").and_then(|b| b.as_str()),
            v.get("id").and_then(|b| b.as_str()),
        ) else {
            continue;
        };
        if bus.starts_with("usb") {
            if let Some(port) = v.get("port").and_then(|p| p.as_str()) {
                out.push((id.to_string(), format!("{bus}/{port}")));
            }
            continue;
        }
        let Some(addr) = v.get("addr").and_then(|b| b.as_str()) else {
            continue;
        };
        if !bus.starts_with("pci") {
            continue;
        }
        let (slot, function) = match addr.split_once('.') {
            Some((s, f)) => (s.to_string(), f.to_string()),
            None => (addr.to_string(), "0x0".to_string()),
        };
        out.push((id.to_string(), format!("{bus}/{slot}.{function}")));
    }
    out
}

/// `(alias, "bus/addr")` of every prepared device with a PCI or USB address.
fn prepared_placements(d: &Domain, q35: bool) -> Vec<(String, String)> {
    let aliases = prepare::aliases(d);
    let mut out = Vec::new();
    for (dev, alias) in d.devices.iter().zip(aliases) {
        match dev.address() {
            Some(Address::Usb { bus, port }) => {
                let bus = match bus.unwrap_or(0) {
                    0 => "usb.0".to_string(),
                    b => format!("usb{b}.0"),
                };
                out.push((alias, format!("{bus}/{}", port.clone().unwrap_or_default())));
            }
            Some(Address::Pci { addr, .. }) => {
                let bus = match addr.bus {
                    0 if q35 => "pcie.0".to_string(),
                    b => format!("pci.{b}"),
                };
                out.push((
                    alias,
                    format!("{bus}/{:#x}.{:#x}", addr.slot, addr.function),
                ));
            }
            _ => {}
        }
    }
    out
}

/// The argv corpus' refusals that belong to this stage (bad or colliding device addresses).
#[test]
fn prepare_refuses_bad_addresses() {
    let argv = virt_testkit::libvirt_data("qemu-argv");
    let caps = QemuCaps::x86_64_7_2();
    for (name, device) in [
        ("disk-address-conflict", "target='sda'"),
        ("disk-fdc-incompatible-address", "target='fda'"),
        ("disk-hostdev-scsi-address-conflict", "target='sda'"),
        ("disk-sata-incompatible-address", "target='sda'"),
        ("disk-usb-pci", "target='sda'"),
        ("video-ramfb-display-device-pci-address", "<video"),
    ] {
        let input = std::fs::read_to_string(argv.join(format!("{name}.xml"))).expect("read");
        let mut d = Domain::parse(&input).expect("parses");
        let err = prepare::prepare(&mut d, &caps).expect_err(name);
        assert!(err.to_string().contains(device), "{name}: {err}");
    }
}

/// The canonical text without PCI addresses and without the PCI controllers libvirt adds.
fn strip_pci(text: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("<controller type='pci'")
            && ["pcie-root-port", "pci-bridge", "pcie-to-pci-bridge"]
                .iter()
                .any(|m| t.contains(&format!("model='{m}'>")))
        {
            skipping = true;
        }
        if skipping {
            if t.starts_with("</controller>") {
                skipping = false;
            }
            continue;
        }
        if t.starts_with("<address type='pci'") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Diagnostic: strip the PCI addresses and the auto-added PCI controllers from libvirt's
/// canonical outputs and derive them again (cases whose input fixed addresses by hand differ).
#[test]
fn prepare_rederives_stripped_canonical_output() {
    let canon = virt_testkit::libvirt_data("domain-canonical");
    let caps = QemuCaps::x86_64_7_2();
    let mut names: Vec<String> = std::fs::read_dir(&canon)
        .expect("read domain-canonical")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".x86_64-latest.xml"))
        .collect();
    names.sort();
    let (mut pass, mut fail) = (0, 0);
    for n in &names {
        let text = std::fs::read_to_string(canon.join(n)).expect("read");
        let stripped = strip_pci(&text);
        let Ok(mut d) = Domain::parse(&stripped) else {
            continue;
        };
        match prepare::prepare_with(
            &mut d,
            &caps,
            &harness_options(n.trim_end_matches(".x86_64-latest.xml")),
        ) {
            Ok(()) => match first_difference(&text, &d.to_xml(), "line") {
                None => pass += 1,
                Some(diff) => {
                    fail += 1;
                    println!("REDERIVED {n}: {diff}");
                }
            },
            Err(e) => {
                fail += 1;
                println!("REDERIVED {n}: refused: {e}");
            }
        }
    }
    println!("re-derived: {pass} passed, {fail} differ");
    assert!(pass >= 54, "{pass} passed");
}
