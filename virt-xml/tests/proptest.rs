//! For generated domain values, parse(format(d)) == d.

use proptest::prelude::*;
use virt_xml::clock::{
    Catchup, Clock, ClockBasis, ClockOffset, TickPolicy, Timer, TimerMode, TimerName, TimerTrack,
};
use virt_xml::cpu::{
    AccessType, CacheAssociativity, CacheMode, CachePolicy, Cpu, CpuCache, CpuCheck, CpuFeature,
    CpuMatch, CpuMode, CpuModel, FeaturePolicy, Interconnect, MaxPhysAddr, MemAccess,
    ModelFallback, Numa, NumaCache, NumaCell, PhysAddrMode, Sibling, Sized, Topology,
};
use virt_xml::domain::{CrashAction, LifecycleAction, Memory, OnOff, Placement, Vcpu};
use virt_xml::features::{
    Apic, DirtyRing, Features, GicVersion, Hyperv, HypervMode, IoapicDriver, Kvm, Smm, Spinlocks,
    Stimer, VendorId,
};
use virt_xml::os::{
    Bios, BootDev, BootMenu, FirmwareFeature, FirmwareFeatureName, FirmwareKind, Loader,
    LoaderType, Nvram, OsDef, OsType, SmbiosMode,
};
use virt_xml::tree::parse;
use virt_xml::{Device, Domain, DomainType, KiB, MacAddr, Uuid};

fn nic(mut mac: [u8; 6], bridge: String, slot: u8) -> Device {
    mac[0] &= 0xfe; // guest MACs are unicast; the schema refuses multicast ones
    let xml = format!(
        "<interface type='bridge'><mac address='{}'/><source bridge='{bridge}'/>\
         <address type='pci' domain='0x0000' bus='0x00' slot='0x{slot:02x}' function='0x0'/></interface>",
        MacAddr(mac)
    );
    Device::from_element(&parse(&xml).expect("nic")).expect("typed nic")
}

fn path() -> impl Strategy<Value = String> {
    "/[a-zA-Z0-9_./-]{1,20}"
}

fn os() -> impl Strategy<Value = OsDef> {
    (
        (
            prop::option::of(prop::sample::select(FirmwareKind::ALL)),
            prop::sample::select(&["x86_64", "i686", "aarch64", "ppc64le", "s390x"][..]),
            prop::option::of("[a-z0-9_.-]{1,12}"),
            prop::collection::vec(
                (
                    prop::sample::select(FirmwareFeatureName::ALL),
                    any::<bool>(),
                ),
                0..3,
            ),
            prop::option::of((
                prop::option::of(path()),
                prop::option::of(any::<bool>()),
                prop::option::of(any::<bool>()),
                prop::option::of(prop::sample::select(LoaderType::ALL)),
                prop::option::of(any::<bool>()),
            )),
            prop::option::of((prop::option::of(path()), prop::option::of(path()))),
        ),
        (
            prop::option::of((
                path(),
                prop::option::of(path()),
                prop::option::of("[ -~]{1,30}"),
            )),
            prop::option::of(path()),
            prop::collection::vec(path(), 0..2),
            prop::collection::vec(prop::sample::select(BootDev::ALL), 1..4),
            prop::option::of((any::<bool>(), prop::option::of(any::<u16>()))),
            prop::option::of(prop::sample::select(SmbiosMode::ALL)),
            prop::option::of((any::<bool>(), -1i16..=i16::MAX)),
        ),
    )
        .prop_map(
            |(
                (firmware, arch, machine, fw, loader, nvram),
                (kernel, dtb, acpi, boot, menu, smbios, bios),
            )| {
                let mut o = OsDef::new(OsType::Hvm);
                o.firmware = firmware;
                o.arch = Some(arch.to_string());
                o.machine = machine;
                o.firmware_features = fw
                    .into_iter()
                    .map(|(name, enabled)| FirmwareFeature { name, enabled })
                    .collect();
                o.loader = loader.map(|(path, readonly, secure, kind, stateless)| Loader {
                    path,
                    readonly,
                    secure,
                    kind,
                    stateless,
                });
                o.nvram = nvram.map(|(template, path)| Nvram {
                    template,
                    path,
                    kind: None,
                    source: None,
                });
                if let Some((k, initrd, cmdline)) = kernel {
                    o.kernel = Some(k);
                    o.initrd = initrd;
                    o.cmdline = cmdline;
                }
                o.dtb = dtb;
                o.acpi_tables = acpi;
                o.boot = boot;
                o.bootmenu = menu.map(|(enable, timeout)| BootMenu { enable, timeout });
                o.smbios = smbios;
                o.bios = bios.map(|(serial, rt)| Bios {
                    useserial: Some(serial),
                    reboot_timeout: Some(rt),
                });
                o
            },
        )
}

