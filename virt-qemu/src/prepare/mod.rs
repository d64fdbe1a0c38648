//! The QEMU driver's post-parse stage: what libvirt 9.0's QEMU driver adds to and fills into a
//! domain definition for an x86_64 QEMU 7.2 guest before it is saved or started.
//!
//! [`prepare`] fills in the default CPU model and machine devices (USB, SATA on q35, the PCI or
//! PCIe root, PS/2 input, the memory balloon, the audio backend), controller and video model
//! defaults, the serial port behind a serial console, the controllers disks and channels need,
//! drive and virtio-serial addresses, and PCI addresses (with the pcie-root-ports or pci-bridges
//! the devices need, the chipset's fixed slots, multifunction flags and the controllers'
//! chassis/port values). [`aliases`] gives libvirt's default alias of every device.
//!
//! Devices are read and changed only through the private `view` module.

mod alias;
mod defaults;
mod memory;
mod pci;
#[cfg(test)]
mod props;
mod usb;
mod validate;
mod view;

use virt_xml::Domain;

use crate::argv::caps::QemuCaps;

pub use alias::aliases;
pub use defaults::{default_audio, DefaultAudio};
pub use usb::assign_usb_ports;

/// Why a domain cannot be prepared for QEMU.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// A device libvirt refuses in this configuration.
    #[error("{device}: {message}")]
    Invalid { device: String, message: String },
    /// No PCI slot is left for a device.
    #[error("{0}: no free PCI slot is left")]
    NoPciSlot(String),
    /// No USB port is left for a device.
    #[error("{0}: no free USB port is left")]
    NoUsbPort(String),
    /// A snippet this stage builds did not parse (a bug in this stage).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Driver settings that change what this stage adds (libvirt's `qemu.conf` and environment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrepareOptions {
    /// `vnc_allow_host_audio`: a VNC guest gets the host's audio backend.
    pub vnc_allow_host_audio: bool,
    /// `nographics_allow_host_audio`: a guest without graphics gets the host's audio backend.
    pub nographics_allow_host_audio: bool,
    /// The host audio backend (`QEMU_AUDIO_DRV`), e.g. `alsa`.
    pub host_audio: Option<String>,
    /// The host's SDL audio driver (`SDL_AUDIODRIVER`), e.g. `esd`, for an SDL backend.
    pub host_sdl_audio: Option<String>,
}

/// The machine type as the rules here need it.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    /// The canonical machine type name (`pc` expanded to `pc-i440fx-7.2`).
    pub canonical: String,
    pub q35: bool,
    pub i440fx: bool,
    /// The machine's root bus is PCI Express.
    pub pcie: bool,
    pub x86: bool,
}

/// Fills libvirt's QEMU defaults, implicit devices and device addresses into `def`, as libvirt
/// 9.0 does when it defines a domain for QEMU 7.2 on x86_64. The machine type is kept as
/// written (see [`canonical_machine`]).
pub fn prepare(def: &mut Domain, caps: &QemuCaps) -> Result<(), PrepareError> {
    prepare_with(def, caps, &PrepareOptions::default())
}

/// [`prepare`] with driver settings.
pub fn prepare_with(
    def: &mut Domain,
    caps: &QemuCaps,
    opts: &PrepareOptions,
) -> Result<(), PrepareError> {
    let mut p = view::Prep::new(std::mem::replace(def, Domain::new(def.domain_type, "")))?;
    let r = prepare_parts(&mut p, caps, opts);
    *def = p.finish()?;
    r
}

fn prepare_parts(
    def: &mut view::Prep,
    caps: &QemuCaps,
    opts: &PrepareOptions,
) -> Result<(), PrepareError> {
    let m = defaults::machine(def, caps)?;
    defaults::cpu(def, &m)?;
    defaults::domain_misc(def);
    defaults::order_disks(def);
    defaults::disk_format(def);
    defaults::device_misc(def, caps)?;
    defaults::machine_devices(def, &m)?;
    defaults::serial_console(def, &m)?;
    defaults::graphics_and_channels(def);
    defaults::drive_addresses(def);
    memory::filesystem_defaults(def);
    memory::dimm_slots(def)?;
    validate::addresses(def)?;
    validate::pci_duplicates(def)?;
    defaults::implicit_controllers(def)?;
    defaults::controller_models(def, &m);
    defaults::implicit_video(def)?;
    defaults::video(def);
    defaults::audio(def, opts)?;
    defaults::virtio_serial_ports(def);
    pci::assign(def, &m)?;
    Ok(())
}

