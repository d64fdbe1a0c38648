//! Defaults and implicit devices libvirt's QEMU driver adds to an x86 definition: the default
//! CPU model, the machine's default controllers, PS/2 input, the balloon, the audio backend,
//! controller and video model defaults, the serial port behind a serial console, drive
//! addresses and the controllers disks and channels need.

use super::view::Prep;
use virt_xml::address::Address;
use virt_xml::tree;
use virt_xml::DeviceKind;

use crate::argv::caps::{Accel, QemuCaps};

use super::view;
use super::{Machine, PrepareError};

fn accel(def: &virt_xml::Domain) -> Accel {
    match def.domain_type {
        virt_xml::DomainType::Kvm => Accel::Kvm,
        _ => Accel::Tcg,
    }
}

/// The machine type, its canonical name and its family; fills in QEMU's default machine when the
/// definition names none.
pub(super) fn machine(
    def: &mut virt_xml::Domain,
    caps: &QemuCaps,
) -> Result<Machine, PrepareError> {
    let acc = accel(def);
    let os = def.os_def.as_mut();
    let named = os.as_ref().and_then(|o| o.machine.clone());
    let name = match named {
        Some(n) => n,
        None => {
            let d = caps
                .default_machine(acc)
                .map(|m| m.name.clone())
                .ok_or_else(|| PrepareError::Internal("no default machine type".into()))?;
            if let Some(os) = os {
                os.machine = Some(d.clone());
            }
            d
        }
    };
    let canonical = caps.canonical_machine(&name, acc).unwrap_or(name.clone());
    let q35 = canonical == "q35" || canonical.starts_with("pc-q35");
    let i440fx = canonical == "pc"
        || canonical.starts_with("pc-0.")
        || canonical.starts_with("pc-1.")
        || canonical.starts_with("pc-i440fx-")
        || canonical.starts_with("rhel");
    let arch = def
        .os_def
        .as_ref()
        .and_then(|o| o.arch.clone())
        .unwrap_or_else(|| caps.arch().to_string());
    let x86 = matches!(arch.as_str(), "x86_64" | "i686");
    Ok(Machine {
        canonical,
        q35,
        i440fx,
        pcie: q35,
        x86,
    })
}

/// `<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>`
/// when a definition for an x86 machine has no CPU.
pub(super) fn cpu(def: &mut Prep, m: &Machine) -> Result<(), PrepareError> {
    if def.cpu.is_some() || !m.x86 || !(m.q35 || m.i440fx) {
        return Ok(());
    }
    let el = tree::parse(
        "<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>",
    )
    .map_err(|e| PrepareError::Internal(e.to_string()))?;
    def.cpu = Some(
        virt_xml::cpu::Cpu::from_element(&el).map_err(|e| PrepareError::Internal(e.to_string()))?,
    );
    Ok(())
}

fn index_of(d: &view::Device) -> Option<u32> {
    view::attr(d, "index").and_then(|i| i.parse().ok())
}

fn has_controller(def: &Prep, ty: &str, idx: Option<u32>) -> bool {
    def.devices.iter().any(|d| {
        view::kind(d) == DeviceKind::Controller
            && view::attr(d, "type") == Some(ty)
            && (idx.is_none() || index_of(d) == idx)
    })
}

/// Puts a controller where libvirt puts it: before the first controller of its type with a
/// higher index, else after every other device of its kind.
pub(super) fn insert_controller(def: &mut Prep, dev: view::Device) {
    let ty = view::attr(&dev, "type").map(str::to_string);
    let idx = index_of(&dev);
    let at = def.devices.iter().position(|d| {
        view::kind(d) == DeviceKind::Controller
            && view::attr(d, "type").map(str::to_string) == ty
            && matches!((index_of(d), idx), (Some(a), Some(b)) if a > b)
    });
    match at {
        Some(i) => def.devices.insert(i, dev),
        None => def.devices.push(dev),
    }
}

fn add_controller(
    def: &mut Prep,
    ty: &str,
    idx: u32,
    model: Option<&str>,
) -> Result<(), PrepareError> {
    if has_controller(def, ty, Some(idx)) {
        return Ok(());
    }
    let model = model.map(|m| format!(" model='{m}'")).unwrap_or_default();
    let dev = view::new_device(&format!("<controller type='{ty}' index='{idx}'{model}/>"))?;
    insert_controller(def, dev);
    Ok(())
}

