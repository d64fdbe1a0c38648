//! Property tests of the proc-file parsers (outside input): no panic on any text, and what the
//! kernel would write is read back exactly.

use std::path::PathBuf;

use proptest::prelude::*;
use virt_cgroup::{
    parse_mountinfo, parse_mounts, parse_proc_cgroup, parse_proc_cgroups, CgroupHost,
};

/// The kernel's escaping of space, tab, newline and backslash in mount table paths.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        match ch {
            ' ' => out.push_str("\\040"),
            '\t' => out.push_str("\\011"),
            '\n' => out.push_str("\\012"),
            '\\' => out.push_str("\\134"),
            c => out.push(c),
        }
    }
    out
}

fn path() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-zA-Z0-9_.,: \\t\\\\-]{1,12}", 1..4)
        .prop_map(|v| format!("/{}", v.join("/")))
}

proptest! {
    #[test]
    fn parsers_never_panic(text in "\\PC*") {
        let _ = parse_mountinfo(&text);
        let _ = parse_mounts(&text);
        let _ = parse_proc_cgroup(&text);
        let _ = parse_proc_cgroups(&text);
        if let Ok(m) = parse_mountinfo(&text) {
            let host = CgroupHost::from_mounts(&m, |_| None);
            let _ = host.libvirt_view();
        }
    }

    #[test]
    fn mountinfo_lines_read_back(
        entries in proptest::collection::vec(
            (path(), path(), prop::sample::select(vec!["cgroup", "cgroup2", "tmpfs"]),
             proptest::collection::vec("[a-z_=]{1,8}", 0..4), 0u8..3),
            1..6)
    ) {
        let mut text = String::new();
        for (i, (root, mp, fstype, opts, optional)) in entries.iter().enumerate() {
            let optional_fields = (0..*optional).map(|k| format!(" shared:{k}")).collect::<String>();
            text.push_str(&format!(
                "{} 1 0:{} {} {} rw,relatime{} - {} src{} {}\n",
                i + 20, i, escape(root), escape(mp), optional_fields, fstype, i, opts.join(",")
            ));
        }
        let parsed = parse_mountinfo(&text).unwrap();
        prop_assert_eq!(parsed.len(), entries.len());
        for (p, (root, mp, fstype, opts, _)) in parsed.iter().zip(entries.iter()) {
            prop_assert_eq!(&p.root, &PathBuf::from(root));
            prop_assert_eq!(&p.mount_point, &PathBuf::from(mp));
            prop_assert_eq!(&p.fstype, fstype);
            let want: Vec<String> = opts.iter().filter(|o| !o.is_empty()).cloned().collect();
            prop_assert_eq!(&p.super_options, &want);
        }
    }

    #[test]
    fn proc_cgroup_lines_read_back(
        lines in proptest::collection::vec(
            (0u32..64, proptest::collection::vec("[a-z_=]{1,10}", 0..3), "(/[a-zA-Z0-9:._ -]{0,10}){1,3}"),
            0..8)
    ) {
        let text: String = lines
            .iter()
            .map(|(id, c, p)| format!("{id}:{}:{p}\n", c.join(",")))
            .collect();
        let parsed = parse_proc_cgroup(&text).unwrap();
        prop_assert_eq!(parsed.len(), lines.len());
        for (got, (id, c, p)) in parsed.iter().zip(lines.iter()) {
            prop_assert_eq!(got.hierarchy_id, *id);
            prop_assert_eq!(&got.controllers, c);
            prop_assert_eq!(&got.path, p);
        }
    }
}
