//! `<memballoon>`: `virtio-balloon-pci` (statistics are set over QMP, so nothing here for them).

use virt_xml::devices::memballoon::MemballoonModel;
use virt_xml::domain::OnOff;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::devices::chardev::addr;
use crate::argv::props::Props;

/// Writes `-device virtio-balloon-*` for a virtio balloon.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    for (i, d) in def.devices.iter().enumerate() {
        let Device::Memballoon(m) = d else { continue };
        if matches!(m.model, MemballoonModel::None | MemballoonModel::Xen) {
            continue;
        }
        let mut p = Props::new().str(
            "driver",
            addr::virtio_pci_driver("virtio-balloon", m.model.as_str()),
        );
        p = addr::virtio_opts(m.driver.as_ref(), p);
        p = p.str("id", b.alias(i));
        p = p.opt_bool("deflate-on-oom", m.autodeflate.map(|v| v == OnOff::On));
        p = p.opt_bool(
            "free-page-reporting",
            m.free_page_reporting.map(|v| v == OnOff::On),
        );
        p = addr::address_props(b, &m.info, p);
        b.device(&p);
    }
    Ok(())
}
