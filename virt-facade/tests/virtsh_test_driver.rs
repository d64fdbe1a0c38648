//! `virtsh` on `test:///default`: virsh's commands, messages and table, a command script on
//! standard input, and one-line errors with a non-zero exit.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn virtsh(args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_virtsh"));
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn virtsh");
    if let Some(s) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(s.as_bytes())
            .expect("write script");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("virtsh output")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn default_domain_is_listed_running() {
    let o = virtsh(&["-c", "test:///default", "list", "--all"], None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        " Id   Name   State\n----------------------\n 1    test   running\n\n"
    );
}

#[test]
fn script_define_start_dumpxml_attach_detach_destroy_undefine() {
    let dir = virt_testkit::TempDir::new("virtsh-script").expect("tempdir");
    let dom = dir.path().join("demo.xml");
    std::fs::write(
        &dom,
        "<domain type='test'>\n  <name>demo</name>\n  <uuid>11111111-2222-3333-4444-555555555555</uuid>\n  \
         <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n  <os><type>hvm</type></os>\n</domain>\n",
    )
    .expect("write domain");
    let nic = dir.path().join("nic.xml");
    std::fs::write(
        &nic,
        "<interface type='ethernet'>\n  <mac address='52:54:00:aa:bb:01'/>\n  <model type='virtio'/>\n</interface>\n",
    )
    .expect("write nic");
    let script = format!(
        "define {d}\nlist --all\nstart demo\ndomstate demo --reason\n\
         attach-device demo {n} --live\ndumpxml demo\ndetach-device demo {n} --live\n\
         destroy demo ; domstate demo\nundefine demo\nlist --all --name\n",
        d = dom.display(),
        n = nic.display()
    );
    let o = virtsh(&["-c", "test:///default"], Some(&script));
    let out = text(&o.stdout);
    assert!(
        o.status.success(),
        "stderr: {}\nstdout: {out}",
        text(&o.stderr)
    );
    let expected_head = format!(
        "Domain 'demo' defined from {}\n\n \
         Id   Name   State\n-----------------------\n 1    test   running\n -    demo   shut off\n\n\
         Domain 'demo' started\n\nrunning (booted)\n\nDevice attached successfully\n\n",
        dom.display()
    );
    assert!(out.starts_with(&expected_head), "{out}");
    assert!(
        out.contains("<domain type='test' id='2'>\n  <name>demo</name>"),
        "{out}"
    );
    assert!(out.contains("<mac address='52:54:00:aa:bb:01'/>"), "{out}");
    assert!(
        out.ends_with(
            "Device detached successfully\n\nDomain 'demo' destroyed\n\nshut off\n\n\
             Domain 'demo' has been undefined\n\ntest\n\n"
        ),
        "{out}"
    );
}

#[test]
fn errors_are_one_line_and_fail() {
    let o = virtsh(&["-c", "test:///default", "start", "nosuch"], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr), "error: failed to get domain 'nosuch'\n");

    let o = virtsh(&["-c", "test:///default", "start", "test"], None);
    assert_eq!(o.status.code(), Some(1));
    let e = text(&o.stderr);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("Failed to start domain 'test'") && e.contains("already active"),
        "{e}"
    );

    let o = virtsh(&["-c", "bogus:///x", "list"], None);
    assert_eq!(o.status.code(), Some(1));
    let e = text(&o.stderr);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("bogus:///x"), "{e}");

    let o = virtsh(&["-c", "test:///default", "list", "--bogus"], None);
    assert_eq!(
        text(&o.stderr),
        "error: command 'list' doesn't support option --bogus\n"
    );

    let dir = virt_testkit::TempDir::new("virtsh-bad").expect("tempdir");
    let bad = dir.path().join("bad.xml");
    std::fs::write(
        &bad,
        "<domain type='test'>\n  <name>x</name>\n  <vcpu mode='x'>1</vcpu>\n</domain>\n",
    )
    .expect("write");
    let o = virtsh(
        &["-c", "test:///default", "define", &bad.to_string_lossy()],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let e = text(&o.stderr);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("3:9") && e.contains("'mode'") && e.contains("<vcpu>"),
        "{e}"
    );

    // A script goes on after a failing command, names its line, and exits non-zero.
    let o = virtsh(
        &["-c", "test:///default", "-q"],
        Some("start nosuch\nlist --name\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "error: line 1: failed to get domain 'nosuch'\n"
    );
    assert_eq!(text(&o.stdout), "test\n");
}
