//! Secrets on the command line (AES-256-CBC under the master key, base64) and the disk refusals.

use virt_qemu::argv::{self, ArgvError, CommandLine, HostContext, QemuCaps};
use virt_qemu::secret::{
    self, IvSource, MasterKey, SecretError, SecretSource, SecretUsage, LIBVIRT_TEST_SECRET,
};
use virt_xml::devices::disk::SecretLookup;
use virt_xml::Uuid;

/// libvirt's harness key (bytes 0..=31), IV (0..=15) and secret value give this ciphertext in
/// its corpus (e.g. `disk-cdrom-network`).
const CORPUS_DATA: &str = "9eao5F8qtkGt+seB1HYivWIxbtwUu6MQtg1zpj/oDtUsPr1q8wBYM91uEHCn6j/1";
const CORPUS_IV: &str = "AAECAwQFBgcICQoLDA0ODw==";

fn harness_iv() -> [u8; 16] {
    match IvSource::libvirt_test_harness() {
        IvSource::Fixed(iv) => iv,
        IvSource::Random => panic!("harness IV is fixed"),
    }
}

#[test]
fn aes_matches_libvirt_corpus_vector() {
    let key = MasterKey::libvirt_test_harness();
    let s = secret::for_qemu(&key, &IvSource::libvirt_test_harness(), LIBVIRT_TEST_SECRET)
        .expect("fixed IV");
    assert_eq!(s.data, CORPUS_DATA);
    assert_eq!(s.iv, CORPUS_IV);
}

#[test]
fn cookie_vector_from_corpus() {
    // disk-network-http: the cookie header of two cookies.
    let key = MasterKey::libvirt_test_harness();
    let ct = secret::encrypt(
        &key,
        &harness_iv(),
        b"test=testcookievalue; test2=\"blurb\"",
    );
    assert_eq!(
        secret::base64(&ct),
        "DrPR9NA6GKJb7qi1KbjHaealKEMVtOWUl2h3yvO5lgIh6cyLHemmlg+h9fcgwREA"
    );
}

#[test]
fn round_trip_with_random_key_and_iv() {
    let key = MasterKey::generate().expect("urandom");
    let iv = IvSource::Random.next_iv().expect("urandom");
    for len in [0usize, 1, 15, 16, 17, 100] {
        let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let ct = secret::encrypt(&key, &iv, &plain);
        // PKCS#7 always pads: a whole extra block for block-sized input.
        assert_eq!(ct.len(), (len / 16 + 1) * 16);
        assert_eq!(secret::decrypt(&key, &iv, &ct).expect("decrypts"), plain);
    }
    let other = MasterKey::from_bytes([9u8; 32]);
    let ct = secret::encrypt(&key, &iv, b"secret value");
    assert_ne!(
        secret::decrypt(&other, &iv, &ct).ok(),
        Some(b"secret value".to_vec())
    );
    assert!(format!("{key:?}").contains(".."), "Debug hides the key");
}

#[test]
fn base64_rfc4648_vectors() {
    assert_eq!(secret::base64_decode("Zm9vYg=="), Some(b"foob".to_vec()));
    assert_eq!(secret::base64_decode("Zm9vYmE"), Some(b"fooba".to_vec()));
    assert_eq!(secret::base64_decode("Zm9v!"), None);
    assert_eq!(secret::base64_decode("Z"), None);
    for (plain, enc) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(secret::base64(plain.as_bytes()), enc);
    }
    assert_eq!(secret::base64(&[0xfb, 0xff]), "+/8=");
}

