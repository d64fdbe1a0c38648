//! Compiles libvirt's RelaxNG schemas (`schemas/*.rng`) into the allow-list tables of
//! `src/schema`, written as Rust statics to `$OUT_DIR/schema_tables.rs`, so no process parses a
//! schema at run time. The compiler is the library's own `src/schema/compile.rs`.
//!
//! The datatype patterns are also determinized here into dense DFAs (`regex-automata`), written
//! to `$OUT_DIR/schema_dfas.bin` with their spans in `$OUT_DIR/schema_dfas.rs`, so checking a
//! value at run time only validates a ready automaton instead of compiling a regex.

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
    let (text, patterns) = compile::render_with_patterns(&[
        ("DOMAIN", &domain),
        ("NWFILTER", &nwfilter),
        ("NWFILTER_BINDING", &binding),
    ]);
    let Some(out) = std::env::var_os("OUT_DIR") else {
        panic!("OUT_DIR is not set");
    };
    let out = std::path::Path::new(&out);
    write(&out.join("schema_tables.rs"), text.as_bytes());
    let (blob, spans) = dfas(&patterns);
    write(&out.join("schema_dfas.bin"), &blob);
    write(
        &out.join("schema_dfas.rs"),
        format!(
            "pub(super) static DFA_SPANS: [(usize, usize); {}] = {spans:?};\n",
            spans.len()
        )
        .as_bytes(),
    );
}

fn write(path: &std::path::Path, bytes: &[u8]) {
    if let Err(e) = std::fs::write(path, bytes) {
        panic!("writing {}: {e}", path.display());
    }
}

/// Every pattern (anchored: the whole value must match) as a dense DFA for anchored searches,
/// serialized in the target's byte order, each starting at a multiple of 8 in one blob. A pattern
/// that does not determinize within the size limits fails the build.
fn dfas(patterns: &[String]) -> (Vec<u8>, Vec<(usize, usize)>) {
    let big_endian = std::env::var("CARGO_CFG_TARGET_ENDIAN").is_ok_and(|e| e == "big");
    use regex_automata::dfa::{dense, StartKind};
    let mut blob = Vec::new();
    let mut spans = Vec::with_capacity(patterns.len());
    for p in patterns {
        let built = dense::Builder::new()
            .configure(
                dense::DFA::config()
                    .start_kind(StartKind::Anchored)
                    .minimize(true)
                    .dfa_size_limit(Some(1 << 20))
                    .determinize_size_limit(Some(8 << 20)),
            )
            .build(&compile::anchored(p));
        let dfa = match built {
            Ok(dfa) => dfa,
            Err(e) => panic!("pattern {p:?} does not determinize: {e}"),
        };
        let (bytes, pad) = if big_endian {
            dfa.to_bytes_big_endian()
        } else {
            dfa.to_bytes_little_endian()
        };
        let bytes = &bytes[pad..];
        while blob.len() % 8 != 0 {
            blob.push(0);
        }
        spans.push((blob.len(), bytes.len()));
        blob.extend_from_slice(bytes);
    }
    (blob, spans)
}
