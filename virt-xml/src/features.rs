//! `<features>`: hypervisor features as a typed value ([`Features`]) with its own parser (from the
//! schema-checked element) and its canonical formatter.
//!
//! libvirt writes features in a fixed order (acpi, apic, pae, hap, viridian, privnet, hyperv, kvm,
//! pvspinlock, capabilities, pmu, vmport, gic, smm, ioapic, hpt, vmcoreinfo, htm, nested-hv, msrs,
//! ccf-assist, xen, cfpc, sbbc, ibs, tcg), and a feature given without `state` is on. The
//! platform-specific ones not typed here (capabilities, hpt, msrs, xen, cfpc, sbbc, ibs, tcg) are
//! kept as schema-checked elements in [`Features::other`] and written in their place in that order.

use crate::domain::{attr_parse, invalid_text, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::tree::Element;
use crate::units::KiB;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

/// libvirt's order of `<features>` children.
const ORDER: &[&str] = &[
    "acpi",
    "apic",
    "pae",
    "hap",
    "viridian",
    "privnet",
    "hyperv",
    "kvm",
    "pvspinlock",
    "capabilities",
    "pmu",
    "vmport",
    "gic",
    "smm",
    "ioapic",
    "hpt",
    "vmcoreinfo",
    "htm",
    "nested-hv",
    "msrs",
    "ccf-assist",
    "xen",
    "cfpc",
    "sbbc",
    "ibs",
    "tcg",
];

fn rank(name: &str) -> usize {
    ORDER.iter().position(|n| *n == name).unwrap_or(ORDER.len())
}

str_enum!(
    /// `<hyperv mode>`.
    HypervMode { Custom = "custom", Passthrough = "passthrough" }
);

str_enum!(
    /// `<gic version>`.
    GicVersion { Host = "host", V2 = "2", V3 = "3" }
);

str_enum!(
    /// `<ioapic driver>`.
    IoapicDriver { Qemu = "qemu", Kvm = "kvm" }
);

/// `<apic>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Apic {
    /// `eoi`: paravirtual end-of-interrupt.
    pub eoi: Option<OnOff>,
}

/// `<smm>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smm {
    pub state: OnOff,
    /// `<tseg>`: the extended TSEG size (written in whole MiB).
    pub tseg: Option<KiB>,
}

/// `<hyperv><spinlocks>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spinlocks {
    pub state: OnOff,
    pub retries: Option<u32>,
}

/// `<hyperv><stimer>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stimer {
    pub state: OnOff,
    /// `<direct state>`.
    pub direct: Option<OnOff>,
}

/// `<hyperv><vendor_id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorId {
    pub state: OnOff,
    pub value: Option<String>,
}

/// `<hyperv>`: Hyper-V enlightenments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hyperv {
    pub mode: Option<HypervMode>,
    pub relaxed: Option<OnOff>,
    pub vapic: Option<OnOff>,
    pub spinlocks: Option<Spinlocks>,
    pub vpindex: Option<OnOff>,
    pub runtime: Option<OnOff>,
    pub synic: Option<OnOff>,
    pub stimer: Option<Stimer>,
    pub reset: Option<OnOff>,
    pub vendor_id: Option<VendorId>,
    pub frequencies: Option<OnOff>,
    pub reenlightenment: Option<OnOff>,
    pub tlbflush: Option<OnOff>,
    pub ipi: Option<OnOff>,
    pub evmcs: Option<OnOff>,
    pub avic: Option<OnOff>,
}

/// `<kvm><dirty-ring>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirtyRing {
    pub state: OnOff,
    pub size: Option<u32>,
}

/// `<kvm>`: KVM-specific features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kvm {
    pub hidden: Option<OnOff>,
    pub hint_dedicated: Option<OnOff>,
    pub poll_control: Option<OnOff>,
    pub pv_ipi: Option<OnOff>,
    pub dirty_ring: Option<DirtyRing>,
}

