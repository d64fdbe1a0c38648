//! Encodes fields in bulk, as libaudit's `audit_encode_nv_string(name, value, 0)` would.
//!
//! Reads lines `NAME<TAB>HEX` on standard input, where HEX is the value's bytes in hex (so any byte
//! can be given; an empty HEX is the empty value), and prints one encoded field `NAME=...` per line,
//! in order. A malformed line is reported with its number and the program exits with status 1.
//!
//! ```text
//! printf 'vm\t6731\npath\t2F746D702F612062\n' | cargo run --release -p virt-audit --example encode
//! vm="g1"
//! path=2F746D702F612062
//! ```

use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({})", s.len()));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("bad hex digits at offset {i}"))
        })
        .collect()
}

fn main() -> ExitCode {
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut line_buf = Vec::new();
    let mut reader = stdin;
    let mut n = 0usize;
    loop {
        line_buf.clear();
        match reader.read_until(b'\n', &mut line_buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("encode: reading standard input: {e}");
                return ExitCode::FAILURE;
            }
        }
        n += 1;
        let line = line_buf.strip_suffix(b"\n").unwrap_or(&line_buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(line) = std::str::from_utf8(line) else {
            eprintln!("encode: line {n}: not UTF-8 (the value must be given in hex)");
            return ExitCode::FAILURE;
        };
        let Some((name, hex)) = line.split_once('\t') else {
            eprintln!("encode: line {n}: expected NAME<TAB>HEX");
            return ExitCode::FAILURE;
        };
        let value = match parse_hex(hex.trim()) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("encode: line {n}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut field = virt_audit::encode_nv(name, &value);
        field.push('\n');
        if let Err(e) = out.write_all(field.as_bytes()) {
            eprintln!("encode: writing standard output: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("encode: writing standard output: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
