//! The WebAssembly side: installing what it needs on a fresh machine (Chromium, the wasm-bindgen CLI,
//! npm packages from committed lockfiles), building the npm package, and testing it for real.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;
use xshell::{cmd, Shell};

use crate::{catalog_dir, step, target_dir, workspace_root};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The folder of the npm package (hand-written files committed, build output ignored).
pub fn npm_dir() -> PathBuf {
    workspace_root().join("crates/attune-wasm/npm")
}

/// Installs Debian's Chromium and ChromeDriver when they are missing (never a downloaded browser).
pub fn ensure_chromium(sh: &Shell) -> Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    let uid = cmd!(sh, "id -u").read()?;
    if uid.trim() != "0" {
        bail!("Chromium is missing: run `apt-get install chromium chromium-driver` as root");
    }
    cmd!(sh, "apt-get update -qq").run()?;
    cmd!(sh, "apt-get install -y -qq chromium chromium-driver").env("DEBIAN_FRONTEND", "noninteractive").run()?;
    Ok(())
}

/// The exact wasm-bindgen version in Cargo.lock: the CLI must be the same version.
fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

/// Installs the wasm-bindgen CLI (and its test runner) at the locked version when it is missing.
pub fn ensure_wasm_bindgen(sh: &Shell) -> Result<()> {
    let want = locked_wasm_bindgen()?;
    let have = cmd!(sh, "wasm-bindgen --version").ignore_status().quiet().read().unwrap_or_default();
    if have.split_whitespace().nth(1) != Some(want.as_str()) {
        step(&format!("installing wasm-bindgen-cli {want} (once; a few minutes)"));
        // Not --locked: the CLI's lockfile names a version the registry no longer has (TOOLCHAIN.md).
        cmd!(sh, "cargo install wasm-bindgen-cli --version ={want}").run()?;
    }
    Ok(())
}

/// `npm ci` in `dir` unless its node_modules already match the lockfile.
pub fn npm_ci(sh: &Shell, dir: &Path) -> Result<()> {
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&installed)) {
        (Ok(l), Ok(i)) => i.modified()? >= l.modified()?,
        _ => false,
    };
    if !fresh {
        let _d = sh.push_dir(dir);
        cmd!(sh, "npm ci --no-audit --no-fund --loglevel=error").run()?;
    }
    Ok(())
}

/// The shipped files of the package and their sizes, measured after a build.
pub struct Package {
    /// The `npm pack` tarball.
    pub tarball: PathBuf,
}

/// One entry of the npm package: its own WebAssembly build (features of attune-wasm), in its own
/// folder, loaded only by those who import it.
pub struct Entry {
    /// What a user imports.
    pub import: &'static str,
    /// The attune-wasm features of its build.
    features: &'static str,
    /// Its folder in the package (`pkg`, `pkg-elements`, ...).
    pub dir: &'static str,
    /// Its loader, the file the package's `exports` map names.
    pub loader: &'static str,
    /// Most bytes it may take, gzip -9, everything it loads counted.
    pub budget: Option<u64>,
    /// For an entry that does not meet its budget yet: the most bytes the size test lets it take
    /// meanwhile (its measured size, rounded up), so it cannot grow while it is being slimmed.
    pub ceiling: Option<u64>,
    /// Whether it loads the catalog's wording (`wording/`): its index and one instrument's module,
    /// counted as the largest of them.
    pub wording: bool,
    /// Whether it is compiled for size with the standard library (`NPM_RUSTFLAGS`), or with the
    /// toolchain's prebuilt one (optimised for speed).
    pub lean: bool,
}

/// `attune/fhir` carries a JSON parser, the catalog's wording (a Questionnaire has the items' text)
/// and the host text pack's reader and checks (about 7 KB of it): no budget, held to its measured
/// size (120,212 bytes, 2026-12-06; 129,453 before `NPM_RUSTFLAGS`) so it cannot grow unnoticed.
const FHIR_CEILING: u64 = 121_000;

