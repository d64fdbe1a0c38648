//! [`Device`]: one child of `<devices>`, typed, with its kind (the order libvirt writes kinds in).

use crate::domain::DeviceKind;
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

use super::audio::Audio;
use super::chardev::Chardev;
use super::controller::Controller;
use super::crypto::Crypto;
use super::disk::Disk;
use super::filesystem::Filesystem;
use super::graphics::Graphics;
use super::hostdev::Hostdev;
use super::hub::Hub;
use super::info::DeviceInfo;
use super::input::Input;
use super::interface::Interface;
use super::iommu::Iommu;
use super::lease::Lease;
use super::memballoon::Memballoon;
use super::memory::MemoryDevice;
use super::panic::Panic;
use super::redirdev::{Redirdev, Redirfilter};
use super::rng::Rng;
use super::shmem::Shmem;
use super::smartcard::Smartcard;
use super::sound::Sound;
use super::tpm::Tpm;
use super::video::Video;
use super::vsock::Vsock;
use super::watchdog::Watchdog;

/// A device of a domain. Variants are held inline (a domain's device list is small and read far
/// more often than moved).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Device {
    /// `<emulator>`: the emulator binary's path.
    Emulator(String),
    Disk(Disk),
    Controller(Controller),
    Lease(Lease),
    Filesystem(Filesystem),
    Interface(Interface),
    Smartcard(Smartcard),
    Serial(Chardev),
    Parallel(Chardev),
    Console(Chardev),
    Channel(Chardev),
    Input(Input),
    Tpm(Tpm),
    Graphics(Graphics),
    Sound(Sound),
    Audio(Audio),
    Video(Video),
    Hostdev(Hostdev),
    Redirdev(Redirdev),
    Redirfilter(Redirfilter),
    Hub(Hub),
    Watchdog(Watchdog),
    Memballoon(Memballoon),
    Rng(Rng),
    Panic(Panic),
    Shmem(Shmem),
    Memory(MemoryDevice),
    Iommu(Iommu),
    Vsock(Vsock),
    Crypto(Crypto),
}

impl Device {
    /// Reads a device from its schema-checked, normalised element.
    pub fn from_element(el: &Element) -> Result<Device, XmlError> {
        let kind: DeviceKind = el.name.parse().map_err(|_| XmlError::UnknownElement {
            pos: el.pos,
            parent: "devices".into(),
            element: el.name.clone(),
        })?;
        Ok(match kind {
            DeviceKind::Emulator => Device::Emulator(el.text().trim().to_string()),
            DeviceKind::Disk => Device::Disk(Disk::from_element(el)?),
            DeviceKind::Controller => Device::Controller(Controller::from_element(el)?),
            DeviceKind::Lease => Device::Lease(Lease::from_element(el)?),
            DeviceKind::Filesystem => Device::Filesystem(Filesystem::from_element(el)?),
            DeviceKind::Interface => Device::Interface(Interface::from_element(el)?),
            DeviceKind::Smartcard => Device::Smartcard(Smartcard::from_element(el)?),
            DeviceKind::Serial => Device::Serial(Chardev::from_element(el)?),
            DeviceKind::Parallel => Device::Parallel(Chardev::from_element(el)?),
            DeviceKind::Console => Device::Console(Chardev::from_element(el)?),
            DeviceKind::Channel => Device::Channel(Chardev::from_element(el)?),
            DeviceKind::Input => Device::Input(Input::from_element(el)?),
            DeviceKind::Tpm => Device::Tpm(Tpm::from_element(el)?),
            DeviceKind::Graphics => Device::Graphics(Graphics::from_element(el)?),
            DeviceKind::Sound => Device::Sound(Sound::from_element(el)?),
            DeviceKind::Audio => Device::Audio(Audio::from_element(el)?),
            DeviceKind::Video => Device::Video(Video::from_element(el)?),
            DeviceKind::Hostdev => Device::Hostdev(Hostdev::from_element(el)?),
            DeviceKind::Redirdev => Device::Redirdev(Redirdev::from_element(el)?),
            DeviceKind::Redirfilter => Device::Redirfilter(Redirfilter::from_element(el)?),
            DeviceKind::Hub => Device::Hub(Hub::from_element(el)?),
            DeviceKind::Watchdog => Device::Watchdog(Watchdog::from_element(el)?),
            DeviceKind::Memballoon => Device::Memballoon(Memballoon::from_element(el)?),
            DeviceKind::Rng => Device::Rng(Rng::from_element(el)?),
            DeviceKind::Panic => Device::Panic(Panic::from_element(el)?),
            DeviceKind::Shmem => Device::Shmem(Shmem::from_element(el)?),
            DeviceKind::Memory => Device::Memory(MemoryDevice::from_element(el)?),
            DeviceKind::Iommu => Device::Iommu(Iommu::from_element(el)?),
            DeviceKind::Vsock => Device::Vsock(Vsock::from_element(el)?),
            DeviceKind::Crypto => Device::Crypto(Crypto::from_element(el)?),
        })
    }

