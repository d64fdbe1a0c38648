//! `<rng>`: the `-object rng-random`/`rng-egd`/`rng-builtin` backend (with the EGD chardev) and
//! `virtio-rng-pci` with `max-bytes`/`period`.

use virt_xml::devices::rng::RngBackend;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::devices::chardev::{addr, backend};
use crate::argv::props::Props;

/// The period libvirt gives QEMU when a rate has none (milliseconds).
const DEFAULT_PERIOD_MS: u64 = 1000;

/// Writes each rng's backend and device.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    for (i, d) in def.devices.iter().enumerate() {
        let Device::Rng(r) = d else { continue };
        let alias = b.alias(i).to_string();
        let obj_id = format!("obj{alias}");
        let obj = match &r.backend {
            RngBackend::Random(file) => Props::new()
                .str("qom-type", "rng-random")
                .str("id", obj_id.clone())
                .str(
                    "filename",
                    file.clone().unwrap_or_else(|| "/dev/urandom".into()),
                ),
            RngBackend::Egd(src) => {
                let chr_id = format!("char{alias}");
                backend::emit(
                    b,
                    src,
                    &backend::ChardevUse {
                        id: &chr_id,
                        dev_alias: &alias,
                        spice_name: Some("vdagent"),
                    },
                )?;
                Props::new()
                    .str("qom-type", "rng-egd")
                    .str("id", obj_id.clone())
                    .str("chardev", chr_id)
            }
            RngBackend::Builtin => Props::new()
                .str("qom-type", "rng-builtin")
                .str("id", obj_id.clone()),
        };
        b.object(&obj);
        let mut p = Props::new().str(
            "driver",
            addr::virtio_pci_driver("virtio-rng", r.model.as_str()),
        );
        if let Some(drv) = &r.driver {
            p = addr::virtio_props(drv.iommu, drv.ats, drv.packed, drv.page_per_vq, p);
        }
        p = p.str("rng", obj_id).str("id", alias);
        if let Some(rate) = r.rate {
            p = p.uint("max-bytes", u64::from(rate.bytes)).uint(
                "period",
                rate.period.map(u64::from).unwrap_or(DEFAULT_PERIOD_MS),
            );
        }
        p = addr::address_props(b, &r.info, p);
        b.device(&p);
    }
    Ok(())
}
