//! `<panic>`: the ISA `pvpanic` device (the other models are machine features, not devices).

use virt_xml::address::Address;
use virt_xml::devices::panic::PanicModel;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::props::Props;

/// Writes `-device pvpanic` for each ISA panic device.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    for d in &def.devices {
        let Device::Panic(pn) = d else { continue };
        let model = pn.model.unwrap_or(if b.is_pc() {
            PanicModel::Isa
        } else {
            PanicModel::Hyperv
        });
        if model != PanicModel::Isa {
            continue;
        }
        let mut p = Props::new().str("driver", "pvpanic");
        if let Some(Address::Isa {
            iobase: Some(io), ..
        }) = &pn.info.address
        {
            p = p.uint("ioport", u64::from(*io));
        }
        b.device(&p);
    }
    Ok(())
}