/// `<features>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Features {
    pub acpi: bool,
    pub apic: Option<Apic>,
    pub pae: bool,
    pub hap: Option<OnOff>,
    pub viridian: bool,
    pub privnet: bool,
    pub hyperv: Option<Hyperv>,
    pub kvm: Option<Kvm>,
    pub pvspinlock: Option<OnOff>,
    pub pmu: Option<OnOff>,
    pub vmport: Option<OnOff>,
    /// `<gic>`, with its version if given.
    pub gic: Option<Option<GicVersion>>,
    pub smm: Option<Smm>,
    pub ioapic: Option<IoapicDriver>,
    pub vmcoreinfo: Option<OnOff>,
    pub htm: Option<OnOff>,
    pub nested_hv: Option<OnOff>,
    pub ccf_assist: Option<OnOff>,
    /// Platform-specific features not typed here (capabilities, hpt, msrs, xen, cfpc, sbbc, ibs,
    /// tcg), schema-checked.
    pub other: Vec<Element>,
}

/// A feature's `state`, on when absent.
fn state_or_on(el: &Element) -> Result<OnOff, XmlError> {
    Ok(attr_parse(el, "state")?.unwrap_or(OnOff::On))
}

fn required<T: std::str::FromStr<Err = ValueError>>(
    el: &Element,
    name: &str,
) -> Result<T, XmlError> {
    attr_parse(el, name)?.ok_or_else(|| XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: format!("attribute '{name}'"),
    })
}

impl Hyperv {
    fn from_element(el: &Element) -> Result<Hyperv, XmlError> {
        let mut h = Hyperv {
            mode: attr_parse(el, "mode")?,
            ..Hyperv::default()
        };
        for c in el.elements() {
            let st = || required::<OnOff>(c, "state");
            match c.name.as_str() {
                "relaxed" => h.relaxed = Some(st()?),
                "vapic" => h.vapic = Some(st()?),
                "spinlocks" => {
                    h.spinlocks = Some(Spinlocks {
                        state: st()?,
                        retries: num_attr(c, "retries")?,
                    })
                }
                "vpindex" => h.vpindex = Some(st()?),
                "runtime" => h.runtime = Some(st()?),
                "synic" => h.synic = Some(st()?),
                "stimer" => {
                    h.stimer = Some(Stimer {
                        state: st()?,
                        direct: match c.child("direct") {
                            Some(d) => Some(required(d, "state")?),
                            None => None,
                        },
                    })
                }
                "reset" => h.reset = Some(st()?),
                "vendor_id" => {
                    h.vendor_id = Some(VendorId {
                        state: st()?,
                        value: c.attr("value").map(str::to_string),
                    })
                }
                "frequencies" => h.frequencies = Some(st()?),
                "reenlightenment" => h.reenlightenment = Some(st()?),
                "tlbflush" => h.tlbflush = Some(st()?),
                "ipi" => h.ipi = Some(st()?),
                "evmcs" => h.evmcs = Some(st()?),
                "avic" => h.avic = Some(st()?),
                _ => return Err(unknown(c, "hyperv")),
            }
        }
        Ok(h)
    }