/// A value libvirt writes only while its feature is on.
fn on<T>(s: OnOff, v: Option<T>) -> Option<T> {
    v.filter(|_| s == OnOff::On)
}

fn onoff() -> impl Strategy<Value = Option<OnOff>> {
    prop::option::of(prop::sample::select(OnOff::ALL))
}

fn features() -> impl Strategy<Value = Option<Features>> {
    (
        (
            any::<[bool; 4]>(),
            prop::option::of(onoff()),
            onoff(),
            onoff(),
            onoff(),
            prop::option::of(prop::option::of(prop::sample::select(GicVersion::ALL))),
            prop::option::of((prop::sample::select(OnOff::ALL), prop::option::of(1u64..64))),
            prop::option::of(prop::sample::select(IoapicDriver::ALL)),
            onoff(),
        ),
        (
            prop::option::of((
                prop::option::of(prop::sample::select(HypervMode::ALL)),
                [onoff(), onoff(), onoff(), onoff()],
                prop::option::of((prop::sample::select(OnOff::ALL), 4095u32..100_000)),
                prop::option::of((prop::sample::select(OnOff::ALL), onoff())),
                prop::option::of((prop::sample::select(OnOff::ALL), "[a-zA-Z0-9]{1,12}")),
            )),
            prop::option::of((
                [onoff(), onoff(), onoff(), onoff()],
                prop::option::of((prop::sample::select(OnOff::ALL), 1024u32..65536)),
            )),
        ),
    )
        .prop_map(
            |(
                ([acpi, pae, viridian, privnet], apic, hap, pmu, vmport, gic, smm, ioapic, vmci),
                (hv, kvm),
            )| {
                let f = Features {
                    acpi,
                    apic: apic.map(|eoi| Apic { eoi }),
                    pae,
                    hap,
                    viridian,
                    privnet,
                    hyperv: hv.map(
                        |(mode, [relaxed, vapic, ipi, evmcs], spin, stimer, vendor)| Hyperv {
                            mode,
                            relaxed,
                            vapic,
                            ipi,
                            evmcs,
                            spinlocks: spin.map(|(state, r)| Spinlocks {
                                state,
                                retries: on(state, Some(r)),
                            }),
                            stimer: stimer.map(|(state, direct)| Stimer { state, direct }),
                            vendor_id: vendor.map(|(state, v)| VendorId {
                                state,
                                value: on(state, Some(v)),
                            }),
                            ..Hyperv::default()
                        },
                    ),
                    kvm: kvm.map(
                        |([hidden, hint_dedicated, poll_control, pv_ipi], ring)| Kvm {
                            hidden,
                            hint_dedicated,
                            poll_control,
                            pv_ipi,
                            dirty_ring: ring.map(|(state, size)| DirtyRing {
                                state,
                                size: on(state, Some(size)),
                            }),
                        },
                    ),
                    pmu,
                    vmport,
                    gic,
                    smm: smm.map(|(state, mib)| Smm {
                        state,
                        tseg: on(state, mib.map(|m| KiB(m * 1024))),
                    }),
                    ioapic,
                    vmcoreinfo: vmci,
                    ..Features::default()
                };
                Some(f).filter(|f| *f != Features::default())
            },
        )
}

