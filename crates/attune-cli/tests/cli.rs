//! The `attune` binary run as a user runs it: a real process, real pipes, real exit codes. Every
//! reference vector and every group-statistics worked example goes through the CLI; then malformed
//! input, CSV edge cases, the catalog, definition validation and the files of `examples/`.
//! The reference vectors are read from the catalog's copy of the clinical reference (attune-core's
//! reference tests hold it equal to `../shared/instruments`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Running the binary

/// What one run of `attune` gave.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Every stdout line, parsed as JSON.
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("output line is not JSON ({e}): {l}")))
            .collect()
    }

    /// The single JSON line of stdout.
    fn only_line(&self) -> Value {
        let mut lines = self.lines();
        assert_eq!(lines.len(), 1, "expected one output line, got:\n{}", self.stdout);
        lines.remove(0)
    }
}

fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Runs `attune ARGS` in the workspace root with `stdin` as its standard input.
fn run(args: &[&str], stdin: impl Into<Vec<u8>>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(args)
        .current_dir(workspace_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("attune starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.into();
    // Write from another thread so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let out = child.wait_with_output().expect("attune runs");
    // A command that stops reading early (a usage error) closes the pipe: that is not a failure here.
    let _ = writer.join().expect("stdin writer");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// `attune score` (with `args`) on `input`: it must succeed; returns the output lines.
fn score(args: &[&str], input: impl Into<Vec<u8>>) -> Vec<Value> {
    let out = run(&[&["score"][..], args].concat(), input);
    assert_eq!(out.code, Some(0), "attune score {args:?} failed: {}", out.stderr);
    out.lines()
}

/// Asserts a run ended with `code`, wrote nothing on stdout and an `attune: ...` message on stderr.
fn assert_fails(out: &Run, code: i32) {
    assert_eq!(out.code, Some(code), "{out:?}");
    assert_eq!(out.stdout, "", "nothing is written to stdout on failure");
    assert!(out.stderr.starts_with("attune: "), "{out:?}");
}

fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error object: {v}"))
}

/// Numbers equal within 1e-9; objects with the same keys; everything else exactly.
fn approx_eq(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9,
            _ => false,
        },
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|g| approx_eq(v, g)))
        }
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| approx_eq(x, y)),
        _ => want == got,
    }
}

/// A file under the temp dir, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> TempFile {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let k = COUNT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("attune-cli-test-{}-{k}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("temp file is writable");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("temp path is UTF-8")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Best effort: a leftover file in the temp dir is harmless.
        let _ = std::fs::remove_file(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// The clinical reference

/// The project's copy of the clinical reference: the catalog's definitions carry the reference
/// vectors, and attune-core's reference tests hold them equal to `../shared/instruments`.
fn reference_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../attune-core/instruments"))
}

/// `(file name, definition)` of every reference instrument, by file name.
fn reference_definitions() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(reference_dir()).expect("reference dir is readable") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("reference file is readable");
            let def = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((path.file_name().expect("file name").to_string_lossy().into_owned(), def));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 22, "expected the whole reference, found {} files", out.len());
    out
}

/// Whether this build of the CLI has the instrument (non-commercial ones need the feature).
fn compiled_in(def: &Value) -> bool {
    cfg!(feature = "non-commercial") || def["license"]["status"] != "non-commercial"
}

