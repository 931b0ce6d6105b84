//! FHIR on the command line: `attune fhir questionnaire ID`, `attune score --fhir` (a transaction
//! Bundle per scored response), and QuestionnaireResponse lines read by `attune score`.

use std::io::{self, Write};
use std::process::ExitCode;

use attune_core::fhir::{self, Bundle, Options, QuestionnaireResponse, Reading};
use attune_core::{Catalog, Request, ScoreError};
use serde_json::Value;

use crate::commands::CliError;

/// How `score --fhir` writes its Bundles.
pub struct Writing {
    base: String,
    authored: Option<String>,
    subject: Option<String>,
}

impl Writing {
    /// `None` without `--fhir`; a usage error for an option FHIR would reject.
    pub fn from_args(
        fhir: bool,
        base: Option<&str>,
        authored: Option<&str>,
        subject: Option<&str>,
    ) -> Result<Option<Writing>, CliError> {
        let base = base.unwrap_or(fhir::DEFAULT_BASE);
        let opts = Options { base, authored, subject, ..Options::default() };
        opts.check().map_err(CliError::Usage)?;
        Ok(fhir.then(|| Writing {
            base: base.to_string(),
            authored: authored.map(str::to_string),
            subject: subject.map(str::to_string),
        }))
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The request scored, as a Bundle; the scoring error when it cannot be scored.
    pub fn bundle(&self, catalog: &Catalog, req: &Request) -> Result<Bundle, ScoreError> {
        let inst =
            catalog.get(&req.instrument).ok_or_else(|| ScoreError::UnknownInstrument { id: req.instrument.clone() })?;
        let result = inst.score(&req.answers, req.context.as_ref())?;
        let identifier = req.id.as_ref().map(|id| match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let opts = Options {
            base: &self.base,
            authored: self.authored.as_deref(),
            subject: self.subject.as_deref(),
            identifier: identifier.as_deref(),
            ..Options::default()
        };
        fhir::bundle(inst, req, &result, &opts)
    }
}

impl Writing {
    /// Group statistics as one Observation of the group (no member's answers).
    pub fn group(&self, inst: &attune_core::Instrument, stats: &attune_core::GroupStats<'_>) -> fhir::Observation {
        let opts = Options { base: &self.base, authored: self.authored.as_deref(), ..Options::default() };
        fhir::group_observation(inst, stats, None, &opts)
    }
}

/// A JSON line that is a FHIR resource (a QuestionnaireResponse, or a Bundle holding one) rather
/// than an Attune request, parsed; `None` for anything else.
pub fn resource(line: &str) -> Option<Value> {
    // Cheap first: only lines naming a resourceType are parsed here.
    if !line.contains("\"resourceType\"") {
        return None;
    }
    serde_json::from_str::<Value>(line).ok().filter(|v| v.get("resourceType").is_some_and(Value::is_string))
}

/// A QuestionnaireResponse, or a Bundle with exactly one (as `score --fhir` writes), as a request.
pub fn read_response(catalog: &Catalog, value: Value, base: &str) -> Result<Request, (Option<String>, ScoreError)> {
    let fail = |message: String| (None, ScoreError::invalid_json(message));
    let qr = match value.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => {
            let mut responses: Vec<Value> = value["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| &e["resource"])
                .filter(|r| r["resourceType"] == "QuestionnaireResponse")
                .cloned()
                .collect();
            match responses.len() {
                1 => responses.remove(0),
                n => return Err(fail(format!("a Bundle with {n} QuestionnaireResponses: give one per line"))),
            }
        }
        _ => value,
    };
    let qr = QuestionnaireResponse::from_value(qr).map_err(|e| (None, e))?;
    fhir::request_from_questionnaire_response(catalog, &qr, &Reading { base, instrument: None })
}

/// `attune fhir questionnaire ID`: the instrument as a Questionnaire, pretty-printed; with
/// `--text FILE`, the host's text pack (JSON) supplies wording the catalog does not bundle.
pub fn questionnaire(
    id: &str,
    base: Option<&str>,
    lang: Option<&str>,
    text: Option<&std::path::Path>,
    mut out: impl Write,
) -> Result<ExitCode, CliError> {
    let Some(inst) = Catalog::embedded().get(id) else {
        return Err(CliError::Usage(format!("unknown instrument `{id}`; `attune catalog` lists the instruments")));
    };
    let pack = match text {
        None => None,
        Some(path) => {
            let json = std::fs::read_to_string(path)
                .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?;
            let pack = inst
                .read_text_pack(&json)
                .map_err(|problems| CliError::Input(format!("{}: {}", path.display(), problems.join("; "))))?;
            Some(pack)
        }
    };
    let opts = Options {
        base: base.unwrap_or(fhir::DEFAULT_BASE),
        lang: lang.unwrap_or("en"),
        text: pack.as_ref(),
        ..Options::default()
    };
    opts.check().map_err(CliError::Usage)?;
    opts.check_language(inst).map_err(CliError::Usage)?;
    serde_json::to_writer_pretty(&mut out, &fhir::questionnaire(inst, &opts)).map_err(io::Error::other)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