/// The package's entries. A page that scores never loads the elements, an intake page never loads
/// the poll, and only `attune/validate` and `attune/fhir` carry a JSON parser.
pub const ENTRIES: [Entry; 6] = [
    Entry {
        import: "attune",
        features: "scoring,non-commercial",
        dir: "pkg",
        loader: "index.js",
        budget: Some(60_000),
        ceiling: None,
        wording: false,
        // Throughput-bound (`scoreMany`): with the standard library rebuilt for size it scored
        // about a quarter fewer responses a second (2026-12-06); it meets its budget without.
        lean: false,
    },
    Entry {
        import: "attune/validate",
        features: "validate,non-commercial",
        dir: "pkg-validate",
        loader: "validate.js",
        budget: None,
        // Measured 110,392 bytes (2026-12-06).
        ceiling: Some(111_000),
        wording: false,
        lean: true,
    },
    Entry {
        import: "attune/fhir",
        features: "fhir,non-commercial",
        dir: "pkg-fhir",
        loader: "fhir.js",
        budget: None,
        ceiling: Some(FHIR_CEILING),
        wording: false,
        lean: true,
    },
    Entry {
        import: "attune/elements",
        features: "elements,non-commercial",
        dir: "pkg-elements",
        loader: "elements.js",
        budget: Some(120_000),
        // Meets it since 2026-12-06 (119,204 bytes; 132,404 before the standard library was built
        // with the module, panics became bare traps and the stable sort left it; see the README).
        ceiling: None,
        wording: true,
        lean: true,
    },
    Entry {
        import: "attune/poll",
        features: "poll,non-commercial",
        dir: "pkg-poll",
        loader: "poll.js",
        budget: Some(180_000),
        // Meets it since 2026-12-05 (174,133 bytes; 208,232 before the wording moved out and the
        // dashboard's numbers were written without Rust's float formatting).
        ceiling: None,
        wording: true,
        lean: true,
    },
    Entry {
        import: "attune/seal",
        features: "seal",
        dir: "pkg-seal",
        loader: "seal.js",
        // HPKE sealing (X25519, HKDF-SHA256, AES-128-GCM), imported by `<attune-questionnaire inbox>`
        // only: no budget of its own, held to its measured size so it cannot grow unnoticed.
        budget: None,
        ceiling: Some(SEAL_CEILING),
        wording: false,
        lean: true,
    },
];

/// `attune/seal`: measured 22,160 bytes on 2026-12-06 (26,516 before `NPM_RUSTFLAGS`).
const SEAL_CEILING: u64 = 23_000;

impl Entry {
    /// Whether a file of the package (a path inside it) is loaded by this entry in a browser: its
    /// loader, the shared errors helper, its glue, the glue's snippets and its module, and the
    /// wording's index when it shows wording.
    pub fn loads(&self, file: &str) -> bool {
        let dir = self.dir;
        file == self.loader
            || file == "errors.js"
            || file == format!("{dir}/attune_wasm.js")
            || file == format!("{dir}/attune_wasm_bg.wasm")
            || file.starts_with(&format!("{dir}/snippets/"))
            || (self.wording && file == WORDING_INDEX)
    }

    /// Raw, gzip -9 and brotli bytes of everything this entry loads to show one instrument, from
    /// the sizes of every file of the package (`tests/bench/sizes.mjs`): the files it [`loads`],
    /// and with wording the largest instrument module (the one a page may need).
    ///
    /// [`loads`]: Entry::loads
    pub fn total(&self, sizes: &Value) -> [u64; 3] {
        let mut total = [0u64; 3];
        let mut largest = [0u64; 3];
        for r in sizes.as_array().into_iter().flatten() {
            let file = r["file"].as_str().unwrap_or_default();
            let t = ["raw", "gzip", "brotli"].map(|k| r[k].as_u64().unwrap_or(0));
            if self.loads(file) {
                total.iter_mut().zip(t).for_each(|(a, b)| *a += b);
            } else if self.wording && is_wording_module(file) && t[1] > largest[1] {
                largest = t;
            }
        }
        total.iter_mut().zip(largest).for_each(|(a, b)| *a += b);
        total
    }
}

/// The wording's index: which module holds each instrument's wording.
pub const WORDING_INDEX: &str = "wording/index.js";

/// One instrument's wording module (`wording/phq9.js`).
pub fn is_wording_module(file: &str) -> bool {
    file.starts_with("wording/") && file != WORDING_INDEX
}

/// How the npm package's modules are compiled, on top of the release profile (size: `opt-level = "z"`,
/// LTO, one codegen unit). The standard library is rebuilt from the toolchain's own `rust-src` with
/// the module (`-Zbuild-std`), so that:
/// - a panic is a bare `unreachable` trap (`-Cpanic=immediate-abort`): no panic message is
///   formatted, and the panic machinery, hooks and their formatting leave the module (a panic
///   already aborted the instance with `panic = "abort"`: no message reached a caller then either);
/// - panic locations (source file names, lines, columns) are not stored (`-Zlocation-detail=none`).
///
/// Together -11.3 KB gzip on `attune/elements` (2026-12-06). Every entry but the scoring one is
/// built so ([`Entry::lean`]): rebuilt for size, the standard library is slower. These are unstable
/// compiler options: `RUSTC_BOOTSTRAP=1` allows them on the stable toolchain that
/// `rust-toolchain.toml` names, for this build only (as Firefox and the Linux kernel build their
/// Rust). A toolchain that drops them fails this build loudly; nothing else depends on them (tests
/// build the usual way).
const NPM_RUSTFLAGS: &str = "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none";

