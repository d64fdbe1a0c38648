//! Firmware: pflash code and variable store as `-blockdev`s (wired to the machine as
//! `pflash0`/`pflash1`), `-bios` for a ROM loader, and the secure-boot pflash global.

use virt_xml::os::{FirmwareKind, LoaderType, SourceType};

use super::builder::{ArgvError, Builder};
use super::props::Props;
use crate::secret::{self, SecretUsage};

/// Where the variable store is: a file path, or a network source element.
pub(crate) enum NvramSource<'a> {
    File(String),
    Network(&'a virt_xml::tree::Element),
}

/// The NVRAM (variable store) the guest uses, if any.
pub(crate) fn nvram_path<'a>(b: &Builder<'a>) -> Option<NvramSource<'a>> {
    let os = b.def.os_def.as_ref()?;
    let loader = os.loader.as_ref()?;
    if loader.kind != Some(LoaderType::Pflash) || loader.stateless == Some(true) {
        return None;
    }
    if let Some(nv) = os.nvram.as_ref() {
        if nv.kind == Some(SourceType::Network) {
            return nv.source.as_ref().map(NvramSource::Network);
        }
        if let Some(p) = nv.path.as_ref() {
            return Some(NvramSource::File(p.clone()));
        }
        if let Some(src) = nv.source.as_ref() {
            if let Some(f) = src.attr("file").or_else(|| src.attr("dev")) {
                return Some(NvramSource::File(f.to_string()));
            }
        }
    } else if loader.readonly != Some(true) {
        return None;
    }
    Some(NvramSource::File(format!(
        "{}/{}_VARS.fd",
        b.host.config.nvram_dir.display(),
        b.def.name
    )))
}

/// Refusals about firmware configuration.
pub(crate) fn validate(b: &Builder<'_>) -> Result<(), ArgvError> {
    let Some(os) = b.def.os_def.as_ref() else {
        return Ok(());
    };
    if !os.firmware_features.is_empty() && os.firmware.is_none() {
        return Err(ArgvError::Prepare(
            "cannot use feature-based firmware autoselection when firmware autoselection is disabled"
                .into(),
        ));
    }
    let has_nvram = os.nvram.is_some();
    // A variable store asked for explicitly (`stateless='no'`) needs UEFI in pflash.
    let rom = os.firmware == Some(FirmwareKind::Bios)
        || os
            .loader
            .as_ref()
            .is_some_and(|l| l.kind == Some(LoaderType::Rom));
    if rom
        && os
            .loader
            .as_ref()
            .is_some_and(|l| l.stateless == Some(false))
    {
        return Err(ArgvError::Prepare("Only EFI firmware permits NVRAM".into()));
    }
    if let Some(loader) = os.loader.as_ref() {
        if has_nvram && loader.stateless == Some(true) {
            return Err(ArgvError::Prepare(
                "NVRAM is not permitted when loader is stateless".into(),
            ));
        }
    }
    if has_nvram && os.firmware == Some(FirmwareKind::Bios) {
        return Err(ArgvError::Prepare(
            "firmware type 'bios' does not support nvram".into(),
        ));
    }
    if has_nvram
        && os.firmware.is_none()
        && os
            .loader
            .as_ref()
            .is_some_and(|l| l.kind == Some(LoaderType::Rom))
    {
        return Err(ArgvError::Prepare("Only EFI firmware permits NVRAM".into()));
    }
    Ok(())
}

fn storage_props(path: &str) -> Props {
    let driver = if path.starts_with("/dev/") {
        "host_device"
    } else {
        "file"
    };
    Props::new().str("driver", driver).str("filename", path)
}

fn network_props(src: &virt_xml::tree::Element) -> Option<Props> {
    let protocol = src.attr("protocol")?;
    if protocol != "nbd" {
        return None;
    }
    let host = src.child("host")?;
    let mut server = Props::new().str("type", "inet");
    server = server.opt_str("host", host.attr("name"));
    server = server.str("port", host.attr("port").unwrap_or("10809"));
    Some(
        Props::new()
            .str("driver", "nbd")
            .obj("server", server)
            .opt_str("export", src.attr("name")),
    )
}

