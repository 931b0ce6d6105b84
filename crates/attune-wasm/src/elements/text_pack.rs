//! Host text packs and the form's wording. Instruments whose licence keeps their wording out of
//! Attune ship keys only; the host supplies instructions, item texts and option labels, per
//! language, in a text pack. This module reads a pack from JavaScript (naming the path of the
//! first problem), has the core check it against its instrument, and picks each piece of wording:
//! the interface language first (verified translation, then the pack), then English, then any
//! language the pack has, marked with its `lang`.

use std::collections::BTreeMap;

use attune_core::model::LicenceStatus;
use attune_core::{primary_language as primary, Instrument, PackLanguage, TextPack, Translation};
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
) -> Result<BTreeMap<String, T>, String> {
    if !is_object(v) {
        return Err(format!("{}: invalid type: {}, expected a map", at(path), kind(v)));
    }
    // Inserted one by one: collecting into a BTreeMap would link a whole stable sort (about 14 KB).
    let mut out = BTreeMap::new();
    for (k, x) in entries(v) {
        let value = read(&x, &join(path, &k))?;
        out.insert(k, value);
    }
    Ok(out)
}

/// An object of strings at `path`.
fn strings(v: &JsValue, path: &str) -> Result<BTreeMap<String, String>, String> {
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

/// One place wording can come from, with its language.
#[derive(Clone, Copy)]
enum Source<'a> {
    Bundled,
    Translation(&'a Translation),
    Pack(&'a str, &'a PackLanguage),
}

/// Builds the form in the interface language `ui` (`"en"` or `"es"`), or the problem that stops it.
pub fn form(inst: &Instrument, ui: &str, pack: Option<&TextPack>) -> Result<Form, Problem> {
    let def = inst.definition();
    let pack_lang = |want: &str| {
        pack.into_iter()
            .flat_map(|p| p.languages.iter())
            .find(|(tag, _)| primary(tag).as_deref() == Some(want))
            .map(|(tag, l)| Source::Pack(tag.as_str(), l))
    };
    let mut order: Vec<(String, Source<'_>)> = Vec::new();
    if ui != "en" {
        if let Some(t) = inst.translation(ui) {
            order.push((ui.to_string(), Source::Translation(t)));
        }
        order.extend(pack_lang(ui).map(|s| (ui.to_string(), s)));
    }
    order.push(("en".to_string(), Source::Bundled));
    order.extend(pack_lang("en").map(|s| ("en".to_string(), s)));
    for (tag, l) in pack.into_iter().flat_map(|p| p.languages.iter()) {
        let p = primary(tag).unwrap_or_default();
        if p != ui && p != "en" {
            order.push((p, Source::Pack(tag.as_str(), l)));
        }
    }

    let mut fallback = false;
    let mut pick = |get: &dyn Fn(Source<'_>) -> Option<String>| -> Option<Text> {
        order.iter().find_map(|(lang, src)| {
            get(*src).map(|text| {
                let lang = (lang != ui).then(|| match src {
                    Source::Pack(tag, _) => tag.to_string(),
                    _ => lang.clone(),
                });
                fallback |= lang.is_some();
                Text { text, lang }
            })
        })
    };

    let instructions = pick(&|s| match s {
        Source::Bundled => def.instructions.as_deref().map(str::to_string),
        Source::Translation(t) => t.instructions.as_deref().map(str::to_string),
        Source::Pack(_, l) => l.instructions.as_deref().map(str::to_string),
    });
    let mut missing_items = Vec::new();
    let mut missing_labels: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut questions = Vec::new();
    for item in def.items.iter() {
        let text = pick(&|s| match s {
            Source::Bundled => item.text.as_deref().map(str::to_string),
            Source::Translation(t) => t.items.get(&item.id).map(|x| x.to_string()),
            Source::Pack(_, l) => l.items.get(item.id.as_ref()).cloned(),
        });
        let options = def.response_sets.get(&item.response_set).map(|set| &set[..]).unwrap_or_default();
        let mut choices = Vec::new();
        for o in options {
            let set: &str = &item.response_set;
            let label = pick(&|s| match s {
                Source::Bundled => o.label.as_deref().map(str::to_string),
                Source::Translation(t) => t
                    .response_sets
                    .get(set)
                    .and_then(|os| os.iter().find(|x| x.value == o.value))
                    .and_then(|x| x.label.as_deref().map(str::to_string)),
                Source::Pack(_, l) => l.options.get(set).and_then(|m| m.get(&o.value.to_string())).cloned(),
            });
            match label {
                Some(label) => choices.push(Choice { value: o.value, label }),
                None => {
                    let list = missing_labels.entry(set).or_default();
                    if !list.contains(&o.value.to_string()) {
                        list.push(o.value.to_string());
                    }
                }
            }
        }
        match text {
            Some(text) => questions.push(Question { id: item.id.to_string(), text, choices }),
            None => missing_items.push(item.id.as_ref()),
        }
    }
    let attribution = pick(&|s| match s {
        Source::Bundled => def.license.as_ref().and_then(|l| l.attribution.as_deref().map(str::to_string)),
        Source::Translation(t) => t.attribution.as_deref().map(str::to_string),
        Source::Pack(_, l) => l.attribution.clone(),
    });

    if !missing_items.is_empty() || !missing_labels.is_empty() {
        let mut what = Vec::new();
        if !missing_items.is_empty() {
            what.push(format!("item texts {}", ranges(&missing_items)));
        }
        for (set, values) in &missing_labels {
            what.push(format!("option labels of `{set}` ({})", values.join(", ")));
        }
        let status = def.license.as_ref().map_or("unknown", |l| l.status.as_str());
        let non_commercial = def.license.as_ref().is_some_and(|l| l.status == LicenceStatus::NonCommercial);
        return Err(match pack {
            None => Problem {
                code: "text_required".into(),
                message: format!(
                    "{}'s wording is not bundled with Attune (licence: {status}). Supply it with the element's \
                     textPack property. Missing: {}.{}",
                    def.short_name,
                    what.join("; "),
                    if non_commercial {
                        " For non-commercial use, the wording is in `attune/text/non-commercial`."
                    } else {
                        ""
                    }
                ),
            },
            Some(_) => Problem {
                code: "invalid_text_pack".into(),
                message: format!("The text pack for {} does not cover: {}.", def.short_name, what.join("; ")),
            },
        });
    }

    let title =
        if def.short_name == def.name { def.name.to_string() } else { format!("{}: {}", def.short_name, def.name) };
    Ok(Form {
        id: def.id.to_string(),
        title,
        instructions,
        questions,
        citation: def.citation.as_deref().unwrap_or_default().to_string(),
        attribution,
        terms: pack.and_then(|p| p.terms.clone()),
        english_fallback: fallback,
    })
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
        TextPack { instrument: None, terms: None, source: None, languages: BTreeMap::from([("en".into(), en)]) }
    }

    #[test]
    fn ranges_compress_consecutive_ids() {
        assert_eq!(ranges(&["1", "2", "3", "7", "9", "10", "x"]), "1–3, 7, 9–10, x");
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn host_text_only_instrument_needs_a_pack_naming_what_is_missing() {
        let urica = Catalog::embedded().get("urica").expect("urica");
        let e = form(urica, "en", None).expect_err("no text");
        assert_eq!(e.code, "text_required");
        assert!(e.message.contains("item texts 1–32"), "{}", e.message);
        let e = form(urica, "en", Some(&urica_pack(1..=30))).expect_err("incomplete");
        assert_eq!(e.code, "invalid_text_pack");
        assert!(e.message.contains("item texts 31–32"), "{}", e.message);
        let f = form(urica, "en", Some(&urica_pack(1..=32))).expect("complete");
        assert_eq!(f.questions.len(), 32);
        assert_eq!(f.questions[4].text.text, "Statement 5");
        assert!(!f.english_fallback);
        // In Spanish, the English pack is shown and marked as English.
        let f = form(urica, "es", Some(&urica_pack(1..=32))).expect("fallback");
        assert_eq!(f.questions[0].text.lang.as_deref(), Some("en"));
        assert!(f.english_fallback);
    }

    #[test]
    fn bundled_and_translated_wording_is_used_and_marked() {
        let phq9 = Catalog::embedded().get("phq9").expect("phq9");
        let en = form(phq9, "en", None).expect("en");
        assert!(en.questions.iter().all(|q| q.text.lang.is_none()));
        let es = form(phq9, "es", None).expect("es");
        assert!(es.questions.iter().all(|q| q.text.lang.is_none()), "PHQ-9 has a verified Spanish translation");
        assert_ne!(es.questions[0].text, en.questions[0].text);
        let gad7 = Catalog::embedded().get("gad7").expect("gad7");
        let es = form(gad7, "es", None).expect("es");
        assert!(es.english_fallback);
        assert_eq!(es.questions[0].text.lang.as_deref(), Some("en"));
    }
}
