//! Writes the stylesheets as they ship (`src/minify.rs`) into `OUT_DIR`, where `STYLE` and
//! `POLL_STYLE` include them from.

#[path = "src/minify.rs"]
mod minify;

fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=src/minify.rs");
    for name in ["style.css", "poll.css"] {
        println!("cargo:rerun-if-changed=src/{name}");
        let css = std::fs::read_to_string(format!("src/{name}")).expect("the stylesheet is readable");
        std::fs::write(out.join(name), minify::minify_css(&css)).expect("OUT_DIR is writable");
    }
}
