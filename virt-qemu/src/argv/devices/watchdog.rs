//! `<watchdog>`: `i6300esb` (PCI), `ib700` (ISA), `diag288` (s390), and `-watchdog-action`.

use virt_xml::devices::watchdog::{WatchdogAction, WatchdogModel};
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::devices::chardev::addr;
use crate::argv::props::Props;

/// Writes the watchdog devices and the action of the first.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    let mut action_written = false;
    for (i, d) in def.devices.iter().enumerate() {
        let Device::Watchdog(w) = d else { continue };
        let mut p = Props::new()
            .str("driver", w.model.as_str())
            .str("id", b.alias(i));
        if w.model == WatchdogModel::I6300esb {
            p = addr::address_props(b, &w.info, p);
        }
        b.device(&p);
        if action_written {
            continue;
        }
        // QEMU has no "dump" action: libvirt pauses the guest and dumps it itself.
        let action = match w.action {
            None | Some(WatchdogAction::Reset) => None,
            Some(WatchdogAction::Dump) => Some("pause"),
            Some(a) => Some(a.as_str()),
        };
        if let Some(a) = action {
            b.arg("-watchdog-action", a);
            action_written = true;
        }
    }
    Ok(())
}