/// Rewrites a machine type alias (`pc`, `q35`) to the canonical name QEMU reports for it
/// (`pc-i440fx-7.2`, `pc-q35-7.2`), as libvirt does when it starts a guest.
pub fn canonical_machine(def: &mut Domain, caps: &QemuCaps) -> Result<(), PrepareError> {
    let m = defaults::machine(def, caps)?;
    if let Some(os) = def.os_def.as_mut() {
        os.machine = Some(m.canonical);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(xml: &str) -> Domain {
        let mut d = Domain::parse(xml).expect("parses");
        prepare(&mut d, &QemuCaps::x86_64_7_2()).expect("prepares");
        d
    }

    const PC: &str = "<domain type='kvm'><name>g</name><memory>1024</memory>\
        <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
        <disk type='file' device='disk'><source file='/i.img'/><target dev='vda' bus='virtio'/></disk>\
        <interface type='user'><model type='virtio'/></interface>\
        <graphics type='vnc'/></devices></domain>";

    #[test]
    fn i440fx_slots_follow_libvirts_order() {
        let xml = prepared(PC).to_xml();
        // PIIX3 USB at 1.2, the implicit video at 2, then NIC, disk, balloon.
        for (what, slot) in [
            (
                "<controller type='usb' index='0' model='piix3-uhci'>",
                "0x01' function='0x2",
            ),
            ("<video>", "0x02' function='0x0"),
            ("<interface type='user'>", "0x03' function='0x0"),
            ("<disk type='file' device='disk'>", "0x04' function='0x0"),
            ("<memballoon model='virtio'>", "0x05' function='0x0"),
        ] {
            let at = xml.find(what).unwrap_or_else(|| panic!("{what} in {xml}"));
            let addr = &xml[at..];
            let addr = &addr[addr.find("<address").expect("address")..];
            assert!(
                addr.starts_with(&format!(
                    "<address type='pci' domain='0x0000' bus='0x00' slot='{slot}'/>"
                )),
                "{what}: {}",
                &addr[..80.min(addr.len())]
            );
        }
        assert!(xml.contains("<controller type='pci' index='0' model='pci-root'/>"));
        assert!(xml.contains("<audio id='1' type='none'/>"));
    }

    #[test]
    fn q35_devices_get_root_ports_and_one_spare() {
        let xml = PC.replace("machine='pc'", "machine='q35'");
        let d = prepared(&xml);
        let out = d.to_xml();
        // NIC, disk, USB controller and balloon each need a root port; one more is left free.
        assert!(out.contains("<controller type='pci' index='5' model='pcie-root-port'>"));
        assert!(!out.contains("index='6' model='pcie-root-port'"));
        assert!(out.contains("<target chassis='1' port='0x10'/>"), "{out}");
        assert!(out.contains(
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0' multifunction='on'/>"
        ));
        let aliases = aliases(&d);
        assert_eq!(aliases.len(), d.devices.len());
        for a in [
            "virtio-disk0",
            "net0",
            "usb",
            "pcie.0",
            "pci.1",
            "ide",
            "balloon0",
            "video0",
        ] {
            assert!(aliases.iter().any(|x| x == a), "{a} in {aliases:?}");
        }
    }

    #[test]
    fn prepare_is_idempotent() {
        let once = prepared(PC).to_xml();
        let twice = prepared(&once).to_xml();
        assert_eq!(once, twice);
    }

    #[test]
    fn colliding_drive_addresses_are_refused_naming_the_disk() {
        let xml = "<domain type='kvm'><name>g</name><memory>1024</memory>\
            <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
            <disk type='file' device='disk'><source file='/a'/><target dev='hda' bus='ide'/></disk>\
            <disk type='file' device='disk'><source file='/b'/><target dev='hdb' bus='ide'/>\
            <address type='drive' controller='0' bus='0' target='0' unit='0'/></disk>\
            </devices></domain>";
        let mut d = Domain::parse(xml).expect("parses");
        let e = prepare(&mut d, &QemuCaps::x86_64_7_2()).expect_err("collision");
        assert!(e.to_string().contains("target='hda'"), "{e}");
    }
}