/// Builds the npm package into `crates/attune-wasm/npm/` and packs it into `target/npm/`.
pub fn build_npm(sh: &Shell) -> Result<Package> {
    crate::ensure_toolchain(sh)?;
    ensure_wasm_bindgen(sh)?;
    npm_ci(sh, &workspace_root().join("tests"))?;
    let npm = npm_dir();
    for entry in &ENTRIES {
        let (features, out) = (entry.features, entry.dir);
        step(&format!("npm package: `{}` ({out}): release wasm, wasm-bindgen, wasm-opt, esbuild", entry.import));
        let build_std: &[&str] = if entry.lean { &["-Zbuild-std=std,panic_abort"] } else { &[] };
        let mut build = cmd!(
            sh,
            "cargo build {build_std...} --locked --release -p attune-wasm --target {WASM_TARGET} --no-default-features --features={features}"
        );
        if entry.lean {
            build = build.env("RUSTC_BOOTSTRAP", "1").env("RUSTFLAGS", NPM_RUSTFLAGS);
        }
        build.run()?;
        let input = target_dir().join("wasm32-unknown-unknown/release/attune_wasm.wasm");
        let pkg = npm.join(out);
        if pkg.exists() {
            std::fs::remove_dir_all(&pkg)?;
        }
        cmd!(sh, "wasm-bindgen --target web --out-dir {pkg} --remove-name-section --remove-producers-section {input}")
            .run()?;
        optimise_wasm(sh, &pkg.join("attune_wasm_bg.wasm"))?;
        minify_glue(sh, &pkg)?;
    }
    write_text_packs(&npm)?;
    let esbuild = esbuild();
    write_wording(&npm)?;
    // The generated index is loaded with every element: shipped minified like the glue.
    let index = npm.join(WORDING_INDEX);
    cmd!(sh, "{esbuild} {index} --minify --format=esm --log-level=warning --outfile={index} --allow-overwrite")
        .run()?;
    // Plain modules, shipped minified, their readable sources beside the element shell: saved
    // progress and delivery (imported by an element with `save`, `action` or `inbox`), the staff's
    // `<attune-inbox>` and its WebCrypto opener. Not bundled: their relative imports stay.
    for name in ["extras.js", "inbox.js", "hpke.js"] {
        let (source, out) = (workspace_root().join("crates/attune-wasm/js").join(name), npm.join(name));
        cmd!(sh, "{esbuild} {source} --minify --format=esm --log-level=warning --outfile={out} --allow-overwrite")
            .run()?;
    }

    // The full definitions (with reference vectors, notes and sources), for `attune/instruments/*.json`.
    let instruments = npm.join("instruments");
    if instruments.exists() {
        std::fs::remove_dir_all(&instruments)?;
    }
    std::fs::create_dir_all(&instruments)?;
    for entry in std::fs::read_dir(workspace_root().join("crates/attune-core/instruments"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            std::fs::copy(&path, instruments.join(path.file_name().context("file name")?))?;
        }
    }

    check_package_version(&npm)?;
    let dest = target_dir().join("npm");
    std::fs::create_dir_all(&dest)?;
    let _d = sh.push_dir(&npm);
    let name = cmd!(sh, "npm pack --silent --pack-destination {dest}").read()?;
    let tarball = dest.join(name.lines().last().context("npm pack printed no file name")?.trim());
    println!("packed {}", tarball.display());
    Ok(Package { tarball })
}

/// The catalog's own wording, one module per instrument (`wording/<id>.js`, the core's
/// `Instrument::bundled_text` as a text pack), and `wording/index.js`, which imports one on
/// request: the element modules carry no wording, and a page loads only what it shows.
fn write_wording(npm: &Path) -> Result<()> {
    let dir = npm.join("wording");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let mut table = String::new();
    for inst in attune_core::Catalog::embedded().instruments() {
        let id = inst.id();
        let pack = serde_json::to_string(&inst.bundled_text())?;
        std::fs::write(
            dir.join(format!("{id}.js")),
            format!("// Generated by `cargo xtask npm`: the catalog's wording of `{id}`.\nexport default {pack};\n"),
        )?;
        table.push_str(&format!("  [{}, () => import(\"./{id}.js\")],\n", serde_json::to_string(id)?));
    }
    std::fs::write(npm.join(WORDING_INDEX), WORDING_INDEX_JS.replace("/* MODULES */\n", &table))?;
    Ok(())
}

/// `wording/index.js`, with one line per instrument in place of `/* MODULES */`.
const WORDING_INDEX_JS: &str = r#"// Generated by `cargo xtask npm`: the catalog's wording, one module per instrument, imported
// when an element first shows that instrument (a bundler makes each a chunk of its own).
const modules = new Map([
/* MODULES */
]);
const asked = new Map();
const arrived = new Map();

