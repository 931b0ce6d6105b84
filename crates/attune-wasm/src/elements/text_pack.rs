//! Host text packs and the form's wording. Instruments whose licence keeps their wording out of
//! Attune ship keys only; the host supplies instructions, item texts and option labels, per
//! language, in a text pack. This module reads a pack from JavaScript (naming the path of the
//! first problem), has the core check it against its instrument, and picks each piece of wording:
//! the interface language first (verified translation, then the pack), then English, then any
//! language the pack has, marked with its `lang`.

use attune_core::model::LicenceStatus;
use attune_core::{primary_language as primary, Entries, Instrument, PackLanguage, TextPack};
use attune_core::{PACK_FIELDS, PACK_LANGUAGE_FIELDS};
use attune_ui::{Choice, Form, Problem, Question, Text};
use wasm_bindgen::JsValue;

use crate::read::{self, entries, is_object};

/// Largest text pack accepted, in characters of JSON.
pub const MAX_PACK_LEN: u32 = 1 << 20;

/// `at {path}` for a path inside the pack, or nothing at its top.
fn at(path: &str) -> String {
    if path.is_empty() {
        "text pack".to_string()
    } else {
        format!("text pack at {path}")
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// What a plain value is, as a type error names it.
fn kind(v: &JsValue) -> String {
    if v.is_null() {
        "null".into()
    } else if let Some(b) = v.as_bool() {
        format!("boolean `{b}`")
    } else if v.as_f64().is_some() {
        format!("number {}", read::shown(v))
    } else if let Some(s) = v.as_string() {
        format!("string {}", attune_core::json_string(&s))
    } else if js_sys::Array::is_array(v) {
        "sequence".into()
    } else {
        "map".into()
    }
}

/// The entries of an object at `path`, every key among `known`.
fn fields(v: &JsValue, path: &str, known: &[&str]) -> Result<Vec<(String, JsValue)>, String> {
    if !is_object(v) {
        return Err(format!("{}: invalid type: {}, expected an object", at(path), kind(v)));
    }
    let all = entries(v);
    if let Some((key, _)) = all.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        return Err(format!("{}: unknown field `{key}`, expected one of {}", at(path), list.join(", ")));
    }
    Ok(all)
}

/// An optional string at `path` (`null` is none).
fn text(v: &JsValue, path: &str) -> Result<Option<String>, String> {
    match v.as_string() {
        Some(s) => Ok(Some(s)),
        None if v.is_null() => Ok(None),
        None => Err(format!("{}: invalid type: {}, expected a string", at(path), kind(v))),
    }
}

/// An object at `path` whose every value `read` reads (at its own path).
fn object_of<T>(
    v: &JsValue,
    path: &str,
    read: impl Fn(&JsValue, &str) -> Result<T, String>,
) -> Result<Entries<T>, String> {
    if !is_object(v) {
        return Err(format!("{}: invalid type: {}, expected a map", at(path), kind(v)));
    }
    let mut out = Entries::default();
    for (k, x) in entries(v) {
        let value = read(&x, &join(path, &k))?;
        out.insert(k, value);
    }
    Ok(out)
}

/// An object of strings at `path`.
fn strings(v: &JsValue, path: &str) -> Result<Entries<String>, String> {
    object_of(v, path, |x, p| {
        x.as_string().ok_or_else(|| format!("{}: invalid type: {}, expected a string", at(p), kind(x)))
    })
}

fn language(v: &JsValue, path: &str) -> Result<PackLanguage, String> {
    let mut lang = PackLanguage::default();
    for (key, x) in fields(v, path, PACK_LANGUAGE_FIELDS)? {
        let p = join(path, &key);
        match key.as_str() {
            "instructions" => lang.instructions = text(&x, &p)?,
            "attribution" => lang.attribution = text(&x, &p)?,
            "items" => lang.items = strings(&x, &p)?,
            "scores" => lang.scores = strings(&x, &p)?,
            "flags" => lang.flags = strings(&x, &p)?,
            "bands" => lang.bands = object_of(&x, &p, strings)?,
            "cutoffs" => lang.cutoffs = object_of(&x, &p, strings)?,
            _ => lang.options = object_of(&x, &p, strings)?,
        }
    }
    Ok(lang)
}

/// Reads a text pack from a JavaScript value, naming the path of the first problem.
pub fn read(value: &JsValue) -> Result<TextPack, String> {
    let v = read::plain_within(value, "the text pack", MAX_PACK_LEN)?;
    let mut pack = TextPack::default();
    let mut languages = None;
    for (key, x) in fields(&v, "", PACK_FIELDS)? {
        match key.as_str() {
            "instrument" => pack.instrument = text(&x, &key)?,
            "terms" => pack.terms = text(&x, &key)?,
            "source" => pack.source = text(&x, &key)?,
            _ => languages = Some(object_of(&x, &key, language)?),
        }
    }
    pack.languages = languages.ok_or_else(|| "text pack: missing field `languages`".to_string())?;
    if let Some(problem) = pack.shape_problem() {
        return Err(problem);
    }
    Ok(pack)
}

/// The labels of an instrument's scores, bands, cut-offs and flags in one language, by their
/// positions in the instrument's plan (a label missing everywhere is its id).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Labels {
    pub scores: Vec<String>,
    /// Per score, per band.
    pub bands: Vec<Vec<String>>,
    /// Per score, per cut-off.
    pub cutoffs: Vec<Vec<String>>,
    pub flags: Vec<String>,
}