#[test]
fn secret_sources() {
    let uuid: Uuid = "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f"
        .parse()
        .expect("uuid");
    let h = SecretSource::LibvirtTestHarness;
    assert_eq!(
        h.value(&SecretLookup::Uuid(uuid), SecretUsage::Volume, "disk 'vda'")
            .expect("by uuid"),
        LIBVIRT_TEST_SECRET
    );
    let bad = SecretLookup::Usage("other".into());
    let e = h.value(&bad, SecretUsage::Iscsi, "disk 'vda'").unwrap_err();
    assert_eq!(
        e.to_string(),
        "no secret with iscsi usage 'other' found for disk 'vda'"
    );
    let none = SecretSource::None
        .value(&SecretLookup::Uuid(uuid), SecretUsage::Tls, "disk 'vdb'")
        .unwrap_err();
    assert!(matches!(none, SecretError::NotFound { .. }));
    assert!(none
        .to_string()
        .contains("0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f"));

    let dir = virt_testkit::TempDir::new("secrets").expect("tempdir");
    std::fs::write(dir.path().join(uuid.to_string()), b"pass phrase").expect("write");
    std::fs::write(
        dir.path().join(format!("{uuid}.usage")),
        "iscsi mycluster_myname\n",
    )
    .expect("write");
    let d = SecretSource::Dir(dir.path().to_path_buf());
    assert_eq!(
        d.value(&SecretLookup::Uuid(uuid), SecretUsage::Volume, "x")
            .expect("by uuid"),
        b"pass phrase"
    );
    let by_usage = SecretLookup::Usage("mycluster_myname".into());
    assert_eq!(
        d.value(&by_usage, SecretUsage::Iscsi, "x")
            .expect("by usage"),
        b"pass phrase"
    );
    assert!(d.value(&by_usage, SecretUsage::Ceph, "x").is_err());
}

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

fn build_with(
    devices: &str,
    host: impl FnOnce(&mut HostContext),
) -> Result<CommandLine, ArgvError> {
    let xml = format!(
        "<domain type='qemu'><name>QEMUGuest1</name><uuid>{UUID}</uuid>\
         <memory unit='KiB'>219100</memory><vcpu placement='static'>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}</devices></domain>"
    );
    let mut def = virt_xml::Domain::parse(&xml).expect("test domain parses");
    let caps = QemuCaps::x86_64_7_2();
    let mut h = HostContext::libvirt_test_harness(&def);
    host(&mut h);
    argv::prepare_and_build(&mut def, &caps, &h)
}

fn build(devices: &str) -> Result<CommandLine, ArgvError> {
    build_with(devices, |_| {})
}

fn objects(cmd: &CommandLine) -> Vec<String> {
    cmd.args
        .windows(2)
        .filter(|w| w[0] == "-object" || w[0] == "-blockdev")
        .map(|w| w[1].clone())
        .collect()
}

const LUKS_DISK: &str = "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
    <source file='/var/lib/img.luks'/><target dev='vda' bus='virtio'/>\
    <encryption format='luks'><secret type='passphrase' \
    uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/></encryption></disk>";

#[test]
fn luks_passphrase_object_and_format_node() {
    let cmd = build(LUKS_DISK).expect("builds");
    let o = objects(&cmd);
    let secret = format!(
        "{{\"qom-type\":\"secret\",\"id\":\"libvirt-1-format-encryption-secret0\",\
         \"data\":\"{CORPUS_DATA}\",\"keyid\":\"masterKey0\",\"iv\":\"{CORPUS_IV}\",\
         \"format\":\"base64\"}}"
    );
    let at = o.iter().position(|x| *x == secret).expect("secret object");
    assert!(o[at + 1].contains("\"node-name\":\"libvirt-1-storage\""));
    assert!(o[at + 2]
        .contains("\"driver\":\"luks\",\"key-secret\":\"libvirt-1-format-encryption-secret0\""));
}

#[test]
fn runtime_style_host_encrypts_under_its_own_key() {
    let key = MasterKey::from_bytes([0x42; 32]);
    let cmd = build_with(LUKS_DISK, |h| {
        h.master_key = key.clone();
        h.secret_iv = IvSource::Random;
    })
    .expect("builds");
    let o = objects(&cmd);
    let s = o
        .iter()
        .find(|x| x.contains("encryption-secret0\",\"data\""))
        .expect("secret");
    let v: serde_json::Value = serde_json::from_str(s).expect("json");
    let data = decode64(v["data"].as_str().expect("data"));
    let iv: [u8; 16] = decode64(v["iv"].as_str().expect("iv"))
        .try_into()
        .expect("16-byte IV");
    assert_eq!(
        secret::decrypt(&key, &iv, &data).expect("decrypts"),
        LIBVIRT_TEST_SECRET
    );
}

