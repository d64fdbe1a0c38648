//! Audit levels: `strict` fails the operation whose record cannot be sent (and undoes it); `on`
//! logs the failure and goes on; `off` sends nothing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use virt_audit::records;
use virt_audit::{
    AuditError, AuditLevel, Audited, Auditor, FanoutSink, FileSink, KernelSink, MemorySink,
    Outcome, VirtType, VmIdentity,
};
use virt_testkit::auditd::Auditd;
use virt_testkit::{system_test, Facility, TempDir};

fn vm(tag: u8) -> VmIdentity {
    let mut uuid = [0u8; 16];
    uuid[..4].copy_from_slice(&std::process::id().to_be_bytes());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    uuid[4..8].copy_from_slice(&nanos.to_be_bytes());
    uuid[15] = tag;
    VmIdentity::new(
        VirtType::Kvm,
        format!("strict-{}-{tag}", std::process::id()),
        uuid,
    )
}

/// A real resource for the operation: a file made in `dir`; `undo` removes it.
fn make_resource(dir: &TempDir, name: &str) -> std::io::Result<PathBuf> {
    let p = dir.path().join(name);
    std::fs::write(&p, b"resource")?;
    Ok(p)
}

#[test]
fn strict_with_failing_file_sink_fails_and_undoes() {
    let dir = TempDir::new("audit-strict").expect("tempdir");
    // Writes to /dev/full fail with ENOSPC: a sink that really fails.
    let sink = Arc::new(FileSink::open("/dev/full").expect("open /dev/full"));
    let auditor = Auditor::new(sink, AuditLevel::Strict);
    let vm = vm(1);
    let r = auditor.audited(
        |o| records::disk(&vm, "attach", None, Some("/x.img"), o).expect("record"),
        || make_resource(&dir, "strict"),
        |p| {
            let _ = std::fs::remove_file(p);
        },
    );
    match r {
        Err(Audited::Audit(AuditError::Strict(inner))) => {
            assert!(inner.to_string().contains("/dev/full"), "{inner}");
        }
        other => panic!("expected a strict audit failure, got {other:?}"),
    }
    assert!(
        !dir.path().join("strict").exists(),
        "undo released the resource"
    );

    // emit itself fails under strict.
    let rec = records::vcpu(&vm, "update", 1, 2, Outcome::Success);
    assert!(matches!(auditor.emit(&rec), Err(AuditError::Strict(_))));
}

#[test]
fn on_level_logs_and_goes_on() {
    let dir = TempDir::new("audit-on").expect("tempdir");
    let mem = Arc::new(MemorySink::default());
    let fan = FanoutSink::new(vec![
        Arc::new(FileSink::open("/dev/full").expect("open /dev/full")),
        mem.clone(),
    ]);
    let vm = vm(2);
    let auditor = Auditor::new(Arc::new(fan), AuditLevel::On);
    let p = auditor
        .audited(
            |o| records::disk(&vm, "attach", None, Some("/x.img"), o).expect("record"),
            || make_resource(&dir, "on"),
            |p| {
                let _ = std::fs::remove_file(p);
            },
        )
        .expect("the operation goes on");
    assert!(p.exists());
    // The fan-out still delivered to the sink that works.
    assert_eq!(
        mem.summaries(),
        [format!(
            "virt=kvm resrc=disk reason=attach vm=\"{}\" uuid={} old-disk=\"?\" new-disk=\"/x.img\" res=success",
            vm.name,
            vm.uuid_string()
        )]
    );
}

#[test]
fn failed_operation_is_audited_as_failed() {
    let (auditor, mem) = Auditor::memory();
    let vm = vm(3);
    let r: Result<(), Audited<std::io::Error>> = auditor.audited(
        |o| {
            records::hostdev(
                &vm,
                "attach",
                &records::HostdevAddr::Usb { bus: 1, device: 2 },
                o,
            )
        },
        || Err(std::io::Error::other("no such device")),
        |_| {},
    );
    assert!(matches!(r, Err(Audited::Op(_))));
    assert_eq!(mem.records().len(), 1);
    assert_eq!(mem.records()[0].outcome, Outcome::Failed);
}

#[test]
fn off_sends_nothing() {
    let mem = Arc::new(MemorySink::default());
    let auditor = Auditor::new(mem.clone(), AuditLevel::Off);
    auditor
        .emit(&records::stop(&vm(4), "destroyed", 0))
        .expect("off never fails");
    assert!(mem.records().is_empty());
    assert_eq!(AuditLevel::from_libvirt(2), Some(AuditLevel::Strict));
    assert_eq!(AuditLevel::from_libvirt(3), None);
}

