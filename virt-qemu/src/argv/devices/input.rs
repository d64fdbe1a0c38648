//! inputs: `usb-tablet`/`usb-mouse`/`usb-kbd` on the USB bus, `virtio-*-pci` devices (and
//! `virtio-input-host-pci` for passthrough of a host event device), `-object input-linux` for an
//! evdev grab. PS/2 devices are built into the machine and write nothing.

use virt_xml::devices::input::{Input, InputBus, InputModel, InputType};
use virt_xml::domain::OnOff;
use virt_xml::Device;

use crate::argv::builder::{ArgvError, Builder};
use crate::argv::devices::chardev::addr::virtio_props;
use crate::argv::devices::net::common::push_address;
use crate::argv::props::Props;

fn refuse(alias: &str, reason: &str) -> ArgvError {
    ArgvError::Device {
        device: format!("input '{alias}'"),
        reason: reason.to_string(),
    }
}

fn evdev_object(alias: &str, input: &Input) -> Props {
    let src = input.source.clone().unwrap_or_default();
    Props::new()
        .str("qom-type", "input-linux")
        .str("id", alias)
        .opt_str("evdev", src.dev.or(src.evdev))
        .opt_bool("repeat", src.repeat.map(|r| r == OnOff::On))
        .opt_bool("grab_all", src.grab.map(|_| true))
        .opt_str("grab-toggle", src.grab_toggle.map(|g| g.as_str()))
}

fn device_props(b: &Builder<'_>, alias: &str, input: &Input) -> Result<Option<Props>, ArgvError> {
    let bus = input.bus.unwrap_or(InputBus::Ps2);
    match bus {
        InputBus::Ps2 | InputBus::Xen => Ok(None),
        InputBus::Usb => {
            let driver = match input.input_type {
                InputType::Mouse => "usb-mouse",
                InputType::Tablet => "usb-tablet",
                InputType::Keyboard => "usb-kbd",
                _ => {
                    return Err(refuse(
                        alias,
                        "this input type is not supported on the USB bus",
                    ))
                }
            };
            let mut p = Props::new().str("driver", driver).str("id", alias);
            push_address(b, &input.info, &mut p)?;
            Ok(Some(p))
        }
        InputBus::Virtio => {
            let base = match input.input_type {
                InputType::Mouse => "virtio-mouse",
                InputType::Tablet => "virtio-tablet",
                InputType::Keyboard => "virtio-keyboard",
                InputType::Passthrough => "virtio-input-host",
                InputType::Evdev => return Ok(None),
            };
            // virtio-input devices are virtio 1.0 only: QEMU has no transitional variants.
            if matches!(
                input.model,
                Some(InputModel::VirtioTransitional | InputModel::VirtioNonTransitional)
            ) {
                return Err(ArgvError::unsupported(format!(
                    "virtio (non-)transitional models are not supported for input type={}",
                    input.input_type.as_str()
                )));
            }
            let mut p = Props::new().str("driver", format!("{base}-pci"));
            if let Some(o) = &input.driver {
                p = virtio_props(o.iommu, o.ats, o.packed, o.page_per_vq, p);
            }
            p = p.str("id", alias);
            if input.input_type == InputType::Passthrough {
                let src = input.source.clone().unwrap_or_default();
                p = p.opt_str("evdev", src.evdev.or(src.dev));
            }
            push_address(b, &input.info, &mut p)?;
            Ok(Some(p))
        }
    }
}

/// Writes this family's options for every input device of `b.def`, in document order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    for (i, d) in def.devices.iter().enumerate() {
        let Device::Input(input) = d else { continue };
        let alias = b.alias(i).to_string();
        if input.input_type == InputType::Evdev {
            b.object(&evdev_object(&alias, input));
            continue;
        }
        if let Some(p) = device_props(b, &alias, input)? {
            b.device(&p);
        }
    }
    Ok(())
}