    /// The device's kind.
    pub fn kind(&self) -> DeviceKind {
        match self {
            Device::Emulator(_) => DeviceKind::Emulator,
            Device::Disk(_) => DeviceKind::Disk,
            Device::Controller(_) => DeviceKind::Controller,
            Device::Lease(_) => DeviceKind::Lease,
            Device::Filesystem(_) => DeviceKind::Filesystem,
            Device::Interface(_) => DeviceKind::Interface,
            Device::Smartcard(_) => DeviceKind::Smartcard,
            Device::Serial(_) => DeviceKind::Serial,
            Device::Parallel(_) => DeviceKind::Parallel,
            Device::Console(_) => DeviceKind::Console,
            Device::Channel(_) => DeviceKind::Channel,
            Device::Input(_) => DeviceKind::Input,
            Device::Tpm(_) => DeviceKind::Tpm,
            Device::Graphics(_) => DeviceKind::Graphics,
            Device::Sound(_) => DeviceKind::Sound,
            Device::Audio(_) => DeviceKind::Audio,
            Device::Video(_) => DeviceKind::Video,
            Device::Hostdev(_) => DeviceKind::Hostdev,
            Device::Redirdev(_) => DeviceKind::Redirdev,
            Device::Redirfilter(_) => DeviceKind::Redirfilter,
            Device::Hub(_) => DeviceKind::Hub,
            Device::Watchdog(_) => DeviceKind::Watchdog,
            Device::Memballoon(_) => DeviceKind::Memballoon,
            Device::Rng(_) => DeviceKind::Rng,
            Device::Panic(_) => DeviceKind::Panic,
            Device::Shmem(_) => DeviceKind::Shmem,
            Device::Memory(_) => DeviceKind::Memory,
            Device::Iommu(_) => DeviceKind::Iommu,
            Device::Vsock(_) => DeviceKind::Vsock,
            Device::Crypto(_) => DeviceKind::Crypto,
        }
    }

    /// Writes the device in libvirt's canonical form.
    pub fn write(&self, w: &mut Writer) {
        match self {
            Device::Emulator(p) => w.leaf(Tag::new("emulator"), p),
            Device::Disk(d) => d.write(w),
            Device::Controller(d) => d.write(w),
            Device::Lease(d) => d.write(w),
            Device::Filesystem(d) => d.write(w),
            Device::Interface(d) => d.write(w),
            Device::Smartcard(d) => d.write(w),
            Device::Serial(d) => d.write(w, "serial"),
            Device::Parallel(d) => d.write(w, "parallel"),
            Device::Console(d) => d.write(w, "console"),
            Device::Channel(d) => d.write(w, "channel"),
            Device::Input(d) => d.write(w),
            Device::Tpm(d) => d.write(w),
            Device::Graphics(d) => d.write(w),
            Device::Sound(d) => d.write(w),
            Device::Audio(d) => d.write(w),
            Device::Video(d) => d.write(w),
            Device::Hostdev(d) => d.write(w),
            Device::Redirdev(d) => d.write(w),
            Device::Redirfilter(d) => d.write(w),
            Device::Hub(d) => d.write(w),
            Device::Watchdog(d) => d.write(w),
            Device::Memballoon(d) => d.write(w),
            Device::Rng(d) => d.write(w),
            Device::Panic(d) => d.write(w),
            Device::Shmem(d) => d.write(w),
            Device::Memory(d) => d.write(w),
            Device::Iommu(d) => d.write(w),
            Device::Vsock(d) => d.write(w),
            Device::Crypto(d) => d.write(w),
        }
    }

