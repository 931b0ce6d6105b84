//! FHIR validated, not assumed: every Questionnaire (each language); for every reference vector (as
//! given, and again with one answer left out) the Bundle `attune score --fhir` writes; and each
//! instrument's group Observation (`attune group --fhir`, with enough members and below the minimum);
//! checked with FHIR.js against the R4 structure definitions and value sets (`tests/fhir/validate.mjs`).

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use xshell::{cmd, Shell};

use crate::{catalog_dir, step, target_dir, web, workspace_root};

pub fn validate_resources(sh: &Shell) -> Result<()> {
    step("FHIR: every Questionnaire, the Bundle of every reference vector (and of each with an answer left out), and group Observations, validated by FHIR.js");
    web::npm_ci(sh, &workspace_root().join("tests"))?;
    cmd!(sh, "cargo build --locked -p attune-cli --bin attune").run()?;
    let attune = target_dir().join("debug/attune");
    let out = target_dir().join("fhir");
    std::fs::create_dir_all(&out)?;

    let catalog: Vec<Value> = serde_json::from_str(&cmd!(sh, "{attune} catalog").read()?)?;
    let mut questionnaires = String::new();
    for inst in &catalog {
        let id = inst["id"].as_str().context("catalog id")?;
        // English always (keys-only instruments too, whose Questionnaire then has no item text),
        // then every verified translation.
        let mut languages = vec!["en"];
        for lang in inst["languages"].as_array().context("catalog languages")? {
            let lang = lang.as_str().context("language tag")?;
            if !languages.contains(&lang) {
                languages.push(lang);
            }
        }
        for lang in languages {
            let text = cmd!(sh, "{attune} fhir questionnaire {id} --lang {lang}").quiet().read()?;
            let q: Value = serde_json::from_str(&text)?;
            questionnaires.push_str(&format!("{q}\n"));
        }
    }
    let questionnaires_file = out.join("questionnaires.jsonl");
    std::fs::write(&questionnaires_file, questionnaires)?;

    let requests = requests(&catalog_dir())?;
    let requests_file = out.join("requests.jsonl");
    std::fs::write(&requests_file, requests.iter().map(|r| format!("{r}\n")).collect::<String>())?;
    let mut bundle_files = Vec::new();
    for (name, options) in [
        ("bundles.jsonl", &["--authored", "2026-12-05T09:30:00+01:00", "--subject", "Patient/example"][..]),
        ("bundles-anonymous.jsonl", &[]),
    ] {
        let text = cmd!(sh, "{attune} score --fhir {options...} --input {requests_file}").quiet().read()?;
        for (k, line) in text.lines().enumerate() {
            let v: Value = serde_json::from_str(line)?;
            if v["resourceType"] != "Bundle" {
                bail!("request {} gave no Bundle: {line}\nrequest: {}", k + 1, requests[k]);
            }
        }
        let file = out.join(name);
        std::fs::write(&file, text + "\n")?;
        bundle_files.push(file);
    }
    println!("{} requests (reference vectors, and each with an answer left out), each as two Bundles", requests.len());

    // Each instrument's reference vectors as the members of one group, and the first two alone
    // (below the minimum group size: every statistic masked).
    let mut groups = String::new();
    for inst in &catalog {
        let id = inst["id"].as_str().context("catalog id")?;
        let members: Vec<String> = requests
            .iter()
            .filter(|r| r["instrument"] == id && !r["id"].as_str().unwrap_or_default().contains("-without-"))
            .map(|r| json!({"answers": r["answers"]}).to_string())
            .collect();
        for (members, note) in [(&members[..], "all"), (&members[..members.len().min(2)], "two")] {
            let input = members.join("\n");
            let text = cmd!(sh, "{attune} group {id} --fhir --authored 2026-12-05T10:45:00Z --min-n 3")
                .stdin(input)
                .quiet()
                .read()
                .with_context(|| format!("attune group {id} --fhir ({note} members)"))?;
            groups.push_str(&format!("{text}\n"));
        }
    }
    let groups_file = out.join("groups.jsonl");
    std::fs::write(&groups_file, groups)?;
    bundle_files.push(groups_file);
    let _d = sh.push_dir(workspace_root().join("tests"));
    cmd!(sh, "node fhir/validate.mjs {questionnaires_file} {bundle_files...}").run()?;
    Ok(())
}

/// Every reference vector that is scored (not an expected error), as a request, and the same
/// request with its first answer left out (a missing answer, never a zero).
fn requests(dir: &Path) -> Result<Vec<Value>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let def: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        let id = def["id"].as_str().context("definition id")?;
        for (k, v) in def["test_vectors"].as_array().context("test_vectors")?.iter().enumerate() {
            if v["expected"].get("error").is_some() {
                continue;
            }
            let mut request = json!({"id": format!("{id}-{}", k + 1), "instrument": id, "answers": v["answers"]});
            if let Some(context) = v.get("context") {
                request["context"] = context.clone();
            }
            let first = v["answers"]
                .as_object()
                .and_then(|a| a.iter().find(|(_, x)| !x.is_null()).map(|(item, _)| item.clone()));
            out.push(request.clone());
            if let Some(item) = first {
                request["id"] = json!(format!("{id}-{}-without-{item}", k + 1));
                request["answers"].as_object_mut().context("answers")?.remove(&item);
                out.push(request);
            }
        }
    }
    Ok(out)
}