/** The wording of instrument `id`, as a text pack (a promise). Each module is fetched once; after a
 * failure (a network error), the next call tries again. */
export function load(id) {
  let pack = asked.get(id);
  if (!pack) {
    const module = modules.get(id);
    pack = module
      ? module().then(
          (m) => {
            arrived.set(id, m.default);
            return m.default;
          },
          (e) => {
            asked.delete(id);
            throw e;
          },
        )
      : Promise.reject(new Error(`no wording for instrument \`${id}\``));
    asked.set(id, pack);
  }
  return pack;
}

/** The wording of instrument `id` if it has arrived, else `undefined`. */
export function loaded(id) {
  return arrived.get(id);
}

/** Starts fetching the wording of the questionnaires already in the page while the element module
 * compiles, so that the first paint does not wait for one after the other. */
export function prefetch() {
  if (typeof document === "undefined") return;
  for (const el of document.querySelectorAll("attune-questionnaire[instrument]")) {
    const id = el.getAttribute("instrument").trim();
    if (modules.has(id)) load(id).catch(() => {});
  }
}
"#;

/// The opt-in `attune/text/non-commercial` entry: the verified host wording (the catalog's
/// `host-text/`, the reference's `host_text`) of the instruments whose licence allows only
/// non-commercial use, as text packs with the licence's terms.
fn write_text_packs(npm: &Path) -> Result<()> {
    let mut out = String::from(
        "// Generated by `cargo xtask npm` from crates/attune-core/instruments/host-text/.\n\
         // For non-commercial use only: the terms travel with each pack and the element shows them.\n",
    );
    let mut names = Vec::new();
    for id in ["audit", "auditc", "dast10"] {
        let read = |path: PathBuf| -> Result<Value> {
            let text = std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
            Ok(serde_json::from_str(&text)?)
        };
        let def = read(catalog_dir().join(format!("{id}.json")))?;
        let host = &read(catalog_dir().join(format!("host-text/{id}.json")))?;
        if def["license"]["status"] != "non-commercial" || !host["items"].is_object() {
            bail!("{id}: expected a non-commercial licence and host-text/{id}.json with items");
        }
        let mut en = serde_json::Map::new();
        if let Some(i) = host["instructions"].as_str() {
            en.insert("instructions".into(), i.into());
        }
        en.insert("items".into(), host["items"].clone());
        let pack = serde_json::json!({
            "instrument": id,
            "terms": def["license"]["statement"],
            "source": host["note"],
            "languages": { "en": en },
        });
        out.push_str(&format!("export const {id} = {};\n", serde_json::to_string_pretty(&pack)?));
        names.push(id);
    }
    out.push_str(&format!("export default {{ {} }};\n", names.join(", ")));
    std::fs::write(npm.join("text/non-commercial.js"), out)?;
    Ok(())
}

/// Installs the packed tarball into www/node_modules, as a clinic's site would.
pub fn install_site(sh: &Shell, package: &Package) -> Result<()> {
    step("demo site: npm install of the packed tarball into www/");
    install_tarball(sh, &workspace_root().join("www"), package)
}

/// `npm install`s the packed tarball into `dir` without touching its package.json or lockfile.
fn install_tarball(sh: &Shell, dir: &Path, package: &Package) -> Result<()> {
    let _d = sh.push_dir(dir);
    let tarball = &package.tarball;
    cmd!(sh, "npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error {tarball}").run()?;
    Ok(())
}

/// package.json's version must be the crates' version, which `version` reports.
fn check_package_version(npm: &Path) -> Result<()> {
    let pkg: Value = serde_json::from_str(&std::fs::read_to_string(npm.join("package.json"))?)?;
    let cargo = std::fs::read_to_string(workspace_root().join("Cargo.toml"))?;
    let version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .map(|v| v.trim_end_matches('"'))
        .context("workspace version")?;
    if pkg["version"] != version {
        bail!("npm/package.json has version {}, the workspace {version}: make them equal", pkg["version"]);
    }
    Ok(())
}

fn gzip_len(sh: &Shell, file: &Path) -> Result<usize> {
    Ok(cmd!(sh, "gzip -9 -c {file}").quiet().output()?.stdout.len())
}

