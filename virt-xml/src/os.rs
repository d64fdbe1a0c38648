//! `<os>`: how the guest boots, as a typed value ([`OsDef`]) with its own parser (from the
//! schema-checked, normalised element) and its canonical formatter (libvirt 9.0's child order:
//! type, firmware features, container init, loader, nvram, direct kernel boot, ACPI tables, boot
//! devices, boot menu, BIOS, SMBIOS).
//!
//! The one part kept as an element is the nvram's `<source>`, which is libvirt's disk-source
//! structure (file, block, network with hosts, auth, TLS, ...) shared with `<disk>` devices.

use crate::domain::{attr_parse, invalid_text, num_attr, str_enum};
use crate::error::XmlError;
use crate::tree::Element;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<os firmware>`: firmware chosen automatically by kind.
    FirmwareKind { Bios = "bios", Efi = "efi" }
);

str_enum!(
    /// `<type>`: the guest ABI.
    OsType { Hvm = "hvm", Xen = "xen", Linux = "linux", Xenpvh = "xenpvh", Exe = "exe" }
);

str_enum!(
    /// `<firmware><feature name>`.
    FirmwareFeatureName { EnrolledKeys = "enrolled-keys", SecureBoot = "secure-boot" }
);

str_enum!(
    /// `<loader type>`.
    LoaderType { Rom = "rom", Pflash = "pflash" }
);

str_enum!(
    /// The `type` of a disk-style source (here: `<nvram type>`).
    SourceType {
        File = "file", Block = "block", Dir = "dir", Network = "network", Volume = "volume",
        Nvme = "nvme", Vhostuser = "vhostuser",
    }
);

str_enum!(
    /// `<boot dev>`.
    BootDev { Hd = "hd", Fd = "fd", Cdrom = "cdrom", Network = "network" }
);

str_enum!(
    /// `<smbios mode>`.
    SmbiosMode { Emulate = "emulate", Host = "host", Sysinfo = "sysinfo" }
);

str_enum!(
    /// libvirt's `yes` / `no`.
    YesNo { Yes = "yes", No = "no" }
);

impl From<bool> for YesNo {
    fn from(b: bool) -> Self {
        if b {
            YesNo::Yes
        } else {
            YesNo::No
        }
    }
}

impl From<YesNo> for bool {
    fn from(v: YesNo) -> Self {
        v == YesNo::Yes
    }
}

/// `<firmware><feature enabled name/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirmwareFeature {
    pub name: FirmwareFeatureName,
    pub enabled: bool,
}

/// `<loader>`: the firmware image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loader {
    pub path: Option<String>,
    pub readonly: Option<bool>,
    pub secure: Option<bool>,
    pub kind: Option<LoaderType>,
    pub stateless: Option<bool>,
}

/// `<nvram>`: the firmware variable store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nvram {
    /// `template`: the variable store it is created from.
    pub template: Option<String>,
    /// The store as a plain path (`<nvram>PATH</nvram>`).
    pub path: Option<String>,
    /// `type`, with `source`: the store as a disk-style source.
    pub kind: Option<SourceType>,
    /// `<source>` (libvirt's disk-source structure, schema-checked).
    pub source: Option<Element>,
}

/// `<bootmenu>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootMenu {
    pub enable: bool,
    /// Milliseconds.
    pub timeout: Option<u16>,
}

/// `<bios>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bios {
    pub useserial: Option<bool>,
    /// Milliseconds; -1 disables the reboot on a failed boot.
    pub reboot_timeout: Option<i16>,
}

/// `<initenv name>VALUE</initenv>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitEnv {
    pub name: String,
    pub value: String,
}

