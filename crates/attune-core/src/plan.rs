//! The compiled form of an instrument: its definition checked for every problem and turned into
//! index-based plans, so scoring an answer set does no name lookups beyond one per answer. Every
//! part is a `Cow<'static, _>`: the build step writes the embedded catalog's plans as `static`
//! data, and definitions compiled at run time (feature `json`) own theirs.
//!
//! The plan holds what scoring and the catalog's summary need (ids, option values, rules, the
//! licence) and nothing else. The wording (instructions, items, labels, translations) stays in the
//! definition, which an embedded instrument finds in a `static` of its own (`Source::Baked`): a
//! module that only scores links the plans, and carries no text it never shows.

use std::borrow::Cow;

use crate::expr::{Cond, Expr};
use crate::model::{Definition, LicenceStatus, MissingRule, Translation};

/// A validated instrument, ready to score answers.
#[derive(Debug, Clone)]
pub struct Instrument {
    pub(crate) id: Cow<'static, str>,
    pub(crate) about: About,
    /// Item ids, in administration order.
    pub(crate) item_ids: Cow<'static, [Cow<'static, str>]>,
    /// For each item, the index of its response set in `sets`.
    pub(crate) item_sets: Cow<'static, [u16]>,
    /// The response sets the items use, in the order they are first used: each once, however many
    /// items share it (a plan per item measured about 2 KB gzip more in the element module).
    pub(crate) sets: Cow<'static, [SetPlan]>,
    pub(crate) scores: Cow<'static, [ScorePlan]>,
    /// Score indices in an order where every score comes after the scores it reads.
    pub(crate) order: Cow<'static, [usize]>,
    pub(crate) flags: Cow<'static, [FlagPlan]>,
    pub(crate) skips: Cow<'static, [SkipPlan]>,
    pub(crate) skipped_item_score: i64,
    pub(crate) context: Cow<'static, [ContextPlan]>,
    /// Items that enter a sum or mean score: those `complete` waits for.
    pub(crate) scored_items: Cow<'static, [usize]>,
    pub(crate) source: Source,
}

/// What `attune catalog` says of an instrument, besides its ids.
#[derive(Debug, Clone)]
pub(crate) struct About {
    pub(crate) name: Cow<'static, str>,
    pub(crate) short_name: Cow<'static, str>,
    pub(crate) domain: Cow<'static, str>,
    pub(crate) licence: LicenceStatus,
    pub(crate) text_bundled: bool,
    /// Languages of the verified translations, sorted.
    pub(crate) translations: Cow<'static, [Cow<'static, str>]>,
}

/// Where the definition and its translations are.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// In the embedded catalog's statics, found by the instrument's id.
    Baked,
    /// Compiled at run time from a definition this instrument owns.
    #[cfg_attr(not(feature = "json"), allow(dead_code))]
    Owned(Box<(Definition, Vec<Translation>)>),
}

#[derive(Debug, Clone)]
pub(crate) struct SetPlan {
    pub(crate) name: Cow<'static, str>,
    /// Option values, in the set's order.
    pub(crate) values: Cow<'static, [i64]>,
}

#[derive(Debug, Clone)]
pub(crate) enum Calc {
    /// A sum or mean of items: `(item index, reversal constant c of "c - x")`.
    Items {
        mean: bool,
        items: Cow<'static, [(usize, Option<i64>)]>,
        rule: MissingRule,
        max_missing: usize,
    },
    Expression(Expr),
    /// Rows `(min, max, value)` looked up by the value of the score at `source`. (No instrument of
    /// the catalog uses one yet: only definitions read at run time can.)
    #[cfg_attr(not(feature = "json"), allow(dead_code))]
    Lookup {
        source: usize,
        table: Cow<'static, [(f64, f64, f64)]>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct ScorePlan {
    pub(crate) id: Cow<'static, str>,
    pub(crate) calc: Calc,
    /// The lowest and highest value the score can take.
    pub(crate) range: [f64; 2],
    /// Band ids in definition order.
    pub(crate) band_ids: Cow<'static, [Cow<'static, str>]>,
    /// (min, band index), sorted by min.
    pub(crate) bands: Cow<'static, [(f64, usize)]>,
    /// In definition order.
    pub(crate) cutoffs: Cow<'static, [CutoffPlan]>,
}

#[derive(Debug, Clone)]
pub(crate) struct CutoffPlan {
    pub(crate) id: Cow<'static, str>,
    pub(crate) min: f64,
    /// Context conditions as (context key index, value index).
    pub(crate) when: Cow<'static, [(usize, usize)]>,
}

#[derive(Debug, Clone)]
pub(crate) enum FlagTest {
    Condition(Cond),
    UnansweredMoreThan(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct FlagPlan {
    pub(crate) id: Cow<'static, str>,
    pub(crate) critical: bool,
    pub(crate) test: FlagTest,
    pub(crate) invalidates: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct SkipPlan {
    pub(crate) when: Cond,
    pub(crate) items: Cow<'static, [usize]>,
}

/// A declared context key, its allowed values and whether it must be given.
#[derive(Debug, Clone)]
pub(crate) struct ContextPlan {
    pub(crate) key: Cow<'static, str>,
    pub(crate) values: Cow<'static, [Cow<'static, str>]>,
    pub(crate) required: bool,
}