/// Runs binaryen's wasm-opt (from npm, the only build that reads current Rust output) with each of
/// a few optimisation levels and keeps the output that is smallest gzipped, which is how the file
/// travels (or the input, when none is smaller). Which level wins differs by entry: measured on
/// 2026-12-05, `-O2 --converge` made the element modules 0.5-1.1 KB smaller than `-Oz`, and the
/// scoring module came out about equal. Inlining functions that have one caller is off: it made the
/// module bigger (more code, which compressed worse). `--zero-filled-memory` lets it drop the zero
/// bytes of data segments: the module defines its own memory, which starts zeroed.
fn optimise_wasm(sh: &Shell, wasm: &Path) -> Result<()> {
    let wasm_opt = workspace_root().join("tests/node_modules/.bin/wasm-opt");
    let out = wasm.with_extension("opt.wasm");
    let before = gzip_len(sh, wasm)?;
    let mut best: Option<(usize, &str)> = None;
    for level in ["-Oz", "-Os --converge", "-O2 --converge"] {
        let flags: Vec<&str> = level.split(' ').collect();
        cmd!(sh, "{wasm_opt} {flags...} --one-caller-inline-max-function-size=0 --zero-filled-memory --strip-debug --strip-producers {wasm} -o {out}")
            .run()?;
        let size = gzip_len(sh, &out)?;
        println!("wasm-opt {level}: {before} -> {size} bytes gzipped");
        if size < before && best.is_none_or(|(b, _)| size < b) {
            best = Some((size, level));
            std::fs::rename(&out, wasm.with_extension("best.wasm"))?;
        }
    }
    let _ = std::fs::remove_file(&out);
    match best {
        Some((size, level)) => {
            println!("wasm-opt: kept {level} ({before} -> {size} bytes gzipped)");
            std::fs::rename(wasm.with_extension("best.wasm"), wasm)?;
        }
        None => println!("wasm-opt: not kept (no gain)"),
    }
    Ok(())
}

/// Minifies the JavaScript that wasm-bindgen wrote (the glue and the snippets copied from
/// `crates/attune-wasm/js/`) with esbuild from the lockfile: what ships is what a bundler would make
/// of it; the readable sources stay in the repository. The hand-written loaders are shipped as
/// they are.
fn minify_glue(sh: &Shell, pkg: &Path) -> Result<()> {
    let esbuild = esbuild();
    let mut files = vec![pkg.join("attune_wasm.js")];
    let mut dirs = vec![pkg.join("snippets")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten() {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "js") {
                files.push(path);
            }
        }
    }
    for file in files {
        cmd!(sh, "{esbuild} {file} --minify --format=esm --log-level=warning --allow-overwrite --outfile={file}")
            .run()?;
    }
    Ok(())
}

/// esbuild from the tests' lockfile.
fn esbuild() -> PathBuf {
    workspace_root().join("tests/node_modules/.bin/esbuild")
}

/// gzip -9 size of everything each entry loads, from the built package folder, measured by the
/// same script as `cargo xtask bench npm` (`tests/bench/sizes.mjs`), so the test and the table agree.
pub fn entry_sizes(sh: &Shell) -> Result<Vec<(&'static Entry, u64)>> {
    let npm = npm_dir();
    let script = workspace_root().join("tests/bench/sizes.mjs");
    let sizes: Value = serde_json::from_str(&cmd!(sh, "node {script} {npm}").read()?)?;
    Ok(ENTRIES.iter().map(|entry| (entry, entry.total(&sizes)[1])).collect())
}

/// The size guard of `cargo xtask test`: sizes are deterministic, so an entry over its budget is a
/// failing test, not a benchmark result.
pub fn check_entry_sizes(sh: &Shell) -> Result<()> {
    step("npm package: each entry within its gzip -9 budget (or, until it meets it, its ceiling)");
    let mut over = Vec::new();
    for (entry, size) in entry_sizes(sh)? {
        let import = entry.import;
        let line = match (entry.budget, entry.ceiling) {
            (Some(budget), _) if size <= budget => format!("within its budget of {budget}"),
            (Some(budget), Some(ceiling)) => {
                format!("MISSES its budget of {budget}; held to {ceiling} until it meets it")
            }
            (Some(budget), None) => format!("over its budget of {budget}"),
            (None, Some(ceiling)) => format!("no budget; held to {ceiling}"),
            (None, None) => "no budget".to_string(),
        };
        println!("{import:<18} {size:>9} bytes gzip -9: {line}");
        let limit = entry.ceiling.filter(|_| entry.budget.is_none_or(|b| size > b)).or(entry.budget);
        if let Some(limit) = limit {
            if size > limit {
                over.push(format!("{import} is {size} bytes, over {limit}"));
            }
        }
    }
    if !over.is_empty() {
        bail!("npm entries too large:\n  {}", over.join("\n  "));
    }
    Ok(())
}