/// An iSCSI NVRAM store: `portal` (default port 3260), `target` and `lun` from the source name
/// (`IQN[/LUN]`), and with `<auth>` the user and a `secret` object (written first) for the
/// password. `None` for any other protocol.
fn iscsi_props(
    b: &mut Builder<'_>,
    src: &virt_xml::tree::Element,
    storage_node: &str,
) -> Result<Option<Props>, ArgvError> {
    if src.attr("protocol") != Some("iscsi") {
        return Ok(None);
    }
    let nvram = |reason: String| ArgvError::Device {
        device: "NVRAM store".into(),
        reason,
    };
    let host = src
        .child("host")
        .ok_or_else(|| nvram("an iSCSI source needs a <host>".into()))?;
    let portal = format!(
        "{}:{}",
        host.attr("name").unwrap_or_default(),
        host.attr("port").unwrap_or("3260")
    );
    let name = src.attr("name").unwrap_or_default();
    let (target, lun) = match name.rsplit_once('/') {
        Some((t, l)) => (
            t,
            l.parse::<u64>()
                .map_err(|_| nvram(format!("invalid iSCSI LUN '{l}'")))?,
        ),
        None => (name, 0),
    };
    let mut p = Props::new()
        .str("driver", "iscsi")
        .str("portal", portal)
        .str("target", target)
        .uint("lun", lun)
        .str("transport", "tcp");
    if let Some(auth_el) = src.child("auth") {
        let auth = virt_xml::devices::disk::Auth::from_element(auth_el)
            .map_err(|e| nvram(e.to_string()))?;
        let value = b
            .host
            .secrets
            .value(&auth.secret, SecretUsage::Iscsi, "NVRAM store")
            .map_err(|e| nvram(e.to_string()))?;
        let sealed = secret::for_qemu(&b.host.master_key, &b.host.secret_iv, &value)
            .map_err(|e| nvram(e.to_string()))?;
        let id = format!("{storage_node}-auth-secret0");
        b.object(
            &Props::new()
                .str("qom-type", "secret")
                .str("id", id.clone())
                .str("data", sealed.data)
                .str("keyid", "masterKey0")
                .str("iv", sealed.iv)
                .str("format", "base64"),
        );
        p = p.str("user", auth.username).str("password-secret", id);
    }
    Ok(Some(p))
}

fn emit_pair(b: &mut Builder<'_>, index: u32, storage: Props, read_only: bool) {
    let storage_name = format!("libvirt-pflash{index}-storage");
    let format_name = format!("libvirt-pflash{index}-format");
    let storage = storage
        .str("node-name", storage_name.clone())
        .bool("auto-read-only", true)
        .str("discard", "unmap");
    b.blockdev(&storage);
    let format = Props::new()
        .str("node-name", format_name)
        .bool("read-only", read_only)
        .str("driver", "raw")
        .str("file", storage_name);
    b.blockdev(&format);
}

/// The pflash `-blockdev`s (written before `-machine`).
pub(crate) fn emit_pflash(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let Some(loader) = b.def.os_def.as_ref().and_then(|o| o.loader.clone()) else {
        return Ok(());
    };
    if loader.kind != Some(LoaderType::Pflash) {
        return Ok(());
    }
    let Some(path) = loader.path.as_deref().map(str::trim) else {
        return Ok(());
    };
    emit_pair(b, 0, storage_props(path), loader.readonly == Some(true));
    match nvram_path(b) {
        Some(NvramSource::File(p)) => emit_pair(b, 1, storage_props(&p), false),
        Some(NvramSource::Network(src)) => {
            let props = match network_props(src) {
                Some(p) => p,
                None => iscsi_props(b, src, "libvirt-pflash1-storage")?.ok_or_else(|| {
                    ArgvError::unsupported("unsupported network protocol for the NVRAM store")
                })?,
            };
            emit_pair(b, 1, props, false);
        }
        None => {}
    }
    Ok(())
}

