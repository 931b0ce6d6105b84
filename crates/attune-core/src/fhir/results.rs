//! A scored response as FHIR: the `QuestionnaireResponse`, one `Observation` per score (its value,
//! or a `dataAbsentReason` when the missing-data rule leaves it null; its band and cut-offs as
//! `interpretation`), one per raised flag (critical ones interpreted `AA`), and a panel that has
//! them all as members; together a transaction `Bundle`.

use serde_json::Value;

use super::questionnaire::option_coding;
use super::{
    Answer, Bundle, BundleEntry, BundleRequest, CodeableConcept, Coding, Component, Extension, Observation, Options,
    Quantity, QuestionnaireResponse, Reference, Resource, ResponseItem, Wording, DATA_ABSENT_REASON, INTERPRETATION,
    LOINC, OBSERVATION_CATEGORY, UCUM,
};
use crate::{GroupStats, Instrument, Request, ScoreError, ScoreResult};

/// The response as a QuestionnaireResponse: `completed` when the result is complete, else
/// `in-progress`; each answered item with its option coding; the context in Attune's extension.
///
/// The request must be the one the result was scored from (its answers are checked again).
pub fn questionnaire_response(
    inst: &Instrument,
    request: &Request,
    result: &ScoreResult<'_>,
    opts: &Options<'_>,
) -> Result<QuestionnaireResponse, ScoreError> {
    response_with(inst, request, result, opts, &Wording::new(inst, opts))
}

fn response_with(
    inst: &Instrument,
    request: &Request,
    result: &ScoreResult<'_>,
    opts: &Options<'_>,
    text: &Wording<'_>,
) -> Result<QuestionnaireResponse, ScoreError> {
    let sheet = inst.answer_sheet(&request.answers)?;
    let item = inst
        .item_ids()
        .zip(sheet.values())
        .enumerate()
        .filter_map(|(index, (id, value))| {
            let value = (*value)?;
            Some(ResponseItem {
                link_id: id.to_string(),
                text: text.item(id),
                answer: vec![Answer {
                    value_coding: Some(option_coding(inst, opts, text, index, value)),
                    ..Answer::default()
                }],
                item: Vec::new(),
            })
        })
        .collect();
    Ok(QuestionnaireResponse {
        id: None,
        extension: context_extension(inst, request, opts).into_iter().collect(),
        identifier: opts.identifier.map(|v| super::Identifier { system: None, value: Some(v.to_string()) }),
        questionnaire: Some(opts.questionnaire_url(inst.id())),
        status: if result.complete { "completed" } else { "in-progress" }.to_string(),
        subject: opts.subject.map(reference),
        authored: opts.authored.map(str::to_string),
        item,
    })
}

/// The context keys the instrument reads (`sex` for AUDIT-C), as given, so that reading the
/// response back scores it the same way.
fn context_extension(inst: &Instrument, request: &Request, opts: &Options<'_>) -> Option<Extension> {
    let given = request.context.as_ref().and_then(Value::as_object)?;
    let parts: Vec<Extension> = inst
        .context
        .iter()
        .filter_map(|c| Some(Extension::string(&c.key, given.get(c.key.as_ref())?.as_str()?)))
        .collect();
    (!parts.is_empty()).then(|| Extension { url: opts.context_extension(), extension: parts, ..Extension::default() })
}

/// The result's Observations, each `derivedFrom` the response at `response` (a reference), the
/// panel last: every score, then every raised flag, then the panel whose members they are. Member
/// references are `urn:uuid:` ids made by `id(n)` for the n-th Observation.
pub fn observations(
    inst: &Instrument,
    result: &ScoreResult<'_>,
    response: &str,
    opts: &Options<'_>,
    id: impl Fn(usize) -> String,
) -> Vec<Observation> {
    observations_with(inst, result, response, opts, &Wording::new(inst, opts), id)
}