fn timer() -> impl Strategy<Value = Timer> {
    (
        prop::sample::select(TimerName::ALL),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::sample::select(TickPolicy::ALL)),
        prop::option::of(prop::sample::select(TimerTrack::ALL)),
        prop::option::of(1u64..4_000_000_000),
        prop::option::of(prop::sample::select(TimerMode::ALL)),
        prop::option::of((
            prop::option::of(1u64..1000),
            prop::option::of(1u64..1000),
            prop::option::of(1u64..1000),
        )),
    )
        .prop_map(|(name, present, tick, track, freq, mode, catchup)| {
            let mut t = Timer::new(name);
            t.present = present;
            if !matches!(name, TimerName::Kvmclock | TimerName::Hypervclock) {
                t.tickpolicy = tick;
            }
            if matches!(name, TimerName::Platform | TimerName::Rtc) {
                t.track = track;
            }
            if name == TimerName::Tsc {
                t.frequency = freq;
                t.mode = mode;
            }
            if t.tickpolicy == Some(TickPolicy::Catchup) {
                t.catchup = catchup
                    .map(|(threshold, slew, limit)| Catchup {
                        threshold,
                        slew,
                        limit,
                    })
                    .filter(|c| *c != Catchup::default());
            }
            t
        })
}

fn clock() -> impl Strategy<Value = Clock> {
    let offset = prop_oneof![
        any::<bool>().prop_map(|reset| ClockOffset::Utc { reset }),
        any::<bool>().prop_map(|reset| ClockOffset::Localtime { reset }),
        prop::option::of("[A-Za-z]{1,8}/[A-Za-z_]{1,8}").prop_map(ClockOffset::Timezone),
        (any::<i64>(), prop::sample::select(ClockBasis::ALL))
            .prop_map(|(adjustment, basis)| ClockOffset::Variable { adjustment, basis }),
        any::<u64>().prop_map(|start| ClockOffset::Absolute { start }),
    ];
    (offset, prop::collection::vec(timer(), 0..4))
        .prop_map(|(offset, timers)| Clock { offset, timers })
}

fn numa() -> impl Strategy<Value = Numa> {
    let cell = (
        prop::option::of(0u32..8),
        prop::option::of((0u32..8, 0u32..8).prop_map(|(a, b)| format!("{a}-{}", a + b))),
        1u64..1 << 30,
        prop::sample::select(MemAccess::ALL).prop_map(Some),
        prop::option::of(any::<bool>()),
        prop::collection::vec((0u32..8, 10u32..255), 0..3),
        prop::collection::vec(
            (
                1u32..4,
                prop::sample::select(CacheAssociativity::ALL),
                prop::sample::select(CachePolicy::ALL),
                1u64..1 << 20,
                1u64..256,
            ),
            0..2,
        ),
    )
        .prop_map(
            |(id, cpus, memory, mem_access, discard, dist, caches)| NumaCell {
                id,
                cpus,
                memory: KiB(memory),
                mem_access,
                discard,
                distances: dist
                    .into_iter()
                    .map(|(id, value)| Sibling { id, value })
                    .collect(),
                caches: caches
                    .into_iter()
                    .map(|(level, associativity, policy, size, line)| NumaCache {
                        level,
                        associativity,
                        policy,
                        size: Sized {
                            value: size,
                            unit: Some("KiB".into()),
                        },
                        line: Sized {
                            value: line,
                            unit: Some("B".into()),
                        },
                    })
                    .collect(),
            },
        );
    let ic = (
        0u32..4,
        0u32..4,
        prop::option::of(1u32..4),
        prop::sample::select(AccessType::ALL),
        1u64..100_000,
    );
    (
        prop::collection::vec(cell, 1..3),
        prop::collection::vec(ic.clone(), 0..2),
        prop::collection::vec(ic, 0..2),
    )
        .prop_map(|(cells, lat, bw)| {
            let mk = |unit: Option<&'static str>| {
                move |(initiator, target, cache, kind, value)| Interconnect {
                    initiator,
                    target,
                    cache,
                    kind,
                    value,
                    unit: unit.map(str::to_string),
                }
            };
            Numa {
                cells,
                latencies: lat.into_iter().map(mk(None)).collect(),
                bandwidths: bw.into_iter().map(mk(Some("KiB"))).collect(),
            }
        })
}

