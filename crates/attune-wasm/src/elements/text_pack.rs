//! Host text packs and the form's wording. Instruments whose licence keeps their wording out of
//! Attune ship keys only; the host supplies instructions, item texts and option labels, per
//! language, in a text pack. This module checks a pack against its instrument (naming every
//! problem) and picks each piece of wording: the interface language first (verified translation,
//! then the pack), then English, then any language the pack has, marked with its `lang`.

use std::collections::BTreeMap;

use attune_core::model::LicenceStatus;
use attune_core::{Instrument, Translation};
use attune_ui::{Choice, Form, Problem, Question, Text};
use serde::Deserialize;

/// Host-supplied wording for one instrument.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextPack {
    /// The instrument it is for; checked when given.
    #[serde(default)]
    pub instrument: Option<String>,
    /// Licence terms under which the wording is used; shown with the form.
    #[serde(default)]
    pub terms: Option<String>,
    /// Where the wording comes from.
    #[serde(default)]
    pub source: Option<String>,
    /// Wording by language tag (`"en"`, `"es"`).
    pub languages: BTreeMap<String, PackLanguage>,
}

/// The wording of one language.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackLanguage {
    /// The stem shown above the items.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Item wording by item id.
    #[serde(default)]
    pub items: BTreeMap<String, String>,
    /// Option labels by response set, then by option value.
    #[serde(default)]
    pub options: BTreeMap<String, BTreeMap<String, String>>,
    /// An attribution line in this language.
    #[serde(default)]
    pub attribution: Option<String>,
}

/// Largest text pack accepted, in characters of JSON.
pub const MAX_PACK_LEN: u32 = 1 << 20;

/// Parses a text pack, naming the path of the first problem.
pub fn parse(json: &str) -> Result<TextPack, String> {
    let de = &mut serde_json::Deserializer::from_str(json);
    let pack: TextPack = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("text pack: {}", e.inner())
        } else {
            format!("text pack at {path}: {}", e.inner())
        }
    })?;
    for tag in pack.languages.keys() {
        if primary(tag).is_none() {
            return Err(format!("text pack: `{tag}` is not a language tag like \"en\" or \"es-MX\""));
        }
    }
    Ok(pack)
}

/// The lowercase primary subtag of a BCP 47 tag (`"es"` for `"es-MX"`), if it looks like one.
pub fn primary(tag: &str) -> Option<String> {
    let p = tag.split(['-', '_']).next()?;
    (2..=3).contains(&p.len()).then(|| p.to_ascii_lowercase()).filter(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Checks a pack against an instrument: its id, and that every item, response set and option
/// value it names exists and every text is non-empty. Returns every problem found.
pub fn check(pack: &TextPack, inst: &Instrument) -> Vec<String> {
    let def = inst.definition();
    let mut problems = Vec::new();
    if let Some(id) = &pack.instrument {
        if id != &def.id {
            problems.push(format!("the pack is for `{id}`, not `{}`", def.id));
        }
    }
    for (tag, lang) in &pack.languages {
        if lang.instructions.as_deref().is_some_and(|s| s.trim().is_empty()) {
            problems.push(format!("languages.{tag}.instructions is empty"));
        }
        for (id, t) in &lang.items {
            if inst.item_index(id).is_none() {
                problems.push(format!("languages.{tag}.items.{id}: {} has no item `{id}`", def.short_name));
            } else if t.trim().is_empty() {
                problems.push(format!("languages.{tag}.items.{id} is empty"));
            }
        }
        for (set, labels) in &lang.options {
            let Some(options) = def.response_sets.get(set) else {
                let known: Vec<&str> = def.response_sets.keys().collect();
                problems.push(format!(
                    "languages.{tag}.options.{set}: no response set `{set}` (the sets are {})",
                    known.join(", ")
                ));
                continue;
            };
            for (value, label) in labels {
                if !options.iter().any(|o| o.value.to_string() == *value) {
                    problems
                        .push(format!("languages.{tag}.options.{set}.{value}: `{set}` has no option valued {value}"));
                } else if label.trim().is_empty() {
                    problems.push(format!("languages.{tag}.options.{set}.{value} is empty"));
                }
            }
        }
    }
    problems
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

    #[test]
    fn pack_problems_are_named() {
        let urica = Catalog::embedded().get("urica").expect("urica");
        let mut pack = urica_pack(1..=2);
        pack.instrument = Some("phq9".into());
        let lang = pack.languages.get_mut("en").expect("en");
        lang.items.insert("99".into(), "x".into());
        lang.items.insert("3".into(), " ".into());
        lang.options.insert("nope".into(), BTreeMap::new());
        lang.options.insert("agree5".into(), BTreeMap::from([("9".into(), "x".into())]));
        let p = check(&pack, urica).join("\n");
        for want in ["not `urica`", "items.99", "items.3 is empty", "options.nope", "options.agree5.9"] {
            assert!(p.contains(want), "{want} in {p}");
        }
        assert!(parse(r#"{"languages":{"en":{"itemz":{}}}}"#).expect_err("unknown field").contains("languages.en"));
        assert!(parse(r#"{"languages":{"e1":{}}}"#).is_err());
        assert!(parse(r#"[]"#).is_err());
    }
}
