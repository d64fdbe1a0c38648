//! video: `-device` for each adapter (`VGA`, `cirrus-vga`, `vmware-svga`, `qxl-vga`/`qxl`,
//! `virtio-vga`/`virtio-gpu-pci` (`-gl` with 3D acceleration), `vhost-user-vga`/
//! `vhost-user-gpu-pci` with their socket chardev, `bochs-display`, `ramfb`). The first adapter is
//! the primary one; the others are secondary devices.

use virt_xml::devices::video::{Video, VideoBackend, VideoModelType};
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::cmdline::FdPurpose;
use crate::argv::devices::chardev::addr::virtio_props;
use crate::argv::devices::net::common::push_address;
use crate::argv::host::FdKind;
use crate::argv::props::Props;

fn refuse(alias: &str, reason: impl Into<String>) -> ArgvError {
    ArgvError::Device {
        device: format!("video '{alias}'"),
        reason: reason.into(),
    }
}

/// The QEMU device of an adapter, or `None` when it writes nothing.
fn driver(v: &Video, primary: bool, alias: &str) -> Result<Option<String>, ArgvError> {
    let Some(model) = &v.model else {
        return Ok(None);
    };
    let vhost_user = v.driver.as_ref().and_then(|d| d.name) == Some(VideoBackend::Vhostuser);
    let gl = model.acceleration.as_ref().and_then(|a| a.accel3d) == Some(true);
    Ok(Some(match model.model_type {
        VideoModelType::None => return Ok(None),
        VideoModelType::Vga if primary => "VGA".into(),
        VideoModelType::Cirrus if primary => "cirrus-vga".into(),
        VideoModelType::Vmvga if primary => "vmware-svga".into(),
        VideoModelType::Qxl => if primary { "qxl-vga" } else { "qxl" }.into(),
        VideoModelType::Virtio => match (primary, vhost_user) {
            (true, true) => "vhost-user-vga".into(),
            (false, true) => "vhost-user-gpu-pci".into(),
            (true, false) if gl => "virtio-vga-gl".into(),
            (true, false) => "virtio-vga".into(),
            (false, false) if gl => "virtio-gpu-gl-pci".into(),
            (false, false) => "virtio-gpu-pci".into(),
        },
        VideoModelType::Bochs => "bochs-display".into(),
        VideoModelType::Ramfb => "ramfb".into(),
        other => {
            return Err(refuse(
                alias,
                format!(
                    "video type {} is not supported{}",
                    other.as_str(),
                    if primary { "" } else { " as secondary device" }
                ),
            ))
        }
    }))
}

fn emit_one(b: &mut Builder<'_>, v: &Video, alias: &str, primary: bool) -> Result<(), ArgvError> {
    let Some(drv) = driver(v, primary, alias)? else {
        return Ok(());
    };
    let Some(model) = &v.model else {
        return Ok(());
    };
    let vhost_user = drv.starts_with("vhost-user");
    let chardev = format!("chr-vu-{alias}");
    if vhost_user {
        let fd = b.pass_fd(
            FdKind::UnixListener,
            FdPurpose::Other {
                alias: alias.to_string(),
                what: "vhost-user-gpu socket".into(),
            },
        );
        b.arg("-chardev", format!("socket,id={chardev},fd={fd}"));
    }
    let mut p = Props::new().str("driver", drv.as_str());
    // `vhost-user-vga` is no virtio device of QEMU's: it takes no virtio options.
    if model.model_type == VideoModelType::Virtio && drv != "vhost-user-vga" {
        if let Some(d) = &v.driver {
            let o = &d.virtio;
            p = virtio_props(o.iommu, o.ats, o.packed, o.page_per_vq, p);
        }
    }
    p = p.str("id", alias);
    match model.model_type {
        VideoModelType::Qxl => {
            p = p
                .opt_uint("max_outputs", model.heads.map(u64::from))
                .opt_uint("ram_size", model.ram.map(|r| u64::from(r) * 1024))
                .opt_uint("vram_size", model.vram.map(|r| u64::from(r) * 1024))
                .uint(
                    "vram64_size_mb",
                    u64::from(model.vram64.unwrap_or(0)) / 1024,
                )
                .opt_uint("vgamem_mb", model.vgamem.map(|r| u64::from(r) / 1024));
        }
        VideoModelType::Virtio => {
            p = p.opt_uint("max_outputs", model.heads.map(u64::from));
            if vhost_user {
                p = p.str("chardev", chardev);
            }
        }
        VideoModelType::Vga | VideoModelType::Vmvga => {
            p = p.opt_uint("vgamem_mb", model.vram.map(|r| u64::from(r) / 1024));
        }
        VideoModelType::Bochs => {
            p = p.opt_uint("vgamem", model.vram.map(|r| u64::from(r) * 1024));
        }
        _ => {}
    }
    if let Some(r) = &model.resolution {
        p = p.uint("xres", u64::from(r.x)).uint("yres", u64::from(r.y));
    }
    if model.model_type == VideoModelType::Ramfb && v.info.address.is_some() {
        return Err(refuse(
            alias,
            "'address' is not supported for 'ramfb' video devices",
        ));
    }
    push_address(b, &v.info, &mut p)?;
    b.device(&p);
    Ok(())
}

/// Writes this family's options for every video adapter of `b.def`, in document order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    let mut first = true;
    for (i, d) in def.devices.iter().enumerate() {
        let Device::Video(v) = d else { continue };
        let alias = b.alias(i).to_string();
        emit_one(b, v, &alias, first)?;
        first = false;
    }
    Ok(())
}
