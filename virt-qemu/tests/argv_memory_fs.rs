//! Memory devices (`pc-dimm`, `nvdimm`, `virtio-mem-pci`, `virtio-pmem-pci` with their memory
//! backends and thread contexts, the `-m size=..,slots=..,maxmem=..` side) and file systems
//! (virtio-9p with `-fsdev`, vhost-user-fs with its chardev): per-family checks on small
//! domains, refusals, the post-parse DIMM slots and file system defaults, and a line-by-line
//! comparison of these families' options against libvirt's corpus.

use virt_qemu::argv::cmdline::shell_unquote;
use virt_qemu::argv::{self, ArgvError, CommandLine, HostContext, QemuCaps};
use virt_qemu::prepare;

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

/// A guest with memory hotplug (16 slots, 8 GiB max) and one NUMA cell of 1 GiB, plus `extra`
/// top-level elements and `devices`.
fn hotplug_domain(extra: &str, devices: &str) -> String {
    format!(
        "<domain type='qemu'><name>QEMUGuest1</name><uuid>{UUID}</uuid>\
         <maxMemory slots='16' unit='KiB'>8388608</maxMemory>\
         <memory unit='KiB'>2097152</memory>{extra}<vcpu placement='static'>2</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\
         <cpu><numa><cell id='0' cpus='0-1' memory='1048576' unit='KiB'/></numa></cpu>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}\
         <memballoon model='none'/></devices></domain>"
    )
}

/// A plain guest (no NUMA, no hotplug) with `extra` top-level elements and `devices`.
fn plain_domain(extra: &str, devices: &str) -> String {
    format!(
        "<domain type='qemu'><name>QEMUGuest1</name><uuid>{UUID}</uuid>\
         <memory unit='KiB'>219100</memory>{extra}<vcpu placement='static'>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}\
         <memballoon model='none'/></devices></domain>"
    )
}

fn build(xml: &str) -> Result<CommandLine, ArgvError> {
    let mut def = virt_xml::Domain::parse(xml).expect("test domain parses");
    let caps = QemuCaps::x86_64_7_2();
    let host = HostContext::libvirt_test_harness(&def);
    argv::prepare_and_build(&mut def, &caps, &host)
}

fn refusal(xml: &str) -> String {
    match build(xml) {
        Ok(c) => panic!("accepted: {:?}", c.args),
        Err(e) => e.to_string(),
    }
}

fn options(cmd: &CommandLine, opt: &str) -> Vec<String> {
    cmd.args
        .windows(2)
        .filter(|w| w[0] == opt)
        .map(|w| w[1].clone())
        .collect()
}

/// The arguments of `cmd` from the first one containing `marker` on (that value first).
fn from_object(cmd: &CommandLine, marker: &str) -> Vec<String> {
    let start = cmd
        .args
        .iter()
        .position(|a| a.contains(marker))
        .unwrap_or_else(|| panic!("{marker} in {:?}", cmd.args));
    cmd.args[start..].to_vec()
}

fn dimm(attrs: &str, inner: &str) -> String {
    format!("<memory model='dimm'{attrs}>{inner}</memory>")
}

#[test]
fn dimm_gets_slot_alias_ram_backend_and_size_in_2mib_blocks() {
    let xml = hotplug_domain(
        "",
        &(dimm(
            "",
            "<target><size unit='KiB'>524287</size><node>0</node></target>\
             <address type='dimm' slot='1' base='0x100000000'/>",
        ) + &dimm(
            "",
            "<target><size unit='KiB'>262144</size><node>0</node></target>",
        )),
    );
    let cmd = build(&xml).expect("builds");
    assert_eq!(
        options(&cmd, "-m"),
        ["size=1048576k,slots=16,maxmem=8388608k"]
    );
    let objects = options(&cmd, "-object");
    assert!(objects.contains(
        &r#"{"qom-type":"memory-backend-ram","id":"memdimm1","size":536870912}"#.to_string()
    ));
    // The second DIMM had no address: the lowest free slot, 0, names it.
    assert!(objects.contains(
        &r#"{"qom-type":"memory-backend-ram","id":"memdimm0","size":268435456}"#.to_string()
    ));
    let devices = options(&cmd, "-device");
    assert!(devices.contains(
        &r#"{"driver":"pc-dimm","node":0,"memdev":"memdimm1","id":"dimm1","slot":1,"addr":4294967296}"#
            .to_string()
    ));
    assert!(devices.contains(
        &r#"{"driver":"pc-dimm","node":0,"memdev":"memdimm0","id":"dimm0","slot":0}"#.to_string()
    ));
    // Each backend comes right before its device.
    let after = from_object(&cmd, "\"id\":\"memdimm1\"");
    assert!(after[2].contains("\"id\":\"dimm1\""), "{after:?}");
}