/// The places wording can come from, in the order they are tried for interface language `ui`:
/// the catalog's wording in `ui`, the host's, then English (the catalog's, the host's), then any
/// other language of the host's pack. Each with the tag it is marked with when it is not `ui`.
fn sources<'a>(ui: &str, catalog: &'a TextPack, pack: Option<&'a TextPack>) -> Vec<(String, &'a PackLanguage)> {
    let pack_lang = |want: &str| {
        pack.into_iter()
            .flat_map(|p| p.languages.iter())
            .find(|(tag, _)| primary(tag).as_deref() == Some(want))
            .map(|(tag, l)| (tag.clone(), l))
    };
    let mut order = Vec::new();
    let wants: &[&str] = if ui == "en" { &["en"] } else { &[ui, "en"] };
    for &want in wants {
        order.extend(catalog.languages.get(want).map(|l| (want.to_string(), l)));
        order.extend(pack_lang(want));
    }
    for (tag, l) in pack.into_iter().flat_map(|p| p.languages.iter()) {
        let p = primary(tag).unwrap_or_default();
        if p != ui && p != "en" {
            order.push((tag.clone(), l));
        }
    }
    order
}

/// Builds the form in the interface language `ui` (`"en"` or `"es"`) from the catalog's wording of
/// the instrument and the host's pack, with the labels of its results; or the problem that stops it.
pub fn form(
    inst: &Instrument,
    ui: &str,
    catalog: &TextPack,
    pack: Option<&TextPack>,
) -> Result<(Form, Labels), Problem> {
    let order = sources(ui, catalog, pack);
    let mut fallback = false;
    let mut pick = |get: &dyn Fn(&PackLanguage) -> Option<&String>| -> Option<Text> {
        order.iter().find_map(|(tag, l)| {
            get(l).map(|text| {
                let lang = (primary(tag).as_deref() != Some(ui)).then(|| tag.clone());
                fallback |= lang.is_some();
                Text { text: text.clone(), lang }
            })
        })
    };

    let instructions = pick(&|l| l.instructions.as_ref());
    let mut missing_items = Vec::new();
    let mut missing_labels: Vec<(&str, Vec<String>)> = Vec::new();
    let mut questions = Vec::new();
    for (k, id) in inst.item_ids().enumerate() {
        let text = pick(&|l| l.items.get(id));
        let set = inst.response_set(k);
        let mut choices = Vec::new();
        for &value in inst.option_values(k) {
            let key = value.to_string();
            match pick(&|l| l.options.get(set).and_then(|m| m.get(&key))) {
                Some(label) => choices.push(Choice { value, label }),
                // Kept sorted by response set, as the message lists them (no sort code in the module).
                None => match missing_labels.binary_search_by(|(s, _)| (*s).cmp(set)) {
                    Ok(at) if missing_labels[at].1.contains(&key) => {}
                    Ok(at) => missing_labels[at].1.push(key),
                    Err(at) => missing_labels.insert(at, (set, vec![key])),
                },
            }
        }
        match text {
            Some(text) => questions.push(Question { id: id.to_string(), text, choices }),
            None => missing_items.push(id),
        }
    }
    let attribution = pick(&|l| l.attribution.as_ref());
    let english_fallback = fallback;

    let short = inst.short_name();
    if !missing_items.is_empty() || !missing_labels.is_empty() {
        let mut what = Vec::new();
        if !missing_items.is_empty() {
            what.push(format!("item texts {}", ranges(&missing_items)));
        }
        for (set, values) in &missing_labels {
            what.push(format!("option labels of `{set}` ({})", values.join(", ")));
        }
        let status = inst.licence_status();
        return Err(match pack {
            None => Problem {
                code: "text_required".into(),
                message: format!(
                    "{short}'s wording is not bundled with Attune (licence: {}). Supply it with the element's \
                     textPack property. Missing: {}.{}",
                    status.as_str(),
                    what.join("; "),
                    if status == LicenceStatus::NonCommercial {
                        " For non-commercial use, the wording is in `attune/text/non-commercial`."
                    } else {
                        ""
                    }
                ),
            },
            Some(_) => Problem {
                code: "invalid_text_pack".into(),
                message: format!("The text pack for {short} does not cover: {}.", what.join("; ")),
            },
        });
    }

    let label = |get: &dyn Fn(&PackLanguage) -> Option<&String>, id: &str| {
        order.iter().find_map(|(_, l)| get(l)).cloned().unwrap_or_else(|| id.to_string())
    };
    let mut labels = Labels::default();
    for (k, sid) in inst.score_ids().enumerate() {
        labels.scores.push(label(&|l| l.scores.get(sid), sid));
        labels.bands.push(inst.band_ids(k).map(|b| label(&|l| l.bands.get(sid).and_then(|m| m.get(b)), b)).collect());
        labels
            .cutoffs
            .push(inst.cutoff_ids(k).map(|c| label(&|l| l.cutoffs.get(sid).and_then(|m| m.get(c)), c)).collect());
    }
    labels.flags = inst.flag_ids().map(|f| label(&|l| l.flags.get(f), f)).collect();

    let name = inst.name();
    let title = if short == name { name.to_string() } else { format!("{short}: {name}") };
    let form = Form {
        id: inst.id().to_string(),
        title,
        instructions,
        questions,
        // The catalog's pack names the publication as the wording's source: the citation.
        citation: catalog.source.clone().unwrap_or_default(),
        attribution,
        terms: pack.and_then(|p| p.terms.clone()),
        english_fallback,
    };
    Ok((form, labels))
}