fn cpu() -> impl Strategy<Value = Cpu> {
    (
        (
            prop::option::of(prop::sample::select(CpuMode::ALL)),
            prop::option::of(prop::sample::select(CpuMatch::ALL)),
            prop::option::of(prop::sample::select(CpuCheck::ALL)),
            onoff(),
            prop::option::of((
                prop::option::of("[A-Za-z0-9-]{1,12}"),
                prop::option::of(prop::sample::select(ModelFallback::ALL)),
                prop::option::of("[A-Za-z0-9]{12}"),
            )),
            prop::option::of("[A-Za-z]{1,12}"),
        ),
        (
            prop::option::of((1u32..8, 1u32..4, 1u32..8, 1u32..4)),
            prop::option::of((
                prop::option::of(1u8..=3),
                prop::sample::select(CacheMode::ALL),
            )),
            prop::option::of((
                prop::sample::select(PhysAddrMode::ALL),
                prop::option::of(32u32..52),
            )),
            prop::collection::vec(
                (
                    prop::sample::select(FeaturePolicy::ALL),
                    "[a-z0-9_.-]{1,10}",
                ),
                0..4,
            ),
            prop::option::of(numa()),
        ),
    )
        .prop_map(
            |(
                (mode, match_, check, migratable, model, vendor),
                (topology, cache, phys, features, numa),
            )| Cpu {
                mode,
                match_,
                check,
                migratable,
                model: model.map(|(name, fallback, vendor_id)| CpuModel {
                    name,
                    fallback,
                    vendor_id,
                }),
                vendor,
                topology: topology.map(|(sockets, dies, cores, threads)| Topology {
                    sockets,
                    dies,
                    cores,
                    threads,
                }),
                cache: cache.map(|(level, mode)| CpuCache { level, mode }),
                maxphysaddr: phys.map(|(mode, bits)| MaxPhysAddr { mode, bits }),
                features: features
                    .into_iter()
                    .map(|(policy, name)| CpuFeature { policy, name })
                    .collect(),
                numa,
            },
        )
}

fn domain() -> impl Strategy<Value = Domain> {
    (
        (
            prop::sample::select(DomainType::ALL),
            prop::option::of(1i32..10_000),
            "[a-zA-Z0-9_][a-zA-Z0-9_.&<'\"-]{0,20}",
            prop::option::of(any::<[u8; 16]>()),
            prop::option::of("[ -~]{1,30}"),
        ),
        (
            prop::option::of((
                1u64..1 << 40,
                prop::option::of(prop::sample::select(OnOff::ALL)),
            )),
            prop::option::of((
                1u32..512,
                prop::sample::select(Placement::ALL),
                prop::option::of(1u32..512),
            )),
            prop::option::of(prop::sample::select(CrashAction::ALL)),
            prop::option::of(prop::sample::select(LifecycleAction::ALL)),
            prop::collection::vec((any::<[u8; 6]>(), "br[0-9]{1,3}", 1u8..0x1f), 0..4),
        ),
        (
            prop::option::of(os()),
            features(),
            prop::option::of(clock()),
            prop::option::of(cpu()),
        ),
    )
        .prop_map(
            |(
                (ty, id, name, uuid, title),
                (mem, vcpu, crash, reboot, nics),
                (os, features, clock, cpu),
            )| {
                let mut d = Domain::new(ty, name);
                d.id = id;
                d.uuid = uuid.map(Uuid);
                d.title = title;
                d.memory = mem.map(|(kib, dump_core)| Memory {
                    size: KiB(kib),
                    dump_core,
                });
                d.current_memory = mem.map(|(kib, _)| KiB(kib / 2));
                d.vcpu = vcpu.map(|(count, placement, current)| Vcpu {
                    count,
                    placement,
                    cpuset: None,
                    current,
                });
                d.on_crash = crash;
                d.on_reboot = reboot;
                d.has_devices = !nics.is_empty();
                d.devices = nics.into_iter().map(|(m, b, s)| nic(m, b, s)).collect();
                d.features = features;
                d.clock = clock;
                d.cpu = cpu;
                if os.is_some() {
                    // With <os>, libvirt fills in a clock and the lifecycle actions.
                    d.clock.get_or_insert(Clock {
                        offset: ClockOffset::Utc { reset: false },
                        timers: Vec::new(),
                    });
                    d.on_poweroff.get_or_insert(LifecycleAction::Destroy);
                    d.on_reboot.get_or_insert(LifecycleAction::Restart);
                    d.on_crash.get_or_insert(CrashAction::Destroy);
                }
                d.os_def = os;
                d
            },
        )
}

