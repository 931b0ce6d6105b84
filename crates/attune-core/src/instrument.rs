//! What an [`Instrument`] tells about itself, and (feature `json`) how one is made from a definition
//! at run time. The embedded catalog's instruments are compiled by the build step instead.

use crate::model::{Definition, LicenceStatus, Translation};
pub use crate::plan::Instrument;
use crate::plan::Source;
#[cfg(feature = "json")]
use crate::problem::{Problem, ProblemKind as K, Problems};

impl Instrument {
    /// Parses and compiles a definition from JSON, reporting every problem found.
    ///
    /// Test vectors are not run here; [`crate::validate_definition`] runs them too.
    ///
    /// ```
    /// let json = r#"{"id": "tiny", "name": "Tiny", "short_name": "T", "domain": "hope",
    ///   "citation": "Example 2024.",
    ///   "license": {"status": "public-domain", "text_bundled": true, "statement": "Ours."},
    ///   "response_sets": {"yn": [{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}]},
    ///   "items": [{"id": "1", "text": "One?", "response_set": "yn"},
    ///             {"id": "2", "text": "Two?", "response_set": "yn"}],
    ///   "scores": [{"id": "total", "method": "sum", "items": ["1", "2"], "range": [0, 2],
    ///               "missing": {"rule": "none-allowed"}}]}"#;
    /// let tiny = attune_core::Instrument::from_json(json).expect("a valid definition");
    /// assert_eq!(tiny.id(), "tiny");
    /// ```
    #[cfg(feature = "json")]
    pub fn from_json(json: &str) -> Result<Instrument, Vec<Problem>> {
        let def = parse_definition(json)?;
        Instrument::from_definition(def)
    }

    /// Compiles a definition, reporting every problem found.
    #[cfg(feature = "json")]
    pub fn from_definition(def: Definition) -> Result<Instrument, Vec<Problem>> {
        let mut p = Problems::default();
        let inst = crate::compile::compile(def, &mut p);
        if p.0.is_empty() {
            inst.ok_or_else(Vec::new)
        } else {
            Err(p.0)
        }
    }

    /// The definition this instrument was compiled from, with its wording. (An embedded
    /// instrument's is in the catalog's statics; a module that never asks for it does not carry it.)
    pub fn definition(&self) -> &Definition {
        match &self.source {
            Source::Owned(owned) => &owned.0,
            Source::Baked => crate::catalog::baked_definition(&self.id),
        }
    }

