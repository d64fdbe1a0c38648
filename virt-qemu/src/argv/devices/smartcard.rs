//! `<smartcard>`: the first one only (QEMU's CCID bus holds one card), as
//! `ccid-card-emulated` (host reader or certificates) or `ccid-card-passthru` behind its
//! `-chardev`, on the bus of its CCID controller.

use virt_xml::address::Address;
use virt_xml::devices::controller::ControllerType;
use virt_xml::devices::smartcard::SmartcardMode;
use virt_xml::Device;

use super::net::common::{chardev_props, controller_alias, emit_chardev};
use crate::argv::builder::{ArgvError, Builder};
use crate::argv::props::Props;

/// The NSS database libvirt uses when `<database>` is not given.
const DEFAULT_DATABASE: &str = "/etc/pki/nssdb";

/// Writes this family's options for the first `<smartcard>` of `b.def`.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    let Some((index, card)) = def.devices.iter().enumerate().find_map(|(i, d)| match d {
        Device::Smartcard(s) => Some((i, s)),
        _ => None,
    }) else {
        return Ok(());
    };
    let alias = b.alias(index).to_string();
    let mut p = match &card.mode {
        SmartcardMode::Host => Props::new()
            .str("driver", "ccid-card-emulated")
            .str("backend", "nss-emulated"),
        SmartcardMode::HostCertificates {
            certificates,
            database,
        } => {
            if certificates.len() != 3 {
                return Err(ArgvError::Device {
                    device: format!("smartcard '{alias}'"),
                    reason: "host-certificates mode needs exactly three certificates".into(),
                });
            }
            Props::new()
                .str("driver", "ccid-card-emulated")
                .str("backend", "certificates")
                .str("cert1", certificates[0].clone())
                .str("cert2", certificates[1].clone())
                .str("cert3", certificates[2].clone())
                .str("db", database.as_deref().unwrap_or(DEFAULT_DATABASE))
        }
        SmartcardMode::Passthrough { chr_type, backend } => {
            let chr = format!("char{alias}");
            let props = chardev_props(b, &chr, *chr_type, backend, "smartcard", true)?;
            emit_chardev(b, &props);
            Props::new()
                .str("driver", "ccid-card-passthru")
                .str("chardev", chr)
        }
    };
    let controller = match &card.info.address {
        Some(Address::Ccid { controller, .. }) => controller.unwrap_or(0),
        _ => 0,
    };
    let bus = controller_alias(b, ControllerType::Ccid, controller)?;
    p = p.str("id", alias).str("bus", format!("{bus}.0"));
    b.device(&p);
    Ok(())
}