/// The devices every x86 PC machine has: the USB controller, SATA on q35, the PCI root, PS/2
/// input, the memory balloon.
pub(super) fn machine_devices(def: &mut Prep, m: &Machine) -> Result<(), PrepareError> {
    if !(m.q35 || m.i440fx) {
        return Ok(());
    }
    if !has_controller(def, "usb", None) {
        let model = if m.q35 { Some("qemu-xhci") } else { None };
        add_controller(def, "usb", 0, model)?;
    }
    if m.q35 {
        add_controller(def, "sata", 0, None)?;
    }
    let root = if m.pcie { "pcie-root" } else { "pci-root" };
    add_controller(def, "pci", 0, Some(root))?;
    if m.x86 && ps2_enabled(def) {
        for ty in ["mouse", "keyboard"] {
            let present = def.devices.iter().any(|d| {
                view::kind(d) == DeviceKind::Input
                    && view::attr(d, "type") == Some(ty)
                    && view::attr(d, "bus") == Some("ps2")
            });
            if !present {
                def.devices.push(view::new_device(&format!(
                    "<input type='{ty}' bus='ps2'/>"
                ))?);
            }
        }
    }
    if !def
        .devices
        .iter()
        .any(|d| view::kind(d) == DeviceKind::Memballoon)
    {
        def.devices
            .push(view::new_device("<memballoon model='virtio'/>")?);
    }
    Ok(())
}

fn ps2_enabled(def: &Prep) -> bool {
    // `<features><ps2 state='off'/></features>` turns the i8042 controller off; the typed
    // features do not carry it yet, so an x86 PC machine always has PS/2 here.
    let _ = def;
    true
}

/// The audio backend libvirt adds to a definition that names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultAudio {
    /// libvirt's audio type (`none`, `spice`, `alsa`, `sdl`, ...).
    pub kind: &'static str,
    /// The SDL output driver of an SDL backend (from the host's `SDL_AUDIODRIVER`).
    pub sdl_driver: Option<String>,
}

/// libvirt's audio types, and QEMU's `pa`/`wav` spellings, as the host's `QEMU_AUDIO_DRV` may
/// name them.
fn host_audio_kind(name: &str) -> Option<&'static str> {
    const KINDS: &[&str] = &[
        "none",
        "alsa",
        "coreaudio",
        "jack",
        "oss",
        "pulseaudio",
        "sdl",
        "spice",
        "file",
        "dbus",
    ];
    match name {
        "pa" => Some("pulseaudio"),
        "wav" => Some("file"),
        n => KINDS.iter().copied().find(|k| *k == n),
    }
}

/// libvirt's default audio backend for a definition without `<audio>` whose displays are
/// `graphics` (graphics types in document order). Each display that can carry sound decides in
/// turn, the last one winning: VNC gives `none` unless the driver allows host audio for VNC,
/// SPICE gives `spice`, SDL passes host audio through. Without any display: `none`, unless the
/// driver allows host audio without graphics. Passing host audio through takes the host's
/// `QEMU_AUDIO_DRV`; when it is unset no backend is added. Displays that carry no sound
/// (egl-headless, D-Bus, RDP, desktop) alone give no backend.
pub fn default_audio(
    graphics: &[&str],
    opts: &super::PrepareOptions,
) -> Result<Option<DefaultAudio>, PrepareError> {
    let invalid = |message: String| PrepareError::Invalid {
        device: "audio".into(),
        message,
    };
    let mut add = graphics.is_empty();
    let mut passthrough = graphics.is_empty() && opts.nographics_allow_host_audio;
    let mut kind = "none";
    for g in graphics {
        match *g {
            "vnc" => {
                passthrough = opts.vnc_allow_host_audio;
                if !passthrough {
                    kind = "none";
                }
                add = true;
            }
            "spice" => {
                passthrough = false;
                kind = "spice";
                add = true;
            }
            "sdl" => {
                passthrough = true;
                add = true;
            }
            _ => {}
        }
    }
    if !add {
        return Ok(None);
    }
    if passthrough {
        let Some(env) = opts.host_audio.as_deref() else {
            return Ok(None);
        };
        kind = host_audio_kind(env)
            .ok_or_else(|| invalid(format!("unknown QEMU_AUDIO_DRV setting {env}")))?;
    }
    let mut sdl_driver = None;
    if kind == "sdl" {
        if let Some(d) = opts.host_sdl_audio.as_deref() {
            if !matches!(d, "esd" | "alsa" | "arts" | "pulseaudio") {
                return Err(invalid(format!("unknown SDL_AUDIODRIVER setting {d}")));
            }
            sdl_driver = Some(d.to_string());
        }
    }
    Ok(Some(DefaultAudio { kind, sdl_driver }))
}