#[test]
fn prepare_assigns_the_lowest_free_dimm_slots() {
    let xml = hotplug_domain(
        "",
        &(dimm(
            "",
            "<target><size unit='KiB'>131072</size><node>0</node></target>\
             <address type='dimm' slot='0'/>",
        ) + &dimm(
            "",
            "<target><size unit='KiB'>131072</size><node>0</node></target>",
        ) + &dimm(
            "",
            "<target><size unit='KiB'>131072</size><node>0</node></target>",
        )),
    );
    let mut def = virt_xml::Domain::parse(&xml).expect("parses");
    prepare::prepare(&mut def, &QemuCaps::x86_64_7_2()).expect("prepares");
    let out = def.to_xml();
    for slot in 0..3 {
        assert!(
            out.contains(&format!("<address type='dimm' slot='{slot}'/>")),
            "{out}"
        );
    }
    let aliases = prepare::aliases(&def);
    for a in ["dimm0", "dimm1", "dimm2"] {
        assert!(aliases.iter().any(|x| x == a), "{a} in {aliases:?}");
    }
    // Without hotplug nothing is assigned.
    let plain = plain_domain("", "");
    let mut def = virt_xml::Domain::parse(&plain).expect("parses");
    prepare::prepare(&mut def, &QemuCaps::x86_64_7_2()).expect("prepares");
    assert!(!def.to_xml().contains("type='dimm'"));
}

#[test]
fn nvdimm_file_backend_label_unarmed_access_and_pmem() {
    let xml = hotplug_domain(
        "",
        "<memory model='nvdimm' access='private'><source><path>/tmp/nv,dimm</path></source>\
         <target><size unit='KiB'>523264</size><node>0</node>\
         <label><size unit='KiB'>128</size></label><readonly/></target></memory>\
         <memory model='nvdimm'><source><path>/dev/pmem0</path>\
         <alignsize unit='KiB'>2048</alignsize><pmem/></source>\
         <target><size unit='KiB'>524288</size><node>0</node></target></memory>",
    );
    let cmd = build(&xml).expect("builds");
    assert_eq!(
        options(&cmd, "-machine"),
        ["pc,usb=off,dump-guest-core=off,nvdimm=on"]
    );
    let objects = options(&cmd, "-object");
    assert!(objects.contains(
        &r#"{"qom-type":"memory-backend-file","id":"memnvdimm0","mem-path":"/tmp/nv,dimm","share":false,"prealloc":true,"size":536870912}"#
            .to_string()
    ), "{objects:?}");
    // Real persistent memory is not preallocated; its alignment and pmem flag are passed on.
    assert!(objects.contains(
        &r#"{"qom-type":"memory-backend-file","id":"memnvdimm1","mem-path":"/dev/pmem0","size":536870912,"align":2097152,"pmem":true}"#
            .to_string()
    ), "{objects:?}");
    let devices = options(&cmd, "-device");
    assert!(devices.contains(
        &r#"{"driver":"nvdimm","node":0,"label-size":131072,"unarmed":true,"memdev":"memnvdimm0","id":"nvdimm0","slot":0}"#
            .to_string()
    ), "{devices:?}");
    assert!(devices.contains(
        &r#"{"driver":"nvdimm","node":0,"memdev":"memnvdimm1","id":"nvdimm1","slot":1}"#
            .to_string()
    ));
}

