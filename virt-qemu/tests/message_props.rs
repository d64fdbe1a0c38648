//! Properties of the QMP framer and parser on arbitrary input.

use proptest::prelude::*;
use virt_qemu::message::{parse_message, LineFramer, Message};

proptest! {
    #[test]
    fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_message(&bytes);
    }

    #[test]
    fn parser_never_panics_on_jsonish(s in r#"[{}\[\]":,a-z0-9 .-]{0,200}"#) {
        let _ = parse_message(s.as_bytes());
    }

    /// Chunking does not change the lines that come out.
    #[test]
    fn framing_is_independent_of_chunking(
        lines in proptest::collection::vec("[a-z{}\":0-9 ]{1,40}", 0..10),
        cuts in proptest::collection::vec(0usize..400, 0..10),
    ) {
        let mut stream = Vec::new();
        for l in &lines {
            stream.extend_from_slice(l.as_bytes());
            stream.push(b'\n');
        }
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
        cuts.sort();
        let mut f = LineFramer::new(1 << 20);
        let mut got = Vec::new();
        let mut prev = 0;
        for c in cuts.into_iter().chain([stream.len()]) {
            f.push(&stream[prev..c]);
            prev = c;
            while let Some(l) = f.next_line().unwrap() {
                got.push(String::from_utf8(l).unwrap());
            }
        }
        let want: Vec<String> = lines.into_iter().filter(|l| !l.trim().is_empty()).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(f.pending(), 0);
    }

    /// Any event round-trips through its JSON text.
    #[test]
    fn events_roundtrip(name in "[A-Z_]{1,20}", dev in "[a-z0-9]{0,10}", secs in 0i64..1<<40) {
        let text = serde_json::json!({
            "event": name, "data": {"device": dev}, "timestamp": {"seconds": secs, "microseconds": 5}
        }).to_string();
        match parse_message(text.as_bytes()) {
            Ok(Message::Event(e)) => {
                prop_assert_eq!(e.name, name);
                prop_assert_eq!(e.data["device"].as_str(), Some(dev.as_str()));
                prop_assert_eq!(e.timestamp.seconds, secs);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// An over-long line is refused, never buffered without bound.
    #[test]
    fn framer_bounds_memory(n in 65usize..1000) {
        let mut f = LineFramer::new(64);
        f.push(&vec![b'x'; n]);
        prop_assert!(f.next_line().is_err());
    }
}