/// `<os>`: every element and attribute libvirt 9.0 knows there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsDef {
    pub firmware: Option<FirmwareKind>,
    pub os_type: OsType,
    /// `<type arch>` (one of the schema's architecture names).
    pub arch: Option<String>,
    /// `<type machine>`.
    pub machine: Option<String>,
    /// `<firmware>` features, in order.
    pub firmware_features: Vec<FirmwareFeature>,
    /// Container init (`exe`): `<init>`, `<initarg>`, `<initenv>`, `<initdir>`, `<inituser>`,
    /// `<initgroup>`.
    pub init: Option<String>,
    pub init_args: Vec<String>,
    pub init_env: Vec<InitEnv>,
    pub init_dir: Option<String>,
    pub init_user: Option<String>,
    pub init_group: Option<String>,
    pub loader: Option<Loader>,
    pub nvram: Option<Nvram>,
    pub kernel: Option<String>,
    pub initrd: Option<String>,
    pub cmdline: Option<String>,
    pub dtb: Option<String>,
    pub root: Option<String>,
    /// `<acpi><table type='slic'>` paths.
    pub acpi_tables: Vec<String>,
    pub boot: Vec<BootDev>,
    pub bootmenu: Option<BootMenu>,
    pub smbios: Option<SmbiosMode>,
    pub bios: Option<Bios>,
}

impl OsDef {
    /// An `<os>` of this type with nothing else set.
    pub fn new(os_type: OsType) -> Self {
        OsDef {
            firmware: None,
            os_type,
            arch: None,
            machine: None,
            firmware_features: Vec::new(),
            init: None,
            init_args: Vec::new(),
            init_env: Vec::new(),
            init_dir: None,
            init_user: None,
            init_group: None,
            loader: None,
            nvram: None,
            kernel: None,
            initrd: None,
            cmdline: None,
            dtb: None,
            root: None,
            acpi_tables: Vec::new(),
            boot: Vec::new(),
            bootmenu: None,
            smbios: None,
            bios: None,
        }
    }

    /// Parses a schema-checked `<os>` element.
    pub fn from_element(os: &Element) -> Result<OsDef, XmlError> {
        let ty = os.child("type").ok_or_else(|| XmlError::Missing {
            pos: os.pos,
            element: "os".into(),
            what: "element <type>".into(),
        })?;
        let os_type: OsType = ty.text().trim().parse().map_err(|e| invalid_text(ty, e))?;
        let mut d = OsDef::new(os_type);
        d.firmware = attr_parse(os, "firmware")?;
        d.arch = ty.attr("arch").map(str::to_string);
        d.machine = ty.attr("machine").map(str::to_string);
        let text = |name: &str| os.child(name).map(Element::text);
        if let Some(fw) = os.child("firmware") {
            for f in fw.children_named("feature") {
                d.firmware_features.push(FirmwareFeature {
                    name: required(f, "name")?,
                    enabled: required::<YesNo>(f, "enabled")?.into(),
                });
            }
        }
        d.init = text("init");
        d.init_args = os.children_named("initarg").map(Element::text).collect();
        for e in os.children_named("initenv") {
            d.init_env.push(InitEnv {
                name: e.attr("name").unwrap_or_default().to_string(),
                value: e.text(),
            });
        }
        d.init_dir = text("initdir");
        d.init_user = text("inituser");
        d.init_group = text("initgroup");
        if let Some(l) = os.child("loader") {
            d.loader = Some(Loader {
                path: Some(l.text()).filter(|t| !t.trim().is_empty()),
                readonly: yes_no(l, "readonly")?,
                secure: yes_no(l, "secure")?,
                kind: attr_parse(l, "type")?,
                stateless: yes_no(l, "stateless")?,
            });
        }
        if let Some(n) = os.child("nvram") {
            d.nvram = Some(Nvram {
                template: n.attr("template").map(str::to_string),
                path: Some(n.text()).filter(|t| !t.trim().is_empty()),
                kind: attr_parse(n, "type")?,
                source: n.child("source").cloned(),
            });
        }
        d.kernel = text("kernel");
        d.initrd = text("initrd");
        d.cmdline = text("cmdline");
        d.dtb = text("dtb");
        d.root = text("root");
        if let Some(acpi) = os.child("acpi") {
            d.acpi_tables = acpi.children_named("table").map(Element::text).collect();
        }
        for b in os.children_named("boot") {
            d.boot.push(required(b, "dev")?);
        }
        if let Some(m) = os.child("bootmenu") {
            d.bootmenu = Some(BootMenu {
                enable: required::<YesNo>(m, "enable")?.into(),
                timeout: num_attr(m, "timeout")?,
            });
        }
        d.smbios = match os.child("smbios") {
            Some(s) => Some(required(s, "mode")?),
            None => None,
        };
        if let Some(b) = os.child("bios") {
            let bios = Bios {
                useserial: yes_no(b, "useserial")?,
                reboot_timeout: num_attr(b, "rebootTimeout")?,
            };
            // An empty <bios/> says nothing; libvirt drops it.
            d.bios = Some(bios).filter(|b| b.useserial.is_some() || b.reboot_timeout.is_some());
        }
        Ok(d)
    }

