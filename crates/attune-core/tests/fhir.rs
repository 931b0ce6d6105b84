//! FHIR both ways, for every instrument of the catalog: every reference vector goes Attune → FHIR
//! Bundle → QuestionnaireResponse read back → Attune and must score the same; LOINC codes appear
//! only where the catalog's definitions carry them; a PHQ-9 response shaped as LHC-Forms exports
//! it is scored by the PHQ-9's own missing-data rule; and whatever cannot be mapped is an error
//! that names the item.

use std::path::Path;

use attune_core::fhir::{self, Options, QuestionnaireResponse, Reading, Resource};
use attune_core::{Catalog, ErrorCode, Request};
use serde_json::{json, Value};

fn vectors() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("instruments");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("catalog dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let def: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("file")).expect("json");
            let id = def["id"].as_str().expect("id").to_string();
            for v in def["test_vectors"].as_array().expect("vectors") {
                if v["expected"].get("error").is_none() {
                    let mut request = json!({"instrument": id, "answers": v["answers"]});
                    if let Some(c) = v.get("context") {
                        request["context"] = c.clone();
                    }
                    out.push((id.clone(), request));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn result_json(catalog: &Catalog, request: &Request) -> Value {
    serde_json::to_value(request.clone().score(catalog)).expect("serializable")
}

#[test]
fn every_reference_vector_survives_the_round_trip_through_fhir() {
    let catalog = Catalog::embedded();
    let opts =
        Options { authored: Some("2026-12-05T09:30:00Z"), subject: Some("Patient/example"), ..Options::default() };
    let mut trips = 0;
    for (id, request) in vectors() {
        let request = Request::from_value(request, None).expect("a reference request");
        let inst = catalog.get(&id).expect("in the catalog");
        let result = inst.score(&request.answers, request.context.as_ref()).expect("reference vectors score");
        let bundle = fhir::bundle(inst, &request, &result, &opts).expect("a bundle");
        // Through JSON text, as another system would receive it.
        let text = serde_json::to_string(&bundle).expect("serializable");
        let back: fhir::Bundle = serde_json::from_str(&text).expect("reads back");
        let Resource::QuestionnaireResponse(qr) = &back.entry[0].resource else { panic!("{id}: QR first") };
        let read = fhir::request_from_questionnaire_response(catalog, qr, &Reading::default())
            .unwrap_or_else(|e| panic!("{id}: {e:?}"));
        assert_eq!(result_json(catalog, &read), result_json(catalog, &request), "{id}: {}", request.answers.len());
        // Every score is an Observation, with a value or a reason for none.
        let observations: Vec<&fhir::Observation> = back.entry[1..]
            .iter()
            .map(|e| match &e.resource {
                Resource::Observation(o) => o,
                other => panic!("{id}: {other:?}"),
            })
            .collect();
        for (score, obs) in result.scores.iter().zip(&observations) {
            // serde_json reads floats to within an ulp (no `float_roundtrip`): compare so.
            let value = obs.value_quantity.as_ref().map(|q| q.value);
            let same = match (value, score.value) {
                (Some(a), Some(b)) => (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                (a, b) => a == b,
            };
            assert!(same, "{id} {}: {value:?} != {:?}", score.id, score.value);
            assert_eq!(obs.data_absent_reason.is_some(), score.value.is_none(), "{id} {}", score.id);
            assert_eq!(obs.derived_from[0].reference.as_deref(), Some(back.entry[0].full_url.as_str()));
        }
        let panel = observations.last().expect("a panel");
        assert_eq!(panel.has_member.len(), result.scores.len() + result.flags.len(), "{id}");
        trips += 1;
    }
    assert!(trips >= 200, "only {trips} reference vectors made the round trip");
    eprintln!("{trips} reference vectors made the round trip through FHIR");
}

#[test]
fn loinc_codes_come_only_from_the_catalog() {
    let catalog = Catalog::embedded();
    for inst in catalog.instruments() {
        let def = inst.definition();
        let mut known: Vec<String> = def.items.iter().filter_map(|i| i.loinc.as_deref().map(str::to_string)).collect();
        known.extend(def.loinc.iter().flat_map(|l| l.iter().map(|(_, c)| c.to_string())));
        let q = serde_json::to_value(fhir::questionnaire(inst, &Options::default())).expect("json");
        let mut found = Vec::new();
        collect_loinc(&q, &mut found);
        for code in &found {
            assert!(known.contains(code), "{}: LOINC {code} is not in its definition", inst.id());
        }
        let item_codes = def.items.iter().filter(|i| i.loinc.is_some()).count();
        let panel = usize::from(def.loinc.as_ref().is_some_and(|l| l.get("panel").is_some()));
        assert_eq!(found.len(), item_codes + panel, "{}: every catalog LOINC code is written", inst.id());
    }
    // The codes themselves, pinned: the PHQ-9 panel and total, GAD-7's, AUDIT's.
    let phq9 = catalog.get("phq9").unwrap().definition();
    assert_eq!(phq9.loinc.as_ref().and_then(|l| l.get("panel")).map(|c| c.as_ref()), Some("44249-1"));
    assert_eq!(phq9.loinc.as_ref().and_then(|l| l.get("total")).map(|c| c.as_ref()), Some("44261-6"));
    assert_eq!(phq9.items[8].loinc.as_deref(), Some("44260-8"));
    let gad7 = catalog.get("gad7").unwrap().definition();
    assert_eq!(gad7.loinc.as_ref().and_then(|l| l.get("panel")).map(|c| c.as_ref()), Some("69737-5"));
    let audit = catalog.get("audit").unwrap().definition();
    assert_eq!(audit.loinc.as_ref().and_then(|l| l.get("total")).map(|c| c.as_ref()), Some("75624-7"));
}

fn collect_loinc(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if o.get("system").and_then(Value::as_str) == Some(fhir::LOINC) {
                out.push(o["code"].as_str().expect("code").to_string());
            }
            o.values().for_each(|v| collect_loinc(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_loinc(v, out)),
        _ => {}
    }
}

#[test]
fn an_lhc_forms_phq9_response_is_scored_by_the_phq9_rule() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lhc-forms-phq9.json"))
            .expect("fixture");
    let qr: QuestionnaireResponse = serde_json::from_str(&text).expect("a QuestionnaireResponse");
    let catalog = Catalog::embedded();
    let request = fhir::request_from_questionnaire_response(catalog, &qr, &Reading::default()).expect("mapped");
    assert_eq!(request.instrument, "phq9");
    // Item 6 is unanswered; item 10 is read by its label; LHC-Forms' own total (10, the missing item
    // counted as 0) is not read.
    assert_eq!(request.answers.get("6"), None);
    assert_eq!(request.answers["10"], 1);
    assert_eq!(request.answers.len(), 9);
    let result = result_json(catalog, &request);
    assert_eq!(result["scores"]["total"]["value"], 11.25, "{result}");
    assert_eq!(result["scores"]["total"]["band"], "moderate");
    assert_eq!(result["complete"], false);
    assert_eq!(result["flags"], json!(["item9_positive"]));
}

fn read(qr: Value) -> Result<Request, (Option<String>, attune_core::ScoreError)> {
    let qr: QuestionnaireResponse = serde_json::from_value(qr).expect("shape");
    fhir::request_from_questionnaire_response(Catalog::embedded(), &qr, &Reading::default())
}

#[test]
fn what_cannot_be_mapped_is_an_error_naming_the_item() {
    let base = |items: Value| {
        json!({"resourceType": "QuestionnaireResponse", "status": "completed",
               "questionnaire": "urn:attune:fhir/Questionnaire/gad7|0.2.0", "item": items})
    };
    let (instrument, e) = read(base(json!([{"linkId": "42", "answer": [{"valueInteger": 1}]}]))).unwrap_err();
    assert_eq!((instrument.as_deref(), e.code(), e.item()), (Some("gad7"), ErrorCode::UnknownItem, Some("42")));

    let no_score =
        json!([{"linkId": "3", "answer": [{"valueCoding": {"system": "http://loinc.org", "code": "LA0000-0"}}]}]);
    let (_, e) = read(base(no_score)).unwrap_err();
    assert_eq!((e.code(), e.item()), (ErrorCode::InvalidValue, Some("3")));
    assert!(e.to_string().contains("no ordinalValue or itemWeight"), "{e}");

    let half = json!([{"linkId": "2", "answer": [{"valueDecimal": 1.5}]}]);
    let (_, e) = read(base(half)).unwrap_err();
    assert_eq!((e.code(), e.item()), (ErrorCode::InvalidValue, Some("2")));

    let text = json!([{"linkId": "1", "answer": [{"valueString": "often"}]}]);
    assert_eq!(read(base(text)).unwrap_err().1.item(), Some("1"));

    let two = json!([{"linkId": "1", "answer": [{"valueInteger": 1}, {"valueInteger": 2}]}]);
    assert_eq!(read(base(two)).unwrap_err().1.item(), Some("1"));

    // Read, but not an option value: the scorer names it as for any request.
    let out_of_range = read(base(json!([{"linkId": "1", "answer": [{"valueInteger": 7}]}]))).expect("read");
    let outcome = serde_json::to_value(out_of_range.score(Catalog::embedded())).unwrap();
    assert_eq!(outcome["error"]["code"], "invalid_value");
    assert_eq!(outcome["error"]["item"], "1");

    let (_, e) = read(json!({"resourceType": "QuestionnaireResponse", "status": "completed",
                             "questionnaire": "http://example.org/Questionnaire/mood"}))
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnknownInstrument);
    let (_, e) = read(json!({"resourceType": "QuestionnaireResponse", "status": "completed"})).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidJson);
    let (_, e) = read(json!({"resourceType": "QuestionnaireResponse", "status": "entered-in-error",
                             "questionnaire": "urn:attune:fhir/Questionnaire/gad7"}))
    .unwrap_err();
    assert!(e.to_string().contains("entered-in-error"), "{e}");

    // DAST-10 item 3 is reverse-keyed: a sender's score on its option could be the option or what
    // it adds, so it is not read as either; Attune's own coding is.
    let dast = |answer: Value| {
        read(json!({"resourceType": "QuestionnaireResponse", "status": "completed",
                    "questionnaire": "http://loinc.org/q/82666-9", "item": [{"linkId": "3", "answer": [answer]}]}))
    };
    let weighted = json!({"valueCoding": {"system": "http://loinc.org", "code": "LA33-6",
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 0}]}});
    assert_eq!(dast(weighted).unwrap_err().1.item(), Some("3"));
    let ours = json!({"valueCoding": {"system": "urn:attune:fhir/CodeSystem/dast10-yesno", "code": "1"}});
    assert_eq!(dast(ours).expect("read").answers["3"], 1);
}