    fn write(&self, w: &mut Writer) {
        let onoff = |w: &mut Writer, name: &str, v: Option<OnOff>| {
            if let Some(s) = v {
                w.empty(Tag::new(name).attr("state", s));
            }
        };
        // libvirt writes <hyperv> open and closed even when it holds nothing.
        let mut inner = Writer::with_depth(w.depth() + 1);
        {
            let w = &mut inner;
            onoff(w, "relaxed", self.relaxed);
            onoff(w, "vapic", self.vapic);
            if let Some(s) = self.spinlocks {
                w.empty(
                    Tag::new("spinlocks")
                        .attr("state", s.state)
                        .opt_attr("retries", s.retries.filter(|_| s.state == OnOff::On)),
                );
            }
            onoff(w, "vpindex", self.vpindex);
            onoff(w, "runtime", self.runtime);
            onoff(w, "synic", self.synic);
            if let Some(s) = self.stimer {
                let tag = Tag::new("stimer").attr("state", s.state);
                match s.direct {
                    Some(d) => w.element(tag, |w| {
                        w.empty(Tag::new("direct").attr("state", d));
                    }),
                    None => w.empty(tag),
                }
            }
            onoff(w, "reset", self.reset);
            if let Some(v) = &self.vendor_id {
                w.empty(
                    Tag::new("vendor_id")
                        .attr("state", v.state)
                        .opt_attr("value", v.value.as_deref().filter(|_| v.state == OnOff::On)),
                );
            }
            onoff(w, "frequencies", self.frequencies);
            onoff(w, "reenlightenment", self.reenlightenment);
            onoff(w, "tlbflush", self.tlbflush);
            onoff(w, "ipi", self.ipi);
            onoff(w, "evmcs", self.evmcs);
            onoff(w, "avic", self.avic);
        }
        let pad = "  ".repeat(w.depth());
        let mode = self
            .mode
            .map(|m| format!(" mode='{m}'"))
            .unwrap_or_default();
        w.raw(&format!(
            "{pad}<hyperv{mode}>\n{}{pad}</hyperv>\n",
            inner.finish()
        ));
    }
}

impl Kvm {
    fn from_element(el: &Element) -> Result<Kvm, XmlError> {
        let mut k = Kvm::default();
        for c in el.elements() {
            let st = || required::<OnOff>(c, "state");
            match c.name.as_str() {
                "hidden" => k.hidden = Some(st()?),
                "hint-dedicated" => k.hint_dedicated = Some(st()?),
                "poll-control" => k.poll_control = Some(st()?),
                "pv-ipi" => k.pv_ipi = Some(st()?),
                "dirty-ring" => {
                    k.dirty_ring = Some(DirtyRing {
                        state: st()?,
                        size: num_attr(c, "size")?,
                    })
                }
                _ => return Err(unknown(c, "kvm")),
            }
        }
        Ok(k)
    }

    fn write(&self, w: &mut Writer) {
        // Like <hyperv>, libvirt writes <kvm> open and closed even when it holds nothing.
        let mut inner = Writer::with_depth(w.depth() + 1);
        for (name, v) in [
            ("hidden", self.hidden),
            ("hint-dedicated", self.hint_dedicated),
            ("poll-control", self.poll_control),
            ("pv-ipi", self.pv_ipi),
        ] {
            if let Some(s) = v {
                inner.empty(Tag::new(name).attr("state", s));
            }
        }
        if let Some(d) = self.dirty_ring {
            inner.empty(
                Tag::new("dirty-ring")
                    .attr("state", d.state)
                    .opt_attr("size", d.size.filter(|_| d.state == OnOff::On)),
            );
        }
        let pad = "  ".repeat(w.depth());
        w.raw(&format!("{pad}<kvm>\n{}{pad}</kvm>\n", inner.finish()));
    }
}

fn unknown(el: &Element, parent: &str) -> XmlError {
    XmlError::UnknownElement {
        pos: el.pos,
        parent: parent.into(),
        element: el.name.clone(),
    }
}

impl Features {
    /// Parses a schema-checked `<features>` element.
    pub fn from_element(el: &Element) -> Result<Features, XmlError> {
        let mut f = Features::default();
        for c in el.elements() {
            match c.name.as_str() {
                "acpi" => f.acpi = true,
                "apic" => {
                    f.apic = Some(Apic {
                        eoi: attr_parse(c, "eoi")?,
                    })
                }
                "pae" => f.pae = true,
                "hap" => f.hap = Some(state_or_on(c)?),
                "viridian" => f.viridian = true,
                "privnet" => f.privnet = true,
                "hyperv" => f.hyperv = Some(Hyperv::from_element(c)?),
                "kvm" => f.kvm = Some(Kvm::from_element(c)?),
                "pvspinlock" => f.pvspinlock = Some(state_or_on(c)?),
                "pmu" => f.pmu = Some(state_or_on(c)?),
                "vmport" => f.vmport = Some(state_or_on(c)?),
                "gic" => f.gic = Some(attr_parse(c, "version")?),
                "smm" => {
                    let tseg = match c.child("tseg") {
                        None => None,
                        Some(t) => Some(tseg_of(t)?),
                    };
                    f.smm = Some(Smm {
                        state: state_or_on(c)?,
                        tseg,
                    })
                }
                "ioapic" => f.ioapic = Some(required(c, "driver")?),
                "vmcoreinfo" => f.vmcoreinfo = Some(state_or_on(c)?),
                "htm" => f.htm = Some(state_or_on(c)?),
                "nested-hv" => f.nested_hv = Some(state_or_on(c)?),
                "ccf-assist" => f.ccf_assist = Some(state_or_on(c)?),
                name if rank(name) < ORDER.len() => f.other.push(c.clone()),
                _ => return Err(unknown(c, "features")),
            }
        }
        Ok(f)
    }

