//! Builds the tiny test guest into a directory and prints its kernel and initramfs paths:
//! `cargo run -p virt-testkit --example tiny_guest -- DIR`.

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/virt-tiny-guest".into());
    let dir = std::path::PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: {}: {e}", dir.display());
        std::process::exit(1);
    }
    match virt_testkit::guest::TinyGuest::build(&dir) {
        Ok(g) => println!("{} {}", g.kernel.display(), g.initrd.display()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