/// Compares one output line with a reference vector's `expected`; `Err` says what differs.
fn check_expected(expected: &Value, got: &Value) -> Result<(), String> {
    if let Some(err) = expected.get("error") {
        return if got["error"]["code"] == err["code"] {
            Ok(())
        } else {
            Err(format!("expected error {}", err["code"]))
        };
    }
    if got.get("error").is_some() {
        return Err("expected a result, got an error".into());
    }
    let mut diffs = Vec::new();
    for (id, fields) in expected["scores"].as_object().into_iter().flatten() {
        let Some(score) = got["scores"].get(id) else {
            diffs.push(format!("score `{id}` is missing"));
            continue;
        };
        for (field, want) in fields.as_object().expect("expected score is an object") {
            if !score.get(field).is_some_and(|g| approx_eq(want, g)) {
                diffs.push(format!("{id}.{field}: expected {want}"));
            }
        }
    }
    for key in ["flags", "complete"] {
        if let Some(want) = expected.get(key) {
            if want != &got[key] {
                diffs.push(format!("{key}: expected {want}"));
            }
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

#[test]
fn every_reference_vector_scores_through_the_cli() {
    struct Case {
        label: String,
        instrument: String,
        compiled_in: bool,
        vector: Value,
    }
    let mut cases = Vec::new();
    for (file, def) in reference_definitions() {
        let id = def["id"].as_str().expect("id");
        for (k, v) in def["test_vectors"].as_array().expect("test_vectors").iter().enumerate() {
            cases.push(Case {
                label: format!("{file} vector {k} ({})", v["note"]),
                instrument: id.to_string(),
                compiled_in: compiled_in(&def),
                vector: v.clone(),
            });
        }
    }

    let mut input = String::new();
    for c in &cases {
        let mut request = json!({"instrument": c.instrument, "answers": c.vector["answers"]});
        if let Some(context) = c.vector.get("context") {
            request["context"] = context.clone();
        }
        input.push_str(&format!("{request}\n"));
    }
    let lines = score(&[], input);
    assert_eq!(lines.len(), cases.len(), "one output line per request");

    let mut failures = Vec::new();
    for (c, got) in cases.iter().zip(&lines) {
        let expected =
            if c.compiled_in { c.vector["expected"].clone() } else { json!({"error": {"code": "unknown_instrument"}}) };
        // Every line, result or error, names its instrument: this also checks the order.
        let result = if got["instrument"] == c.instrument.as_str() {
            check_expected(&expected, got)
        } else {
            Err(format!("line is for {}", got["instrument"]))
        };
        if let Err(why) = result {
            failures.push(format!("{}: {why}\n    got {got}", c.label));
        }
    }
    assert!(failures.is_empty(), "{} of {} vectors failed:\n{}", failures.len(), cases.len(), failures.join("\n"));

    let checked = cases.iter().filter(|c| c.compiled_in).count();
    // 284 reference vectors, 50 of them for AUDIT, AUDIT-C and DAST-10 (non-commercial).
    let floor = if cfg!(feature = "non-commercial") { 250 } else { 200 };
    assert!(checked >= floor, "only {checked} vectors were checked");
}

/// The ```json blocks of group-statistics.md: each has `name`, `input` and the exact `expected`.
fn worked_examples() -> Vec<Value> {
    let md = std::fs::read_to_string(reference_dir().join("group-statistics.md")).expect("group-statistics.md");
    md.split("```json")
        .skip(1)
        .map(|block| {
            let body = block.split("```").next().expect("split yields at least one piece");
            serde_json::from_str(body).unwrap_or_else(|e| panic!("worked example is not JSON ({e}):\n{body}"))
        })
        .collect()
}

#[test]
fn group_statistics_worked_examples_through_the_cli() {
    let examples = worked_examples();
    assert_eq!(examples.len(), 6, "group-statistics.md has six worked examples");
    for ex in &examples {
        let input = &ex["input"];
        let id = input["instrument"].as_str().expect("instrument");
        let min_n = input["min_n"].as_u64().expect("min_n").to_string();
        // Every other member names the instrument, which is optional for `attune group`.
        let mut members = String::new();
        for (k, answers) in input["members"].as_array().expect("members").iter().enumerate() {
            let mut line = json!({"answers": answers});
            if k % 2 == 1 {
                line["instrument"] = json!(id);
            }
            members.push_str(&format!("{line}\n"));
        }
        let out = run(&["group", id, "--min-n", &min_n], members);
        assert_eq!(out.code, Some(0), "{}: {}", ex["name"], out.stderr);
        let got = out.only_line();
        assert!(approx_eq(&ex["expected"], &got), "{}\nexpected {}\n     got {got}", ex["name"], ex["expected"]);
    }
}

// ---------------------------------------------------------------------------------------------
// JSON Lines input

const GAD2: &str = r#"{"instrument": "gad2", "answers": {"1": 2, "2": 1}}"#;

#[test]
fn malformed_lines_are_error_objects_and_later_lines_are_still_scored() {
    let malformed: [&[u8]; 7] = [
        b"not json",
        b"[1, 2]",
        b"\"phq9\"",
        br#"{"instrument": "gad2", "answers": [2, 1]}"#,
        br#"{"instrument": "gad2", "answers": "2 1"}"#,
        br#"{"answers": {"1": 2, "2": 1}}"#,
        b"{\"instrument\": \"gad2\", \"answers\": {\"1\": \"\xff\"}}",
    ];
    let mut input = Vec::new();
    for line in malformed {
        input.extend_from_slice(line);
        input.push(b'\n');
        input.extend_from_slice(GAD2.as_bytes());
        // Blank lines (and CRLF endings) are skipped.
        input.extend_from_slice(b"\r\n\n  \t \r\n");
    }
    let lines = score(&[], input);
    assert_eq!(lines.len(), 2 * malformed.len(), "one line per non-blank input line");
    for (pair, line) in lines.chunks(2).zip(malformed) {
        assert_eq!(error_code(&pair[0]), "invalid_json", "for {}", String::from_utf8_lossy(line));
        assert_eq!(pair[1]["scores"]["total"]["value"], 3, "the line after {}", String::from_utf8_lossy(line));
    }
}

#[test]
fn empty_and_blank_input_give_empty_output() {
    for input in ["", "\n", "\n  \n\r\n"] {
        let out = run(&["score"], input);
        assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (Some(0), "", ""), "input {input:?}");
    }
}

#[test]
fn unknown_instruments_and_items_are_named() {
    let lines = score(
        &[],
        r#"{"instrument": "phq10", "answers": {"1": 1}}
{"instrument": "gad7", "answers": {"1": 1, "8": 2}}
{"instrument": "gad7", "answers": {"1": 4}}"#,
    );
    assert_eq!(lines.len(), 3);
    assert_eq!((lines[0]["instrument"].as_str(), error_code(&lines[0])), (Some("phq10"), "unknown_instrument"));
    assert_eq!((error_code(&lines[1]), lines[1]["error"]["item"].as_str()), ("unknown_item", Some("8")));
    assert_eq!((error_code(&lines[2]), lines[2]["error"]["item"].as_str()), ("invalid_value", Some("1")));
    assert!(lines.iter().all(|l| l["error"]["message"].is_string()), "every error has a message");
}

#[test]
fn an_item_answered_twice_is_an_error_not_a_lost_answer() {
    // Parsers keep the last of two equal keys: the critical item 9 answer would vanish.
    let lines =
        score(&[], format!("{{\"instrument\": \"phq9\", \"answers\": {{\"9\": 3, \"1\": 0, \"9\": null}}}}\n{GAD2}\n"));
    assert_eq!(error_code(&lines[0]), "invalid_json");
    assert!(lines[0]["error"]["message"].as_str().unwrap_or("").contains("item `9` is answered twice"), "{}", lines[0]);
    assert_eq!(lines[1]["complete"], true);
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_request() {
    let lines = score(&[], format!("\u{feff}{GAD2}\n{GAD2}\n"));
    assert!(lines.iter().all(|l| l["scores"]["total"]["value"] == 3), "{lines:?}");
}

#[test]
fn each_answer_is_written_before_the_next_request_is_awaited() {
    // A caller that writes one request and waits for its result must get it while stdin stays open.
    let mut child = Command::new(env!("CARGO_BIN_EXE_attune"))
        .arg("score")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("attune starts");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{GAD2}").expect("write request");
    stdin.flush().expect("flush");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(20));
    drop(stdin);
    let status = child.wait().expect("attune exits");
    let line = line.expect("the result arrived while stdin was still open");
    assert!(line.contains("\"value\":3"), "{line}");
    assert!(status.success());
}

#[test]
fn the_request_id_is_echoed_first() {
    let out = run(
        &["score"],
        r#"{"id": "p7", "instrument": "phq9", "answers": {"1": 2, "2": 1, "9": 0}}
{"instrument": "gad2", "answers": {"1": 9}, "id": 8}
{"instrument": "gad2", "answers": {"1": 1, "2": 1}}"#,
    );
    assert_eq!(out.code, Some(0));
    let text: Vec<&str> = out.stdout.lines().collect();
    assert!(text[0].starts_with(r#"{"id":"p7","instrument":"phq9","#), "{}", text[0]);
    // Error objects keep the id too, whatever its JSON type.
    assert!(text[1].starts_with(r#"{"id":8,"instrument":"gad2","error":"#), "{}", text[1]);
    assert!(out.lines()[2].get("id").is_none(), "no id in, no id out");
}

#[test]
fn missing_input_file_is_exit_1_with_one_message() {
    let missing = std::env::temp_dir().join(format!("attune-cli-test-{}-missing.jsonl", std::process::id()));
    let missing = missing.to_str().expect("temp path is UTF-8");
    for args in [
        &["score", "--input", missing][..],
        &["score", "--csv", "--instrument", "gad2", "-i", missing],
        &["group", "gcqs", "--input", missing],
    ] {
        let out = run(args, "");
        assert_fails(&out, 1);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
}

#[test]
fn bad_usage_is_exit_2() {
    let cases: [&[&str]; 7] = [
        &["frobnicate"],
        &["score", "--frobnicate"],
        &["score", "extra.jsonl"],
        &["score", "--instrument", "gad2"],
        &["group"],
        &["catalog", "--json"],
        &["validate"],
    ];
    for args in cases {
        let out = run(args, "");
        assert_fails(&out, 2);
        assert!(out.stderr.contains("attune --help"), "{args:?}: {}", out.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// CSV input

#[test]
fn csv_with_an_instrument_column() {
    let csv = "\
instrument,1,2,3,4,5,6,7,8,9
phq9,1,1,1,1,,1,1,1,1
gad2,3,2
phq9,1,x,1,1,1,1,1,1,1
phq9,1,1,1,1,1,1,1,1,1,1
phq9, 2 ,2,2,2,2,2,2,2,2
";
    let lines = score(&["--csv"], csv);
    assert_eq!(lines.len(), 5);
    // One empty cell is unanswered, not zero: 8 x 9 / 8 = 9, and the form is incomplete.
    assert_eq!(lines[0]["scores"]["total"]["value"], 9);
    assert_eq!(lines[0]["complete"], false);
    assert_eq!(
        (lines[1]["instrument"].as_str(), lines[1]["scores"]["total"]["value"].as_i64()),
        (Some("gad2"), Some(5))
    );
    assert_eq!((error_code(&lines[2]), lines[2]["error"]["item"].as_str()), ("invalid_value", Some("2")));
    assert_eq!(error_code(&lines[3]), "invalid_json", "a row with more cells than the header");
    assert_eq!(lines[4]["scores"]["total"]["value"], 18, "rows after a bad row are scored");
}

#[test]
fn csv_with_instrument_and_id_column_options() {
    let csv = "participant,1,2\nA,1,1\nB,3,\nC,2,0\n";
    let out = run(&["score", "--csv", "--instrument", "gad2", "--id-column", "participant"], csv);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.starts_with(r#"{"id":"A","instrument":"gad2","#), "{}", out.stdout);
    let lines = out.lines();
    let ids: Vec<&str> = lines.iter().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(ids, ["A", "B", "C"]);
    assert_eq!((&lines[1]["scores"]["total"]["value"], &lines[1]["complete"]), (&Value::Null, &json!(false)));
    assert_eq!(lines[2]["scores"]["total"]["value"], 2);
}

#[test]
fn csv_column_that_is_not_an_item() {
    let lines = score(&["--csv", "--instrument", "gad2"], "1,2,note\n1,1,late\n1,1,\n");
    assert_eq!((error_code(&lines[0]), lines[0]["error"]["item"].as_str()), ("unknown_item", Some("note")));
    assert_eq!(lines[1]["scores"]["total"]["value"], 2, "an empty cell in that column is no answer");
}

#[test]
fn csv_without_instrument_or_header() {
    assert_fails(&run(&["score", "--csv"], "1,2\n1,1\n"), 2);
    assert_fails(&run(&["score", "--csv", "--instrument", "phq10"], "1,2\n1,1\n"), 2);
    assert_fails(&run(&["score", "--csv", "--instrument", "gad2", "--id-column", "pid"], "1,2\n1,1\n"), 2);
    assert_fails(&run(&["score", "--csv", "--instrument", "gad2"], ""), 1);
}

// ---------------------------------------------------------------------------------------------
// Group statistics

#[test]
fn group_with_a_bad_member_is_one_error_object_and_exit_1() {
    let good = r#"{"answers": {"1": 3, "2": 4}}"#;
    let cases = [
        (r#"{"answers": {"1": 9}}"#, "invalid_value"),
        (r#"{"answers": {"13": 1}}"#, "unknown_item"),
        (r#"{"instrument": "ucla3", "answers": {"1": 1}}"#, "invalid_json"),
        ("{\"answers\": ", "invalid_json"),
    ];
    for (bad, code) in cases {
        // Blank lines are not members: the bad line is member 2.
        let out = run(&["group", "gcqs"], format!("{good}\n\n{good}\n{bad}\n{good}\n"));
        assert_eq!(out.code, Some(1), "{bad}");
        let got = out.only_line();
        assert_eq!(got["instrument"], "gcqs");
        assert_eq!((error_code(&got), &got["error"]["member"]), (code, &json!(2)), "{bad}");
        assert!(out.stderr.starts_with("attune: member 2: "), "{}", out.stderr);
    }
}

#[test]
fn group_rejects_unknown_instrument_and_bad_min_n() {
    let out = run(&["group", "phq10"], format!("{GAD2}\n"));
    assert_eq!(out.code, Some(1));
    let got = out.only_line();
    assert_eq!((got["instrument"].as_str(), error_code(&got)), (Some("phq10"), "unknown_instrument"));
    // Error objects keep `instrument` first, as in `attune score`.
    assert!(out.stdout.starts_with("{\"instrument\":\"phq10\",\"error\":"), "{}", out.stdout);
    for min_n in ["0", "three", "-1", "2.5"] {
        let out = run(&["group", "gcqs", "--min-n", min_n], "");
        assert_eq!(out.code, Some(1), "--min-n {min_n}");
        assert_eq!(error_code(&out.only_line()), "invalid_context", "--min-n {min_n}");
    }
    // `3.0` is the integer 3, as in the JSON API.
    let out = run(&["group", "gad2", "--min-n", "3.0"], format!("{GAD2}\n"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.only_line()["suppressed"], true);
}

#[test]
fn csv_with_a_repeated_column_is_refused() {
    let out = run(&["score", "--csv"], "instrument,1,1\ngad2,1,3\n");
    assert_eq!(out.code, Some(1));
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("column `1` twice"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// Catalog and validation

fn catalog(args: &[&str]) -> Vec<Value> {
    let out = run(&[&["catalog"][..], args].concat(), "");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let list: Vec<Value> = serde_json::from_str(&out.stdout).expect("the catalog is a JSON array");
    assert_eq!(out.stdout.lines().count(), list.len() + 2, "one instrument per line");
    list
}

fn ids(list: &[Value]) -> Vec<&str> {
    list.iter().map(|s| s["id"].as_str().expect("id")).collect()
}

#[test]
fn catalog_lists_every_reference_instrument() {
    let list = catalog(&[]);
    let phq9 = list.iter().find(|s| s["id"] == "phq9").expect("phq9 is listed");
    assert_eq!((&phq9["licence"], &phq9["text_bundled"]), (&json!("public-domain"), &json!(true)));
    let listed = ids(&list);
    for (file, def) in reference_definitions() {
        let id = def["id"].as_str().expect("id");
        assert_eq!(listed.contains(&id), compiled_in(&def), "{file}");
    }
}

#[test]
fn commercial_catalog_leaves_out_non_commercial_instruments() {
    let listed = catalog(&["--commercial"]);
    let listed = ids(&listed);
    assert!(listed.contains(&"phq9"));
    for id in ["audit", "auditc", "dast10"] {
        assert!(!listed.contains(&id), "{id} is non-commercial");
    }
}

#[test]
fn every_embedded_definition_validates() {
    let dir = workspace_root().join("crates/attune-core/instruments");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("instruments dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let out = run(&["validate", path.to_str().expect("UTF-8 path")], "");
            assert_eq!(out.code, Some(0), "{}: {}", path.display(), out.stdout);
            assert!(out.stdout.contains(": valid ("), "{}", out.stdout);
            seen += 1;
        }
    }
    assert!(seen >= 22, "only {seen} definitions found in {}", dir.display());
}

/// A definition with four problems: no licence, item `1` twice, a score naming item `3` that does
/// not exist, and overlapping bands.
const BROKEN_DEFINITION: &str = r#"{
  "id": "demo", "name": "Demo", "short_name": "D", "domain": "hope", "citation": "Author A (2024).",
  "response_sets": {"agree5": [{"value": 1}, {"value": 2}, {"value": 3}, {"value": 4}, {"value": 5}]},
  "items": [{"id": "1", "response_set": "agree5"}, {"id": "1", "response_set": "agree5"}],
  "scores": [{"id": "total", "method": "sum", "items": ["1", "3"], "range": [2, 10],
              "missing": {"rule": "none-allowed"},
              "bands": [{"id": "low", "min": 2, "max": 6}, {"id": "high", "min": 5, "max": 10}]}]
}"#;

const BROKEN_PROBLEMS: [(&str, &str); 4] = [
    ("$.license", "missing_licence"),
    ("$.items[1].id", "duplicate_item"),
    ("$.scores[0].items[1]", "unknown_item"),
    ("$.scores[0].bands[1]", "band_overlap"),
];

#[test]
fn validate_reports_every_problem_with_its_path() {
    let file = TempFile::new("broken.json", BROKEN_DEFINITION);
    let out = run(&["validate", file.path()], "");
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    for (path, kind) in BROKEN_PROBLEMS {
        let line = format!("{}: {path}: ", file.path());
        assert!(
            out.stdout.lines().any(|l| l.starts_with(&line) && l.ends_with(&format!("[{kind}]"))),
            "{path} {kind}:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.ends_with(": 4 problems\n"), "{}", out.stdout);

    let out = run(&["validate", "--json", file.path()], "");
    assert_eq!(out.code, Some(1));
    let problems: Vec<Value> = serde_json::from_str(&out.stdout).expect("--json prints a JSON array");
    let mut got: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| {
            assert!(p["message"].as_str().is_some_and(|m| !m.is_empty()), "{p}");
            (p["path"].as_str().expect("path"), p["kind"].as_str().expect("kind"))
        })
        .collect();
    let mut want = BROKEN_PROBLEMS.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
}

#[test]
fn validate_of_an_unreadable_file_is_exit_2() {
    let missing = std::env::temp_dir().join(format!("attune-cli-test-{}-missing.json", std::process::id()));
    assert_fails(&run(&["validate", missing.to_str().expect("UTF-8 path")], ""), 2);
}

// ---------------------------------------------------------------------------------------------
// Help, version, examples

#[test]
fn help_and_version() {
    for args in [&["--help"][..], &["-h"], &["help"], &[]] {
        let out = run(args, "");
        assert_eq!(out.code, Some(0), "{args:?}");
        assert!(out.stdout.contains("USAGE:") && out.stdout.contains("EXAMPLES:"), "{args:?}: {}", out.stdout);
    }
    let out = run(&["--version"], "");
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), concat!("attune ", env!("CARGO_PKG_VERSION"), "\n")));
}

/// The commands of `examples/README.md` (after `cargo run -q -p attune-cli --`) and of the help's
/// EXAMPLES (after `attune`), with the number of lines each writes.
const EXAMPLES: [(&str, usize); 3] = [
    ("score --input examples/intake.jsonl", 9),
    ("score --csv --instrument gcqs --id-column participant --input examples/gcqs.csv", 6),
    ("group gcqs --input examples/session.jsonl", 1),
];

#[test]
fn example_files_run_as_documented() {
    let readme = std::fs::read_to_string(workspace_root().join("examples/README.md")).expect("examples/README.md");
    let help = run(&["--help"], "").stdout;
    let mut outputs = Vec::new();
    for (command, count) in EXAMPLES {
        assert!(readme.contains(&format!("cargo run -q -p attune-cli -- {command}\n")), "README lacks `{command}`");
        assert!(help.contains(&format!("attune {command}\n")), "--help lacks `{command}`");
        let args: Vec<&str> = command.split_whitespace().collect();
        let out = run(&args, "");
        assert_eq!(out.code, Some(0), "{command}: {}", out.stderr);
        assert_eq!(out.stderr, "", "{command}");
        let lines = out.lines();
        assert_eq!(lines.len(), count, "{command}");
        outputs.push(lines);
    }

    // Intake: ids in order; the critical flag, the prorated form, and the one invalid line last.
    // (A build without the non-commercial instruments has no AUDIT-C or DAST-10.)
    let intake = &outputs[0];
    for (k, line) in intake.iter().enumerate() {
        assert_eq!(line["id"], format!("intake-{:03}", k + 1));
        let in_build =
            cfg!(feature = "non-commercial") || !matches!(line["instrument"].as_str(), Some("auditc" | "dast10"));
        assert_eq!(line.get("error").is_some(), k == 8 || !in_build, "only intake-009 is invalid: {line}");
    }
    assert_eq!(intake[1]["flags"], json!(["item9_positive"]));
    assert_eq!((&intake[2]["scores"]["total"]["value"], &intake[2]["complete"]), (&json!(9), &json!(false)));
    assert_eq!((error_code(&intake[8]), intake[8]["error"]["item"].as_str()), ("invalid_value", Some("2")));

    // GCQ-S CSV: P05 left a cell empty, so only that form is incomplete.
    let incomplete: Vec<&str> =
        outputs[1].iter().filter(|l| l["complete"] == false).filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(incomplete, ["P05"]);

    // Session: five members, enough to show every statistic.
    let session = &outputs[2][0];
    assert_eq!((&session["n"], &session["suppressed"]), (&json!(5), &json!(false)));
    assert_eq!(session["items"]["5"]["n"], 4, "the fifth member skipped item 5");
}

// ---------------------------------------------------------------------------------------------
// FHIR

#[test]
fn score_fhir_writes_bundles_that_score_back_to_the_same_results() {
    let input = "\
{\"id\": \"a\", \"instrument\": \"phq9\", \"answers\": {\"1\": 3, \"2\": 3, \"3\": 3, \"4\": 3, \"5\": 3, \"6\": 3, \"7\": 3, \"9\": 2}}
{\"id\": \"b\", \"instrument\": \"auditc\", \"answers\": {\"1\": 1, \"2\": 1, \"3\": 1}, \"context\": {\"sex\": \"female\"}}
{\"instrument\": \"gad7\", \"answers\": {\"1\": 9}}
{\"id\": \"c\", \"instrument\": \"audit\", \"answers\": {\"1\": 0, \"9\": 0, \"10\": 2}}
";
    let args = ["--fhir", "--authored", "2026-12-05T09:30:00Z", "--subject", "Patient/p-17"];
    let bundles = score(&args, input);
    assert_eq!(bundles.len(), 4);
    assert_eq!(bundles[0]["resourceType"], "Bundle");
    assert_eq!(bundles[0]["type"], "transaction");
    let qr = &bundles[0]["entry"][0]["resource"];
    assert_eq!((qr["status"].as_str(), qr["authored"].as_str()), (Some("in-progress"), Some("2026-12-05T09:30:00Z")));
    assert_eq!(qr["subject"]["reference"], "Patient/p-17");
    assert_eq!(qr["identifier"]["value"], "a");
    // A line that cannot be scored stays an Attune error line, in place.
    assert_eq!(error_code(&bundles[2]), "invalid_value");

    let back: String = bundles.iter().map(|b| format!("{b}\n")).collect();
    let rescored = score(&[], back);
    let direct = score(&[], input);
    for (k, (again, first)) in rescored.iter().zip(&direct).enumerate() {
        if k == 2 {
            continue; // the error line is not a Bundle
        }
        let mut first = first.clone();
        if let Some(id) = first.get_mut("id") {
            *id = json!(id.as_str().unwrap());
        }
        assert_eq!(again, &first, "line {k}");
    }
}

#[test]
fn score_reads_a_questionnaire_response_shaped_as_lhc_forms_writes_it() {
    let text = std::fs::read_to_string(workspace_root().join("crates/attune-core/tests/fixtures/lhc-forms-phq9.json"))
        .expect("fixture");
    let line = serde_json::to_string(&serde_json::from_str::<Value>(&text).unwrap()).unwrap();
    let out = score(&[], line);
    assert_eq!(out[0]["instrument"], "phq9");
    // Eight of nine items: prorated by the PHQ-9 rule (LHC-Forms' own total, 10, is not read).
    assert_eq!(out[0]["scores"]["total"]["value"], 11.25);
    assert_eq!(out[0]["flags"], json!(["item9_positive"]));
    let unknown = json!({"resourceType": "QuestionnaireResponse", "status": "completed",
                         "questionnaire": "urn:attune:fhir/Questionnaire/phq9",
                         "item": [{"linkId": "12", "answer": [{"valueInteger": 1}]}]});
    let out = score(&[], format!("{unknown}\n"));
    assert_eq!((error_code(&out[0]), out[0]["error"]["item"].as_str()), ("unknown_item", Some("12")));
}

#[test]
fn fhir_questionnaire_writes_the_instrument() {
    let out = run(&["fhir", "questionnaire", "gad7", "--base", "https://clinic.example.org/fhir"], "");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let q: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(q["resourceType"], "Questionnaire");
    assert_eq!(q["url"], "https://clinic.example.org/fhir/Questionnaire/gad7");
    assert_eq!(q["code"][0]["code"], "69737-5");
    let first = q["item"].as_array().unwrap().iter().find(|i| i["linkId"] == "1").unwrap().clone();
    assert_eq!(first["code"][0]["code"], "69725-0");
    assert_eq!(first["answerOption"][2]["valueCoding"]["extension"][0]["valueDecimal"], 2);
    assert!(q["copyright"].as_str().unwrap().starts_with("Spitzer"), "{}", q["copyright"]);

    let spanish = run(&["fhir", "questionnaire", "phq9", "--lang", "xx"], "");
    assert_fails(&spanish, 2);
    assert_fails(&run(&["fhir", "questionnaire", "nope"], ""), 2);
    assert_fails(&run(&["fhir", "questionnaire"], ""), 2);
    assert_fails(&run(&["fhir", "questionnaire", "phq9", "--base", "clinic/fhir"], ""), 2);
}

#[test]
fn fhir_options_are_checked_before_anything_is_read() {
    for args in [
        &["--fhir", "--authored", "yesterday"][..],
        &["--fhir", "--authored", "2026-13-01"],
        &["--fhir", "--authored", "2026-12-05T09:30"],
        &["--fhir", "--subject", "p 17"],
        &["--authored", "2026-12-05"],
    ] {
        assert_fails(&run(&[&["score"][..], args].concat(), "{}"), 2);
    }
}

#[test]
fn group_fhir_is_one_observation_without_any_members_answers() {
    let members = "{\"answers\": {\"1\": 1, \"2\": 2, \"3\": 3}}\n{\"answers\": {\"1\": 2, \"2\": 2, \"3\": 3}}\n{\"answers\": {\"1\": 3, \"2\": 1, \"3\": 2}}\n";
    let stats = run(&["group", "ucla3"], members).only_line();
    let out = run(&["group", "ucla3", "--fhir", "--authored", "2026-12-05T10:45:00Z"], members);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let obs = out.only_line();
    assert_eq!(obs["resourceType"], "Observation");
    assert_eq!(obs["effectiveDateTime"], "2026-12-05T10:45:00Z");
    let components = obs["component"].as_array().unwrap();
    let find = |code: &str| components.iter().find(|c| c["code"]["coding"][0]["code"] == code).unwrap().clone();
    assert_eq!(find("ucla3.group.n")["valueInteger"], 3);
    for (score, s) in stats["scores"].as_object().unwrap() {
        assert!(approx_eq(&s["mean"], &find(&format!("ucla3.{score}.mean"))["valueQuantity"]["value"]), "{score}");
        assert!(approx_eq(&s["rwg"], &find(&format!("ucla3.{score}.rwg"))["valueQuantity"]["value"]), "{score}");
    }
    assert!(!obs.to_string().contains("counts"));
    // Two members, below the default minimum of 3: every statistic masked.
    let two: String = members.lines().take(2).map(|l| format!("{l}\n")).collect();
    let masked = run(&["group", "ucla3", "--fhir"], two).only_line();
    let reasons: Vec<&Value> = masked["component"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .map(|c| &c["dataAbsentReason"]["coding"][0]["code"])
        .collect();
    assert!(!reasons.is_empty() && reasons.iter().all(|r| *r == "masked"), "{masked}");
    assert_fails(&run(&["group", "ucla3", "--authored", "2026-12-05"], members), 2);
}

#[test]
fn fhir_questionnaire_takes_the_hosts_wording_for_a_keys_only_instrument() {
    // Placeholder wording for the test: the URICA's own statements are not bundled (licence).
    let items: serde_json::Map<String, Value> =
        (1..=32).map(|i| (i.to_string(), json!(format!("Test statement {i}")))).collect();
    let pack = TempFile::new(
        "urica-pack.json",
        &json!({"instrument": "urica", "languages": {"en": {"items": items}}}).to_string(),
    );
    let out = run(&["fhir", "questionnaire", "urica", "--text", pack.path()], "");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let q: Value = serde_json::from_str(&out.stdout).unwrap();
    let first = q["item"].as_array().unwrap().iter().find(|i| i["linkId"] == "1").unwrap().clone();
    assert_eq!(first["text"], "Test statement 1");
    // Without the pack the items have no text; a pack that names what the URICA lacks is refused.
    let bare: Value = serde_json::from_str(&run(&["fhir", "questionnaire", "urica"], "").stdout).unwrap();
    assert!(bare["item"].as_array().unwrap().iter().all(|i| i.get("text").is_none()));
    let bad = TempFile::new("urica-bad.json", r#"{"languages": {"en": {"items": {"99": "x"}}}}"#);
    let out = run(&["fhir", "questionnaire", "urica", "--text", bad.path()], "");
    assert_fails(&out, 1);
    assert!(out.stderr.contains("99"), "{}", out.stderr);
}
