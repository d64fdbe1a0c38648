//! Locating `shared/conformance`: `$VIRT_CONFORMANCE_DIR`, else `../shared/conformance` seen from the
//! workspace root (or any ancestor of the current directory).

use std::path::{Path, PathBuf};

/// The conformance folder, or a panic naming where it was looked for (tests cannot run without it).
pub fn conformance_dir() -> PathBuf {
    match find_conformance_dir() {
        Some(p) => p,
        None => panic!(
            "conformance data not found: set VIRT_CONFORMANCE_DIR or place it at ../shared/conformance \
             beside the workspace root (looked from {} and {})",
            env!("CARGO_MANIFEST_DIR"),
            std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default()
        ),
    }
}

/// The conformance folder if it can be found.
pub fn find_conformance_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("VIRT_CONFORMANCE_DIR") {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    let mut starts = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    starts.iter().find_map(|s| search_up(s))
}

fn search_up(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|a| {
        [
            a.join("../shared/conformance"),
            a.join("shared/conformance"),
        ]
        .into_iter()
        .find(|c| c.join("libvirt-9.0.0").is_dir())
        .and_then(|c| c.canonicalize().ok())
    })
}

/// `conformance_dir()/libvirt-9.0.0/SUB`.
pub fn libvirt_data(sub: &str) -> PathBuf {
    conformance_dir().join("libvirt-9.0.0").join(sub)
}