#[test]
fn virtio_mem_reserves_lazily_and_preallocates_on_the_device_with_huge_pages() {
    let xml = hotplug_domain(
        "",
        "<memory model='virtio-mem'><target><size unit='KiB'>1048576</size><node>0</node>\
         <block unit='KiB'>2048</block><requested unit='KiB'>524288</requested></target></memory>\
         <memory model='virtio-mem'><source><nodemask>1-3</nodemask>\
         <pagesize unit='KiB'>2048</pagesize></source>\
         <target><size unit='KiB'>2097152</size><node>0</node>\
         <block unit='KiB'>2048</block><requested unit='KiB'>1048576</requested></target></memory>",
    );
    let cmd = build(&xml).expect("builds");
    let objects = options(&cmd, "-object");
    assert!(objects.contains(
        &r#"{"qom-type":"memory-backend-ram","id":"memvirtiomem0","reserve":false,"size":1073741824}"#
            .to_string()
    ));
    assert!(objects.contains(
        &r#"{"qom-type":"memory-backend-file","id":"memvirtiomem1","mem-path":"/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1","reserve":false,"size":2147483648,"host-nodes":[1,2,3],"policy":"bind"}"#
            .to_string()
    ), "{objects:?}");
    let devices = options(&cmd, "-device");
    let mem: Vec<&String> = devices
        .iter()
        .filter(|d| d.contains("virtio-mem-pci"))
        .collect();
    assert_eq!(mem.len(), 2);
    assert!(mem[0].starts_with(
        r#"{"driver":"virtio-mem-pci","node":0,"block-size":2097152,"requested-size":536870912,"memdev":"memvirtiomem0","id":"virtiomem0","bus":"pci.0","addr":"0x"#
    ), "{}", mem[0]);
    assert!(mem[1].contains(r#""memdev":"memvirtiomem1","prealloc":true,"id":"virtiomem1""#));
}

#[test]
fn virtio_pmem_is_a_shared_file_never_preallocated() {
    let xml = hotplug_domain(
        "",
        "<memory model='virtio-pmem' access='shared'><source><path>/tmp/virtio_pmem</path></source>\
         <target><size unit='KiB'>524288</size></target></memory>",
    );
    let cmd = build(&xml).expect("builds");
    assert!(options(&cmd, "-object").contains(
        &r#"{"qom-type":"memory-backend-file","id":"memvirtiopmem0","mem-path":"/tmp/virtio_pmem","share":true,"size":536870912}"#
            .to_string()
    ));
    let dev = options(&cmd, "-device")
        .into_iter()
        .find(|d| d.contains("virtio-pmem-pci"))
        .expect("device");
    assert!(dev.starts_with(
        r#"{"driver":"virtio-pmem-pci","memdev":"memvirtiopmem0","id":"virtiopmem0","bus":"pci.0","addr":"0x"#
    ), "{dev}");
}

#[test]
fn dimm_on_huge_pages_binds_host_nodes_in_a_thread_context() {
    let xml = hotplug_domain(
        "<memoryBacking><hugepages><page size='2048' unit='KiB'/></hugepages></memoryBacking>\
         <numatune><memory mode='strict' nodeset='0-1'/></numatune>",
        &dimm(
            " access='shared'",
            "<target><size unit='KiB'>524288</size><node>0</node></target>",
        ),
    );
    let cmd = build(&xml).expect("builds");
    let at = from_object(&cmd, "\"id\":\"tc-memdimm0\"");
    assert_eq!(
        at[0],
        r#"{"qom-type":"thread-context","id":"tc-memdimm0","node-affinity":[0,1]}"#
    );
    assert_eq!(
        at[2],
        r#"{"qom-type":"memory-backend-file","id":"memdimm0","mem-path":"/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1","share":true,"prealloc":true,"size":536870912,"host-nodes":[0,1],"policy":"bind","prealloc-context":"tc-memdimm0"}"#
    );
    assert_eq!(
        at[4],
        r#"{"driver":"pc-dimm","node":0,"memdev":"memdimm0","id":"dimm0","slot":0}"#
    );
}

#[test]
fn dimm_discard_and_private_access_use_the_memory_backing_dir() {
    let xml = hotplug_domain(
        "",
        &(dimm(
            " access='private' discard='yes'",
            "<target><size unit='KiB'>524288</size><node>0</node></target>",
        ) + &dimm(
            " discard='no'",
            "<source><pagesize unit='KiB'>1048576</pagesize></source>\
             <target><size unit='KiB'>1048576</size><node>0</node></target>",
        )),
    );
    let cmd = build(&xml).expect("builds");
    let objects = options(&cmd, "-object");
    assert!(objects.contains(
        &r#"{"qom-type":"memory-backend-file","id":"memdimm0","mem-path":"/var/lib/libvirt/qemu/ram/-1-QEMUGuest1/dimm0","discard-data":true,"share":false,"size":536870912}"#
            .to_string()
    ), "{objects:?}");
    assert!(objects.contains(
        &r#"{"qom-type":"memory-backend-file","id":"memdimm1","mem-path":"/dev/hugepages1G/libvirt/qemu/-1-QEMUGuest1","discard-data":false,"prealloc":true,"size":1073741824}"#
            .to_string()
    ), "{objects:?}");
}

#[test]
fn maxmem_is_rounded_to_whole_mebibytes() {
    let xml = hotplug_domain("", "").replace(
        "<maxMemory slots='16' unit='KiB'>8388608</maxMemory>",
        "<maxMemory slots='4' unit='KiB'>8388000</maxMemory>",
    );
    let cmd = build(&xml).expect("builds");
    assert_eq!(
        options(&cmd, "-m"),
        ["size=1048576k,slots=4,maxmem=8388608k"]
    );
}

#[test]
fn memory_device_refusals() {
    let dimm0 = dimm(
        "",
        "<target><size unit='KiB'>131072</size><node>0</node></target>",
    );
    // No <maxMemory>.
    let no_max = hotplug_domain("", &dimm0)
        .replace("<maxMemory slots='16' unit='KiB'>8388608</maxMemory>", "");
    assert!(refusal(&no_max).contains("'maxMemory' is not defined"));
    // Hotplug without guest NUMA.
    let no_numa = hotplug_domain("", "").replace(
        "<cpu><numa><cell id='0' cpus='0-1' memory='1048576' unit='KiB'/></numa></cpu>",
        "",
    );
    assert!(refusal(&no_numa).contains("At least one numa node"));
    // A slot beyond the slot count, and two devices in one slot.
    let beyond = hotplug_domain(
        "",
        &dimm(
            "",
            "<target><size unit='KiB'>131072</size><node>0</node></target>\
             <address type='dimm' slot='16'/>",
        ),
    );
    assert!(refusal(&beyond).contains("memory device slot '16' exceeds slots count '16'"));
    let in_slot = |s| {
        dimm(
            "",
            &format!(
                "<target><size unit='KiB'>131072</size><node>0</node></target>\
                 <address type='dimm' slot='{s}'/>"
            ),
        )
    };
    let twice = hotplug_domain("", &(in_slot(3) + &in_slot(3)));
    assert!(refusal(&twice).contains("slot '3' is already being used"));
    // More than the hotplug space (8 GiB max - 1 GiB initial).
    let big = hotplug_domain(
        "",
        &dimm(
            "",
            "<target><size unit='KiB'>8388608</size><node>0</node></target>",
        ),
    );
    assert!(refusal(&big).contains("exceeds hotplug space"));
    // With NUMA, a DIMM names its node; and the node must exist.
    let no_node = hotplug_domain(
        "",
        &dimm("", "<target><size unit='KiB'>131072</size></target>"),
    );
    assert!(refusal(&no_node).contains("target NUMA node needs to be specified"));
    let bad_node = hotplug_domain(
        "",
        &dimm(
            "",
            "<target><size unit='KiB'>131072</size><node>3</node></target>",
        ),
    );
    assert!(refusal(&bad_node).contains("guest node '3'"));
    // Model constraints.
    let nv_no_path = hotplug_domain(
        "",
        "<memory model='nvdimm'><target><size unit='KiB'>131072</size><node>0</node></target></memory>",
    );
    assert!(refusal(&nv_no_path).contains("path is required for model 'nvdimm'"));
    let pmem_private = hotplug_domain(
        "",
        "<memory model='virtio-pmem'><source><path>/tmp/p</path></source>\
         <target><size unit='KiB'>131072</size></target></memory>",
    );
    assert!(refusal(&pmem_private).contains("shared access mode required"));
    let odd_block = hotplug_domain(
        "",
        "<memory model='virtio-mem'><target><size unit='KiB'>1048576</size><node>0</node>\
         <block unit='KiB'>3072</block><requested unit='KiB'>0</requested></target></memory>",
    );
    assert!(refusal(&odd_block).contains("block size must be a power of two"));
}

/// The `-fsdev` values and 9p devices of a guest with `devices`.
fn fs_lines(devices: &str) -> (Vec<String>, Vec<String>) {
    let cmd = build(&plain_domain("", devices)).expect("builds");
    let devs = options(&cmd, "-device")
        .into_iter()
        .filter(|d| d.contains("9p") || d.contains("vhost-user-fs"))
        .collect();
    (options(&cmd, "-fsdev"), devs)
}

#[test]
fn virtio_9p_security_models_modes_multidevs_writeout_readonly() {
    let (fsdev, devs) = fs_lines(
        "<filesystem type='mount'><source dir='/export/a,b'/><target dir='tag0'/><readonly/></filesystem>\
         <filesystem accessmode='mapped' fmode='644' dmode='0755' multidevs='remap'>\
         <driver type='path' wrpolicy='immediate'/><source dir='/export/m'/><target dir='tag1'/></filesystem>\
         <filesystem accessmode='squash' multidevs='warn'><source dir='/export/s'/><target dir='tag2'/></filesystem>\
         <filesystem><driver type='handle'/><source dir='/export/h'/><target dir='tag3'/></filesystem>",
    );
    assert_eq!(
        fsdev,
        [
            "local,security_model=passthrough,id=fsdev-fs0,path=/export/a,,b,readonly",
            "local,security_model=mapped,multidevs=remap,fmode=0644,dmode=0755,writeout=immediate,id=fsdev-fs1,path=/export/m",
            "local,security_model=none,multidevs=warn,id=fsdev-fs2,path=/export/s",
            "handle,id=fsdev-fs3,path=/export/h",
        ]
    );
    assert_eq!(devs.len(), 4);
    assert_eq!(
        devs[0],
        r#"{"driver":"virtio-9p-pci","id":"fs0","fsdev":"fsdev-fs0","mount_tag":"tag0","bus":"pci.0","addr":"0x2"}"#
    );
}

#[test]
fn virtio_9p_models_and_virtio_options() {
    let (_, devs) = fs_lines(
        "<filesystem model='virtio-non-transitional'><source dir='/e/1'/><target dir='t1'/></filesystem>\
         <filesystem model='virtio-transitional'><source dir='/e/2'/><target dir='t2'/></filesystem>\
         <filesystem><driver iommu='on' ats='off' packed='on' page_per_vq='on'/>\
         <source dir='/e/3'/><target dir='t3'/></filesystem>",
    );
    assert!(devs[0].starts_with(r#"{"driver":"virtio-9p-pci-non-transitional","id":"fs0""#));
    assert!(devs[1].starts_with(r#"{"driver":"virtio-9p-pci-transitional","id":"fs1""#));
    assert!(devs[2].starts_with(
        r#"{"driver":"virtio-9p-pci","iommu_platform":true,"ats":false,"packed":true,"page-per-vq":true,"id":"fs2""#
    ), "{}", devs[2]);
}

#[test]
fn virtiofs_chardev_to_the_daemon_socket_and_device() {
    let shared = "<memoryBacking><access mode='shared'/></memoryBacking>";
    let cmd = build(&plain_domain(
        shared,
        "<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs' queue='1024'/>\
         <binary path='/usr/libexec/virtiofsd'/><source dir='/path'/><target dir='mount_tag'/>\
         <boot order='1'/></filesystem>\
         <filesystem type='mount'><driver type='virtiofs'/><source socket='/run/vfsd.sock'/>\
         <target dir='ext'/></filesystem>",
    ))
    .expect("builds");
    let chardevs = options(&cmd, "-chardev");
    assert!(chardevs.contains(
        &"socket,id=chr-vu-fs0,path=/tmp/lib/domain--1-QEMUGuest1/fs0-fs.sock".to_string()
    ));
    assert!(chardevs.contains(&"socket,id=chr-vu-fs1,path=/run/vfsd.sock".to_string()));
    let devs: Vec<String> = options(&cmd, "-device")
        .into_iter()
        .filter(|d| d.contains("vhost-user-fs"))
        .collect();
    assert_eq!(
        devs[0],
        r#"{"driver":"vhost-user-fs-pci","id":"fs0","chardev":"chr-vu-fs0","queue-size":1024,"tag":"mount_tag","bootindex":1,"bus":"pci.0","addr":"0x2"}"#
    );
    assert!(devs[1].starts_with(
        r#"{"driver":"vhost-user-fs-pci","id":"fs1","chardev":"chr-vu-fs1","tag":"ext","bus":"pci.0""#
    ));
    // The whole RAM is a shared memory backend.
    assert!(options(&cmd, "-object")
        .iter()
        .any(|o| o.contains("\"id\":\"pc.ram\"") && o.contains("\"share\":true")));
}

#[test]
fn filesystem_refusals() {
    let shared = "<memoryBacking><access mode='shared'/></memoryBacking>";
    let vfs = |extra: &str, inner: &str| {
        plain_domain(
            extra,
            &format!(
                "<filesystem type='mount'><driver type='virtiofs'/>{inner}\
                 <source dir='/path'/><target dir='t'/></filesystem>"
            ),
        )
    };
    assert!(refusal(&plain_domain(
        shared,
        "<filesystem><driver type='virtiofs'/><source dir='/p'/><target dir='t'/><readonly/></filesystem>"
    ))
    .contains("virtiofs does not yet support read-only mode"));
    assert!(refusal(&vfs("", "")).contains("'virtiofs' requires shared memory"));
    assert!(refusal(&plain_domain(
        shared,
        "<filesystem model='virtio'><driver type='virtiofs'/><source dir='/p'/><target dir='t'/></filesystem>"
    ))
    .contains("virtiofs does not support model"));
    assert!(refusal(&plain_domain(
        shared,
        "<filesystem accessmode='mapped'><driver type='virtiofs'/><source dir='/p'/><target dir='t'/></filesystem>"
    ))
    .contains("virtiofs only supports passthrough accessmode"));
    assert!(refusal(&plain_domain(
        "",
        "<filesystem fmode='644'><source dir='/p'/><target dir='t'/></filesystem>"
    ))
    .contains("fmode and dmode must be used with accessmode=mapped"));
    assert!(refusal(&plain_domain(
        "",
        "<filesystem accessmode='mapped'><driver type='handle'/><source dir='/p'/><target dir='t'/></filesystem>"
    ))
    .contains("only supports passthrough accessmode"));
    assert!(refusal(&plain_domain(
        "",
        "<filesystem type='ram'><source usage='1024'/><target dir='t'/></filesystem>"
    ))
    .contains("only supports mount filesystem type"));
    assert!(refusal(&plain_domain(
        "",
        "<filesystem><driver type='loop'/><source dir='/p'/><target dir='t'/></filesystem>"
    ))
    .contains("Filesystem driver type not supported"));
}

#[test]
fn prepare_fills_filesystem_type_and_access_mode() {
    let xml = plain_domain(
        "",
        "<filesystem><source dir='/e'/><target dir='t'/></filesystem>\
         <filesystem><driver type='virtiofs'/><source socket='/run/s.sock'/><target dir='u'/></filesystem>",
    );
    let mut def = virt_xml::Domain::parse(&xml).expect("parses");
    prepare::prepare(&mut def, &QemuCaps::x86_64_7_2()).expect("prepares");
    let out = def.to_xml();
    assert!(
        out.contains("<filesystem type='mount' accessmode='passthrough'>"),
        "{out}"
    );
    // An externally started virtiofsd decides the access mode itself.
    assert!(out.contains("<filesystem type='mount'>\n"), "{out}");
}

/// Whether an `.args` line (option and value) belongs to these families.
fn is_mine(opt: &str, val: &str) -> bool {
    const DRIVERS: &[&str] = &[
        "pc-dimm",
        "nvdimm",
        "virtio-mem-pci",
        "virtio-pmem-pci",
        "virtio-9p-pci",
        "vhost-user-fs-pci",
    ];
    match opt {
        "-fsdev" => true,
        "-chardev" => val.contains("id=chr-vu-fs"),
        "-object" => val.contains("\"id\":\"mem") || val.contains("\"id\":\"tc-mem"),
        "-device" => DRIVERS.iter().any(|d| {
            val.contains(&format!("\"driver\":\"{d}\""))
                || val.contains(&format!("\"driver\":\"{d}-"))
        }),
        _ => false,
    }
}

fn mine_of_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches(" \\").trim();
        let Some((opt, rest)) = line.split_once(' ') else {
            continue;
        };
        if !opt.starts_with('-') {
            continue;
        }
        let val = shell_unquote(rest).unwrap_or_else(|| rest.to_string());
        if is_mine(opt, &val) {
            out.push(format!("{opt} {val}"));
        }
    }
    out
}

/// These families' lines of every `.args` case, compared in order; each `.err` case with a
/// memory device or file system must be refused.
#[test]
fn corpus_family_lines() {
    let dir = virt_testkit::libvirt_data("qemu-argv");
    let caps = QemuCaps::x86_64_7_2();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|n| n.strip_suffix(".xml").map(str::to_string))
        .collect();
    names.sort();
    let (mut same, mut differ, mut refused) = (0usize, Vec::new(), 0usize);
    for name in names {
        let xml = std::fs::read_to_string(dir.join(format!("{name}.xml"))).expect("xml");
        if !xml.contains("<memory model") && !xml.contains("<filesystem") {
            continue;
        }
        let got = virt_xml::Domain::parse(&xml)
            .map_err(|e| e.to_string())
            .and_then(|mut def| {
                let host = HostContext::libvirt_test_case(&def, &name);
                argv::prepare_and_build(&mut def, &caps, &host).map_err(|e| e.to_string())
            });
        let args = dir.join(format!("{name}.x86_64-latest.args"));
        let Ok(want) = std::fs::read_to_string(&args) else {
            if dir.join(format!("{name}.x86_64-latest.err")).exists() {
                match got {
                    Err(_) => refused += 1,
                    Ok(_) => differ.push(format!("{name}: accepted, libvirt refuses it")),
                }
            }
            continue;
        };
        let expected = mine_of_text(&want);
        let got = match got {
            Ok(c) => mine_of_text(&c.to_args_text()),
            Err(e) => vec![format!("refused: {e}")],
        };
        if got == expected {
            same += 1;
        } else {
            differ.push(format!("{name}: want {expected:?}\n got {got:?}"));
        }
    }
    eprintln!(
        "memory and filesystem lines: {same} cases same, {refused} refused as libvirt does, {} differ",
        differ.len()
    );
    assert!(differ.is_empty(), "{differ:#?}");
    assert!(
        same >= FAMILY_FLOOR,
        "{same} cases same (floor {FAMILY_FLOOR})"
    );
}

/// Corpus cases with memory devices or file systems whose lines match libvirt's today.
const FAMILY_FLOOR: usize = 17;

/// A guest with every memory device model and a 9p export, started paused on the real QEMU 7.2
/// with the argv built here: QMP lists each memory device with its id, slot and size, and the
/// 9p device exists. The NVDIMM and virtio-pmem files and the export live in a temporary
/// directory.
#[test]
fn memory_devices_and_9p_start_on_real_qemu() {
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixListener;
    use std::time::Duration;
    use virt_qemu::{LaunchSpec, QemuProcess, Qmp};
    use virt_testkit::{system_test, Facility, TempDir};

    let Some(_t) = system_test(
        "argv_memory_fs_real_qemu",
        &[Facility::Command("qemu-system-x86_64")],
    ) else {
        return;
    };
    let dir = TempDir::new("memfs-real").expect("temp dir");
    let d = dir.path().display().to_string();
    std::fs::create_dir_all(dir.path().join("export")).expect("export dir");
    let xml = format!(
        "<domain type='qemu'><name>memfs</name><uuid>{UUID}</uuid>\
         <maxMemory slots='4' unit='KiB'>4194304</maxMemory>\
         <memory unit='KiB'>786432</memory><vcpu placement='static'>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features>\
         <cpu><numa><cell id='0' cpus='0' memory='262144' unit='KiB'/></numa></cpu>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>\
         <memory model='dimm'><target><size unit='KiB'>131072</size><node>0</node></target></memory>\
         <memory model='nvdimm'><source><path>{d}/nvdimm</path></source>\
         <target><size unit='KiB'>131072</size><node>0</node></target></memory>\
         <memory model='virtio-pmem' access='shared'><source><path>{d}/pmem</path></source>\
         <target><size unit='KiB'>131072</size></target></memory>\
         <memory model='virtio-mem'><target><size unit='KiB'>262144</size><node>0</node>\
         <block unit='KiB'>2048</block><requested unit='KiB'>0</requested></target></memory>\
         <filesystem accessmode='mapped'><source dir='{d}/export'/><target dir='share'/></filesystem>\
         <memballoon model='none'/></devices></domain>"
    );
    let mut def = virt_xml::Domain::parse(&xml).expect("parses");
    let mut host = HostContext::libvirt_test_harness(&def);
    host.state_dir = dir.path().join("lib");
    host.runtime_dir = dir.path().join("run");
    for p in [&host.state_dir, &host.runtime_dir] {
        std::fs::create_dir_all(p).expect("state dirs");
    }
    std::fs::write(host.master_key_path(), [0x5au8; 32]).expect("master key");
    let cmd = argv::prepare_and_build(&mut def, &QemuCaps::x86_64_7_2(), &host).expect("argv");
    let socket = dir.path().join("monitor.sock");
    let listener = UnixListener::bind(&socket).expect("monitor socket");
    let mut argv = vec![cmd.program.display().to_string()];
    argv.extend(cmd.args.iter().cloned());
    let mut spec = LaunchSpec::new(argv, dir.path().join("qemu.log"));
    spec.home = Some(host.state_dir.clone());
    spec.env = cmd
        .env
        .iter()
        .filter(|(k, _)| k != "PATH")
        .cloned()
        .collect();
    spec = spec.pass_fd(OwnedFd::from(listener), 1729);
    let mut proc = QemuProcess::spawn(spec).expect("QEMU starts");
    let qmp = match Qmp::connect(&socket, Duration::from_secs(30)) {
        Ok(q) => q,
        Err(e) => {
            let _ = proc.wait_timeout(Duration::from_millis(300));
            panic!(
                "QMP: {e}; QEMU said: {}",
                virt_qemu::process::log_tail(proc.log_path(), 1500)
            );
        }
    };
    let mems = qmp.execute("query-memory-devices", None);
    let peripheral = qmp.execute(
        "qom-list",
        Some(serde_json::json!({"path": "/machine/peripheral"})),
    );
    let _ = qmp.execute("quit", None);
    let _ = proc.wait_timeout(Duration::from_secs(20));
    let mems = mems.expect("query-memory-devices");
    let found: Vec<(String, String, u64)> = mems
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap_or("").to_string(),
                m["data"]["id"].as_str().unwrap_or("").to_string(),
                m["data"]["size"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let mib = |n: u64| n << 20;
    for want in [
        ("dimm", "dimm0", mib(128)),
        ("nvdimm", "nvdimm1", mib(128)),
        ("virtio-pmem", "virtiopmem0", mib(128)),
    ] {
        assert!(
            found
                .iter()
                .any(|f| (f.0.as_str(), f.1.as_str(), f.2) == want),
            "{want:?} in {found:?}"
        );
    }
    assert!(
        found
            .iter()
            .any(|f| f.0 == "virtio-mem" && f.1 == "virtiomem0"),
        "virtio-mem in {found:?}"
    );
    let names: Vec<String> = peripheral
        .expect("qom-list")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.iter().any(|n| n == "fs0"), "fs0 in {names:?}");
    // The NVDIMM file was made and sized by QEMU.
    let nv = std::fs::metadata(dir.path().join("nvdimm")).expect("nvdimm file");
    assert_eq!(nv.len(), mib(128));
}