/// Item ids as ranges where they are consecutive numbers: `1–3, 7, 9–10`.
pub fn ranges(ids: &[&str]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Option<(u64, u64)> = None;
    let flush = |run: &mut Option<(u64, u64)>, out: &mut Vec<String>| {
        if let Some((a, b)) = run.take() {
            out.push(if a == b { a.to_string() } else { format!("{a}–{b}") });
        }
    };
    for id in ids {
        match (id.parse::<u64>().ok(), run) {
            (Some(n), Some((a, b))) if n == b + 1 => run = Some((a, n)),
            (Some(n), _) => {
                flush(&mut run, &mut out);
                run = Some((n, n));
            }
            (None, _) => {
                flush(&mut run, &mut out);
                out.push((*id).to_string());
            }
        }
    }
    flush(&mut run, &mut out);
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use attune_core::Catalog;

    fn urica_pack(items: std::ops::RangeInclusive<u32>) -> TextPack {
        let mut en = PackLanguage { instructions: Some("Stem".into()), ..Default::default() };
        for i in items {
            en.items.insert(i.to_string(), format!("Statement {i}"));
        }
        TextPack { instrument: None, terms: None, source: None, languages: Entries::from([("en".into(), en)]) }
    }

    #[test]
    fn ranges_compress_consecutive_ids() {
        assert_eq!(ranges(&["1", "2", "3", "7", "9", "10", "x"]), "1–3, 7, 9–10, x");
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn host_text_only_instrument_needs_a_pack_naming_what_is_missing() {
        let urica = Catalog::embedded().get("urica").expect("urica");
        let words = urica.bundled_text();
        let e = form(urica, "en", &words, None).expect_err("no text");
        assert_eq!(e.code, "text_required");
        assert!(e.message.contains("item texts 1–32"), "{}", e.message);
        let e = form(urica, "en", &words, Some(&urica_pack(1..=30))).expect_err("incomplete");
        assert_eq!(e.code, "invalid_text_pack");
        assert!(e.message.contains("item texts 31–32"), "{}", e.message);
        let (f, labels) = form(urica, "en", &words, Some(&urica_pack(1..=32))).expect("complete");
        assert_eq!(labels.scores.len(), urica.score_ids().len());
        assert_eq!(f.questions.len(), 32);
        assert_eq!(f.questions[4].text.text, "Statement 5");
        assert!(!f.english_fallback);
        // In Spanish, the English pack is shown and marked as English.
        let (f, _) = form(urica, "es", &words, Some(&urica_pack(1..=32))).expect("fallback");
        assert_eq!(f.questions[0].text.lang.as_deref(), Some("en"));
        assert!(f.english_fallback);
    }

    #[test]
    fn bundled_and_translated_wording_is_used_and_marked() {
        let phq9 = Catalog::embedded().get("phq9").expect("phq9");
        let words = phq9.bundled_text();
        let (en, labels) = form(phq9, "en", &words, None).expect("en");
        assert_eq!(labels.scores, ["Total score"]);
        assert_eq!(labels.bands[0][0], "Minimal");
        assert!(en.questions.iter().all(|q| q.text.lang.is_none()));
        let (es, _) = form(phq9, "es", &words, None).expect("es");
        assert!(es.questions.iter().all(|q| q.text.lang.is_none()), "PHQ-9 has a verified Spanish translation");
        assert_ne!(es.questions[0].text, en.questions[0].text);
        let gad7 = Catalog::embedded().get("gad7").expect("gad7");
        let (es, _) = form(gad7, "es", &gad7.bundled_text(), None).expect("es");
        assert!(es.english_fallback);
        assert_eq!(es.questions[0].text.lang.as_deref(), Some("en"));
    }
}
