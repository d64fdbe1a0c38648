//! Machine-level rules on the command line: the QEMU namespace's passthrough (`<qemu:commandline>`
//! arguments and environment, `<qemu:deprecation>` as `-compat`), the i440fx root-bus ACPI hotplug
//! switch, an iSCSI NVRAM store; and the refusals of firmware autoselection with a hand-set
//! loader, SMM TSEG off q35, misplaced virtio IOMMUs and transitional virtio inputs.

use virt_qemu::argv::{self, ArgvError, CommandLine, HostContext, QemuCaps};

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";
const QEMU_NS: &str = "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'";

/// A small domain with `os` (inner `<os>` content after `<type>`), `features`, `devices` and
/// `extra` (top-level elements after `<devices>`), run through preparation and the builder.
fn run_full(
    machine: &str,
    os_attrs: &str,
    os: &str,
    features: &str,
    devices: &str,
    extra: &str,
) -> Result<CommandLine, ArgvError> {
    let xml = format!(
        "<domain type='qemu' {QEMU_NS}><name>QEMUGuest1</name><uuid>{UUID}</uuid>\
         <memory unit='KiB'>219100</memory><vcpu placement='static'>1</vcpu>\
         <os{os_attrs}><type arch='x86_64' machine='{machine}'>hvm</type>{os}</os>\
         <features>{features}</features>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}\
         <memballoon model='none'/></devices>{extra}</domain>"
    );
    let mut def = virt_xml::Domain::parse(&xml).expect("test domain parses");
    let caps = QemuCaps::x86_64_7_2();
    let host = HostContext::libvirt_test_harness(&def);
    argv::prepare_and_build(&mut def, &caps, &host)
}

fn run(machine: &str, features: &str, devices: &str) -> Result<CommandLine, ArgvError> {
    run_full(machine, "", "", features, devices, "")
}

fn option(cmd: &CommandLine, opt: &str) -> Vec<String> {
    cmd.args
        .windows(2)
        .filter(|w| w[0] == opt)
        .map(|w| w[1].clone())
        .collect()
}

fn refusal(r: Result<CommandLine, ArgvError>) -> String {
    match r {
        Ok(cmd) => panic!("accepted: {:?}", cmd.args),
        Err(e) => e.to_string(),
    }
}