    /// The shared parts (alias, address, boot order, ...), for devices that have them.
    pub fn info(&self) -> Option<&DeviceInfo> {
        Some(match self {
            Device::Disk(d) => &d.info,
            Device::Controller(d) => &d.info,
            Device::Filesystem(d) => &d.info,
            Device::Interface(d) => &d.info,
            Device::Smartcard(d) => &d.info,
            Device::Serial(d) | Device::Parallel(d) | Device::Console(d) | Device::Channel(d) => {
                &d.info
            }
            Device::Input(d) => &d.info,
            Device::Tpm(d) => &d.info,
            Device::Sound(d) => &d.info,
            Device::Video(d) => &d.info,
            Device::Hostdev(d) => &d.info,
            Device::Redirdev(d) => &d.info,
            Device::Hub(d) => &d.info,
            Device::Watchdog(d) => &d.info,
            Device::Memballoon(d) => &d.info,
            Device::Rng(d) => &d.info,
            Device::Panic(d) => &d.info,
            Device::Shmem(d) => &d.info,
            Device::Memory(d) => &d.info,
            Device::Iommu(d) => &d.info,
            Device::Vsock(d) => &d.info,
            Device::Crypto(d) => &d.info,
            Device::Emulator(_)
            | Device::Lease(_)
            | Device::Graphics(_)
            | Device::Audio(_)
            | Device::Redirfilter(_) => return None,
        })
    }

    /// The shared parts, mutable (to set an address or alias).
    pub fn info_mut(&mut self) -> Option<&mut DeviceInfo> {
        Some(match self {
            Device::Disk(d) => &mut d.info,
            Device::Controller(d) => &mut d.info,
            Device::Filesystem(d) => &mut d.info,
            Device::Interface(d) => &mut d.info,
            Device::Smartcard(d) => &mut d.info,
            Device::Serial(d) | Device::Parallel(d) | Device::Console(d) | Device::Channel(d) => {
                &mut d.info
            }
            Device::Input(d) => &mut d.info,
            Device::Tpm(d) => &mut d.info,
            Device::Sound(d) => &mut d.info,
            Device::Video(d) => &mut d.info,
            Device::Hostdev(d) => &mut d.info,
            Device::Redirdev(d) => &mut d.info,
            Device::Hub(d) => &mut d.info,
            Device::Watchdog(d) => &mut d.info,
            Device::Memballoon(d) => &mut d.info,
            Device::Rng(d) => &mut d.info,
            Device::Panic(d) => &mut d.info,
            Device::Shmem(d) => &mut d.info,
            Device::Memory(d) => &mut d.info,
            Device::Iommu(d) => &mut d.info,
            Device::Vsock(d) => &mut d.info,
            Device::Crypto(d) => &mut d.info,
            Device::Emulator(_)
            | Device::Lease(_)
            | Device::Graphics(_)
            | Device::Audio(_)
            | Device::Redirfilter(_) => return None,
        })
    }

    /// The guest address, when the device has one.
    pub fn address(&self) -> Option<&crate::address::Address> {
        self.info().and_then(|i| i.address.as_ref())
    }

    /// The device as libvirt's canonical XML text.
    pub fn to_xml(&self) -> String {
        let mut w = Writer::new();
        self.write(&mut w);
        w.finish()
    }
}