    /// Writes `<os>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("os").opt_attr("firmware", self.firmware), |w| {
            w.leaf(
                Tag::new("type")
                    .opt_attr("arch", self.arch.as_deref())
                    .opt_attr("machine", self.machine.as_deref()),
                self.os_type.as_str(),
            );
            if !self.firmware_features.is_empty() {
                w.element(Tag::new("firmware"), |w| {
                    for f in &self.firmware_features {
                        w.empty(
                            Tag::new("feature")
                                .attr("enabled", YesNo::from(f.enabled))
                                .attr("name", f.name),
                        );
                    }
                });
            }
            opt_leaf(w, "init", &self.init);
            for a in &self.init_args {
                w.leaf(Tag::new("initarg"), a);
            }
            for e in &self.init_env {
                w.leaf(Tag::new("initenv").attr("name", &e.name), &e.value);
            }
            opt_leaf(w, "initdir", &self.init_dir);
            opt_leaf(w, "inituser", &self.init_user);
            opt_leaf(w, "initgroup", &self.init_group);
            if let Some(l) = &self.loader {
                let tag = Tag::new("loader")
                    .opt_attr("readonly", l.readonly.map(YesNo::from))
                    .opt_attr("secure", l.secure.map(YesNo::from))
                    .opt_attr("type", l.kind)
                    .opt_attr("stateless", l.stateless.map(YesNo::from));
                match &l.path {
                    Some(p) => w.leaf(tag, p),
                    None => w.empty(tag),
                }
            }
            if let Some(n) = &self.nvram {
                let tag = Tag::new("nvram")
                    .opt_attr("template", n.template.as_deref())
                    .opt_attr("type", n.kind);
                match (&n.source, &n.path) {
                    (Some(src), _) => w.element(tag, |w| w.tree(src)),
                    (None, Some(p)) => w.leaf(tag, p),
                    (None, None) => w.empty(tag),
                }
            }
            opt_leaf(w, "kernel", &self.kernel);
            opt_leaf(w, "initrd", &self.initrd);
            opt_leaf(w, "cmdline", &self.cmdline);
            opt_leaf(w, "dtb", &self.dtb);
            opt_leaf(w, "root", &self.root);
            if !self.acpi_tables.is_empty() {
                w.element(Tag::new("acpi"), |w| {
                    for t in &self.acpi_tables {
                        w.leaf(Tag::new("table").attr("type", "slic"), t);
                    }
                });
            }
            for b in &self.boot {
                w.empty(Tag::new("boot").attr("dev", b));
            }
            if let Some(m) = self.bootmenu {
                w.empty(
                    Tag::new("bootmenu")
                        .attr("enable", YesNo::from(m.enable))
                        .opt_attr("timeout", m.timeout),
                );
            }
            if let Some(b) = self.bios {
                if b.useserial.is_some() || b.reboot_timeout.is_some() {
                    w.empty(
                        Tag::new("bios")
                            .opt_attr("useserial", b.useserial.map(YesNo::from))
                            .opt_attr("rebootTimeout", b.reboot_timeout),
                    );
                }
            }
            if let Some(s) = self.smbios {
                w.empty(Tag::new("smbios").attr("mode", s));
            }
        });
    }
}

fn opt_leaf(w: &mut Writer, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        w.leaf(Tag::new(name), v);
    }
}

fn yes_no(el: &Element, name: &str) -> Result<Option<bool>, XmlError> {
    Ok(attr_parse::<YesNo>(el, name)?.map(bool::from))
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
