//! `<iommu>`: `intel-iommu` (q35 only) and `virtio-iommu` devices with their options.

use virt_xml::devices::iommu::IommuModel;
use virt_xml::domain::OnOff;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder, Chipset};
use crate::argv::devices::chardev::addr;
use crate::argv::props::Props;

fn on_off(v: OnOff) -> &'static str {
    if v == OnOff::On {
        "on"
    } else {
        "off"
    }
}

/// Writes the IOMMU device.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    for (i, d) in def.devices.iter().enumerate() {
        let Device::Iommu(m) = d else { continue };
        let drv = m.driver.unwrap_or_default();
        match m.model {
            IommuModel::Intel => {
                if b.chipset != Chipset::Q35 {
                    return Err(ArgvError::unsupported(
                        "IOMMU device: 'intel' is only supported with Q35 machines",
                    ));
                }
                let mut p = Props::new()
                    .str("driver", "intel-iommu")
                    .str("id", b.alias(i));
                p = p.opt_str("intremap", drv.intremap.map(on_off));
                p = p.opt_bool("caching-mode", drv.caching_mode.map(|v| v == OnOff::On));
                p = p.opt_str("eim", drv.eim.map(on_off));
                p = p.opt_bool("device-iotlb", drv.iotlb.map(|v| v == OnOff::On));
                p = p.opt_uint("aw-bits", drv.aw_bits.map(u64::from));
                b.device(&p);
            }
            IommuModel::Virtio => {
                let mut p = Props::new()
                    .str("driver", "virtio-iommu")
                    .str("id", b.alias(i));
                p = addr::address_props(b, &m.info, p);
                b.device(&p);
            }
            // SMMUv3 is a machine property (`-machine iommu=smmuv3`), not a device.
            IommuModel::Smmuv3 => {}
        }
    }
    Ok(())
}
