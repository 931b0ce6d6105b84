//! The catalog: every instrument definition of `crates/attune-core/instruments/`, embedded at compile
//! time, plus the verified translations. Instruments whose licence allows only non-commercial use are
//! compiled in only with the `non-commercial` feature (on by default), and can also be filtered out at
//! run time with [`Catalog::commercial_use`].

use std::sync::OnceLock;

use serde::Serialize;

use crate::instrument::Instrument;
use crate::model::{LicenceStatus, Translation};
use crate::problem::Problem;

/// `(file name, JSON)` of every embedded definition usable commercially. The embedded copies are
/// minified and leave out the reference vectors (see `build.rs`); the files in `instruments/` keep them.
const OPEN: &[(&str, &str)] = &[
    ("cage.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/cage.json"))),
    ("cageaid.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/cageaid.json"))),
    (
        "decisional-balance-alcohol.json",
        include_str!(concat!(env!("OUT_DIR"), "/catalog/decisional-balance-alcohol.json")),
    ),
    ("decisional-balance-drug.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/decisional-balance-drug.json"))),
    ("gad2.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/gad2.json"))),
    ("gad7.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/gad7.json"))),
    ("gcqs.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/gcqs.json"))),
    ("hope-adult.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/hope-adult.json"))),
    ("hope-state.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/hope-state.json"))),
    ("ipip-ei.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/ipip-ei.json"))),
    ("phq2.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/phq2.json"))),
    ("phq9.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/phq9.json"))),
    ("rulers.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/rulers.json"))),
    ("socrates8a.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/socrates8a.json"))),
    ("socrates8d.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/socrates8d.json"))),
    ("sseit.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/sseit.json"))),
    ("ucla3.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/ucla3.json"))),
    ("urica.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/urica.json"))),
    ("wleis.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/wleis.json"))),
];

/// Definitions whose licence allows only non-commercial use.
#[cfg(feature = "non-commercial")]
const NON_COMMERCIAL: &[(&str, &str)] = &[
    ("audit.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/audit.json"))),
    ("auditc.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/auditc.json"))),
    ("dast10.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/dast10.json"))),
];
#[cfg(not(feature = "non-commercial"))]
const NON_COMMERCIAL: &[(&str, &str)] = &[];

/// Verified translations: `(path, JSON)`.
const TRANSLATIONS: &[(&str, &str)] = &[
    ("translations/es/phq2.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/translations/es/phq2.json"))),
    ("translations/es/phq9.json", include_str!(concat!(env!("OUT_DIR"), "/catalog/translations/es/phq9.json"))),
];

/// A set of instruments, sorted by id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    instruments: Vec<Instrument>,
}

/// A definition file of the catalog that failed to load.
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
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(hashmap_as_object, missing_as_null))]
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
    /// The embedded catalog, parsed and compiled once.
    ///
    /// ```
    /// let catalog = attune_core::Catalog::embedded();
    /// assert!(catalog.get("gcqs").is_some());
    /// assert!(catalog.get("nope").is_none());
    /// ```
    pub fn embedded() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            // The embedded files are checked by the test suite (every definition compiles and every
            // reference vector passes), so a failure here is a build that skipped its tests.
            Catalog::load(OPEN.iter().chain(NON_COMMERCIAL).copied(), TRANSLATIONS.iter().copied())
                .unwrap_or_else(|e| panic!("embedded catalog is invalid: {e}"))
        })
    }

    /// One embedded instrument, parsed and compiled on first use without the rest of the catalog:
    /// a page that shows one questionnaire pays for one. The same instrument, with the same
    /// translations, as `Catalog::embedded().get(id)`.
    ///
    /// ```
    /// let phq9 = attune_core::Catalog::embedded_instrument("phq9").unwrap();
    /// assert_eq!(phq9.definition(), attune_core::Catalog::embedded().get("phq9").unwrap().definition());
    /// assert!(attune_core::Catalog::embedded_instrument("nope").is_none());
    /// ```
    pub fn embedded_instrument(id: &str) -> Option<&'static Instrument> {
        static SLOTS: OnceLock<Box<[OnceLock<Instrument>]>> = OnceLock::new();
        let slots = SLOTS.get_or_init(|| Catalog::embedded_files().map(|_| OnceLock::new()).collect());
        let (k, (_, json)) =
            Catalog::embedded_files().enumerate().find(|(_, (file, _))| file.strip_suffix(".json") == Some(id))?;
        let inst = slots[k].get_or_init(|| {
            let translations = TRANSLATIONS.iter().copied().filter(|(file, _)| file.ends_with(&format!("/{id}.json")));
            // Checked by the test suite like the whole catalog: a failure is a build that skipped it.
            let mut one = Catalog::load([(id, json)], translations)
                .unwrap_or_else(|e| panic!("embedded catalog is invalid: {e}"));
            one.instruments.remove(0)
        });
        (inst.id() == id).then_some(inst)
    }

    /// The ids of the embedded instruments, without parsing them, sorted.
    pub fn embedded_ids() -> Vec<&'static str> {
        let mut ids: Vec<&str> = Catalog::embedded_files().filter_map(|(f, _)| f.strip_suffix(".json")).collect();
        ids.sort_unstable();
        ids
    }

    /// The embedded definition files as `(file name, JSON)`, for tools that need the raw data.
    pub fn embedded_files() -> impl Iterator<Item = (&'static str, &'static str)> {
        OPEN.iter().chain(NON_COMMERCIAL).copied()
    }

    /// Loads a catalog from definition and translation JSON files.
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
        let mut catalog = Catalog { instruments };
        for (file, json) in translations {
            let fail = |problems| LoadError { file: file.to_string(), problems };
            let t: Translation = serde_json::from_str(json).map_err(|e| {
                fail(vec![Problem { path: "$".into(), kind: crate::ProblemKind::Schema, message: e.to_string() }])
            })?;
            // A translation of an instrument left out of this build is left out with it.
            if let Some(inst) = catalog.instruments.iter_mut().find(|i| i.id() == t.instrument) {
                inst.add_translation(t).map_err(fail)?;
            }
        }
        Ok(catalog)
    }

    /// The instrument with this id.
    pub fn get(&self, id: &str) -> Option<&Instrument> {
        self.instruments.binary_search_by(|i| i.id().cmp(id)).ok().map(|k| &self.instruments[k])
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
        self.filter(|i| i.licence_status() != LicenceStatus::NonCommercial)
    }

    /// Summaries of every instrument, sorted by id.
    pub fn summaries(&self) -> Vec<Summary<'_>> {
        self.instruments.iter().map(Instrument::summary).collect()
    }
}

impl Instrument {
    /// What `attune catalog` shows about this instrument.
    pub fn summary(&self) -> Summary<'_> {
        let d = &self.def;
        let bundled = d.license.as_ref().is_some_and(|l| l.text_bundled);
        let mut languages = Vec::new();
        if bundled {
            languages.push("en");
        }
        languages.extend(self.translations.iter().map(|t| t.lang.as_str()));
        Summary {
            id: &d.id,
            name: &d.name,
            short_name: &d.short_name,
            domain: &d.domain,
            licence: self.licence_status().as_str(),
            text_bundled: bundled,
            items: d.items.len(),
            scores: d.scores.iter().map(|s| s.id.as_str()).collect(),
            critical_flags: self.critical_flags().collect(),
            languages,
            citation: d.citation.as_deref().unwrap_or(""),
        }
    }
}
