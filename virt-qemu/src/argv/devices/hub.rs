//! hubs: `-device usb-hub` for each `<hub type='usb'>`, then the CCID controllers
//! (`usb-ccid`), which sit on the USB bus and so come after the hubs.

use virt_xml::devices::controller::ControllerType;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::devices::net::common::push_address;
use crate::argv::props::Props;

/// Writes `usb-hub` for every hub, then `usb-ccid` for every CCID controller, in document order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    for (i, d) in def.devices.iter().enumerate() {
        if let Device::Hub(h) = d {
            let mut p = Props::new().str("driver", "usb-hub").str("id", b.alias(i));
            push_address(b, &h.info, &mut p)?;
            b.device(&p);
        }
    }
    let mut ccids: Vec<(usize, u32)> = def
        .devices
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            Device::Controller(c) if c.kind == ControllerType::Ccid => Some((i, c.index)),
            _ => None,
        })
        .collect();
    ccids.sort_by_key(|(i, idx)| (*idx, *i));
    for (i, _) in ccids {
        let Device::Controller(c) = &def.devices[i] else {
            continue;
        };
        let mut p = Props::new().str("driver", "usb-ccid").str("id", b.alias(i));
        push_address(b, &c.info, &mut p)?;
        b.device(&p);
    }
    Ok(())
}
