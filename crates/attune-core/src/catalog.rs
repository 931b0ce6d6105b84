//! The catalog: every instrument definition of `crates/attune-core/instruments/` with its verified
//! translations, compiled by the build step into `static` data (`build.rs`), so using it parses and
//! compiles nothing. Instruments whose licence allows only non-commercial use are compiled in only
//! with the `non-commercial` feature (on by default), and can also be filtered out at run time with
//! [`Catalog::commercial_use`].

use std::borrow::Cow;

use serde::Serialize;

use crate::instrument::Instrument;
use crate::model::Translation;
#[cfg(feature = "json")]
use crate::problem::Problem;

mod baked {
    include!(concat!(env!("OUT_DIR"), "/catalog.rs"));
}

/// Where an embedded instrument is in the catalog, and so in the catalog's other statics.
fn baked_index(id: &str) -> Option<usize> {
    baked::EMBEDDED.position(id)
}

/// The definition of an embedded instrument.
pub(crate) fn baked_definition(id: &str) -> &'static crate::model::Definition {
    static NONE: crate::model::Definition = crate::model::Definition::EMPTY;
    // Every embedded instrument has its definition: the stand-in is never reached.
    baked_index(id).and_then(|k| baked::DEFINITIONS.get(k).copied()).unwrap_or(&NONE)
}

/// The verified translations of an embedded instrument.
pub(crate) fn baked_translations(id: &str) -> &'static [Translation] {
    baked_index(id).and_then(|k| baked::TRANSLATIONS.get(k).copied()).unwrap_or(&[])
}

/// The citation of an embedded instrument: a `static` apart from the plans, so that a module
/// that shows one instrument's citation from its wording does not carry every citation.
pub(crate) fn baked_citation(id: &str) -> &'static str {
    baked_index(id).and_then(|k| baked::CITATIONS.get(k).copied()).unwrap_or_default()
}

/// The definition of an embedded instrument, with its translations, as JSON text.
pub(crate) fn baked_definition_json(id: &str) -> &'static str {
    baked_index(id).and_then(|k| baked::DEFINITION_JSON.get(k).copied()).unwrap_or("null")
}

/// A set of instruments, sorted by id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub(crate) instruments: Cow<'static, [Instrument]>,
}

/// A definition file of the catalog that failed to load.
#[cfg(feature = "json")]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct LoadError {
    /// File name.
    pub file: String,
    /// Every problem found in it.
    pub problems: Vec<Problem>,
}

/// One line of `attune catalog`: what an instrument is and what its licence allows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(all(attune_lib, feature = "typescript"), derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
pub struct Summary<'a> {
    /// Instrument id.
    pub id: &'a str,
    /// Full name.
    pub name: &'a str,
    /// Short name.
    pub short_name: &'a str,
    /// Clinical domain.
    pub domain: &'a str,
    /// Licence status (`public-domain`, `non-commercial`, ...).
    pub licence: &'static str,
    /// Whether item wording is bundled.
    pub text_bundled: bool,
    /// Number of items.
    pub items: usize,
    /// Score ids.
    pub scores: Vec<&'a str>,
    /// Ids of critical flags.
    pub critical_flags: Vec<&'a str>,
    /// Languages with bundled wording (`en` when the English text is bundled).
    pub languages: Vec<&'a str>,
    /// The primary reference.
    pub citation: &'a str,
}