/// Adds libvirt's default audio backend ([`default_audio`]) when the definition names none.
pub(super) fn audio(def: &mut Prep, opts: &super::PrepareOptions) -> Result<(), PrepareError> {
    if def
        .devices
        .iter()
        .any(|d| view::kind(d) == DeviceKind::Audio)
    {
        return Ok(());
    }
    let graphics: Vec<String> = def
        .devices
        .iter()
        .filter(|d| view::kind(d) == DeviceKind::Graphics)
        .filter_map(|g| view::attr(g, "type").map(str::to_string))
        .collect();
    let graphics: Vec<&str> = graphics.iter().map(String::as_str).collect();
    let Some(a) = default_audio(&graphics, opts)? else {
        return Ok(());
    };
    let driver = a
        .sdl_driver
        .map(|d| format!(" driver='{d}'"))
        .unwrap_or_default();
    def.devices.push(view::new_device(&format!(
        "<audio id='1' type='{}'{driver}/>",
        a.kind
    ))?);
    Ok(())
}

/// Drive addresses of IDE, SATA, SCSI and floppy disks, from their target names.
pub(super) fn drive_addresses(def: &mut Prep) {
    for d in def.devices.iter_mut() {
        if view::kind(d) != DeviceKind::Disk || view::address(d).is_some() {
            continue;
        }
        let Some(idx) = view::sub_attr(d, "target", "dev").and_then(super::alias::disk_index)
        else {
            continue;
        };
        let (controller, bus, unit) = match view::sub_attr(d, "target", "bus") {
            Some("ide") => (idx / 4, (idx % 4) / 2, idx % 2),
            Some("sata") => (idx / 6, 0, idx % 6),
            Some("scsi") => (idx / 7, 0, idx % 7),
            Some("fdc") => (0, 0, idx),
            _ => continue,
        };
        view::set_address(
            d,
            &Address::Drive {
                controller: Some(controller),
                bus: Some(bus),
                target: Some(0),
                unit: Some(unit),
            },
        );
        view::move_child_last(d, "address");
    }
}

