//! `<tpm>`: `-tpmdev passthrough` (device and cancel files as fd sets) or `-tpmdev emulator`
//! (with the swtpm socket chardev), then the `tpm-tis`/`tpm-crb`/`tpm-spapr` frontend.

use virt_xml::devices::tpm::{TpmBackendKind, TpmModel};
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::cmdline::FdPurpose;
use crate::argv::host::{FdKind, FdNumbering};
use crate::argv::props::{escape_comma, Props};

/// The swtpm socket path libvirt's argv test harness substitutes.
const HARNESS_SWTPM_SOCKET: &str = "/dev/test";

fn swtpm_socket(b: &Builder<'_>) -> String {
    if b.host.fd_numbering == FdNumbering::LibvirtTestHarness {
        HARNESS_SWTPM_SOCKET.to_string()
    } else {
        b.host
            .runtime_dir
            .join("swtpm.sock")
            .to_string_lossy()
            .into_owned()
    }
}

/// The cancel file of a TPM character device (`/dev/tpm0` → `/sys/class/misc/tpm0/device/cancel`).
fn cancel_path(dev: &str) -> String {
    let name = dev.rsplit('/').next().unwrap_or(dev);
    format!("/sys/class/misc/{name}/device/cancel")
}

/// Writes each TPM's backend and frontend.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    for (i, d) in def.devices.iter().enumerate() {
        let Device::Tpm(t) = d else { continue };
        let alias = b.alias(i).to_string();
        let tpmdev = format!("tpm-{alias}");
        match &t.backend.kind {
            TpmBackendKind::Passthrough { device_path } => {
                let dev = device_path.clone().unwrap_or_else(|| "/dev/tpm0".into());
                let path = b.add_fd(
                    FdKind::TpmDevice,
                    FdPurpose::Other {
                        alias: alias.clone(),
                        what: format!("TPM device {dev}"),
                    },
                    &format!("{alias}-tpm"),
                );
                let cancel = b.add_fd(
                    FdKind::TpmCancel,
                    FdPurpose::Other {
                        alias: alias.clone(),
                        what: format!("TPM cancel file {}", cancel_path(&dev)),
                    },
                    &format!("{alias}-cancel"),
                );
                b.arg(
                    "-tpmdev",
                    format!("passthrough,id={tpmdev},path={path},cancel-path={cancel}"),
                );
            }
            TpmBackendKind::Emulator { .. } | TpmBackendKind::External { .. } => {
                let sock = match &t.backend.kind {
                    TpmBackendKind::External {
                        source_path: Some(p),
                    } => p.clone(),
                    TpmBackendKind::External { source_path: None } => {
                        return Err(ArgvError::Device {
                            device: format!("tpm '{alias}'"),
                            reason: "external TPM needs a source path".into(),
                        })
                    }
                    _ => swtpm_socket(b),
                };
                b.arg(
                    "-chardev",
                    format!("socket,id=chrtpm,path={}", escape_comma(&sock)),
                );
                b.arg("-tpmdev", format!("emulator,id={tpmdev},chardev=chrtpm"));
            }
        }
        let model = t.model.unwrap_or(TpmModel::TpmTis);
        let driver = match model {
            TpmModel::SpaprTpmProxy => {
                return Err(ArgvError::unsupported(
                    "spapr-tpm-proxy is not supported on this machine",
                ))
            }
            m => m.as_str(),
        };
        let p = Props::new()
            .str("driver", driver)
            .str("tpmdev", tpmdev)
            .str("id", alias);
        b.device(&p);
    }
    Ok(())
}
