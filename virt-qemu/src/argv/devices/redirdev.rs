//! `<redirdev>`: per device, its `-chardev` (`spicevmc` named `usbredir`, or a socket), then
//! `-device usb-redir` with the `<redirfilter>` rules as QEMU's `filter` string.

use virt_xml::devices::redirdev::{Redirfilter, UsbdevRule};
use virt_xml::os::YesNo;
use virt_xml::Device;

use super::net::common::{chardev_props, emit_chardev, push_address, push_nonzero};
use crate::argv::builder::{ArgvError, Builder};
use crate::argv::props::{Props, Value};

/// One rule as `class:vendor:product:version:allow`, `-1` for "any".
fn rule_text(r: &UsbdevRule) -> String {
    let class = r.class.map_or("-1".to_string(), |c| format!("{c:#04X}"));
    let vendor = r.vendor.map_or("-1".to_string(), |v| format!("{v:#06X}"));
    let product = r.product.map_or("-1".to_string(), |v| format!("{v:#06X}"));
    let version = r
        .version
        .map_or("-1".to_string(), |(ma, mi)| format!("0x{ma:02X}{mi:02X}"));
    let allow = u8::from(r.allow == YesNo::Yes);
    // `{:#X}` writes `0X`; libvirt writes a lower-case prefix with upper-case digits.
    format!("{class}:{vendor}:{product}:{version}:{allow}").replace("0X", "0x")
}

/// QEMU's `filter` property for the rules (first match wins), `None` without rules.
pub(crate) fn filter_text(f: &Redirfilter) -> Option<String> {
    if f.rules.is_empty() {
        return None;
    }
    Some(f.rules.iter().map(rule_text).collect::<Vec<_>>().join("|"))
}

/// Writes this family's options for every `<redirdev>` of `b.def`, in document order.
pub fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let def = b.def;
    let filter = def.devices.iter().find_map(|d| match d {
        Device::Redirfilter(f) => filter_text(f),
        _ => None,
    });
    for (index, d) in def.devices.iter().enumerate() {
        let Device::Redirdev(r) = d else { continue };
        let alias = b.alias(index).to_string();
        let chr = format!("char{alias}");
        let props = chardev_props(b, &chr, r.chr_type, &r.backend, "usbredir", true)?;
        emit_chardev(b, &props);
        let mut p = Props::new()
            .str("driver", "usb-redir")
            .str("chardev", chr)
            .str("id", alias.clone());
        if let Some(f) = &filter {
            p.push("filter", Value::Str(f.clone()));
        }
        push_nonzero(
            &mut p,
            "bootindex",
            r.info.boot.as_ref().map(|o| u64::from(o.order)),
        );
        push_address(b, &r.info, &mut p)?;
        b.device(&p);
    }
    Ok(())
}