#[test]
fn questions_nested_under_an_answer_are_read() {
    let qr = json!({"resourceType": "QuestionnaireResponse", "status": "completed",
        "questionnaire": "urn:attune:fhir/Questionnaire/phq2",
        "item": [{"linkId": "1", "answer": [{"valueInteger": 2,
            "item": [{"linkId": "2", "answer": [{"valueInteger": 3}]}]}]}]});
    let request = read(qr).expect("read");
    assert_eq!((request.answers["1"].clone(), request.answers["2"].clone()), (json!(2), json!(3)));
}

#[test]
fn a_score_left_null_has_a_data_absent_reason_and_no_value() {
    let catalog = Catalog::embedded();
    // Three PHQ-9 items answered: more missing than the prorating rule allows.
    let request = Request::parse(r#"{"instrument": "phq9", "answers": {"1": 1, "2": 1, "9": 0}}"#, None).unwrap();
    let phq9 = catalog.get("phq9").unwrap();
    let result = phq9.score(&request.answers, None).unwrap();
    let bundle = serde_json::to_value(fhir::bundle(phq9, &request, &result, &Options::default()).unwrap()).unwrap();
    assert_eq!(bundle["entry"][0]["resource"]["status"], "in-progress");
    let total = &bundle["entry"][1]["resource"];
    assert_eq!(total["status"], "preliminary");
    assert!(total.get("valueQuantity").is_none(), "{total}");
    assert_eq!(total["dataAbsentReason"]["coding"][0]["code"], "unknown");
    assert!(total.get("interpretation").is_none(), "{total}");
}

#[test]
fn audit_c_context_travels_with_the_response() {
    let catalog = Catalog::embedded();
    let json = r#"{"instrument": "auditc", "answers": {"1": 1, "2": 1, "3": 1}, "context": {"sex": "female"}}"#;
    let request = Request::parse(json, None).unwrap();
    let inst = catalog.get("auditc").unwrap();
    let result = inst.score(&request.answers, request.context.as_ref()).unwrap();
    let qr = fhir::questionnaire_response(inst, &request, &result, &Options::default()).unwrap();
    let read = fhir::request_from_questionnaire_response(catalog, &qr, &Reading::default()).unwrap();
    assert_eq!(read.context, Some(json!({"sex": "female"})));
    assert_eq!(result_json(catalog, &read), result_json(catalog, &request));
}
