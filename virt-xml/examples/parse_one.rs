//! Parses one domain XML file and prints libvirt's canonical form, or the error.
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse_one FILE");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    match virt_xml::Domain::parse(&text) {
        Ok(d) => print!("{d}"),
        Err(e) => {
            eprintln!("{path}:{e}");
            std::process::exit(1);
        }
    }
}