/// `-global driver=cfi.pflash01,property=secure,value=on` for a secure pflash loader (after `-cpu`).
pub(crate) fn emit_secure_global(b: &mut Builder<'_>) {
    let secure = b
        .def
        .os_def
        .as_ref()
        .and_then(|o| o.loader.as_ref())
        .is_some_and(|l| l.kind == Some(LoaderType::Pflash) && l.secure == Some(true));
    if secure {
        b.arg("-global", "driver=cfi.pflash01,property=secure,value=on");
    }
}

/// `-bios PATH` for a ROM loader.
pub(crate) fn emit_bios(b: &mut Builder<'_>) {
    let rom = b
        .def
        .os_def
        .as_ref()
        .and_then(|o| o.loader.as_ref())
        .filter(|l| l.kind != Some(LoaderType::Pflash))
        .and_then(|l| l.path.clone());
    if let Some(p) = rom {
        b.arg("-bios", p.trim().to_string());
    }
}

/// One QEMU firmware descriptor (the JSON interop format of `/usr/share/qemu/firmware/*.json`),
/// reduced to what autoselection reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareDescriptor {
    /// The file name it was read from; descriptors are consulted in file-name order.
    pub name: String,
    /// `interface-types` (`bios`, `uefi`, ...).
    pub interfaces: Vec<String>,
    /// `mapping.device`: `flash` (pflash code + variable store) or `memory` (a ROM).
    pub device: String,
    /// `mapping.mode` for flash: `split` (default) or `stateless`.
    pub mode: String,
    /// The code image (`mapping.executable.filename`, or `mapping.filename` for memory).
    pub executable: String,
    /// `mapping.nvram-template.filename`.
    pub nvram_template: Option<String>,
    /// `targets`: (architecture, machine type globs).
    pub targets: Vec<(String, Vec<String>)>,
    /// `features` (`secure-boot`, `enrolled-keys`, `requires-smm`, `amd-sev`, `acpi-s3`, ...).
    pub features: Vec<String>,
}

impl FirmwareDescriptor {
    /// Parses a descriptor; `None` when it is not one (a masked or foreign file).
    pub fn parse(name: &str, json: &str) -> Option<FirmwareDescriptor> {
        let v: serde_json::Value = serde_json::from_str(json).ok()?;
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let mapping = &v["mapping"];
        let device = mapping["device"].as_str()?.to_string();
        let executable = mapping["executable"]["filename"]
            .as_str()
            .or_else(|| mapping["filename"].as_str())?
            .to_string();
        Some(FirmwareDescriptor {
            name: name.to_string(),
            interfaces: strings(&v["interface-types"]),
            device,
            mode: mapping["mode"].as_str().unwrap_or("split").to_string(),
            executable,
            nvram_template: mapping["nvram-template"]["filename"]
                .as_str()
                .map(str::to_string),
            targets: v["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    Some((
                        t["architecture"].as_str()?.to_string(),
                        strings(&t["machines"]),
                    ))
                })
                .collect(),
            features: strings(&v["features"]),
        })
    }

    /// Reads the descriptors of `dirs` (earlier directories win for the same file name; an empty
    /// file masks the name), in file-name order. Unreadable directories are skipped.
    pub fn load(dirs: &[std::path::PathBuf]) -> Vec<FirmwareDescriptor> {
        let mut by_name: std::collections::BTreeMap<String, Option<FirmwareDescriptor>> =
            std::collections::BTreeMap::new();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let Some(name) = e.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if !name.ends_with(".json") || by_name.contains_key(&name) {
                    continue;
                }
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                by_name.insert(name.clone(), FirmwareDescriptor::parse(&name, &text));
            }
        }
        by_name.into_values().flatten().collect()
    }

    fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    fn serves(&self, arch: &str, machine: &str) -> bool {
        self.targets
            .iter()
            .any(|(a, ms)| a == arch && ms.iter().any(|m| glob(m, machine)))
    }
}