fn decode64(s: &str) -> Vec<u8> {
    secret::base64_decode(s).expect("base64")
}

#[test]
fn missing_secret_is_named() {
    let e = build_with(LUKS_DISK, |h| h.secrets = SecretSource::None).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("disk 'vda'"), "{text}");
    assert!(
        text.contains("0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f"),
        "{text}"
    );
}

#[test]
fn iscsi_login_and_initiator() {
    let cmd = build(
        "<disk type='network' device='disk'><driver name='qemu' type='raw'/>\
         <source protocol='iscsi' name='iqn.1992-01.com.example:storage/1'>\
         <host name='example.org' port='6000'/>\
         <initiator><iqn name='iqn.1992-01.com.example:client'/></initiator>\
         <auth username='myname'><secret type='iscsi' usage='mycluster_myname'/></auth>\
         </source><target dev='vda' bus='virtio'/></disk>",
    )
    .expect("builds");
    let o = objects(&cmd);
    assert!(o
        .iter()
        .any(|x| x.contains("\"id\":\"libvirt-1-storage-auth-secret0\"")));
    assert!(o.iter().any(|x| x.contains(
        "\"transport\":\"tcp\",\"user\":\"myname\",\
         \"password-secret\":\"libvirt-1-storage-auth-secret0\",\
         \"initiator-name\":\"iqn.1992-01.com.example:client\""
    )));
}

fn refused(devices: &str, want: &str) {
    match build(devices) {
        Ok(_) => panic!("accepted, want refusal with {want:?}"),
        Err(e) => assert!(e.to_string().contains(want), "{e}"),
    }
}

#[test]
fn refusals() {
    refused(
        "<disk type='file' device='disk'><driver name='qemu' type='iso'/>\
         <source file='/tmp/a.iso'/><target dev='hda' bus='ide'/></disk>",
        "storage format 'iso' is not directly supported by QEMU",
    );
    refused(
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
         <source file='/tmp/a.qcow2'/><target dev='hda' bus='ide'/><shareable/></disk>",
        "shared access for disk 'hda' requires use of supported storage format",
    );
    refused(
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='/tmp/a.img'/><target dev='sda' bus='virtio'/>\
         <vendor>SEAGATE</vendor></disk>",
        "Only scsi disk supports vendor and product",
    );
    refused(
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='/tmp/a.img'/><target dev='vda' bus='virtio'/>\
         <encryption format='luks'><secret type='passphrase' \
         uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/>\
         <cipher name='serpent' size='256' mode='cbc' hash='sha256'/></encryption></disk>",
        "supplying <cipher> for domain disk definition is unnecessary",
    );
    refused(
        "<disk type='network' device='disk'><driver name='qemu' type='raw'/>\
         <auth username='myname'><secret type='ceph' usage='mycluster_myname'/></auth>\
         <source protocol='iscsi' name='iqn.1992-01.com.example:storage/1'>\
         <host name='example.org' port='6000'/></source>\
         <target dev='vda' bus='virtio'/></disk>",
        "disk 'vda': invalid secret type 'ceph'",
    );
}

#[test]
fn managed_pr_helper_follows_master_key() {
    let cmd = build(
        "<disk type='block' device='lun'><driver name='qemu' type='raw'/>\
         <source dev='/dev/HostVG/QEMUGuest1'><reservations managed='yes'/></source>\
         <target dev='sda' bus='scsi'/></disk>",
    )
    .expect("builds");
    let o = objects(&cmd);
    let key = o
        .iter()
        .position(|x| x.contains("\"id\":\"masterKey0\""))
        .expect("master key");
    assert_eq!(
        o[key + 1],
        "{\"qom-type\":\"pr-manager-helper\",\"id\":\"pr-helper0\",\
         \"path\":\"/tmp/lib/domain--1-QEMUGuest1/pr-helper0.sock\"}"
    );
}

