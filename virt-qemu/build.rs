//! Reads the embedded QEMU caps probe (`data/caps_7.2.0.x86_64.xml`) at build time and writes it
//! as Rust statics to `$OUT_DIR/caps_7_2_x86_64.rs` (the types are in `src/argv/caps/embedded.rs`),
//! so no process parses the 147 KB document at start. The reading is the library's own
//! `QemuCaps::from_xml` (`src/argv/caps/parse.rs`) over virt-xml's element tree.

use std::fmt::Write as _;

#[allow(dead_code)]
#[path = "../virt-xml/src/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "src/argv/caps/parse.rs"]
mod parse;
#[allow(dead_code)]
#[path = "../virt-xml/src/tree.rs"]
mod tree;

use error::XmlError;
use parse::{PerAccel, QemuCaps};

const PROBE: &str = "data/caps_7.2.0.x86_64.xml";

fn main() {
    for f in [
        PROBE,
        "build.rs",
        "src/argv/caps/parse.rs",
        "../virt-xml/src/error.rs",
        "../virt-xml/src/tree.rs",
    ] {
        println!("cargo::rerun-if-changed={f}");
    }
    let text = std::fs::read_to_string(PROBE).unwrap_or_else(|e| panic!("reading {PROBE}: {e}"));
    let caps = QemuCaps::from_xml(&text).unwrap_or_else(|e| panic!("{PROBE}: {e}"));
    let Some(out) = std::env::var_os("OUT_DIR") else {
        panic!("OUT_DIR is not set");
    };
    let path = std::path::Path::new(&out).join("caps_7_2_x86_64.rs");
    if let Err(e) = std::fs::write(&path, render(&caps)) {
        panic!("writing {}: {e}", path.display());
    }
}

/// A Rust literal for an optional string.
fn opt(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("Some({s:?})"),
        None => "None".to_string(),
    }
}

fn render(c: &QemuCaps) -> String {
    let mut o = String::from("static CAPS_7_2_X86_64: Caps = Caps {\n");
    let _ = writeln!(o, "    emulator: {:?},", c.emulator);
    let _ = writeln!(o, "    version: {},", c.version);
    let _ = writeln!(o, "    kvm_version: {},", c.kvm_version);
    let _ = writeln!(o, "    package: {:?},", c.package);
    let _ = writeln!(o, "    arch: {:?},", c.arch);
    let _ = writeln!(o, "    microcode_version: {},", c.microcode_version);
    let _ = writeln!(o, "    flags: &{:?},", c.flags.iter().collect::<Vec<_>>());
    let _ = writeln!(o, "    kvm: {},", accel(&c.kvm));
    let _ = writeln!(o, "    tcg: {},", accel(&c.tcg));
    let _ = writeln!(o, "    gic_versions: &{:?},", c.gic_versions);
    o.push_str("};\n");
    o
}

fn accel(a: &PerAccel) -> String {
    let mut o = String::from("Accel {\n        machines: &[\n");
    for m in a.machines.iter() {
        let _ = writeln!(
            o,
            "            Machine {{ name: {:?}, alias: {}, default: {}, max_cpus: {}, \
             hotplug_cpus: {}, default_cpu: {}, default_ram_id: {}, numa_mem_supported: {}, \
             deprecated: {} }},",
            m.name,
            opt(&m.alias),
            m.default,
            m.max_cpus,
            m.hotplug_cpus,
            opt(&m.default_cpu),
            opt(&m.default_ram_id),
            m.numa_mem_supported,
            m.deprecated
        );
    }
    o.push_str("        ],\n        cpus: &[\n");
    for c in a.cpus.iter() {
        let _ = writeln!(
            o,
            "            Cpu {{ name: {:?}, typename: {}, usable: {}, blockers: &{:?} }},",
            c.name,
            opt(&c.typename),
            c.usable,
            c.blockers
        );
    }
    let _ = writeln!(
        o,
        "        ],\n        host_cpu_model: {},\n        host_cpu_props: &[",
        opt(&a.host_cpu_model)
    );
    for p in a.host_cpu_props.iter() {
        let _ = writeln!(
            o,
            "            Prop {{ name: {:?}, kind: {:?}, value: {:?}, migratable: {} }},",
            p.name, p.kind, p.value, p.migratable
        );
    }
    o.push_str("        ],\n    }");
    o
}