fn observations_with(
    inst: &Instrument,
    result: &ScoreResult<'_>,
    response: &str,
    opts: &Options<'_>,
    text: &Wording<'_>,
    id: impl Fn(usize) -> String,
) -> Vec<Observation> {
    let def = inst.definition();
    let system = opts.score_system();
    let code = |suffix: &str, display: Option<String>| {
        let c = Coding::new(&system, &format!("{}{suffix}", inst.id()), display.clone());
        CodeableConcept { coding: vec![c], text: display }
    };
    let status = if result.complete { "final" } else { "preliminary" };
    let base = |code: CodeableConcept| Observation {
        derived_from: vec![reference(response)],
        ..survey(status, code, opts.subject.map(reference), opts)
    };
    let loinc = |key: &str| def.loinc.as_ref().and_then(|l| l.get(key)).filter(|_| key != "panel");

    let mut out = Vec::new();
    for score in &result.scores {
        let label = text.score(score.id);
        let mut concept = code(&format!(".{}", score.id), label.clone());
        if let Some(c) = loinc(score.id) {
            concept.coding.insert(0, Coding::new(LOINC, c, None));
        }
        let mut obs = base(concept);
        match score.value {
            Some(value) => obs.value_quantity = Some(quantity(value, "{score}")),
            None => {
                let why = "Not computable under the instrument's rules (too many answers missing, or a flag that makes the form invalid)";
                obs.data_absent_reason = Some(absent("unknown", Some("Unknown"), Some(why)));
            }
        }
        if let Some(band) = score.band {
            let label = text.band(score.id, band);
            obs.interpretation
                .push(code(&format!(".{}.band.{band}", score.id), label.or_else(|| Some(band.to_string()))));
        }
        for cutoff in &score.cutoffs {
            let label = text.cutoff(score.id, cutoff);
            obs.interpretation
                .push(code(&format!(".{}.cutoff.{cutoff}", score.id), label.or_else(|| Some(cutoff.to_string()))));
        }
        out.push(obs);
    }
    for flag in &result.flags {
        let label = text.flag(flag).or_else(|| Some(flag.to_string()));
        let mut obs = base(code(&format!(".flag.{flag}"), label));
        obs.value_boolean = Some(true);
        if inst.critical_flags().any(|c| c == *flag) {
            obs.interpretation.push(CodeableConcept {
                coding: vec![Coding::new(INTERPRETATION, "AA", Some("Critical abnormal".to_string()))],
                text: Some("Critical: to be seen by a clinician".to_string()),
            });
        }
        out.push(obs);
    }
    let mut panel = base(code("", Some(inst.name().to_string())));
    if let Some(c) = def.loinc.as_ref().and_then(|l| l.get("panel")) {
        panel.code.coding.insert(0, Coding::new(LOINC, c, None));
    }
    panel.has_member = (0..out.len()).map(|n| reference(&id(n))).collect();
    out.push(panel);
    out
}

/// A transaction Bundle: the QuestionnaireResponse and its Observations, posted together.
///
/// Entry ids are `urn:uuid:` values derived from the response itself (instrument, answers,
/// context, `authored`, `subject`, `identifier`), so the same response always gives the same
/// Bundle; the server assigns the stored ids.
///
/// ```
/// use attune_core::{fhir, Catalog, Request};
/// let catalog = Catalog::embedded();
/// let request = Request::parse(r#"{"instrument": "phq9", "answers": {"1": 3, "2": 3, "3": 3, "4": 3, "5": 3, "6": 3, "7": 3, "8": 3, "9": 2}}"#, None).unwrap();
/// let phq9 = catalog.get("phq9").unwrap();
/// let result = phq9.score(&request.answers, None).unwrap();
/// let bundle = fhir::bundle(phq9, &request, &result, &fhir::Options::default()).unwrap();
/// let json = serde_json::to_value(&bundle).unwrap();
/// assert_eq!(json["entry"][0]["resource"]["resourceType"], "QuestionnaireResponse");
/// assert_eq!(json["entry"][1]["resource"]["code"]["coding"][0]["code"], "44261-6");
/// assert_eq!(json["entry"][1]["resource"]["valueQuantity"]["value"], 26.0);
/// assert_eq!(json["entry"][2]["resource"]["interpretation"][0]["coding"][0]["code"], "AA");
/// ```
pub fn bundle(
    inst: &Instrument,
    request: &Request,
    result: &ScoreResult<'_>,
    opts: &Options<'_>,
) -> Result<Bundle, ScoreError> {
    let text = Wording::new(inst, opts);
    let qr = response_with(inst, request, result, opts, &text)?;
    let seed = format!(
        "{}|{}|{}|{}|{}|{}",
        inst.id(),
        serde_json::to_string(&request.answers).unwrap_or_default(),
        request.context.as_ref().map(Value::to_string).unwrap_or_default(),
        opts.authored.unwrap_or_default(),
        opts.subject.unwrap_or_default(),
        opts.identifier.unwrap_or_default()
    );
    let id = |n: usize| uuid(&seed, n);
    let qr_id = id(0);
    let observations = observations_with(inst, result, &qr_id, opts, &text, |n| id(n + 1));
    let mut entry = Vec::with_capacity(observations.len() + 1);
    entry.push(BundleEntry {
        full_url: qr_id,
        resource: Resource::QuestionnaireResponse(qr),
        request: BundleRequest { method: "POST".to_string(), url: "QuestionnaireResponse".to_string() },
    });
    for (n, obs) in observations.into_iter().enumerate() {
        entry.push(BundleEntry {
            full_url: id(n + 1),
            resource: Resource::Observation(obs),
            request: BundleRequest { method: "POST".to_string(), url: "Observation".to_string() },
        });
    }
    Ok(Bundle { kind: "transaction".to_string(), entry })
}

fn reference(to: &str) -> Reference {
    Reference { reference: Some(to.to_string()), display: None }
}