/// Shell-style glob with `*` and `?`.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The descriptors of libvirt's argv test harness (its `tests/qemufirmwaredata` as the x86_64
/// cases of the corpus see them), in consultation order.
pub fn libvirt_test_descriptors() -> Vec<FirmwareDescriptor> {
    const Q35: &[&str] = &["pc-q35-*"];
    const PC: &[&str] = &["pc-i440fx-*", "pc-q35-*"];
    let d = |name: &str,
             iface: &str,
             device: &str,
             mode: &str,
             exe: &str,
             nvram: Option<&str>,
             machines: &[&str],
             features: &[&str]| FirmwareDescriptor {
        name: name.into(),
        interfaces: vec![iface.into()],
        device: device.into(),
        mode: mode.into(),
        executable: exe.into(),
        nvram_template: nvram.map(str::to_string),
        targets: vec![(
            "x86_64".into(),
            machines.iter().map(|m| m.to_string()).collect(),
        )],
        features: features.iter().map(|f| f.to_string()).collect(),
    };
    let sb_keys = [
        "acpi-s3",
        "amd-sev",
        "enrolled-keys",
        "requires-smm",
        "secure-boot",
        "verbose-dynamic",
    ];
    vec![
        d(
            "40-bios.json",
            "bios",
            "memory",
            "split",
            "/usr/share/seabios/bios-256k.bin",
            None,
            PC,
            &["acpi-s3", "acpi-s4"],
        ),
        d(
            "40-ovmf-sb-keys.json",
            "uefi",
            "flash",
            "split",
            "/usr/share/OVMF/OVMF_CODE.secboot.fd",
            Some("/usr/share/OVMF/OVMF_VARS.secboot.fd"),
            Q35,
            &sb_keys,
        ),
        d(
            "45-ovmf-sev-stateless.json",
            "uefi",
            "flash",
            "stateless",
            "/usr/share/OVMF/OVMF.sev.fd",
            None,
            Q35,
            &["acpi-s3", "amd-sev", "amd-sev-es", "verbose-dynamic"],
        ),
        d(
            "50-ovmf-sb-keys.json",
            "uefi",
            "flash",
            "split",
            "/usr/share/OVMF/OVMF_CODE.secboot.fd",
            Some("/usr/share/OVMF/OVMF_VARS.secboot.fd"),
            Q35,
            &sb_keys,
        ),
        d(
            "61-ovmf.json",
            "uefi",
            "flash",
            "split",
            "/usr/share/OVMF/OVMF_CODE.fd",
            Some("/usr/share/OVMF/OVMF_VARS.fd"),
            PC,
            &["acpi-s3", "amd-sev", "verbose-dynamic"],
        ),
    ]
}

/// Whether descriptor `fw` satisfies what the domain asks of its firmware.
fn matches(def: &virt_xml::Domain, fw: &FirmwareDescriptor, want: &str) -> bool {
    let Some(os) = def.os_def.as_ref() else {
        return false;
    };
    if !fw.interfaces.iter().any(|i| i == want) {
        return false;
    }
    let arch = os.arch.as_deref().unwrap_or("x86_64");
    if !fw.serves(arch, os.machine.as_deref().unwrap_or("")) {
        return false;
    }
    let loader = os.loader.as_ref();
    if fw.device == "flash" {
        let stateless = loader.and_then(|l| l.stateless) == Some(true);
        if stateless != (fw.mode == "stateless") {
            return false;
        }
    }
    let (s3, s4) = super::view::pm(def);
    if (s3 == Some(true) && !fw.has("acpi-s3")) || (s4 == Some(true) && !fw.has("acpi-s4")) {
        return false;
    }
    for f in &os.firmware_features {
        let name = match f.name {
            virt_xml::os::FirmwareFeatureName::SecureBoot => "secure-boot",
            virt_xml::os::FirmwareFeatureName::EnrolledKeys => "enrolled-keys",
        };
        if f.enabled != fw.has(name) {
            return false;
        }
    }
    if loader.and_then(|l| l.secure) == Some(true) && !fw.has("requires-smm") {
        return false;
    }
    if super::view::launch_security_type(def).as_deref() == Some("sev") && !fw.has("amd-sev") {
        return false;
    }
    true
}

