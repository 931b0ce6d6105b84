//! Embeds a compact copy of the catalog: each definition minified, without its reference vectors
//! (`test_vectors`), its `notes` and its `sources`. Scoring, display, licence and citation need
//! none of them, and together they are more than half of the catalog, which every build carries
//! (the WebAssembly one counts each kilobyte). The files in `instruments/` keep everything: the test
//! suites read the vectors there, and the npm package ships those files whole.

use std::path::{Path, PathBuf};
use std::{env, fs};

/// Top-level fields left out of the embedded copy.
const LEFT_OUT: &[&str] = &["test_vectors", "notes", "sources"];

fn main() {
    let src = Path::new("instruments");
    println!("cargo:rerun-if-changed=instruments");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalog");
    compact_dir(src, &out);
    compact_dir(&src.join("translations/es"), &out.join("translations/es"));
}

fn compact_dir(src: &Path, out: &Path) {
    fs::create_dir_all(out).expect("create OUT_DIR/catalog");
    let mut files: Vec<PathBuf> = fs::read_dir(src)
        .unwrap_or_else(|e| panic!("read {}: {e}", src.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        // A file that is not JSON is embedded as it is, so the loader reports it with its problems.
        let compact = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(mut o)) => {
                for f in LEFT_OUT {
                    o.remove(*f);
                }
                serde_json::to_string(&o).expect("serialize JSON")
            }
            _ => text,
        };
        let name = path.file_name().expect("file name");
        fs::write(out.join(name), compact).unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
    }
}