/// Writes every reference vector of the catalog (the reference's own, held equal to it by
/// attune-core's reference tests) to one file for the browser tests, which cannot read the disk,
/// and returns its path.
pub fn write_reference_vectors() -> Result<PathBuf> {
    let dir = catalog_dir();
    let mut all = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("read {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let def: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        all.push(serde_json::json!({"id": def["id"], "test_vectors": def["test_vectors"]}));
    }
    let out = target_dir().join("wasm-test");
    std::fs::create_dir_all(&out)?;
    let file = out.join("reference-vectors.json");
    let text = serde_json::to_string(&all)?;
    // Rewrite only on change, so cargo does not rebuild the tests for nothing.
    if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&file, text)?;
    }
    Ok(file)
}

/// wasm-bindgen-test in headless Chromium.
pub fn browser_unit_tests(sh: &Shell) -> Result<()> {
    ensure_chromium(sh)?;
    ensure_wasm_bindgen(sh)?;
    let vectors = write_reference_vectors()?;
    step("attune-wasm: clippy for wasm32 (the browser tests compile only there)");
    cmd!(sh, "cargo clippy --locked -p attune-wasm --target {WASM_TARGET} --all-targets -- -D warnings")
        .env("ATTUNE_REFERENCE_VECTORS", &vectors)
        .run()?;
    cmd!(
        sh,
        "cargo clippy --locked -p attune-wasm --target {WASM_TARGET} --features poll,validate,fhir,seal --all-targets -- -D warnings"
    )
    .env("ATTUNE_REFERENCE_VECTORS", &vectors)
    .run()?;
    step("attune-wasm: wasm-bindgen-test in headless Chromium (scoring API, the elements, the poll's readers, the sealer)");
    // Chromium reaches the runner's file server through `proxy` (why: see there).
    let proxy = crate::proxy::start()?;
    let webdriver = target_dir().join("wasm-test/webdriver.json");
    let capabilities = serde_json::json!({"goog:chromeOptions": {"args": crate::proxy::chromium_args(proxy)}});
    std::fs::write(&webdriver, serde_json::to_string_pretty(&capabilities)?)?;
    // The poll build adds only its own module tests (`--lib`): the rest ran with `elements`.
    for features in [
        &["--features=validate"][..],
        &["--features=elements"],
        &["--features=poll", "--lib"],
        &["--features=seal", "--lib"],
    ] {
        cmd!(sh, "cargo test --locked -p attune-wasm --target {WASM_TARGET} {features...}")
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner")
            .env("CHROMEDRIVER", CHROMEDRIVER)
            .env("WASM_BINDGEN_TEST_DRIVER_TIMEOUT", "60")
            .env("WASM_BINDGEN_TEST_TIMEOUT", "300")
            .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &webdriver)
            .env("ATTUNE_REFERENCE_VECTORS", &vectors)
            .run()?;
    }
    Ok(())
}

/// The packaging fixtures: the packed tarball installed into a Node project (with a strict
/// TypeScript check), a Vite project and a plain static page, the last two loaded in Chromium.
pub fn packaging_tests(sh: &Shell, package: &Package) -> Result<()> {
    ensure_chromium(sh)?;
    let root = workspace_root().join("tests/packaging");
    for fixture in ["node", "vite", "static"] {
        step(&format!("packaging fixture `{fixture}`: npm ci, then the packed tarball"));
        let dir = root.join(fixture);
        npm_ci(sh, &dir)?;
        install_tarball(sh, &dir, package)?;
    }
    {
        step("packaging fixture `node`: score in Node, every reference vector; tsc --strict");
        let _d = sh.push_dir(root.join("node"));
        cmd!(sh, "node test.mjs").env("ATTUNE_CATALOG_DIR", catalog_dir()).run()?;
        cmd!(sh, "npx --no-install tsc --noEmit -p tsconfig.json").run()?;
    }
    {
        step("packaging fixture `vite`: vite build");
        let _d = sh.push_dir(root.join("vite"));
        cmd!(sh, "npx --no-install vite build --logLevel warn").run()?;
    }
    step("Playwright in Chromium: the Vite build and the static page");
    let _d = sh.push_dir(workspace_root().join("tests"));
    cmd!(sh, "npx --no-install playwright test --config packaging/playwright.config.js").run()?;
    install_site(sh, package)?;
    step("Playwright + axe in Chromium: the widgets on www/ (strict CSP), the live poll on the real server binary");
    cmd!(sh, "cargo build --locked -p attune-server --bin attune-server").run()?;
    cmd!(sh, "npx --no-install playwright test --config www/playwright.config.js")
        .env("ATTUNE_CATALOG_DIR", catalog_dir())
        .env("ATTUNE_SERVER_BIN", target_dir().join("debug/attune-server"))
        .run()?;
    Ok(())
}

