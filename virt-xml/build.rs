//! Compiles libvirt's RelaxNG schemas (`schemas/*.rng`) into the allow-list tables of
//! `src/schema`, written as Rust statics to `$OUT_DIR/schema_tables.rs`, so no process parses a
//! schema at run time. The compiler is the library's own `src/schema/compile.rs`.

#[allow(dead_code)]
#[path = "src/schema/compile.rs"]
mod compile;
#[allow(dead_code)]
#[path = "src/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "src/tree.rs"]
mod tree;

fn main() {
    for f in [
        "src/error.rs",
        "src/tree.rs",
        "src/schema/compile.rs",
        "schemas",
    ] {
        println!("cargo::rerun-if-changed={f}");
    }
    let docs = compile::parse_files();
    let domain = compile::compile(&docs, "domain.rng");
    let nwfilter = compile::compile(&docs, "nwfilter.rng");
    let binding = compile::compile(&docs, "nwfilterbinding.rng");
    let text = compile::render(&[
        ("DOMAIN", &domain),
        ("NWFILTER", &nwfilter),
        ("NWFILTER_BINDING", &binding),
    ]);
    let Some(out) = std::env::var_os("OUT_DIR") else {
        panic!("OUT_DIR is not set");
    };
    let path = std::path::Path::new(&out).join("schema_tables.rs");
    if let Err(e) = std::fs::write(&path, text) {
        panic!("writing {}: {e}", path.display());
    }
}