/// The runtime path end to end: the driver encrypts the passphrase of a LUKS-encrypted qcow2
/// image (read from the embed root's `etc/qemu/secrets/UUID`) under a fresh master key, writes
/// that same key to the guest's key file, and a real QEMU opens the image with it; a secret
/// that is not there refuses the start naming the disk and the secret.
#[test]
fn driver_starts_guest_with_luks_image() {
    use virt_testkit::{system_test, Facility};
    let Some(_t) = system_test(
        "secrets_driver_luks",
        &[
            Facility::Root,
            Facility::Command("qemu-system-x86_64"),
            Facility::Command("qemu-img"),
            Facility::CgroupV2,
        ],
    ) else {
        return;
    };
    use virt_qemu::driver::paths::DriverPaths;
    use virt_qemu::driver::{DriverOptions, GuestState, QemuDriver};
    let root = virt_testkit::TempDir::new("secrets-drv").expect("tempdir");
    let secrets = root.path().join("etc/qemu/secrets");
    std::fs::create_dir_all(&secrets).expect("secrets dir");
    let uuid = "5a0c3a54-2f52-4a8e-9b6e-54d3c0a1b2c3";
    let passphrase = b"correct horse, battery staple";
    std::fs::write(secrets.join(uuid), passphrase).expect("secret value");
    let image = root.path().join("enc.qcow2");
    let out = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "--object"])
        .arg(format!(
            "secret,id=sec0,format=base64,data={}",
            secret::base64(passphrase)
        ))
        .args([
            "-o",
            "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10",
        ])
        .arg(&image)
        .arg("8M")
        .output()
        .expect("qemu-img runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = |name: &str, secret: &str| {
        format!(
            "<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>\
             <vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
             <emulator>/usr/bin/qemu-system-x86_64</emulator>\
             <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/>\
             <encryption format='luks'><secret type='passphrase' uuid='{secret}'/>\
             </encryption></disk></devices></domain>",
            image.display()
        )
    };
    let (auditor, _mem) = virt_audit::Auditor::memory();
    let drv = QemuDriver::open(
        DriverPaths::embed(root.path()),
        format!("qemu:///embed?root={}", root.path().display()),
        auditor,
        DriverOptions::default(),
    )
    .expect("driver opens");
    let name = format!("luks-{}", std::process::id());
    drv.define(&xml(&name, uuid)).expect("define");
    let started = drv.start(&name);
    let state = drv.state(&name).map(|s| s.0);
    let _ = drv.destroy(&name);
    let _ = drv.undefine(&name);
    started.expect("QEMU opens the LUKS image with the driver's key and secret");
    assert_eq!(state.expect("state"), GuestState::Running);

    let missing = "00000000-1111-4222-8333-444444444444";
    let name2 = format!("nosecret-{}", std::process::id());
    drv.define(&xml(&name2, missing)).expect("define");
    let e = drv.start(&name2).unwrap_err().to_string();
    let _ = drv.undefine(&name2);
    assert!(e.contains("disk 'vda'") && e.contains(missing), "{e}");
}

proptest::proptest! {
    #[test]
    fn base64_and_cipher_round_trip(
        plain in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
        key in proptest::prelude::any::<[u8; 32]>(),
        iv in proptest::prelude::any::<[u8; 16]>(),
        junk in ".{0,40}",
    ) {
        let text = secret::base64(&plain);
        proptest::prop_assert_eq!(text.len() % 4, 0);
        proptest::prop_assert_eq!(secret::base64_decode(&text), Some(plain.clone()));
        let key = MasterKey::from_bytes(key);
        let ct = secret::encrypt(&key, &iv, &plain);
        proptest::prop_assert_eq!(secret::decrypt(&key, &iv, &ct).ok(), Some(plain));
        // Any text: decoded or refused, never a panic.
        let _ = secret::base64_decode(&junk);
    }
}