impl Catalog {
    /// The embedded catalog: `static` data, compiled by the build step.
    ///
    /// ```
    /// let catalog = attune_core::Catalog::embedded();
    /// assert!(catalog.get("gcqs").is_some());
    /// assert!(catalog.get("nope").is_none());
    /// ```
    pub fn embedded() -> &'static Catalog {
        &baked::EMBEDDED
    }

    /// One embedded instrument: `Catalog::embedded().get(id)`.
    ///
    /// ```
    /// let phq9 = attune_core::Catalog::embedded_instrument("phq9").unwrap();
    /// assert_eq!(phq9.id(), "phq9");
    /// assert!(attune_core::Catalog::embedded_instrument("nope").is_none());
    /// ```
    pub fn embedded_instrument(id: &str) -> Option<&'static Instrument> {
        Catalog::embedded().get(id)
    }

    /// The ids of the embedded instruments, sorted.
    pub fn embedded_ids() -> Vec<&'static str> {
        Catalog::embedded().instruments.iter().map(Instrument::id).collect()
    }

    /// Loads a catalog from definition and translation JSON files.
    #[cfg(feature = "json")]
    pub fn load<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        translations: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Catalog, LoadError> {
        let mut instruments = Vec::new();
        for (file, json) in files {
            let inst =
                Instrument::from_json(json).map_err(|problems| LoadError { file: file.to_string(), problems })?;
            if instruments.iter().any(|i: &Instrument| i.id() == inst.id()) {
                return Err(LoadError {
                    file: file.to_string(),
                    problems: vec![Problem {
                        path: "$.id".into(),
                        kind: crate::ProblemKind::DuplicateId,
                        message: format!("instrument `{}` is defined twice", inst.id()),
                    }],
                });
            }
            instruments.push(inst);
        }
        instruments.sort_by(|a, b| a.id().cmp(b.id()));
        let mut catalog = Catalog { instruments: Cow::Owned(instruments) };
        for (file, json) in translations {
            let fail = |problems| LoadError { file: file.to_string(), problems };
            let t: Translation = serde_json::from_str(json).map_err(|e| {
                fail(vec![Problem { path: "$".into(), kind: crate::ProblemKind::Schema, message: e.to_string() }])
            })?;
            // A translation of an instrument left out of this build is left out with it.
            if let Some(inst) = catalog.instruments.to_mut().iter_mut().find(|i| i.id() == t.instrument) {
                inst.add_translation(t).map_err(fail)?;
            }
        }
        Ok(catalog)
    }

    /// The instrument with this id.
    pub fn get(&self, id: &str) -> Option<&Instrument> {
        self.position(id).map(|k| &self.instruments[k])
    }

    /// Where the instrument with this id is in [`Catalog::instruments`].
    pub fn position(&self, id: &str) -> Option<usize> {
        self.instruments.binary_search_by(|i| i.id().cmp(id)).ok()
    }

    /// Every instrument, sorted by id.
    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// A catalog of the instruments that pass `keep`.
    pub fn filter(&self, mut keep: impl FnMut(&Instrument) -> bool) -> Catalog {
        Catalog { instruments: self.instruments.iter().filter(|i| keep(i)).cloned().collect() }
    }

    /// The instruments a commercial host may ship: everything but non-commercial licences.
    ///
    /// ```
    /// let commercial = attune_core::Catalog::embedded().commercial_use();
    /// assert!(commercial.get("audit").is_none());
    /// assert!(commercial.get("phq9").is_some());
    /// ```
    pub fn commercial_use(&self) -> Catalog {
        self.filter(Instrument::allows_commercial_use)
    }

    /// Summaries of every instrument, sorted by id.
    pub fn summaries(&self) -> Vec<Summary<'_>> {
        self.instruments.iter().map(Instrument::summary).collect()
    }
}

impl Instrument {
    /// What `attune catalog` shows about this instrument.
    pub fn summary(&self) -> Summary<'_> {
        let about = &self.about;
        let mut languages = Vec::new();
        if about.text_bundled {
            languages.push("en");
        }
        languages.extend(about.translations.iter().map(|lang| lang.as_ref()));
        Summary {
            id: &self.id,
            name: &about.name,
            short_name: &about.short_name,
            domain: &about.domain,
            licence: about.licence.as_str(),
            text_bundled: about.text_bundled,
            items: self.item_ids.len(),
            scores: self.score_ids().collect(),
            critical_flags: self.critical_flags().collect(),
            languages,
            citation: self.citation(),
        }
    }
}
