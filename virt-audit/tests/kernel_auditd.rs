//! Records through the kernel into a private auditd, read back with `ausearch`.

use std::sync::Arc;
use std::time::Duration;

use virt_audit::records::{self, CgroupClass, HostdevAddr};
use virt_audit::{AuditLevel, Auditor, DevNum, KernelSink, Outcome, Record, VirtType, VmIdentity};
use virt_testkit::auditd::Auditd;
use virt_testkit::{system_test, Facility};

fn unique_uuid(tag: u8) -> [u8; 16] {
    let pid = std::process::id().to_be_bytes();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        .to_be_bytes();
    let mut u = [0u8; 16];
    u[..4].copy_from_slice(&pid);
    u[4..12].copy_from_slice(&now);
    u[12] = tag;
    u[14] = 0xa1;
    u
}

/// The value of `name=` in an interpreted ausearch line (values there are unquoted and may hold
/// spaces, so a value runs up to the next ` key=`).
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let pat = format!(" {name}=");
    let start = line.find(&pat)? + pat.len();
    let rest = &line[start..];
    let end = rest
        .match_indices(' ')
        .find(|(i, _)| {
            let tail = &rest[i + 1..];
            tail.split_once('=')
                .map(|(k, _)| {
                    !k.is_empty()
                        && k.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
                .unwrap_or(false)
        })
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    Some(rest[..end].trim_end().trim_end_matches('\''))
}

#[test]
fn every_record_type_reaches_ausearch() {
    let Some(_t) = system_test("every_record_type_reaches_ausearch", &[Facility::Auditd]) else {
        return;
    };
    let auditd = Auditd::start().expect("start private auditd");
    let name = format!("audit test vm {}", std::process::id());
    let vm = VmIdentity::new(VirtType::Kvm, name.clone(), unique_uuid(1));
    let uuid = vm.uuid_string();
    let sink = Arc::new(KernelSink::open().expect("open audit socket"));
    let auditor = Auditor::new(sink.clone(), AuditLevel::Strict);

    let mac = "52:54:00:aa:00:01";
    let recs: Vec<Record> = vec![
        records::machine_id(
            &vm,
            Some("+0:+0"),
            Some("+0:+0"),
            Some("dac"),
            Outcome::Success,
        ),
        records::cgroup(
            &vm,
            "/sys/fs/cgroup/x y/",
            "deny",
            CgroupClass::All,
            Outcome::Success,
        ),
        records::cgroup(
            &vm,
            "/sys/fs/cgroup/x y/",
            "allow",
            CgroupClass::Path {
                path: "/dev/kvm",
                rdev: Some(DevNum::new(10, 232)),
                acl: "rw",
            },
            Outcome::Success,
        ),
        records::net_open(
            &vm,
            &mac,
            "/dev/net/tun",
            Some(DevNum::new(10, 200)),
            Outcome::Success,
        ),
        records::disk(
            &vm,
            "start",
            None,
            Some("/var/lib/images/disk 0.img"),
            Outcome::Success,
        )
        .expect("disk record"),
        records::net(&vm, "start", None, Some(&mac), Outcome::Success).expect("net record"),
        records::hostdev(
            &vm,
            "start",
            &HostdevAddr::Pci {
                domain: 0,
                bus: 0,
                slot: 0x1f,
                function: 0,
            },
            Outcome::Success,
        ),
        records::memory(&vm, "start", 0, 262144, Outcome::Success),
        records::vcpu(&vm, "start", 0, 2, Outcome::Success),
        records::start(&vm, "booted", 1234, Outcome::Success),
        records::stop(&vm, "destroyed", 0),
        records::hostdev(
            &vm,
            "attach",
            &HostdevAddr::Usb { bus: 1, device: 2 },
            Outcome::Failed,
        ),
    ];
    for r in &recs {
        auditor.emit(r).expect("kernel accepted the record");
    }

    let lines = auditd.wait_for(&uuid, recs.len(), Duration::from_secs(10));
    assert_eq!(
        lines.len(),
        recs.len(),
        "raw log lines for {uuid}: {lines:#?}"
    );
    // The raw log holds exactly the text we sent, inside msg='...'.
    for (r, line) in recs.iter().zip(&lines) {
        let text = r.text(sink.context());
        assert!(
            line.contains(&format!("msg='{text}'")),
            "log line {line}\n does not hold {text}"
        );
        assert!(
            line.starts_with(&format!("type={} ", r.rtype.name())),
            "{line}"
        );
    }

    // Each type by name, interpreted.
    for (ty, n) in [
        ("VIRT_CONTROL", 2),
        ("VIRT_RESOURCE", 9),
        ("VIRT_MACHINE_ID", 1),
    ] {
        let out = auditd.ausearch(&["-i", "-m", ty]).expect("ausearch");
        let ours: Vec<&str> = out.lines().filter(|l| l.contains(&uuid)).collect();
        assert_eq!(ours.len(), n, "{ty}: {out}");
        for l in &ours {
            // vm= was hex-encoded (the name has spaces); ausearch -i decodes it back.
            assert_eq!(field(l, "vm"), Some(name.as_str()), "{l}");
            assert!(l.starts_with(&format!("type={ty} ")), "{l}");
        }
    }
    let out = auditd
        .ausearch(&["-i", "-m", "VIRT_RESOURCE"])
        .expect("ausearch");
    let ours: Vec<&str> = out.lines().filter(|l| l.contains(&uuid)).collect();
    let disk = ours
        .iter()
        .find(|l| l.contains("resrc=disk"))
        .expect("disk record");
    assert_eq!(
        field(disk, "new-disk"),
        Some("/var/lib/images/disk 0.img"),
        "{disk}"
    );
    let cg = ours
        .iter()
        .find(|l| l.contains("class=all"))
        .expect("cgroup record");
    assert_eq!(field(cg, "cgroup"), Some("/sys/fs/cgroup/x y/"), "{cg}");
    let usb = ours
        .iter()
        .find(|l| l.contains("bus=usb"))
        .expect("usb record");
    assert_eq!(field(usb, "res"), Some("failed"), "{usb}");
    let tun = ours
        .iter()
        .find(|l| l.contains("reason=open"))
        .expect("open record");
    assert_eq!(field(tun, "path"), Some("/dev/net/tun"), "{tun}");
    eprintln!("{}", ours.join("\n"));

    // One sink shared by threads: every record acknowledged and logged once.
    let vm2 = VmIdentity::new(
        VirtType::Qemu,
        format!("threads-{}", std::process::id()),
        unique_uuid(2),
    );
    let uuid2 = vm2.uuid_string();
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let (auditor, vm2) = (&auditor, &vm2);
            s.spawn(move || {
                for i in 0..25u32 {
                    let r = records::iothread(vm2, "update", t, i, Outcome::Success);
                    auditor.emit(&r).expect("kernel accepted the record");
                }
            });
        }
    });
    let lines = auditd.wait_for(&uuid2, 100, Duration::from_secs(10));
    assert_eq!(lines.len(), 100);
    for t in 0..4 {
        for i in 0..25 {
            let want = format!("old-iothread={t} new-iothread={i} ");
            assert_eq!(
                lines.iter().filter(|l| l.contains(&want)).count(),
                1,
                "{want}"
            );
        }
    }
}