/// A group's statistics (one poll of a therapy group, or `attune group`) as one Observation: per
/// score its n, mean, SD, minimum, maximum and r_wg as components, and the group's n. Nothing
/// about any member: no answers, no item counts. Below the minimum group size every value is
/// absent with `dataAbsentReason` `masked`. The group, when named, is the `subject` by name only
/// (Attune's groups are not FHIR resources); `opts.authored` is when the statistics were released.
pub fn group_observation(
    inst: &Instrument,
    stats: &GroupStats<'_>,
    group: Option<&str>,
    opts: &Options<'_>,
) -> Observation {
    let text = Wording::new(inst, opts);
    let system = opts.score_system();
    let concept = |code: String, label: String| CodeableConcept {
        coding: vec![Coding::new(&system, &code, Some(label.clone()))],
        text: Some(label),
    };
    // Hidden for privacy (the group, or this score, below the minimum size) is `masked`; not
    // computable (an SD of one value, no value at all) is `unknown`.
    let reason = |s: &crate::ScoreStats| {
        if stats.suppressed || (s.n > 0 && s.mean.is_none()) {
            "masked"
        } else {
            "unknown"
        }
    };
    let mut component = vec![Component {
        code: concept(format!("{}.group.n", inst.id()), "Members".to_string()),
        value_quantity: None,
        value_integer: Some(stats.n as i64),
        data_absent_reason: None,
    }];
    for (id, s) in &stats.scores {
        let label = text.score(id).unwrap_or_else(|| id.to_string());
        let n = (!stats.suppressed).then_some(s.n as i64);
        let parts: [(&str, &str, Option<f64>, &str); 5] = [
            ("mean", "mean", s.mean, "{score}"),
            ("sd", "standard deviation", s.sd, "{score}"),
            ("min", "minimum", s.min, "{score}"),
            ("max", "maximum", s.max, "{score}"),
            ("rwg", "within-group agreement (r_wg)", s.rwg, "1"),
        ];
        component.push(Component {
            code: concept(format!("{}.{id}.n", inst.id()), format!("{label}: members with a value")),
            value_quantity: None,
            value_integer: n,
            data_absent_reason: n.is_none().then(|| absent(reason(s), None, None)),
        });
        for (key, name, value, unit) in parts {
            component.push(Component {
                code: concept(format!("{}.{id}.{key}", inst.id()), format!("{label}: {name}")),
                data_absent_reason: value.is_none().then(|| absent(reason(s), None, None)),
                value_quantity: value.map(|v| quantity(v, unit)),
                value_integer: None,
            });
        }
    }
    let code = concept(format!("{}.group", inst.id()), format!("{}: group statistics", inst.name()));
    let subject = group.map(|name| Reference { reference: None, display: Some(name.to_string()) });
    Observation { component, ..survey("final", code, subject, opts) }
}

/// An Observation of category `survey`, at `opts.authored`, with nothing else yet.
fn survey(status: &str, code: CodeableConcept, subject: Option<Reference>, opts: &Options<'_>) -> Observation {
    Observation {
        status: status.to_string(),
        category: vec![CodeableConcept {
            coding: vec![Coding::new(OBSERVATION_CATEGORY, "survey", Some("Survey".to_string()))],
            text: None,
        }],
        code,
        subject,
        effective_date_time: opts.authored.map(str::to_string),
        value_quantity: None,
        value_boolean: None,
        data_absent_reason: None,
        interpretation: Vec::new(),
        component: Vec::new(),
        has_member: Vec::new(),
        derived_from: Vec::new(),
    }
}

/// A value in UCUM units (`{score}`, or `1` for a ratio such as r_wg).
fn quantity(value: f64, unit: &str) -> Quantity {
    Quantity { value, unit: unit.to_string(), system: UCUM.to_string(), code: unit.to_string() }
}

/// Why a value is absent (`unknown`, `masked`), with the code's display and words when given.
fn absent(code: &str, display: Option<&str>, text: Option<&str>) -> CodeableConcept {
    let coding = Coding::new(DATA_ABSENT_REASON, code, display.map(str::to_string));
    CodeableConcept { coding: vec![coding], text: text.map(str::to_string) }
}

/// A name-based UUID (RFC 9562 version 8: 122 bits of a hash) for the n-th resource of a response,
/// as a `urn:uuid:`. FNV-1a, twice with different offsets: not a secret, only distinct.
fn uuid(seed: &str, n: usize) -> String {
    let hash = |offset: u64| {
        let mut h = offset;
        // `n` as 8 bytes everywhere (usize is 4 bytes on wasm32): the same Bundle in every build.
        for b in seed.as_bytes().iter().chain(&(n as u64).to_le_bytes()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    let (hi, lo) = (hash(0xcbf2_9ce4_8422_2325), hash(0x6c62_272e_07bb_0142));
    let hi = (hi & !0xf000) | 0x8000; // version 8
    let lo = (lo & !(0b11 << 62)) | (0b10 << 62); // RFC variant
    format!(
        "urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_well_formed_and_distinct() {
        let a = uuid("phq9|{}", 0);
        let b = uuid("phq9|{}", 1);
        assert_ne!(a, b);
        assert_eq!(a, uuid("phq9|{}", 0));
        let hex = a.strip_prefix("urn:uuid:").unwrap();
        let parts: Vec<&str> = hex.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('8'), "{a}");
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{a}");
    }
}
