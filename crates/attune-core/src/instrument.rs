//! What an [`Instrument`] tells about itself, and (feature `json`) how one is made from a definition
//! at run time. The embedded catalog's instruments are compiled by the build step instead.

use crate::model::{Definition, LicenceStatus, Translation};
pub use crate::plan::Instrument;
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

    /// The definition this instrument was compiled from.
    pub fn definition(&self) -> &Definition {
        &self.def
    }

    /// The instrument id (`"phq9"`).
    pub fn id(&self) -> &str {
        &self.def.id
    }

    /// The licence status.
    pub fn licence_status(&self) -> LicenceStatus {
        // Compilation rejects a definition without a licence block.
        self.def.license.as_ref().map_or(LicenceStatus::Unverified, |l| l.status)
    }

    /// Index of an item in [`Definition::items`].
    pub fn item_index(&self, id: &str) -> Option<usize> {
        // Item ids are usually the numbers 1..N in order: try that first, then look at each.
        if let Some(k) = id.parse::<usize>().ok().and_then(|n| n.checked_sub(1)) {
            if self.def.items.get(k).is_some_and(|item| item.id == id) {
                return Some(k);
            }
        }
        self.def.items.iter().position(|item| item.id == id)
    }

    /// Option values of the item at `index`, in the published order.
    pub fn option_values(&self, index: usize) -> &[i64] {
        self.items.get(index).map_or(&[], |i| &i.values)
    }

    /// Verified translations of the wording bundled with this instrument.
    pub fn translations(&self) -> &[Translation] {
        &self.translations
    }

    /// The translation into `lang`, if one is bundled.
    pub fn translation(&self, lang: &str) -> Option<&Translation> {
        self.translations.iter().find(|t| t.lang == lang)
    }

    /// Ids of the flags that are critical: never hide them.
    pub fn critical_flags(&self) -> impl Iterator<Item = &str> {
        self.def.flags.iter().filter(|f| f.critical).map(|f| f.id.as_ref())
    }

    /// Attaches a translation after checking it against the instrument.
    #[cfg(feature = "json")]
    pub fn add_translation(&mut self, t: Translation) -> Result<(), Vec<Problem>> {
        let mut p = Problems::default();
        crate::compile::check_translation(self, &t, &mut p);
        if p.0.is_empty() {
            let translations = self.translations.to_mut();
            translations.retain(|x| x.lang != t.lang);
            translations.push(t);
            Ok(())
        } else {
            Err(p.0)
        }
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