#[test]
fn passthrough_args_env_and_compat() {
    let extra = "<qemu:commandline><qemu:arg value='-unknown'/><qemu:arg value='parameter'/>\
                 <qemu:env name='NS' value='ns'/><qemu:env name='BAR'/></qemu:commandline>\
                 <qemu:deprecation behavior='reject'/>";
    let cmd = run_full("pc", "", "", "", "", extra).expect("argv");
    // Variables follow the standard environment, in document order; no value means empty.
    let n = cmd.env.len();
    assert!(n >= 2, "{:?}", cmd.env);
    assert_eq!(
        cmd.env[n - 2..],
        [("NS".into(), "ns".into()), ("BAR".into(), String::new())]
    );
    assert_eq!(cmd.env[0].0, "LC_ALL");
    // The arguments come verbatim, after the devices and before `-sandbox`/`-msg`.
    let at = cmd
        .args
        .iter()
        .position(|a| a == "-unknown")
        .expect("passthrough");
    assert_eq!(cmd.args[at + 1], "parameter");
    let sandbox = cmd.args.iter().position(|a| a == "-sandbox");
    if let Some(s) = sandbox {
        assert!(s > at);
    }
    let last_device = cmd.args.iter().rposition(|a| a == "-device").unwrap_or(0);
    assert!(last_device < at);
    // `-compat` right after `-name`.
    let name = cmd.args.iter().position(|a| a == "-name").expect("-name");
    assert_eq!(cmd.args[name + 2], "-compat");
    assert_eq!(
        cmd.args[name + 3],
        r#"{"deprecated-output":"hide","deprecated-input":"reject"}"#
    );

    let omit = run_full("pc", "", "", "", "", "<qemu:deprecation behavior='omit'/>").expect("argv");
    assert_eq!(
        option(&omit, "-compat"),
        vec![r#"{"deprecated-output":"hide"}"#]
    );
    let none = run_full("pc", "", "", "", "", "<qemu:deprecation behavior='none'/>").expect("argv");
    assert!(option(&none, "-compat").is_empty());
    assert!(!none.args.iter().any(|a| a == "-unknown"));
}

#[test]
fn root_hotplug_switch_both_ways_on_i440fx_only() {
    for (v, want) in [("on", "on"), ("off", "off")] {
        let ctl = format!(
            "<controller type='pci' index='0' model='pci-root'><target hotplug='{v}'/></controller>"
        );
        let cmd = run("pc", "", &ctl).expect("argv");
        assert_eq!(
            option(&cmd, "-global"),
            vec![format!("PIIX4_PM.acpi-root-pci-hotplug={want}")]
        );
    }
    let cmd = run("pc", "", "").expect("argv");
    assert!(!option(&cmd, "-global")
        .iter()
        .any(|g| g.contains("acpi-root-pci-hotplug")));
}

#[test]
fn iscsi_nvram_store_with_login_secret() {
    let os = "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>\
              <nvram type='network'><source protocol='iscsi' name='iqn.2013-07.com.example:store/2'>\
              <host name='example.com' port='6000'/><auth username='myname'>\
              <secret type='iscsi' usage='mycluster_myname'/></auth></source></nvram>";
    let cmd = run_full("pc", "", os, "", "", "").expect("argv");
    let blockdevs = option(&cmd, "-blockdev");
    let nv = blockdevs
        .iter()
        .find(|b| b.contains("libvirt-pflash1-storage") && b.contains("iscsi"))
        .expect("iscsi store");
    assert!(nv.starts_with(
        r#"{"driver":"iscsi","portal":"example.com:6000","target":"iqn.2013-07.com.example:store","lun":2,"transport":"tcp","user":"myname","password-secret":"libvirt-pflash1-storage-auth-secret0","node-name":"libvirt-pflash1-storage""#
    ), "{nv}");
    // The secret object is written before the store that uses it.
    let secret = cmd
        .args
        .iter()
        .position(|a| a.contains(r#""id":"libvirt-pflash1-storage-auth-secret0""#))
        .expect("secret object");
    let store = cmd.args.iter().position(|a| a == nv).expect("store");
    assert!(secret < store);

    let rbd = "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>\
               <nvram type='network'><source protocol='rbd' name='pool/image'>\
               <host name='example.com'/></source></nvram>";
    let err = refusal(run_full("pc", "", rbd, "", "", ""));
    assert!(err.contains("NVRAM store"), "{err}");
}

#[test]
fn autoselection_refuses_a_hand_set_loader() {
    let feats = "<acpi/>";
    for (loader, what) in [
        ("<loader secure='no'/>", "loader attribute 'secure'"),
        (
            "<loader>/path/to/OVMF_CODE.fd</loader>",
            "loader attribute 'type'",
        ),
        ("<loader type='pflash'/>", "loader attribute 'type'"),
        ("<loader readonly='yes'/>", "loader attribute 'readonly'"),
    ] {
        let err = refusal(run_full(
            "pc-q35-7.2",
            " firmware='efi'",
            loader,
            feats,
            "",
            "",
        ));
        assert!(
            err.contains(what) && err.contains("firmware autoselection"),
            "{loader}: {err}"
        );
    }
}

#[test]
fn tseg_needs_q35() {
    let smm = "<smm state='on'><tseg unit='MiB'>48</tseg></smm>";
    let err = refusal(run("pc", smm, ""));
    assert!(err.contains("SMM TSEG") && err.contains("q35"), "{err}");
    let cmd = run("q35", smm, "").expect("q35 takes a TSEG");
    assert!(option(&cmd, "-global")
        .iter()
        .any(|g| g.contains("mch.extended-tseg-mbytes=48")));
}

#[test]
fn virtio_iommu_placement() {
    let acpi = "<acpi/>";
    let err = refusal(run("pc", acpi, "<iommu model='virtio'/>"));
    assert!(
        err.contains("IOMMU device: 'virtio'") && err.contains("Q35 and ARM Virt"),
        "{err}"
    );
    let err = refusal(run(
        "q35",
        acpi,
        "<iommu model='virtio'><address type='virtio-mmio'/></iommu>",
    ));
    assert!(err.contains("needs a PCI address"), "{err}");
    let err = refusal(run(
        "q35",
        acpi,
        "<iommu model='virtio'><address type='pci' domain='0x0000' bus='0x01' slot='0x00' \
         function='0x0'/></iommu>",
    ));
    assert!(
        err.contains("0000:01:00.0") && err.contains("integrated device"),
        "{err}"
    );
    let cmd = run("q35", acpi, "<iommu model='virtio'/>").expect("root-bus virtio IOMMU");
    assert!(option(&cmd, "-device")
        .iter()
        .any(|d| d.starts_with(r#"{"driver":"virtio-iommu","#) && d.contains(r#""bus":"pcie.0""#)));
}

#[test]
fn virtio_inputs_have_no_transitional_models() {
    for (ty, model) in [
        ("keyboard", "virtio-non-transitional"),
        ("tablet", "virtio-transitional"),
    ] {
        let input = format!("<input type='{ty}' bus='virtio' model='{model}'/>");
        let err = refusal(run("q35", "", &input));
        assert!(
            err.contains("(non-)transitional") && err.contains(&format!("input type={ty}")),
            "{err}"
        );
    }
    let cmd = run(
        "q35",
        "",
        "<input type='keyboard' bus='virtio' model='virtio'/>",
    )
    .expect("argv");
    assert!(option(&cmd, "-device")
        .iter()
        .any(|d| d.starts_with(r#"{"driver":"virtio-keyboard-pci""#)));
}

#[test]
fn override_properties_of_a_device_by_alias() {
    let disk = "<disk type='block' device='disk'><source dev='/dev/HostVG/QEMUGuest1'/>\
                <target dev='hda' bus='ide'/><alias name='ua-disk'/></disk>";
    let ov = |props: &str| {
        format!(
            "<qemu:override><qemu:device alias='ua-disk'><qemu:frontend>{props}\
             </qemu:frontend></qemu:device></qemu:override>"
        )
    };
    let props = "<qemu:property name='bootindex' type='unsigned' value='7'/>\
                 <qemu:property name='p1' type='string' value='v'/>\
                 <qemu:property name='p2' type='signed' value='-3'/>\
                 <qemu:property name='p3' type='bool' value='true'/>\
                 <qemu:property name='p3' type='remove'/>\
                 <qemu:property name='unit' type='remove'/>";
    let cmd = run_full("pc", "", "", "", disk, &ov(props)).expect("argv");
    let ide = option(&cmd, "-device")
        .into_iter()
        .find(|d| d.contains(r#""id":"ua-disk""#))
        .expect("disk device");
    // Overridden keys leave their place and come last; removed ones are gone.
    assert_eq!(
        ide,
        r#"{"driver":"ide-hd","bus":"ide.0","drive":"libvirt-1-format","id":"ua-disk","bootindex":7,"p1":"v","p2":-3}"#
    );
    let bad = "<qemu:property name='x' type='signed' value='many'/>";
    let err = refusal(run_full("pc", "", "", "", disk, &ov(bad)));
    assert!(err.contains("ua-disk") && err.contains("'many'"), "{err}");
}