/// libaudit's own `audit_log_user_message` (through python3-audit) and our kernel sink send the
/// same record; the two log lines must carry the same `msg='...'` text.
#[test]
fn kernel_text_matches_libaudit() {
    use std::process::{Command, Stdio};
    use virt_audit::context::exe_field;
    use virt_audit::ProcessContext;

    let Some(_t) = system_test(
        "kernel_text_matches_libaudit",
        &[Facility::Auditd, Facility::Command("python3")],
    ) else {
        return;
    };
    let Some(py) = ["python3", "/usr/bin/python3"].into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import audit"])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }) else {
        let why = "no python3 on this host can import the `audit` module (python3-audit)";
        if virt_testkit::system::Mode::from_env() == virt_testkit::system::Mode::Require {
            panic!("system test kernel_text_matches_libaudit cannot run and VIRT_SYSTEM_TESTS=require: {why}");
        }
        eprintln!("SKIP kernel_text_matches_libaudit: {why}");
        return;
    };
    let auditd = Auditd::start().expect("start private auditd");
    let vm = VmIdentity::new(VirtType::Kvm, "lib audit vm", unique_uuid(3));
    let uuid = vm.uuid_string();
    let recs = [
        records::disk(
            &vm,
            "start",
            None,
            Some("/images/a b.img"),
            Outcome::Success,
        )
        .expect("rec"),
        records::start(&vm, "booted", 42, Outcome::Failed),
        records::machine_id(
            &vm,
            Some("+0:+0"),
            Some("+0:+0"),
            Some("dac"),
            Outcome::Success,
        ),
    ];

    // libaudit first: python prints its executable, then sends each body.
    let script = "import sys, os, audit\n\
        print(os.readlink('/proc/self/exe'), flush=True)\n\
        fd = audit.audit_open()\n\
        for line in sys.stdin.read().splitlines():\n\
        \x20   t, res, body = line.split('\\t')\n\
        \x20   rc = audit.audit_log_user_message(fd, int(t), body, None, None, None, int(res))\n\
        \x20   assert rc > 0, rc\n";
    let input: String = recs
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\t{}\n",
                r.rtype.number(),
                u8::from(r.outcome == Outcome::Success),
                r.body
            )
        })
        .collect();
    let mut child = Command::new(py)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py_exe = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let theirs = auditd.wait_for(&uuid, recs.len(), Duration::from_secs(10));
    assert_eq!(theirs.len(), recs.len(), "{theirs:#?}");

    // Then ours, describing the same executable and (like python here) no terminal.
    let ctx = ProcessContext {
        exe: exe_field(py_exe.as_bytes()),
        hostname: None,
        addr: None,
        terminal: Some("?".into()),
    };
    let sink = KernelSink::with_context(ctx).expect("audit socket");
    let auditor = Auditor::new(Arc::new(sink), AuditLevel::Strict);
    for r in &recs {
        auditor.emit(r).expect("accepted");
    }
    let all = auditd.wait_for(&uuid, 2 * recs.len(), Duration::from_secs(10));
    assert_eq!(all.len(), 2 * recs.len(), "{all:#?}");
    let msg = |l: &str| -> String {
        let i = l.find(" msg='").map(|i| i + 6).unwrap_or(0);
        l[i..].split('\'').next().unwrap_or("").to_string()
    };
    let kind = |l: &str| l.split(' ').next().unwrap_or("").to_string();
    for (a, b) in all[..recs.len()].iter().zip(&all[recs.len()..]) {
        assert_eq!(kind(a), kind(b));
        assert_eq!(msg(a), msg(b), "\nlibaudit: {a}\nours:     {b}");
    }
    eprintln!(
        "libaudit and ours agree on {} records, e.g. {}",
        recs.len(),
        msg(&all[0])
    );
}