    /// The definition with its translations as JSON text, as the build step wrote it: what
    /// `instrument(id)` of the JavaScript API returns. Embedded instruments only.
    pub fn definition_json(&self) -> Option<&'static str> {
        match &self.source {
            Source::Owned(_) => None,
            Source::Baked => Some(crate::catalog::baked_definition_json(&self.id)),
        }
    }

    /// The instrument id (`"phq9"`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The full name (`"Patient Health Questionnaire-9"`).
    pub fn name(&self) -> &str {
        &self.about.name
    }

    /// The short name (`"PHQ-9"`).
    pub fn short_name(&self) -> &str {
        &self.about.short_name
    }

    /// The primary reference, shown with every form.
    pub fn citation(&self) -> &str {
        match &self.source {
            Source::Owned(owned) => owned.0.citation.as_deref().unwrap_or_default(),
            Source::Baked => crate::catalog::baked_citation(&self.id),
        }
    }

    /// Whether the English item wording is part of the catalog (`false`: the host supplies it).
    pub fn text_bundled(&self) -> bool {
        self.about.text_bundled
    }

    /// The licence status.
    pub fn licence_status(&self) -> LicenceStatus {
        self.about.licence
    }

    /// Whether a commercial host may ship this instrument (every licence but a non-commercial one).
    pub fn allows_commercial_use(&self) -> bool {
        self.about.licence != LicenceStatus::NonCommercial
    }

    /// Index of an item in [`Definition::items`].
    pub fn item_index(&self, id: &str) -> Option<usize> {
        // Item ids are usually the numbers 1..N in order: try that first, then look at each.
        if let Some(k) = id.parse::<usize>().ok().and_then(|n| n.checked_sub(1)) {
            if self.item_ids.get(k).is_some_and(|item| item == id) {
                return Some(k);
            }
        }
        self.item_ids.iter().position(|item| item == id)
    }

    /// Item ids, in administration order.
    pub fn item_ids(&self) -> impl ExactSizeIterator<Item = &str> {
        self.item_ids.iter().map(|id| id.as_ref())
    }

    /// Score ids, in the order results list them.
    pub fn score_ids(&self) -> impl ExactSizeIterator<Item = &str> {
        self.scores.iter().map(|s| s.id.as_ref())
    }

    /// Band ids of the score at `index` (in [`Instrument::score_ids`]), in definition order.
    pub fn band_ids(&self, index: usize) -> impl Iterator<Item = &str> {
        self.scores.get(index).into_iter().flat_map(|s| s.band_ids.iter().map(|b| b.as_ref()))
    }

    /// Cut-off ids of the score at `index`, in definition order.
    pub fn cutoff_ids(&self, index: usize) -> impl Iterator<Item = &str> {
        self.scores.get(index).into_iter().flat_map(|s| s.cutoffs.iter().map(|c| c.id.as_ref()))
    }

    /// Flag ids, in definition order.
    pub fn flag_ids(&self) -> impl ExactSizeIterator<Item = &str> {
        self.flags.iter().map(|f| f.id.as_ref())
    }

    /// The lowest and highest value of the score at `index` (in [`Instrument::score_ids`]).
    pub fn score_range(&self, index: usize) -> Option<[f64; 2]> {
        self.scores.get(index).map(|s| s.range)
    }

    fn set(&self, index: usize) -> Option<&crate::plan::SetPlan> {
        self.item_sets.get(index).and_then(|&k| self.sets.get(usize::from(k)))
    }

    /// The response set of the item at `index`.
    pub fn response_set(&self, index: usize) -> &str {
        self.set(index).map_or("", |s| &s.name)
    }

    /// Option values of the item at `index`, in the published order.
    pub fn option_values(&self, index: usize) -> &[i64] {
        self.set(index).map_or(&[], |s| &s.values)
    }

    /// Verified translations of the wording bundled with this instrument.
    pub fn translations(&self) -> &[Translation] {
        match &self.source {
            Source::Owned(owned) => &owned.1,
            Source::Baked => crate::catalog::baked_translations(&self.id),
        }
    }

    /// The translation into `lang`, if one is bundled.
    pub fn translation(&self, lang: &str) -> Option<&Translation> {
        self.translations().iter().find(|t| t.lang == lang)
    }

    /// Ids of the flags that are critical: never hide them.
    pub fn critical_flags(&self) -> impl Iterator<Item = &str> {
        self.flags.iter().filter(|f| f.critical).map(|f| f.id.as_ref())
    }

    /// Attaches a translation after checking it against the instrument.
    #[cfg(feature = "json")]
    pub fn add_translation(&mut self, t: Translation) -> Result<(), Vec<Problem>> {
        let mut p = Problems::default();
        crate::compile::check_translation(self.definition(), &t, &mut p);
        if !p.0.is_empty() {
            return Err(p.0);
        }
        if let Source::Baked = self.source {
            self.source = Source::Owned(Box::new((self.definition().clone(), self.translations().to_vec())));
        }
        if let Source::Owned(owned) = &mut self.source {
            owned.1.retain(|x| x.lang != t.lang);
            owned.1.push(t);
            let mut langs: Vec<_> = owned.1.iter().map(|x| x.lang.clone()).collect();
            langs.sort();
            self.about.translations = langs.into();
        }
        Ok(())
    }
}

/// Parses definition JSON; a type error is reported with the JSON path where it happened.
#[cfg(feature = "json")]
pub(crate) fn parse_definition(json: &str) -> Result<Definition, Vec<Problem>> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { "$".to_string() } else { format!("$.{path}").replace(".[", "[") };
        vec![Problem { path, kind: K::Schema, message: e.inner().to_string() }]
    })
}
