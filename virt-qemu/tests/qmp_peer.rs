//! The QMP client against a scripted peer on a socketpair, for what a real QEMU will not do on
//! demand: events interleaved with replies in a chosen order, garbage, a reply that never comes,
//! and end of file in the middle of a command.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use virt_qemu::{Qmp, QmpError};

const GREETING: &str = r#"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}"#;

/// Runs `script` as the server: it reads commands (parsed) and writes raw lines.
fn peer(
    script: impl FnOnce(&mut BufReader<UnixStream>, &mut UnixStream) + Send + 'static,
) -> (UnixStream, JoinHandle<()>) {
    let (client, server) = UnixStream::pair().unwrap();
    let h = std::thread::spawn(move || {
        let mut w = server.try_clone().unwrap();
        let mut r = BufReader::new(server);
        writeln!(w, "{GREETING}").unwrap();
        let caps = read_cmd(&mut r).unwrap();
        assert_eq!(caps["execute"], "qmp_capabilities");
        writeln!(w, r#"{{"return": {{}}, "id": {}}}"#, caps["id"]).unwrap();
        script(&mut r, &mut w);
    });
    (client, h)
}

fn read_cmd(r: &mut BufReader<UnixStream>) -> Option<Value> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    serde_json::from_str(&line).ok()
}

const T: Duration = Duration::from_secs(5);

#[test]
fn events_interleaved_with_replies() {
    let (c, h) = peer(|r, w| {
        let a = read_cmd(r).unwrap();
        let b = read_cmd(r).unwrap();
        // An event, then b's reply before a's (ids decide), split across writes.
        write!(w, "{{\"event\": \"STOP\", \"timestamp\": {{\"seconds\": 1, \"microseconds\": 2}}}}\n{{\"return\": \"b\", ").unwrap();
        w.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        writeln!(w, "\"id\": {}}}", b["id"]).unwrap();
        writeln!(w, r#"{{"event": "DEVICE_DELETED", "data": {{"device": "net0", "path": "/machine/peripheral/net0"}}}}"#).unwrap();
        writeln!(
            w,
            r#"{{"id": {}, "error": {{"class": "GenericError", "desc": "nope"}}}}"#,
            a["id"]
        )
        .unwrap();
        writeln!(w, r#"{{"event": "RESUME"}}"#).unwrap();
        // keep the connection open until the client is done
        let _ = read_cmd(r);
    });
    let qmp = Qmp::from_stream(c, "peer", T).unwrap();
    assert_eq!(qmp.greeting().version.minor, 2);
    std::thread::scope(|s| {
        let ta = s.spawn(|| qmp.execute_timeout("a", None, T));
        std::thread::sleep(Duration::from_millis(50));
        let tb = s.spawn(|| qmp.execute_timeout("b", Some(json!({"x": 1})), T));
        let ea = ta.join().unwrap().unwrap_err();
        assert!(
            matches!(&ea, QmpError::Command { command, class, desc } if command == "a" && class == "GenericError" && desc == "nope"),
            "{ea:?}"
        );
        assert_eq!(tb.join().unwrap().unwrap(), json!("b"));
    });
    let dd = qmp
        .wait_event_named("DEVICE_DELETED", &json!({"device": "net0"}), T)
        .unwrap();
    assert_eq!(dd.data["path"], "/machine/peripheral/net0");
    // STOP stayed queued while DEVICE_DELETED was taken out of order.
    let rest: Vec<String> = {
        let _ = qmp.wait_event_named("RESUME", &Value::Null, T).unwrap();
        qmp.take_events().into_iter().map(|e| e.name).collect()
    };
    assert_eq!(rest, vec!["STOP".to_string()]);
    assert!(matches!(
        qmp.wait_event(Duration::from_millis(50), |_| true),
        Err(QmpError::EventTimeout { .. })
    ));
    assert!(matches!(
        qmp.execute("x", Some(json!([1]))),
        Err(QmpError::BadArguments { .. })
    ));
    drop(qmp);
    h.join().unwrap();
}

#[test]
fn reply_timeout_then_late_reply_is_ignored() {
    let (c, h) = peer(|r, w| {
        let a = read_cmd(r).unwrap();
        let b = read_cmd(r).unwrap();
        writeln!(w, r#"{{"return": "late-a", "id": {}}}"#, a["id"]).unwrap();
        writeln!(w, r#"{{"return": "b", "id": {}}}"#, b["id"]).unwrap();
        let _ = read_cmd(r);
    });
    let qmp = Qmp::from_stream(c, "peer", T).unwrap();
    let e = qmp
        .execute_timeout("slow", None, Duration::from_millis(100))
        .unwrap_err();
    assert!(
        matches!(&e, QmpError::Timeout { command, .. } if command == "slow"),
        "{e}"
    );
    assert_eq!(qmp.execute_timeout("b", None, T).unwrap(), json!("b"));
    drop(qmp);
    h.join().unwrap();
}

#[test]
fn eof_mid_command_is_a_clear_error_not_a_hang() {
    let (c, h) = peer(|r, _w| {
        let _ = read_cmd(r);
        // drop both halves: EOF while the client waits
    });
    let qmp = Qmp::from_stream(c, "peer", T).unwrap();
    let t0 = Instant::now();
    let e = qmp
        .execute_timeout("query-status", None, Duration::from_secs(30))
        .unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(&e, QmpError::Closed { reason, .. } if reason.contains("end of file")),
        "{e}"
    );
    // later calls fail at once
    assert!(matches!(
        qmp.execute("x", None),
        Err(QmpError::Closed { .. })
    ));
    h.join().unwrap();
}

#[test]
fn garbage_closes_the_monitor_with_a_protocol_error() {
    let (c, h) = peer(|r, w| {
        let _ = read_cmd(r);
        writeln!(w, "this is not json").unwrap();
        let _ = read_cmd(r);
    });
    let qmp = Qmp::from_stream(c, "peer", T).unwrap();
    let e = qmp.execute_timeout("x", None, T).unwrap_err();
    assert!(
        matches!(&e, QmpError::Closed { reason, .. } if reason.contains("protocol error")),
        "{e}"
    );
    drop(qmp);
    h.join().unwrap();
}

#[test]
fn bad_greetings() {
    // Not a greeting.
    let (c, s) = UnixStream::pair().unwrap();
    (&s).write_all(b"{\"return\": {}}\n").unwrap();
    let e = Qmp::from_stream(c, "peer", T).unwrap_err();
    assert!(matches!(e, QmpError::NoGreeting { .. }), "{e}");
    // Nothing at all.
    let (c, _s) = UnixStream::pair().unwrap();
    let e = Qmp::from_stream(c, "peer", Duration::from_millis(100)).unwrap_err();
    assert!(matches!(e, QmpError::NoGreeting { .. }), "{e}");
    // EOF.
    let (c, s) = UnixStream::pair().unwrap();
    drop(s);
    let e = Qmp::from_stream(c, "peer", T).unwrap_err();
    assert!(matches!(e, QmpError::Closed { .. }), "{e}");
    // No socket.
    let e = Qmp::connect(
        std::path::Path::new("/nonexistent/vq.sock"),
        Duration::from_millis(50),
    )
    .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/vq.sock"), "{e}");
}
