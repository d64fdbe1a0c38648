//! `<vsock>`: `vhost-vsock-pci` with its vhost fd.

use virt_xml::os::YesNo;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::cmdline::FdPurpose;
use crate::argv::devices::chardev::addr;
use crate::argv::host::{FdKind, FdNumbering};
use crate::argv::props::Props;

/// The vhost-vsock fd number and automatic guest CID libvirt's argv test harness uses.
const HARNESS_VHOSTFD: i32 = 6789;
const HARNESS_AUTO_CID: u32 = 42;

/// Writes `-device vhost-vsock-pci` and plans its `/dev/vhost-vsock` fd.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    for (i, d) in def.devices.iter().enumerate() {
        let Device::Vsock(v) = d else { continue };
        let alias = b.alias(i).to_string();
        let harness = b.host.fd_numbering == FdNumbering::LibvirtTestHarness;
        let cid = v.cid.unwrap_or_default();
        let guest_cid = match (cid.address, cid.auto) {
            (Some(a), _) => a,
            (None, Some(YesNo::Yes)) | (None, None) if harness => HARNESS_AUTO_CID,
            _ => {
                return Err(ArgvError::Device {
                    device: format!("vsock '{alias}'"),
                    reason: "no guest CID assigned".into(),
                })
            }
        };
        let purpose = FdPurpose::Vsock {
            alias: alias.clone(),
        };
        let fd = if harness {
            b.note_fd(HARNESS_VHOSTFD, purpose);
            HARNESS_VHOSTFD
        } else {
            // Sequential numbering does not look at the kind.
            b.pass_fd(FdKind::VhostScsi, purpose)
        };
        let model = v.model.map(|m| m.as_str()).unwrap_or("virtio");
        let mut p = Props::new().str("driver", addr::virtio_pci_driver("vhost-vsock", model));
        p = addr::virtio_opts(v.driver.as_ref(), p);
        p = p
            .str("id", alias)
            .uint("guest-cid", u64::from(guest_cid))
            .str("vhostfd", fd.to_string());
        p = addr::address_props(b, &v.info, p);
        b.device(&p);
    }
    Ok(())
}