/// Sizes of every shipped file and the in-browser benchmarks; returns the report table and
/// whether a target was missed.
pub fn bench_npm(sh: &Shell) -> Result<(String, bool)> {
    ensure_chromium(sh)?;
    let package = build_npm(sh)?;
    let fixture = workspace_root().join("tests/packaging/static");
    npm_ci(sh, &fixture)?;
    install_tarball(sh, &fixture, &package)?;
    step("npm package: sizes of the shipped files");
    let installed = fixture.join("node_modules/attune");
    let tests = workspace_root().join("tests");
    let sizes: Value = serde_json::from_str(&cmd!(sh, "node {tests}/bench/sizes.mjs {installed}").read()?)?;
    let mut table = String::from("| File | Raw | gzip -9 | brotli |\n|---|---:|---:|---:|\n");
    let row = |name: &str, t: [u64; 3]| {
        format!(
            "| {name} | {} | {} | {} |\n",
            crate::thousands(t[0] as f64),
            crate::thousands(t[1] as f64),
            crate::thousands(t[2] as f64)
        )
    };
    let add = |total: &mut [u64; 3], t: [u64; 3]| total.iter_mut().zip(t).for_each(|(a, b)| *a += b);
    let (mut data, mut wording, mut largest, mut all) = ([0u64; 3], [0u64; 3], [0u64; 3], [0u64; 3]);
    for r in sizes.as_array().context("sizes")? {
        let file = r["file"].as_str().context("file")?;
        let t = ["raw", "gzip", "brotli"].map(|k| r[k].as_u64().unwrap_or(0));
        add(&mut all, t);
        // The data files no entry point loads, and the wording modules (one loaded per instrument
        // shown), are summed in a row each.
        if file.starts_with("instruments/") {
            add(&mut data, t);
        } else if is_wording_module(file) {
            add(&mut wording, t);
            if t[1] > largest[1] {
                largest = t;
            }
        } else {
            table.push_str(&row(&format!("`{file}`"), t));
        }
    }
    let count = attune_core::Catalog::embedded().instruments().len();
    table.push_str(&row(&format!("`instruments/*.json` ({count} full definitions, loaded only on request)"), data));
    table.push_str(&row(
        &format!("`wording/*.js` ({count} instruments' wording, one loaded per instrument shown)"),
        wording,
    ));
    table.push_str(&row("`wording/*.js`, the largest", largest));
    let entries: Vec<[u64; 3]> = ENTRIES.iter().map(|e| e.total(&sizes)).collect();
    for (e, total) in ENTRIES.iter().zip(&entries) {
        let what = if e.wording {
            "loader, glue, snippets, wasm, the largest wording"
        } else {
            "loader, glue, snippets, wasm"
        };
        table.push_str(&row(&format!("**`{}`** (all it loads: {what})", e.import), *total));
    }
    table.push_str(&row("Whole package", all));

    step("npm package: scoreMany throughput and import-to-first-score in headless Chromium");
    let measured: Value = serde_json::from_str(&cmd!(sh, "node {tests}/bench/browser.mjs").read()?)?;
    let per_sec = measured["throughput"]["perSecond"].as_f64().context("throughput")?;
    let first_ms = measured["importToFirstScoreMs"].as_f64().context("first score")?;
    let n = measured["throughput"]["n"].as_f64().unwrap_or(0.0);

    let mut rows = String::from("\n| Benchmark | Measured | Target |\n|---|---:|---|\n");
    let mut sizes_ok = true;
    for (e, total) in ENTRIES.iter().zip(&entries) {
        let target = match e.budget {
            Some(b) => {
                sizes_ok &= total[1] <= b;
                crate::check(total[1] <= b, &format!("<= {} bytes", crate::thousands(b as f64)))
            }
            None => "—".to_string(),
        };
        rows.push_str(&format!(
            "| `{}` entry, gzip -9 | {} bytes | {target} |\n",
            e.import,
            crate::thousands(total[1] as f64)
        ));
    }
    let fast = per_sec >= 300_000.0;
    rows.push_str(&format!(
        "| `scoreMany`, {} PHQ-9 responses in Chromium (median of 7), responses / s | {} | {} |\n",
        crate::thousands(n),
        crate::thousands(per_sec),
        crate::check(fast, ">= 300,000")
    ));
    rows.push_str(&format!(
        "| `import` to first score in Chromium (cold load from 127.0.0.1, median of 15) | {first_ms:.0} ms | — |\n"
    ));

    step("first questionnaire paint: Attune vs SurveyJS, PHQ-9, CPU 4x slower, cache off, interleaved, 15 runs each");
    let paint: Value = serde_json::from_str(&cmd!(sh, "node {tests}/bench/paint.mjs").read()?)?;
    let (a, sj, ratio) = (
        paint["attuneMs"].as_f64().context("attune")?,
        paint["surveyMs"].as_f64().context("survey")?,
        paint["ratio"].as_f64().context("ratio")?,
    );
    let spread = |k: &str| {
        let v: Vec<f64> = paint[k].as_array().into_iter().flatten().filter_map(Value::as_f64).collect();
        let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(*x), h.max(*x)));
        format!("{lo:.0}–{hi:.0}")
    };
    rows.push_str(&format!(
        "| First paint of PHQ-9 item 1 (navigation start to first radio visible), Attune, median of {} | {a:.0} ms (runs {}) | — |\n",
        paint["runs"], spread("attune")
    ));
    rows.push_str(&format!(
        "| The same for SurveyJS 2.5.38 (survey-core + survey-js-ui), same harness and run | {sj:.0} ms (runs {}) | — |\n",
        spread("survey")
    ));
    let paint_ok = ratio <= 0.5;
    rows.push_str(&format!("| Attune / SurveyJS first paint | {ratio:.2} | {} |\n", crate::check(paint_ok, "<= 0.50")));
    table.push_str(&rows);
    Ok((table, !(sizes_ok && fast && paint_ok)))
}

