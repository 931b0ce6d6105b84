//! Host text packs: the wording a host supplies for an instrument whose licence keeps its text out
//! of Attune (keys only), per language. The rules for what a pack may say live here, beside the
//! check of the catalog's own translations; the elements read a pack from JavaScript and ask.

use std::collections::BTreeMap;

use crate::instrument::Instrument;

/// Host-supplied wording for one instrument.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextPack {
    /// The instrument it is for; checked when given.
    pub instrument: Option<String>,
    /// Licence terms under which the wording is used; shown with the form.
    pub terms: Option<String>,
    /// Where the wording comes from.
    pub source: Option<String>,
    /// Wording by language tag (`"en"`, `"es-MX"`).
    pub languages: BTreeMap<String, PackLanguage>,
}

/// The wording of one language of a text pack.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PackLanguage {
    /// The stem shown above the items.
    pub instructions: Option<String>,
    /// Item wording by item id.
    pub items: BTreeMap<String, String>,
    /// Option labels by response set, then by option value (as text: `"1"`).
    pub options: BTreeMap<String, BTreeMap<String, String>>,
    /// An attribution line in this language.
    pub attribution: Option<String>,
}

/// The fields of a pack and of one of its languages, for readers that report unknown ones.
pub const PACK_FIELDS: &[&str] = &["instrument", "terms", "source", "languages"];
/// See [`PACK_FIELDS`].
pub const PACK_LANGUAGE_FIELDS: &[&str] = &["instructions", "items", "options", "attribution"];

/// The lowercase primary subtag of a BCP 47 tag (`"es"` for `"es-MX"`), if it looks like one.
///
/// ```
/// assert_eq!(attune_core::primary_language("es-MX").as_deref(), Some("es"));
/// assert_eq!(attune_core::primary_language("e1"), None);
/// ```
pub fn primary_language(tag: &str) -> Option<String> {
    let p = tag.split(['-', '_']).next()?;
    (2..=3).contains(&p.len()).then(|| p.to_ascii_lowercase()).filter(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
}

impl TextPack {
    /// Problems with the pack's own shape, whatever the instrument: a language tag that is none.
    pub fn shape_problem(&self) -> Option<String> {
        self.languages
            .keys()
            .find(|tag| primary_language(tag).is_none())
            .map(|tag| format!("text pack: `{tag}` is not a language tag like \"en\" or \"es-MX\""))
    }
}

impl Instrument {
    /// Checks a text pack against this instrument: its id, and that every item, response set and
    /// option value it names exists and every text is non-empty. Returns every problem found.
    pub fn check_text_pack(&self, pack: &TextPack) -> Vec<String> {
        let def = self.definition();
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
                if self.item_index(id).is_none() {
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
                        problems.push(format!(
                            "languages.{tag}.options.{set}.{value}: `{set}` has no option valued {value}"
                        ));
                    } else if label.trim().is_empty() {
                        problems.push(format!("languages.{tag}.options.{set}.{value} is empty"));
                    }
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn pack_problems_are_named() {
        let urica = Catalog::embedded().get("urica").expect("urica");
        let mut en = PackLanguage { instructions: Some("Stem".into()), ..Default::default() };
        en.items.insert("1".into(), "One".into());
        en.items.insert("99".into(), "x".into());
        en.items.insert("3".into(), " ".into());
        en.options.insert("nope".into(), BTreeMap::new());
        en.options.insert("agree5".into(), BTreeMap::from([("9".into(), "x".into())]));
        let pack = TextPack {
            instrument: Some("phq9".into()),
            languages: BTreeMap::from([("en".into(), en)]),
            ..Default::default()
        };
        let p = urica.check_text_pack(&pack).join("\n");
        for want in ["not `urica`", "items.99", "items.3 is empty", "options.nope", "options.agree5.9"] {
            assert!(p.contains(want), "{want} in {p}");
        }
        assert!(!p.contains("items.1"), "item 1 is fine: {p}");
        let bad_tag =
            TextPack { languages: BTreeMap::from([("e1".into(), PackLanguage::default())]), ..Default::default() };
        assert!(bad_tag.shape_problem().is_some_and(|m| m.contains("`e1`")));
        assert_eq!(pack.shape_problem(), None);
    }
}
