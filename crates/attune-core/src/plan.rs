//! The compiled form of an instrument: its definition checked for every problem and turned into
//! index-based plans, so scoring an answer set does no name lookups beyond one per answer. Every
//! part is a `Cow<'static, _>`: the build step writes the embedded catalog's plans as `static`
//! data, and definitions compiled at run time (feature `json`) own theirs.

use std::borrow::Cow;

use crate::expr::{Cond, Expr};
use crate::model::{Definition, MissingRule, Translation};

/// A validated instrument, ready to score answers.
#[derive(Debug, Clone)]
pub struct Instrument {
    pub(crate) def: Cow<'static, Definition>,
    pub(crate) items: Cow<'static, [ItemPlan]>,
    pub(crate) scores: Cow<'static, [ScorePlan]>,
    /// Score indices in an order where every score comes after the scores it reads.
    pub(crate) order: Cow<'static, [usize]>,
    pub(crate) flags: Cow<'static, [FlagPlan]>,
    pub(crate) skips: Cow<'static, [SkipPlan]>,
    pub(crate) skipped_item_score: i64,
    pub(crate) context: Cow<'static, [ContextPlan]>,
    /// Items that enter a sum or mean score: those `complete` waits for.
    pub(crate) scored_items: Cow<'static, [usize]>,
    pub(crate) translations: Cow<'static, [Translation]>,
}

#[derive(Debug, Clone)]
pub(crate) struct ItemPlan {
    /// Option values of the item's response set, in the set's order.
    pub(crate) values: Cow<'static, [i64]>,
    pub(crate) response_set: Cow<'static, str>,
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
    pub(crate) calc: Calc,
    /// (min, band index in the definition), sorted by min.
    pub(crate) bands: Cow<'static, [(f64, usize)]>,
    pub(crate) cutoffs: Cow<'static, [CutoffPlan]>,
}

#[derive(Debug, Clone)]
pub(crate) struct CutoffPlan {
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