#[test]
fn file_sink_lines() {
    let dir = TempDir::new("audit-file").expect("tempdir");
    let path = dir.path().join("audit.log");
    let ctx = virt_audit::ProcessContext::fixed(b"/usr/sbin/libvirtd", Some("?"));
    let sink = FileSink::with_context(&path, ctx).expect("open");
    let auditor = Auditor::new(Arc::new(sink), AuditLevel::Strict);
    let vm = VmIdentity::new(VirtType::Kvm, "g1", [0x11; 16]);
    auditor
        .emit(&records::vcpu(&vm, "start", 0, 2, Outcome::Success))
        .expect("emit");
    auditor
        .emit(&records::stop(&vm, "destroyed", 0))
        .expect("emit");
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(
        text,
        "type=VIRT_RESOURCE msg='virt=kvm resrc=vcpu reason=start vm=\"g1\" uuid=11111111-1111-1111-1111-111111111111 old-vcpu=0 new-vcpu=2 exe=\"/usr/sbin/libvirtd\" hostname=? addr=? terminal=? res=success'\n\
         type=VIRT_CONTROL msg='virt=kvm op=stop reason=destroyed vm=\"g1\" uuid=11111111-1111-1111-1111-111111111111 vm-pid=0 exe=\"/usr/sbin/libvirtd\" hostname=? addr=? terminal=? res=success'\n"
    );
}

/// Clears CAP_AUDIT_WRITE from this thread's effective set (capabilities are per thread).
fn drop_audit_write_in_this_thread() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const CAP_AUDIT_WRITE: u32 = 29;
    let mut hdr = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset with a v3 header and two data structs, as the ABI requires.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut hdr as *mut Header, data.as_mut_ptr()) };
    assert_eq!(rc, 0, "capget: {}", std::io::Error::last_os_error());
    data[0].effective &= !(1 << CAP_AUDIT_WRITE);
    // SAFETY: as above.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()) };
    assert_eq!(rc, 0, "capset: {}", std::io::Error::last_os_error());
}

#[test]
fn strict_kernel_refusal_fails_the_operation() {
    let Some(_t) = system_test(
        "strict_kernel_refusal_fails_the_operation",
        &[Facility::Auditd],
    ) else {
        return;
    };
    let auditd = Auditd::start().expect("start private auditd");
    let dir = TempDir::new("audit-kstrict").expect("tempdir");
    let kernel = Arc::new(KernelSink::open().expect("audit socket"));
    let vm = vm(5);
    let uuid = vm.uuid_string();

    let strict = Auditor::new(kernel.clone(), AuditLevel::Strict);
    let on = Auditor::new(kernel.clone(), AuditLevel::On);
    let (strict_result, on_result) = std::thread::scope(|s| {
        s.spawn(|| {
            // Without CAP_AUDIT_WRITE the kernel refuses this thread's records (EPERM).
            drop_audit_write_in_this_thread();
            let rec = |o| records::disk(&vm, "attach", None, Some("/strict.img"), o).expect("rec");
            let strict_result = strict.audited(
                rec,
                || make_resource(&dir, "k"),
                |p| {
                    let _ = std::fs::remove_file(p);
                },
            );
            let on_result = on.audited(
                rec,
                || make_resource(&dir, "k-on"),
                |p| {
                    let _ = std::fs::remove_file(p);
                },
            );
            (strict_result, on_result)
        })
        .join()
        .expect("thread")
    });
    match strict_result {
        Err(Audited::Audit(AuditError::Strict(inner))) => match *inner {
            AuditError::KernelRefused {
                rtype: 2501,
                ref message,
            } => {
                assert!(message.contains("not permitted"), "{message}")
            }
            other => panic!("expected a kernel refusal, got {other:?}"),
        },
        other => panic!("expected a strict failure, got {other:?}"),
    }
    assert!(
        !dir.path().join("k").exists(),
        "strict: the operation was undone"
    );
    assert!(
        on_result.is_ok() && dir.path().join("k-on").exists(),
        "on: work goes on"
    );

    // A record this thread may send marks the end; nothing of the refused thread's got in.
    strict
        .emit(&records::stop(&vm, "destroyed", 0))
        .expect("kernel accepts from a capable thread");
    let lines = auditd.wait_for(&uuid, 1, Duration::from_secs(10));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("op=stop"), "{}", lines[0]);
    let out = auditd
        .ausearch(&["-i", "-m", "VIRT_RESOURCE"])
        .expect("ausearch");
    assert!(
        !out.contains(&uuid),
        "no resource record for the refused operation: {out}"
    );
}