/// Firmware autoselection (`<os firmware='efi|bios'>` without a loader path): the first
/// descriptor, in file-name order, that satisfies the domain fills in the loader (pflash code or
/// ROM); a firmware that requires SMM turns SMM and the secure pflash on.
/// With autoselection the loader is the selection's to choose: a definition may not pin its
/// kind (explicitly or by naming an image), its read-only flag, or turn secure boot off.
/// A loader that selection itself filled in (image, kind and, for flash, read-only) passes.
fn refuse_manual_loader(loader: &virt_xml::os::Loader) -> Result<(), ArgvError> {
    let refuse = |what: &str| {
        Err(ArgvError::Prepare(format!(
            "{what} cannot be specified when firmware autoselection is enabled"
        )))
    };
    if loader.secure == Some(false) {
        return refuse("loader attribute 'secure'");
    }
    if loader.path.is_none() {
        if loader.readonly.is_some() {
            return refuse("loader attribute 'readonly'");
        }
        if loader.kind.is_some() {
            return refuse("loader attribute 'type'");
        }
    } else if loader.kind.is_none() {
        // An image path implies a loader type of its own.
        return refuse("loader attribute 'type'");
    }
    Ok(())
}

pub fn autoselect(
    def: &mut virt_xml::Domain,
    descriptors: &[FirmwareDescriptor],
) -> Result<(), ArgvError> {
    let Some(kind) = def.os_def.as_ref().and_then(|o| o.firmware) else {
        return Ok(());
    };
    if let Some(loader) = def.os_def.as_ref().and_then(|o| o.loader.as_ref()) {
        refuse_manual_loader(loader)?;
        if loader.path.is_some() {
            // Already chosen (this definition went through selection before).
            return Ok(());
        }
    }
    let want = match kind {
        FirmwareKind::Efi => "uefi",
        FirmwareKind::Bios => "bios",
    };
    let Some(fw) = descriptors
        .iter()
        .find(|fw| matches(def, fw, want))
        .cloned()
    else {
        return Err(ArgvError::Prepare(format!(
            "operation failed: Unable to find any firmware to satisfy '{}'",
            kind.as_str()
        )));
    };
    let smm = fw.has("requires-smm");
    let Some(os) = def.os_def.as_mut() else {
        return Ok(());
    };
    let loader = os.loader.get_or_insert_with(Default::default);
    loader.path = Some(fw.executable.clone());
    if fw.device == "flash" {
        loader.kind = Some(LoaderType::Pflash);
        loader.readonly = Some(true);
        if smm && loader.secure.is_none() {
            loader.secure = Some(true);
        }
        if let (Some(t), Some(nv)) = (fw.nvram_template.as_ref(), os.nvram.as_mut()) {
            if nv.template.is_none() {
                nv.template = Some(t.clone());
            }
        }
    } else {
        loader.kind = Some(LoaderType::Rom);
    }
    if smm {
        let features = def.features.get_or_insert_with(Default::default);
        if features
            .smm
            .is_some_and(|s| s.state == virt_xml::domain::OnOff::Off)
        {
            return Err(ArgvError::Prepare(
                "domain has SMM turned off but chosen firmware requires it".into(),
            ));
        }
        if features.smm.is_none() {
            features.smm = Some(virt_xml::features::Smm {
                state: virt_xml::domain::OnOff::On,
                tseg: None,
            });
        }
    }
    Ok(())
}
