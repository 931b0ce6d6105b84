//! Host text packs: the wording a host supplies for an instrument whose licence keeps its text out
//! of Attune (keys only), per language. The rules for what a pack may say live here, beside the
//! check of the catalog's own translations; the elements read a pack from JavaScript and ask.
//!
//! The catalog's own wording travels in the same shape: [`Instrument::bundled_text`] is the pack of
//! an embedded instrument's bundled English and verified translations, with the labels of its
//! scores, bands, cut-offs and flags. The npm package ships one such pack per instrument as a
//! module of its own, loaded when an element shows that instrument, so the element modules carry
//! the scoring plans and no wording.

use serde::{Serialize, Serializer};

use crate::instrument::Instrument;

/// Host-supplied wording for one instrument. (Read from JSON with the `json` feature: unknown
/// fields and a key given twice are errors.)
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "json", derive(serde::Deserialize), serde(deny_unknown_fields))]
pub struct TextPack {
    /// The instrument it is for; checked when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instrument: Option<String>,
    /// Licence terms under which the wording is used; shown with the form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
    /// Where the wording comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Wording by language tag (`"en"`, `"es-MX"`).
    pub languages: Entries<PackLanguage>,
}

/// Text by key, sorted by key: what a pack's JSON objects are read into. A sorted vector rather
/// than a `BTreeMap`: packs are small, and the element modules that read them stay smaller without
/// a B-tree instantiated for each value type (about 5 KB gzip).
#[derive(Debug, Clone, PartialEq)]
pub struct Entries<V>(Vec<(String, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<V> Entries<V> {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok().map(|i| &self.0[i].1)
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The value of `key`; panics when there is none, like a map's index.
impl<V> std::ops::Index<&str> for Entries<V> {
    type Output = V;
    fn index(&self, key: &str) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no entry `{key}`"),
        }
    }
}

/// Of two equal keys the last wins, as in a JSON object.
impl<V> FromIterator<(String, V)> for Entries<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut out = Entries::default();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

impl<V, const N: usize> From<[(String, V); N]> for Entries<V> {
    fn from(entries: [(String, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<'a, V> IntoIterator for &'a Entries<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (String, V)>, fn(&'a (String, V)) -> (&'a String, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// As a JSON object.
impl<V: Serialize> Serialize for Entries<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// From a JSON object; a key given twice is an error (a JSON reader would keep only the last).
#[cfg(feature = "json")]
impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for Entries<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, Visitor};
        struct Visit<V>(std::marker::PhantomData<V>);
        impl<'de, V: serde::Deserialize<'de>> Visitor<'de> for Visit<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut out = Entries::default();
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    if out.get(&key).is_some() {
                        return Err(A::Error::custom(format!("`{key}` is given twice")));
                    }
                    out.insert(key, value);
                }
                Ok(out)
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// Labels by id, then by the id of a part (a score's bands or cut-offs).
pub type NestedLabels = Entries<Entries<String>>;

/// The wording of one language of a text pack.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "json", derive(serde::Deserialize), serde(deny_unknown_fields, default))]
pub struct PackLanguage {
    /// The stem shown above the items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Item wording by item id.
    #[serde(skip_serializing_if = "Entries::is_empty")]
    pub items: Entries<String>,
    /// Option labels by response set, then by option value (as text: `"1"`).
    #[serde(skip_serializing_if = "Entries::is_empty")]
    pub options: NestedLabels,
    /// An attribution line in this language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    /// Score labels by score id.
    #[serde(skip_serializing_if = "Entries::is_empty")]
    pub scores: Entries<String>,
    /// Band labels by score id, then band id.
    #[serde(skip_serializing_if = "Entries::is_empty")]
    pub bands: NestedLabels,
    /// Cut-off labels by score id, then cut-off id.
    #[serde(skip_serializing_if = "Entries::is_empty")]
    pub cutoffs: NestedLabels,
    /// Flag labels by flag id.
    #[serde(skip_serializing_if = "Entries::is_empty")]
    pub flags: Entries<String>,
}

/// The fields of a pack and of one of its languages, for readers that report unknown ones.
pub const PACK_FIELDS: &[&str] = &["instrument", "terms", "source", "languages"];
/// See [`PACK_FIELDS`].
pub const PACK_LANGUAGE_FIELDS: &[&str] =
    &["instructions", "items", "options", "attribution", "scores", "bands", "cutoffs", "flags"];

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

/// Checks labels keyed by id (at `path`) against the ids that exist.
fn check_labels<'a>(
    problems: &mut Vec<String>,
    path: &str,
    labels: &Entries<String>,
    short: &str,
    noun: &str,
    known: impl Iterator<Item = &'a str>,
) {
    let known: Vec<&str> = known.collect();
    for (id, label) in labels {
        if !known.contains(&id.as_str()) {
            problems.push(format!("{path}.{id}: {short} has no {noun} `{id}`"));
        } else if label.trim().is_empty() {
            problems.push(format!("{path}.{id} is empty"));
        }
    }
}

impl Instrument {
    /// A host's text pack read from JSON text and checked for this instrument (its shape, then
    /// [`Instrument::check_text_pack`]): the pack, or every problem found.
    #[cfg(feature = "json")]
    pub fn read_text_pack(&self, json: &str) -> Result<TextPack, Vec<String>> {
        let pack: TextPack = serde_json::from_str(json).map_err(|e| vec![format!("text pack: {e}")])?;
        if let Some(problem) = pack.shape_problem() {
            return Err(vec![problem]);
        }
        let problems = self.check_text_pack(&pack);
        if problems.is_empty() {
            Ok(pack)
        } else {
            Err(problems)
        }
    }

    /// Checks a text pack against this instrument: its id, and that every item, response set,
    /// option value, score, band, cut-off and flag it names exists and every text is non-empty.
    /// Returns every problem found.
    pub fn check_text_pack(&self, pack: &TextPack) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(id) = &pack.instrument {
            if id != self.id() {
                problems.push(format!("the pack is for `{id}`, not `{}`", self.id()));
            }
        }
        let short = self.short_name();
        // Response sets in name order, each with the option values of the first item using it.
        let mut sets: Vec<(&str, &[i64])> = Vec::new();
        for k in 0..self.item_ids.len() {
            let set = self.response_set(k);
            if let Err(at) = sets.binary_search_by(|(name, _)| (*name).cmp(set)) {
                sets.insert(at, (set, self.option_values(k)));
            }
        }
        let score_index = |id: &str| self.score_ids().position(|s| s == id);
        for (tag, lang) in &pack.languages {
            if lang.instructions.as_deref().is_some_and(|s| s.trim().is_empty()) {
                problems.push(format!("languages.{tag}.instructions is empty"));
            }
            for (id, t) in &lang.items {
                match self.item_index(id) {
                    None => problems.push(format!("languages.{tag}.items.{id}: {short} has no item `{id}`")),
                    Some(_) if t.trim().is_empty() => problems.push(format!("languages.{tag}.items.{id} is empty")),
                    Some(_) => {}
                }
            }
            for (set, labels) in &lang.options {
                let Some((_, values)) = sets.iter().find(|(name, _)| name == set) else {
                    let known: Vec<&str> = sets.iter().map(|(name, _)| *name).collect();
                    problems.push(format!(
                        "languages.{tag}.options.{set}: no response set `{set}` (the sets are {})",
                        known.join(", ")
                    ));
                    continue;
                };
                for (value, label) in labels {
                    if !values.iter().any(|v| v.to_string() == *value) {
                        problems.push(format!(
                            "languages.{tag}.options.{set}.{value}: `{set}` has no option valued {value}"
                        ));
                    } else if label.trim().is_empty() {
                        problems.push(format!("languages.{tag}.options.{set}.{value} is empty"));
                    }
                }
            }
            let at = |what: &str| format!("languages.{tag}.{what}");
            check_labels(&mut problems, &at("scores"), &lang.scores, short, "score", self.score_ids());
            check_labels(&mut problems, &at("flags"), &lang.flags, short, "flag", self.flag_ids());
            for (what, map) in [("bands", &lang.bands), ("cutoffs", &lang.cutoffs)] {
                for (score, parts) in map {
                    let path = at(&format!("{what}.{score}"));
                    match score_index(score) {
                        None => problems.push(format!("{path}: {short} has no score `{score}`")),
                        Some(k) if what == "bands" => {
                            check_labels(&mut problems, &path, parts, short, "band", self.band_ids(k))
                        }
                        Some(k) => check_labels(&mut problems, &path, parts, short, "cut-off", self.cutoff_ids(k)),
                    }
                }
            }
        }
        problems
    }

    /// The catalog's own wording of this instrument as a text pack: the bundled English (stem,
    /// items, option labels, attribution, and the labels of its scores, bands, cut-offs and flags)
    /// and each verified translation, with the instrument's citation as its `source`. An instrument whose licence keeps its text out has labels
    /// only; the host supplies the rest.
    pub fn bundled_text(&self) -> TextPack {
        let def = self.definition();
        let owned = |s: &Option<std::borrow::Cow<'static, str>>| s.as_deref().map(str::to_string);
        let mut en = PackLanguage {
            instructions: owned(&def.instructions),
            attribution: def.license.as_ref().and_then(|l| owned(&l.attribution)),
            ..PackLanguage::default()
        };
        for item in def.items.iter() {
            if let Some(t) = &item.text {
                en.items.insert(item.id.to_string(), t.to_string());
            }
        }
        for (set, options) in def.response_sets.0.iter() {
            let labels: Entries<String> =
                options.iter().filter_map(|o| Some((o.value.to_string(), owned(&o.label)?))).collect();
            if !labels.is_empty() {
                en.options.insert(set.to_string(), labels);
            }
        }
        for score in def.scores.iter() {
            let id = score.id.to_string();
            if let Some(l) = owned(&score.label) {
                en.scores.insert(id.clone(), l);
            }
            let bands: Entries<String> =
                score.bands.iter().filter_map(|b| Some((b.id.to_string(), owned(&b.label)?))).collect();
            if !bands.is_empty() {
                en.bands.insert(id.clone(), bands);
            }
            let cutoffs: Entries<String> =
                score.cutoffs.iter().filter_map(|c| Some((c.id.to_string(), owned(&c.label)?))).collect();
            if !cutoffs.is_empty() {
                en.cutoffs.insert(id, cutoffs);
            }
        }
        for flag in def.flags.iter() {
            if let Some(l) = owned(&flag.label) {
                en.flags.insert(flag.id.to_string(), l);
            }
        }
        let mut languages = Entries::from([("en".to_string(), en)]);
        for t in self.translations() {
            let mut lang = PackLanguage {
                instructions: owned(&t.instructions),
                attribution: owned(&t.attribution),
                ..PackLanguage::default()
            };
            for (id, text) in t.items.0.iter() {
                lang.items.insert(id.to_string(), text.to_string());
            }
            for (set, options) in t.response_sets.0.iter() {
                let labels: Entries<String> =
                    options.iter().filter_map(|o| Some((o.value.to_string(), owned(&o.label)?))).collect();
                if !labels.is_empty() {
                    lang.options.insert(set.to_string(), labels);
                }
            }
            languages.insert(t.lang.to_string(), lang);
        }
        // The wording's source is the published instrument: the element shows it as the citation.
        let source = Some(self.citation().to_string());
        TextPack { instrument: Some(self.id().to_string()), terms: None, source, languages }
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
        en.options.insert("nope".into(), Entries::default());
        en.options.insert("agree5".into(), Entries::from([("9".into(), "x".into())]));
        let pack = TextPack {
            instrument: Some("phq9".into()),
            languages: Entries::from([("en".into(), en)]),
            ..Default::default()
        };
        let p = urica.check_text_pack(&pack).join("\n");
        for want in ["not `urica`", "items.99", "items.3 is empty", "options.nope", "options.agree5.9"] {
            assert!(p.contains(want), "{want} in {p}");
        }
        assert!(!p.contains("items.1"), "item 1 is fine: {p}");
        let bad_tag =
            TextPack { languages: Entries::from([("e1".into(), PackLanguage::default())]), ..Default::default() };
        assert!(bad_tag.shape_problem().is_some_and(|m| m.contains("`e1`")));
        assert_eq!(pack.shape_problem(), None);
    }

    #[test]
    fn label_problems_are_named() {
        let phq9 = Catalog::embedded().get("phq9").expect("phq9");
        let mut en = PackLanguage::default();
        en.scores.insert("total".into(), "Total".into());
        en.scores.insert("nope".into(), "x".into());
        en.flags.insert("nope".into(), "x".into());
        en.bands.insert("total".into(), Entries::from([("huge".into(), "x".into())]));
        en.bands.insert("other".into(), Entries::default());
        en.cutoffs.insert("total".into(), Entries::from([("huge".into(), "x".into())]));
        let pack = TextPack { languages: Entries::from([("es".into(), en)]), ..Default::default() };
        let p = phq9.check_text_pack(&pack);
        assert_eq!(
            p,
            [
                "languages.es.scores.nope: PHQ-9 has no score `nope`",
                "languages.es.flags.nope: PHQ-9 has no flag `nope`",
                "languages.es.bands.other: PHQ-9 has no score `other`",
                "languages.es.bands.total.huge: PHQ-9 has no band `huge`",
                "languages.es.cutoffs.total.huge: PHQ-9 has no cut-off `huge`",
            ]
        );
    }

    /// The pack of every embedded instrument fits it, carries its wording where the licence
    /// bundles it and only labels where it does not, and its verified translations.
    #[test]
    fn every_bundled_pack_fits_its_instrument() {
        for inst in Catalog::embedded().instruments() {
            let pack = inst.bundled_text();
            assert_eq!(inst.check_text_pack(&pack), Vec::<String>::new(), "{}", inst.id());
            assert!(!inst.citation().is_empty() && pack.source.as_deref() == Some(inst.citation()), "{}", inst.id());
            let en = &pack.languages["en"];
            let def = inst.definition();
            let texts = def.items.iter().filter(|i| i.text.is_some()).count();
            assert_eq!(en.items.len(), texts, "{}", inst.id());
            assert_eq!(inst.text_bundled(), texts > 0, "{}", inst.id());
            for (k, score) in def.scores.iter().enumerate() {
                assert_eq!(en.scores.get(score.id.as_ref()).map(String::as_str), score.label.as_deref());
                assert_eq!(inst.score_range(k), Some(score.range));
                for band in score.bands.iter() {
                    let label = en.bands.get(score.id.as_ref()).and_then(|b| b.get(band.id.as_ref()));
                    assert_eq!(label.map(String::as_str), band.label.as_deref(), "{}", inst.id());
                }
            }
            let langs: Vec<&str> = pack.languages.keys().map(String::as_str).filter(|l| *l != "en").collect();
            let translations: Vec<&str> = inst.translations().iter().map(|t| t.lang.as_ref()).collect();
            assert_eq!(langs, translations);
        }
        let phq9 = Catalog::embedded().get("phq9").expect("phq9").bundled_text();
        assert!(phq9.languages["es"].items["9"].contains("muerto"), "{:?}", phq9.languages["es"].items["9"]);
        assert_eq!(phq9.languages["en"].options["freq4"]["3"], "Nearly every day");
        let urica = Catalog::embedded().get("urica").expect("urica").bundled_text();
        assert!(urica.languages["en"].items.is_empty() && !urica.languages["en"].scores.is_empty());
    }
}
