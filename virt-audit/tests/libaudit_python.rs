//! The encoder against libaudit itself: Debian's python3-audit (`audit.audit_encode_nv_string`) on
//! 6,000 generated text values, and libaudit's C function through ctypes on 2,000 arbitrary byte
//! strings (which Python's `str` cannot carry, e.g. invalid UTF-8).

use std::io::Write;
use std::process::{Command, Stdio};

use virt_audit::encode_nv;
use virt_testkit::{system::Mode, system_test, Facility};

const SCRIPT: &str = r#"
import sys, ctypes, ctypes.util
import audit
lib = ctypes.CDLL("libaudit.so.1")
lib.audit_encode_nv_string.restype = ctypes.c_void_p
lib.audit_encode_nv_string.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.free.argtypes = [ctypes.c_void_p]
out = []
for line in sys.stdin.buffer.read().decode("ascii").splitlines():
    kind, name, hexval = line.split("\t")
    raw = bytes.fromhex(hexval)
    if kind == "s":
        out.append(audit.audit_encode_nv_string(name, raw.decode("utf-8"), 0))
    else:
        p = lib.audit_encode_nv_string(name.encode(), raw, 0)
        out.append(ctypes.string_at(p).decode("ascii"))
        libc.free(p)
sys.stdout.write("\n".join(out) + "\n")
"#;

/// A python3 that can import the `audit` module: the one on PATH, else the system one.
fn python_with_audit() -> Option<String> {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|py| {
            Command::new(py)
                .args(["-c", "import audit"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        })
        .map(str::to_string)
}

/// xorshift64*: deterministic values, no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A text value that stresses the rule: plain path-like text, spaces, quotes, control characters,
/// DEL, the edges 0x20/0x21/0x7e/0x7f, NUL (libaudit stops there), and multi-byte characters.
fn text_value(rng: &mut Rng) -> String {
    let len = match rng.below(10) {
        0 => 0,
        1..=6 => rng.below(12) as usize + 1,
        _ => rng.below(80) as usize + 1,
    };
    let plain = rng.below(3) == 0;
    (0..len)
        .map(|_| {
            let c = if plain || rng.below(4) != 0 {
                (0x21 + rng.below(0x7e - 0x21 + 1)) as u32
            } else {
                match rng.below(8) {
                    0 => [0x20, 0x21, 0x22, 0x7e, 0x7f, 0x00][rng.below(6) as usize],
                    1 => rng.below(0x20) as u32,
                    2 => 0x80 + rng.below(0x780) as u32,
                    3 => 0x800 + rng.below(0xd000) as u32,
                    4 => 0x10000 + rng.below(0x1_0000) as u32,
                    5 => b'"' as u32,
                    6 => b' ' as u32,
                    _ => 0x7f,
                }
            };
            char::from_u32(c).unwrap_or('?')
        })
        .collect()
}

fn byte_value(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(40) as usize;
    (0..len)
        .map(|_| match rng.below(3) {
            0 => rng.below(256) as u8,
            _ => 0x21 + rng.below(0x5e) as u8,
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn encoding_matches_libaudit() {
    let Some(_t) = system_test("encoding_matches_libaudit", &[Facility::Command("python3")]) else {
        return;
    };
    let Some(py) = python_with_audit() else {
        let why = "no python3 on this host can import the `audit` module (python3-audit)";
        match Mode::from_env() {
            Mode::Require => panic!(
                "system test encoding_matches_libaudit cannot run and VIRT_SYSTEM_TESTS=require: {why}"
            ),
            _ => {
                eprintln!("SKIP encoding_matches_libaudit: {why}");
                return;
            }
        }
    };

    let names = ["vm", "path", "old-disk", "new-chardev", "device", "cgroup"];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cases: Vec<(&str, &str, Vec<u8>)> = Vec::new();
    // Fixed edge cases first.
    for v in [
        "", "?", " ", "\"", "a b", "~", "\x7f", "!", "é", "a\0b", "\0",
    ] {
        cases.push(("s", "vm", v.as_bytes().to_vec()));
    }
    for i in 0..6000 {
        cases.push((
            "s",
            names[i % names.len()],
            text_value(&mut rng).into_bytes(),
        ));
    }
    for i in 0..2000 {
        cases.push(("b", names[i % names.len()], byte_value(&mut rng)));
    }

    let mut input = String::new();
    for (kind, name, v) in &cases {
        input.push_str(&format!("{kind}\t{name}\t{}\n", hex(v)));
    }
    let mut child = Command::new(&py)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");
    let mut stdin = child.stdin.take().expect("python stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("python3 output");
    writer
        .join()
        .expect("writer thread")
        .expect("write to python3");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<&str> = std::str::from_utf8(&out.stdout)
        .expect("libaudit output is ASCII")
        .lines()
        .collect();
    assert_eq!(theirs.len(), cases.len(), "one answer per value");

    let mut mismatches = Vec::new();
    for ((_, name, v), want) in cases.iter().zip(&theirs) {
        let ours = encode_nv(name, v);
        if ours != *want {
            mismatches.push(format!("value {v:?}: ours {ours}, libaudit {want}"));
        }
    }
    let encoded = theirs.iter().filter(|l| !l.contains('"')).count();
    eprintln!(
        "compared {} values with libaudit ({} hex-encoded by it), {} mismatches",
        cases.len(),
        encoded,
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{}",
        mismatches[..mismatches.len().min(20)].join("\n")
    );
    // The generator must exercise both branches substantially.
    assert!(encoded > 1000 && cases.len() - encoded > 1000);
}