/// Positions are where the parser found things, so compare without them.
fn strip(d: Domain) -> Domain {
    fn clear(e: &mut virt_xml::tree::Element) {
        e.pos = Default::default();
        for a in &mut e.attrs {
            a.pos = Default::default();
        }
        e.children
            .retain(|n| !matches!(n, virt_xml::tree::Node::Text(t) if t.trim().is_empty()));
        for c in &mut e.children {
            if let virt_xml::tree::Node::Element(c) = c {
                clear(c);
            }
        }
    }
    // Devices and sections are typed values without positions; only foreign metadata keeps
    // elements, and it compares by its written text.
    let _ = clear;
    d
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parse_of_format_is_identity(d in domain()) {
        let xml = d.to_xml();
        let back = Domain::parse(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(strip(back), strip(d), "{}", xml);
    }

    #[test]
    fn format_is_a_fixed_point(d in domain()) {
        let xml = d.to_xml();
        let again = Domain::parse(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?.to_xml();
        prop_assert_eq!(again, xml);
    }
}

fn seed() -> &'static str {
    static SEED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let path = virt_testkit::libvirt_data("domain-canonical")
            .join("q35-virt-manager-basic.x86_64-latest.xml");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary text never panics the parser.
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = Domain::parse(&s);
    }

    /// Mutated real documents never panic; what is accepted formats to a fixed point.
    #[test]
    fn mutated_documents_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, "[<>/='a-z0-9 ]{0,3}"), 1..6)) {
        let mut doc = seed().to_string();
        for (at, kind, text) in edits {
            let mut i = at.index(doc.len().max(1));
            while i > 0 && !doc.is_char_boundary(i) {
                i -= 1;
            }
            match kind {
                0 => doc.insert_str(i, &text),
                1 => {
                    let mut j = (i + text.len() + 1).min(doc.len());
                    while j < doc.len() && !doc.is_char_boundary(j) {
                        j += 1;
                    }
                    doc.replace_range(i..j, "");
                }
                2 => doc.replace_range(i..i, "'"),
                _ => doc.truncate(i),
            }
        }
        if let Ok(d) = Domain::parse(&doc) {
            let xml = d.to_xml();
            let again = Domain::parse(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
            prop_assert_eq!(again.to_xml(), xml);
        }
    }
}

fn address() -> impl Strategy<Value = virt_xml::address::Address> {
    use virt_xml::address::{Address, Zpci};
    let o = || prop::option::of(0u32..0xffff);
    prop_oneof![
        (
            any::<(u16, u8, u8, u8)>(),
            prop::option::of(any::<bool>()),
            prop::option::of((o(), o()))
        )
            .prop_map(|((dom, bus, slot, f), multifunction, zpci)| Address::Pci {
                addr: virt_xml::PciAddr {
                    domain: dom.into(),
                    bus,
                    slot: slot & 0x1f,
                    function: f & 7,
                },
                multifunction,
                zpci: zpci.map(|(uid, fid)| Zpci { uid, fid }),
            }),
        (o(), o(), o(), o()).prop_map(|(controller, bus, target, unit)| Address::Drive {
            controller,
            bus,
            target,
            unit
        }),
        (o(), o(), o()).prop_map(|(controller, bus, port)| Address::VirtioSerial {
            controller,
            bus,
            port
        }),
        (o(), o()).prop_map(|(controller, slot)| Address::Ccid { controller, slot }),
        (o(), prop::option::of("[1-9](\\.[1-9]){0,3}"))
            .prop_map(|(bus, port)| Address::Usb { bus, port }),
        prop::option::of(any::<u32>()).prop_map(|r| Address::SpaprVio {
            reg: r.map(u64::from)
        }),
        (o(), o(), o()).prop_map(|(cssid, ssid, devno)| Address::Ccw { cssid, ssid, devno }),
        (o(), o()).prop_map(|(iobase, irq)| Address::Isa { iobase, irq }),
        Just(Address::VirtioMmio),
        (o(), prop::option::of(any::<u64>())).prop_map(|(slot, base)| Address::Dimm { slot, base }),
        Just(Address::Unassigned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    /// A typed address formats to XML that parses back to the same address.
    #[test]
    fn address_parse_of_format_is_identity(a in address()) {
        let mut w = virt_xml::writer::Writer::new();
        a.write(&mut w);
        let xml = w.finish();
        let el = parse(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        let back = virt_xml::address::Address::from_element(&el)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(back, a, "{}", xml);
    }
}
