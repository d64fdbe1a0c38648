//! `-audiodev` for each `<audio>` backend, and the implicit backend libvirt adds when a domain
//! names none.

use virt_xml::domain::DeviceKind;
use virt_xml::tree::Element;

use super::builder::{ArgvError, Builder};
use super::props::{Props, Value};
use super::view;

/// QEMU's driver name for a libvirt audio type.
fn driver_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "none" => "none",
        "alsa" => "alsa",
        "coreaudio" => "coreaudio",
        "jack" => "jack",
        "oss" => "oss",
        "pulseaudio" => "pa",
        "sdl" => "sdl",
        "spice" => "spice",
        "file" => "wav",
        "dbus" => "dbus",
        "pipewire" => "pipewire",
        _ => return None,
    })
}

/// `camelCase` attribute name to QEMU's `kebab-case`.
fn kebab(name: &str) -> String {
    if name == "tryMMap" {
        return "try-mmap".into();
    }
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn typed(value: &str) -> Value {
    match value {
        "yes" => Value::Bool(true),
        "no" => Value::Bool(false),
        v => match v.parse::<u64>() {
            Ok(n) => Value::UInt(n),
            Err(_) => Value::Str(v.to_string()),
        },
    }
}

const COMMON_STREAM: &[&str] = &["mixingEngine", "fixedSettings", "voices", "bufferLength"];

fn stream(el: &Element) -> Props {
    let mut p = Props::new();
    for name in COMMON_STREAM {
        if let Some(v) = el.attr(name) {
            p.push(&kebab(name), typed(v));
        }
    }
    if let Some(s) = el.child("settings") {
        for a in &s.attrs {
            p.push(&a.name, typed(&a.value));
        }
    }
    for a in &el.attrs {
        if !COMMON_STREAM.contains(&a.name.as_str()) {
            p.push(&kebab(&a.name), typed(&a.value));
        }
    }
    p
}

fn emit_one(b: &mut Builder<'_>, el: &Element) -> Result<(), ArgvError> {
    let id = el.attr("id").unwrap_or("1");
    let kind = el.attr("type").unwrap_or("none");
    let driver = driver_of(kind).ok_or_else(|| ArgvError::Device {
        device: format!("audio {id}"),
        reason: format!("audio type '{kind}' is not supported"),
    })?;
    let mut p = Props::new()
        .str("id", format!("audio{id}"))
        .str("driver", driver);
    if let Some(t) = el.attr("timerPeriod") {
        p.push("timer-period", typed(t));
    }
    for a in &el.attrs {
        match a.name.as_str() {
            "id" | "type" | "timerPeriod" => {}
            "serverName" => p.push("server", Value::Str(a.value.clone())),
            // SDL picks its own output driver from the environment.
            "driver" if kind == "sdl" => b.env("SDL_AUDIODRIVER", a.value.clone()),
            other => p.push(&kebab(other), typed(&a.value)),
        }
    }
    if kind == "file" {
        if let Some(path) = el.attr("path") {
            if p.get("path").is_none() {
                p.push("path", Value::Str(path.to_string()));
            }
        }
    }
    if let Some(i) = el.child("input") {
        p.push("in", Value::Obj(stream(i)));
    }
    if let Some(o) = el.child("output") {
        p.push("out", Value::Obj(stream(o)));
    }
    b.arg("-audiodev", p.to_json());
    Ok(())
}

pub(crate) fn emit(b: &mut Builder<'_>) -> Result<(), ArgvError> {
    let audios: Vec<Element> = view::devices(b.def, DeviceKind::Audio);
    if audios.is_empty() {
        // Not prepared (no default backend added yet): libvirt's default backend.
        let graphics = view::graphics_types(b.def);
        let graphics: Vec<&str> = graphics.iter().map(String::as_str).collect();
        let opts = b.host.config.prepare_options();
        let default = crate::prepare::default_audio(&graphics, &opts)
            .map_err(|e| ArgvError::unsupported(e.to_string()))?;
        if let Some(a) = default {
            if let Some(d) = a.sdl_driver {
                b.env("SDL_AUDIODRIVER", d);
            }
            let driver = driver_of(a.kind).unwrap_or("none");
            let p = Props::new().str("id", "audio1").str("driver", driver);
            b.arg("-audiodev", p.to_json());
        }
        return Ok(());
    }
    for a in &audios {
        emit_one(b, a)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(kebab("bufferLength"), "buffer-length");
        assert_eq!(kebab("tryMMap"), "try-mmap");
        assert_eq!(driver_of("pulseaudio"), Some("pa"));
    }
}