/// The PostgreSQL server binaries (Debian's `postgresql` package, installed with apt as root when
/// missing): the newest `/usr/lib/postgresql/<version>/bin`.
fn postgres_bin(sh: &Shell) -> Result<PathBuf> {
    let find = || -> Option<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
            .collect();
        dirs.sort();
        dirs.pop()
    };
    if let Some(bin) = find() {
        return Ok(bin);
    }
    if cmd!(sh, "id -u").read()?.trim() != "0" {
        bail!("PostgreSQL is missing: run `apt-get install postgresql` as root");
    }
    cmd!(sh, "apt-get update -qq").run()?;
    cmd!(sh, "apt-get install -y -qq postgresql").env("DEBIAN_FRONTEND", "noninteractive").run()?;
    find().context("postgresql installed, but no /usr/lib/postgresql/*/bin/initdb")
}

/// The poll server's router and WebSocket tests again on a real, temporary PostgreSQL server
/// (its own data folder and port on 127.0.0.1, stopped afterwards, pass or fail).
/// A temporary PostgreSQL server (Debian's binaries, as the `postgres` user when run as root) on
/// 127.0.0.1:`port`, in the system's temporary folder; stopped and removed when dropped.
pub struct TempPostgres {
    /// `postgres://postgres@127.0.0.1:port/postgres`.
    pub url: String,
    data: PathBuf,
    pg_ctl: PathBuf,
    as_user: Vec<String>,
}

impl TempPostgres {
    pub fn start(sh: &Shell, port: u16) -> Result<TempPostgres> {
        let bin = postgres_bin(sh)?;
        // In the system's temporary folder: the `postgres` user may not be able to enter the checkout.
        let data = std::env::temp_dir().join(format!("attune-postgres-{}-{port}", std::process::id()));
        if data.exists() {
            std::fs::remove_dir_all(&data)?;
        }
        std::fs::create_dir_all(&data)?;
        let _cwd = sh.push_dir(&data);
        // PostgreSQL refuses to run as root: as root, run it as the `postgres` user (`env` runs the rest).
        let root = cmd!(sh, "id -u").read()?.trim() == "0";
        let runuser: Vec<String> =
            if root { vec!["runuser".into(), "-u".into(), "postgres".into(), "--".into()] } else { Vec::new() };
        let as_user = &runuser;
        if root {
            cmd!(sh, "chown postgres {data}").run()?;
        }
        let (initdb, pg_ctl) = (bin.join("initdb"), bin.join("pg_ctl"));
        cmd!(sh, "env {as_user...} {initdb} -D {data} -A trust -U postgres --no-instructions").quiet().run()?;
        let log = data.join("server.log");
        let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200", data.display());
        cmd!(sh, "env {as_user...} {pg_ctl} -D {data} -o {options} -l {log} -w start").run()?;
        Ok(TempPostgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            data,
            pg_ctl,
            as_user: runuser,
        })
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let (as_user, pg_ctl, data) = (&self.as_user, &self.pg_ctl, &self.data);
        let sh = Shell::new();
        if let Ok(sh) = sh {
            let _ = cmd!(sh, "env {as_user...} {pg_ctl} -D {data} -m fast -w stop").quiet().run();
        }
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

pub fn postgres_tests(sh: &Shell) -> Result<()> {
    step("attune-server on PostgreSQL: a temporary server, then the router, WebSocket, SIGKILL, two-replica and sealed inbox tests");
    let pg = TempPostgres::start(sh, 55439)?;
    let url = &pg.url;
    let manifest = workspace_root().join("Cargo.toml");
    cmd!(
        sh,
        "cargo test --locked --manifest-path {manifest} -p attune-server --features replica-tests --test api --test live --test durability --test replicas --test inbox --test inbox_process -- --nocapture"
    )
    .env("ATTUNE_TEST_POSTGRES", url)
    .run()?;
    Ok(())
}