    /// Writes `<features>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let mut parts: Vec<(usize, String)> = Vec::new();
        let depth = w.depth() + 1;
        let mut part = |name: &str, f: &dyn Fn(&mut Writer)| {
            let mut pw = Writer::with_depth(depth);
            f(&mut pw);
            parts.push((rank(name), pw.finish()));
        };
        let flag = |name: &'static str| move |w: &mut Writer| w.empty(Tag::new(name));
        let state = |name: &'static str, s: OnOff| {
            move |w: &mut Writer| w.empty(Tag::new(name).attr("state", s))
        };
        if self.acpi {
            part("acpi", &flag("acpi"));
        }
        if let Some(a) = self.apic {
            part("apic", &|w| {
                w.empty(Tag::new("apic").opt_attr("eoi", a.eoi))
            });
        }
        if self.pae {
            part("pae", &flag("pae"));
        }
        if self.viridian {
            part("viridian", &flag("viridian"));
        }
        if self.privnet {
            part("privnet", &flag("privnet"));
        }
        if let Some(h) = &self.hyperv {
            part("hyperv", &|w| h.write(w));
        }
        if let Some(k) = &self.kvm {
            part("kvm", &|w| k.write(w));
        }
        for (name, v) in [
            ("hap", self.hap),
            ("pvspinlock", self.pvspinlock),
            ("pmu", self.pmu),
            ("vmport", self.vmport),
            ("vmcoreinfo", self.vmcoreinfo),
            ("htm", self.htm),
            ("nested-hv", self.nested_hv),
            ("ccf-assist", self.ccf_assist),
        ] {
            if let Some(s) = v {
                part(name, &state(name, s));
            }
        }
        if let Some(g) = self.gic {
            part("gic", &|w| w.empty(Tag::new("gic").opt_attr("version", g)));
        }
        if let Some(s) = self.smm {
            part("smm", &|w| {
                let tag = Tag::new("smm").attr("state", s.state);
                match s.tseg.filter(|_| s.state == OnOff::On) {
                    Some(t) => w.element(tag, |w| {
                        w.leaf(
                            Tag::new("tseg").attr("unit", "MiB"),
                            &(t.0 / 1024).to_string(),
                        )
                    }),
                    None => w.empty(tag),
                }
            });
        }
        if let Some(d) = self.ioapic {
            part("ioapic", &|w| w.empty(Tag::new("ioapic").attr("driver", d)));
        }
        for o in &self.other {
            part(&o.name, &|w| w.tree(o));
        }
        parts.sort_by_key(|(r, _)| *r);
        w.element(Tag::new("features"), |w| {
            for (_, p) in parts {
                w.raw(&p);
            }
        });
    }
}

/// `<tseg>`: a scaled size whose default unit is MiB.
fn tseg_of(t: &Element) -> Result<KiB, XmlError> {
    let unit = t.attr("unit").unwrap_or("MiB");
    KiB::from_scaled(&t.text(), Some(unit)).map_err(|e| {
        if e.kind == "unit" {
            crate::domain::invalid_value(t, "unit", e)
        } else {
            invalid_text(t, e)
        }
    })
}
