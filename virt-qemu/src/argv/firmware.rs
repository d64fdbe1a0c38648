//! Firmware: pflash code and variable store as `-blockdev`s (wired to the machine as
//! `pflash0`/`pflash1`), `-bios` for a ROM loader, and the secure-boot pflash global.

use virt_xml::os::{FirmwareKind, LoaderType, SourceType};

use super::builder::{ArgvError, Builder};
use super::props::Props;

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
            let props = network_props(src).ok_or_else(|| {
                ArgvError::unsupported("unsupported network protocol for the NVRAM store")
            })?;
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