/// The controllers disks and virtio channels refer to.
pub(super) fn implicit_controllers(def: &mut Prep) -> Result<(), PrepareError> {
    let mut wanted: Vec<(&'static str, u32)> = Vec::new();
    for d in &def.devices {
        match view::kind(d) {
            DeviceKind::Disk => {
                let ty = match view::sub_attr(d, "target", "bus") {
                    Some("ide") => "ide",
                    Some("sata") => "sata",
                    Some("scsi") => "scsi",
                    Some("fdc") => "fdc",
                    _ => continue,
                };
                if let Some(Address::Drive {
                    controller: Some(c),
                    ..
                }) = view::address(d)
                {
                    wanted.push((ty, c));
                }
            }
            DeviceKind::Channel | DeviceKind::Console
                if view::sub_attr(d, "target", "type") == Some("virtio") =>
            {
                let c = match view::address(d) {
                    Some(Address::VirtioSerial {
                        controller: Some(c),
                        ..
                    }) => c,
                    _ => 0,
                };
                wanted.push(("virtio-serial", c));
            }
            _ => {}
        }
    }
    for (ty, idx) in wanted {
        add_controller(def, ty, idx, None)?;
    }
    Ok(())
}

/// Controller models QEMU's driver picks when none is named.
pub(super) fn controller_models(def: &mut Prep, m: &Machine) {
    for d in def.devices.iter_mut() {
        if view::kind(d) != DeviceKind::Controller || view::attr(d, "model").is_some() {
            continue;
        }
        let model = match view::attr(d, "type") {
            Some("usb") if m.q35 => "qemu-xhci",
            Some("usb") if m.i440fx && index_of(d) == Some(0) => "piix3-uhci",
            Some("usb") if m.i440fx => "piix3-uhci",
            Some("scsi") => "lsilogic",
            _ => continue,
        };
        view::set_attr(d, "model", model, &["type", "index"]);
    }
}

/// Video model defaults: video RAM sizes and one head.
pub(super) fn video(def: &mut Prep) {
    for d in def.devices.iter_mut() {
        if view::kind(d) != DeviceKind::Video {
            continue;
        }
        let ty = view::sub_attr(d, "model", "type").map(str::to_string);
        let Some(ty) = ty else { continue };
        let set = |d: &mut view::Device, name: &str, value: &str, after: &[&str]| {
            if view::sub_attr(d, "model", name).is_none() {
                view::set_sub_attr(d, "model", &[], name, value, after);
            }
        };
        match ty.as_str() {
            "qxl" => {
                set(d, "ram", "65536", &["type"]);
                set(d, "vram", "65536", &["type", "ram"]);
                set(d, "vgamem", "16384", &["type", "ram", "vram", "vram64"]);
            }
            "cirrus" | "vga" | "vmvga" | "bochs" => {
                set(d, "vram", "16384", &["type", "ram"]);
            }
            "none" => continue,
            _ => {}
        }
        set(
            d,
            "heads",
            "1",
            &["type", "ram", "vram", "vram64", "vgamem"],
        );
    }
}

/// A serial console without a serial port gets one (libvirt's console compatibility); serial
/// targets get the ISA serial type and model on x86.
pub(super) fn serial_console(def: &mut Prep, m: &Machine) -> Result<(), PrepareError> {
    let has_serial = def
        .devices
        .iter()
        .any(|d| view::kind(d) == DeviceKind::Serial);
    let first_console = def
        .devices
        .iter()
        .position(|d| view::kind(d) == DeviceKind::Console);
    if let Some(ci) = first_console {
        let target = view::sub_attr(&def.devices[ci], "target", "type").map(str::to_string);
        if matches!(target.as_deref(), None | Some("serial")) && m.x86 {
            if !has_serial {
                let console = &def.devices[ci];
                let ty = view::attr(console, "type").unwrap_or("pty");
                let mut serial = view::new_device(&format!("<serial type='{ty}'/>"))?;
                view::copy_children_except(&mut serial, console, &["target", "alias", "address"]);
                view::set_sub_attr(&mut serial, "target", &[], "port", "0", &[]);
                def.devices.push(serial);
            }
            let c = &mut def.devices[ci];
            view::set_sub_attr(c, "target", &["alias", "address"], "type", "serial", &[]);
            view::set_sub_attr(c, "target", &["alias", "address"], "port", "0", &["type"]);
        }
    }
    // A serial port left out is numbered one past the highest port of all serials (libvirt).
    let mut highest: Option<u32> = def
        .devices
        .iter()
        .filter(|d| view::kind(d) == DeviceKind::Serial)
        .filter_map(|d| view::sub_attr(d, "target", "port").and_then(|p| p.parse().ok()))
        .max();
    for d in def.devices.iter_mut() {
        if view::kind(d) != DeviceKind::Serial || !m.x86 {
            continue;
        }
        if view::sub_attr(d, "target", "type").is_none() {
            view::set_sub_attr(
                d,
                "target",
                &["alias", "address"],
                "type",
                "isa-serial",
                &[],
            );
        }
        if view::sub_attr(d, "target", "port").is_none() {
            let port = highest.map_or(0, |h| h + 1);
            highest = Some(port);
            view::set_sub_attr(
                d,
                "target",
                &["alias", "address"],
                "port",
                &port.to_string(),
                &["type"],
            );
        }
        let model = match view::sub_attr(d, "target", "type") {
            Some("isa-serial") => "isa-serial",
            Some("usb-serial") => "usb-serial",
            Some("pci-serial") => "pci-serial",
            _ => continue,
        };
        if view::sub_sub_attr(d, "target", "model", "name").is_none() {
            view::ensure_target_model(d, model);
        }
    }
    Ok(())
}

/// SPICE graphics without ports or listen get `<listen type='none'/>`; a unix channel bound
/// without a path loses its empty source (the path is made at start).
pub(super) fn graphics_and_channels(def: &mut Prep) {
    for d in def.devices.iter_mut() {
        match view::kind(d) {
            DeviceKind::Graphics
                if view::attr(d, "type") == Some("spice")
                    && !view::has_child(d, "listen")
                    && view::attr(d, "port").is_none()
                    && view::attr(d, "tlsPort").is_none()
                    && view::attr(d, "autoport").is_none() =>
            {
                view::set_sub_attr(d, "listen", &[], "type", "none", &[]);
                view::move_child_first(d, "listen");
            }
            DeviceKind::Channel
                if view::attr(d, "type") == Some("unix")
                    && view::sub_attr(d, "source", "path").is_none()
                    && view::sub_attr(d, "source", "mode") == Some("bind") =>
            {
                view::remove_child(d, "source");
            }
            _ => {}
        }
    }
}

/// Ports of virtio channels and consoles on their virtio-serial controller: consoles first, then
/// channels (from port 1). A console's port is only reserved, never written into the console:
/// libvirt keeps consoles without a virtio-serial address, so QEMU numbers them itself.
pub(super) fn virtio_serial_ports(def: &mut Prep) {
    let mut used: Vec<(u32, u32, u32)> = def
        .devices
        .iter()
        .filter_map(|d| match view::address(d) {
            Some(Address::VirtioSerial {
                controller,
                bus,
                port: Some(p),
            }) => Some((controller.unwrap_or(0), bus.unwrap_or(0), p)),
            _ => None,
        })
        .collect();
    for pass in [DeviceKind::Console, DeviceKind::Channel] {
        for d in def.devices.iter_mut() {
            if view::kind(d) != pass || view::sub_attr(d, "target", "type") != Some("virtio") {
                continue;
            }
            let (controller, bus) = match view::address(d) {
                Some(Address::VirtioSerial { port: Some(_), .. }) => continue,
                Some(Address::VirtioSerial {
                    controller, bus, ..
                }) => (controller.unwrap_or(0), bus.unwrap_or(0)),
                _ => (0, 0),
            };
            let start = if pass == DeviceKind::Channel { 1 } else { 0 };
            let Some(port) = (start..31).find(|p| !used.contains(&(controller, bus, *p))) else {
                continue;
            };
            used.push((controller, bus, port));
            if pass == DeviceKind::Channel {
                view::set_address(
                    d,
                    &Address::VirtioSerial {
                        controller: Some(controller),
                        bus: Some(bus),
                        port: Some(port),
                    },
                );
            }
        }
    }
}

/// Small per-device defaults of QEMU's driver.
pub(super) fn device_misc(def: &mut Prep, caps: &QemuCaps) -> Result<(), PrepareError> {
    if !def
        .devices
        .iter()
        .any(|d| view::kind(d) == DeviceKind::Emulator)
    {
        let dev = view::new_device(&format!("<emulator>{}</emulator>", caps.emulator()))?;
        def.devices.insert(0, dev);
    }
    for d in def.devices.iter_mut() {
        match view::kind(d) {
            DeviceKind::Vsock if view::attr(d, "model").is_none() => {
                view::set_attr(d, "model", "virtio", &[]);
            }
            DeviceKind::Hostdev
                if view::attr(d, "type") == Some("mdev") && view::attr(d, "managed").is_none() =>
            {
                view::set_attr(d, "managed", "no", &["mode", "type"]);
            }
            DeviceKind::Disk => {
                if view::attr(d, "type") == Some("vhostuser") && view::attr(d, "snapshot").is_none()
                {
                    view::set_attr(
                        d,
                        "snapshot",
                        "no",
                        &["type", "device", "model", "rawio", "sgio"],
                    );
                }
                view::luks_engine(d);
                if view::attr(d, "type") == Some("network") {
                    let port = match view::sub_attr(d, "source", "protocol") {
                        Some("http") => Some("80"),
                        Some("https") => Some("443"),
                        Some("ftp") => Some("21"),
                        Some("ftps") => Some("990"),
                        Some("tftp") => Some("69"),
                        _ => None,
                    };
                    if let Some(p) = port {
                        if view::sub_sub_attr(d, "source", "host", "name").is_some()
                            && view::sub_sub_attr(d, "source", "host", "port").is_none()
                        {
                            view::set_sub_sub_attr(d, "source", "host", "port", p, &["name"]);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Domain-wide defaults: one vCPU, booting from the disk when nothing says otherwise.
pub(super) fn domain_misc(def: &mut Prep) {
    if def.vcpu.is_none() {
        def.vcpu = Some(virt_xml::domain::Vcpu {
            count: 1,
            placement: virt_xml::domain::Placement::Static,
            cpuset: None,
            current: None,
        });
    }
    if let Some(os) = def.os_def.as_mut() {
        use virt_xml::os::{FirmwareFeature, FirmwareFeatureName};
        let has = |n| os.firmware_features.iter().any(|f| f.name == n);
        let enrolled = os
            .firmware_features
            .iter()
            .any(|f| f.name == FirmwareFeatureName::EnrolledKeys && f.enabled);
        if enrolled && !has(FirmwareFeatureName::SecureBoot) {
            // Enrolled keys are only of use with secure boot.
            os.firmware_features.push(FirmwareFeature {
                name: FirmwareFeatureName::SecureBoot,
                enabled: true,
            });
        }
    }
    let per_device_boot = def.devices.iter().any(|d| view::has_child(d, "boot"));
    if let Some(os) = def.os_def.as_mut() {
        if os.boot.is_empty() && !per_device_boot {
            os.boot.push(virt_xml::os::BootDev::Hd);
        }
    }
}

/// A disk with a source and no image format is raw, opened by QEMU's own driver.
pub(super) fn disk_format(def: &mut Prep) {
    for d in def.devices.iter_mut() {
        if view::kind(d) == DeviceKind::Disk {
            view::max_size_in_bytes(d);
            // A network disk without a source is an empty drive, which libvirt records as a
            // file disk.
            if view::attr(d, "type") == Some("network") && !view::has_child(d, "source") {
                view::set_attr(d, "type", "file", &[]);
            }
        }
        if view::kind(d) != DeviceKind::Disk
            || view::attr(d, "type") == Some("vhostuser")
            || !view::has_child(d, "source")
            || view::sub_attr(d, "driver", "type").is_some()
        {
            continue;
        }
        if view::sub_attr(d, "driver", "name").is_none() {
            view::set_sub_attr_first(d, "driver", "name", "qemu", &[]);
        }
        view::set_sub_attr_first(d, "driver", "type", "raw", &["name"]);
    }
}

/// Graphics without a video device get the default video card, primary.
pub(super) fn implicit_video(def: &mut Prep) -> Result<(), PrepareError> {
    let graphics = def
        .devices
        .iter()
        .any(|d| view::kind(d) == DeviceKind::Graphics);
    let video = def
        .devices
        .iter()
        .any(|d| view::kind(d) == DeviceKind::Video);
    if graphics && !video {
        def.devices.push(view::new_device(
            "<video><model type='cirrus' primary='yes'/></video>",
        )?);
    }
    Ok(())
}

/// Disks in libvirt's order: a disk goes before the first later-named disk on its bus, else
/// right after the last disk on its bus, else last.
pub(super) fn order_disks(def: &mut Prep) {
    let slots: Vec<usize> = def
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| view::kind(d) == DeviceKind::Disk)
        .map(|(i, _)| i)
        .collect();
    let key = |d: &view::Device| {
        (
            view::sub_attr(d, "target", "bus").map(str::to_string),
            view::sub_attr(d, "target", "dev").and_then(super::alias::disk_index),
        )
    };
    let mut sorted: Vec<view::Device> = Vec::with_capacity(slots.len());
    for &i in &slots {
        let disk = def.devices[i].clone();
        let (bus, idx) = key(&disk);
        let mut at: Option<usize> = None;
        for (j, other) in sorted.iter().enumerate().rev() {
            let (obus, oidx) = key(other);
            if obus != bus {
                continue;
            }
            if oidx > idx {
                at = Some(j);
            } else if at.is_none() {
                at = Some(j + 1);
            }
        }
        match at {
            Some(j) => sorted.insert(j, disk),
            None => sorted.push(disk),
        }
    }
    for (slot, disk) in slots.into_iter().zip(sorted) {
        def.devices[slot] = disk;
    }
}
