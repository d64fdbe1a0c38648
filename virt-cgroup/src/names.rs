//! Names of guest cgroups, in libvirt's layout: `PARTITION/MACHINE.libvirt-DRIVER`, where the
//! machine name is `DRIVER-ID-NAME` (for example `/machine/qemu-1-demo.libvirt-qemu`).

use crate::hierarchy::V1_CONTROLLERS;
use crate::CgroupError;

/// The machine name a privileged driver gives a guest: `DRIVER-ID-` followed by the guest name with
/// only letters, digits and single `-`/`.` separators kept (none leading or trailing), the whole
/// at most 64 characters.
pub fn machine_name(driver: &str, id: u32, name: &str) -> String {
    let mut out = format!("{driver}-{id}-");
    let mut after_separator = true;
    for ch in name.chars() {
        if out.len() >= 64 {
            break;
        }
        if ch == '.' || ch == '-' {
            if !after_separator {
                out.push(ch);
                after_separator = true;
            }
            continue;
        }
        if !ch.is_ascii_alphanumeric() {
            continue;
        }
        out.push(ch);
        after_separator = false;
    }
    while out.ends_with(['-', '.']) {
        out.pop();
    }
    out
}

/// Whether a cgroup directory name could be mistaken for a control file (or is hidden) and so
/// needs a `_` prefix: it starts with `_`, `.` or `cgroup.`, or with a controller name and a dot.
pub fn needs_escape(component: &str) -> bool {
    if component.starts_with('_') || component.starts_with('.') || component.starts_with("cgroup.")
    {
        return true;
    }
    V1_CONTROLLERS.iter().chain(["io"].iter()).any(|c| {
        component
            .strip_prefix(c)
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// `component`, with a `_` prefix when [`needs_escape`] says so.
pub fn escape_component(component: &str) -> String {
    if needs_escape(component) {
        format!("_{component}")
    } else {
        component.to_string()
    }
}

fn check_component(what: &'static str, c: &str) -> Result<(), CgroupError> {
    if c.is_empty() || c == "." || c == ".." || c.contains('/') || c.contains('\0') {
        return Err(CgroupError::invalid(
            what,
            format!("{c:?} is not a usable cgroup directory name"),
        ));
    }
    if c.len() > 255 {
        return Err(CgroupError::invalid(
            what,
            format!("{c:?} is longer than 255 bytes"),
        ));
    }
    Ok(())
}

/// A partition (`/machine`, `/machine/tenant1`) made canonical: absolute, each component escaped.
pub fn partition_path(partition: &str) -> Result<String, CgroupError> {
    let Some(rest) = partition.strip_prefix('/') else {
        return Err(CgroupError::invalid(
            "partition",
            format!("{partition:?} must be an absolute path such as /machine"),
        ));
    };
    let mut out = String::new();
    for c in rest.split('/').filter(|c| !c.is_empty()) {
        check_component("partition", c)?;
        out.push('/');
        out.push_str(&escape_component(c));
    }
    if out.is_empty() {
        return Err(CgroupError::invalid(
            "partition",
            "the root cgroup cannot be a partition",
        ));
    }
    Ok(out)
}

/// The guest's directory name under its partition: `MACHINE.libvirt-DRIVER`, escaped.
pub fn guest_dir_name(machine: &str, driver: &str) -> Result<String, CgroupError> {
    let name = format!("{machine}.libvirt-{driver}");
    check_component("guest cgroup name", &name)?;
    Ok(escape_component(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names() {
        assert_eq!(machine_name("qemu", 1, "demo"), "qemu-1-demo");
        assert_eq!(machine_name("qemu", 7, "..a--b..c."), "qemu-7-a-b.c");
        assert_eq!(machine_name("lxc", 3, "x y_z/é!"), "lxc-3-xyz");
        assert_eq!(machine_name("qemu", 2, "---"), "qemu-2");
        let long = machine_name("qemu", 1, &"a".repeat(100));
        assert_eq!(long.len(), 64);
        assert!(long.starts_with("qemu-1-aaa"));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_component("machine"), "machine");
        assert_eq!(escape_component("cpu.foo"), "_cpu.foo");
        assert_eq!(escape_component("cpuset.x"), "_cpuset.x");
        assert_eq!(escape_component("cpux.y"), "cpux.y");
        assert_eq!(escape_component("cgroup.procs"), "_cgroup.procs");
        assert_eq!(escape_component(".hidden"), "_.hidden");
        assert_eq!(escape_component("_x"), "__x");
        assert_eq!(
            guest_dir_name("qemu-1-demo", "qemu").unwrap(),
            "qemu-1-demo.libvirt-qemu"
        );
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_path("/machine").unwrap(), "/machine");
        assert_eq!(partition_path("/machine//a/").unwrap(), "/machine/a");
        assert_eq!(partition_path("/memory.x").unwrap(), "/_memory.x");
        assert!(partition_path("machine").is_err());
        assert!(partition_path("/").is_err());
        assert!(partition_path("/a/../b").is_err());
    }
}
