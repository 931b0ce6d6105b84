//! Compiling a definition: every problem found, each with its JSON path, and the plans the scorer
//! runs on. The build step compiles the embedded catalog with this code; at run time it is there only
//! with the `json` feature (definitions read from files or built from a host's input).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::expr::{self, Expr, Names, Op};
use crate::model::{Definition, LicenceStatus, Map, Method, MissingRule, Translation};
use crate::plan::{
    About, Calc, ContextPlan, CutoffPlan, FlagPlan, FlagTest, Instrument, ScorePlan, SetPlan, SkipPlan, Source,
};
use crate::problem::{ProblemKind as K, Problems};

struct NameTable<'a> {
    items: &'a HashMap<&'a str, usize>,
    scores: &'a HashMap<&'a str, usize>,
}

impl Names for NameTable<'_> {
    fn item(&self, id: &str) -> Option<usize> {
        self.items.get(id).copied()
    }
    fn score(&self, id: &str) -> Option<usize> {
        self.scores.get(id).copied()
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The largest option value (in magnitude) a definition may use: far beyond any published scale,
/// and small enough that no sum of items can overflow.
pub const MAX_OPTION_VALUE: i64 = 1 << 31;

/// Parses `"<c> - x"`, the only reversal form in the reference.
fn parse_reverse_rule(rule: &str) -> Option<i64> {
    let (c, x) = rule.split_once('-')?;
    (x.trim() == "x").then_some(())?;
    c.trim().parse().ok().filter(|c: &i64| (-2 * MAX_OPTION_VALUE..=2 * MAX_OPTION_VALUE).contains(c))
}

/// Checks a definition and compiles it, pushing every problem found; `None` when there was one.
pub(crate) fn compile(def: Definition, p: &mut Problems) -> Option<Instrument> {
    if !valid_id(&def.id) {
        p.push("$.id", K::BadId, format!("id `{}` must be lowercase letters, digits, `-` or `_`", def.id));
    }
    match def.citation.as_deref().map(str::trim) {
        None | Some("") => p.push("$.citation", K::MissingCitation, "every instrument needs its citation"),
        Some(_) => {}
    }
    let text_bundled = match &def.license {
        None => {
            p.push("$.license", K::MissingLicence, "the licence block (status, text_bundled, statement) is missing");
            false
        }
        Some(l) => {
            if l.statement.trim().is_empty() {
                p.push("$.license.statement", K::MissingLicence, "the licence statement is empty");
            }
            l.text_bundled
        }
    };
    if !text_bundled && def.instructions.is_some() && def.license.is_some() {
        p.push("$.instructions", K::TextNotAllowed, "instructions are given although text_bundled is false");
    }

    // Response sets.
    for (name, options) in &def.response_sets {
        let path = format!("$.response_sets.{name}");
        if options.is_empty() {
            p.push(&path, K::BadResponseSet, "a response set needs at least one option");
        }
        let mut seen = HashSet::new();
        for (i, o) in options.iter().enumerate() {
            // Bounded so sums, reversals and prorating can never overflow.
            if !(-MAX_OPTION_VALUE..=MAX_OPTION_VALUE).contains(&o.value) {
                p.push(
                    format!("{path}[{i}].value"),
                    K::BadResponseSet,
                    format!("option values must lie within ±{MAX_OPTION_VALUE}"),
                );
            }
            if !seen.insert(o.value) {
                p.push(format!("{path}[{i}].value"), K::BadResponseSet, format!("value {} appears twice", o.value));
            }
        }
    }

    // Items.
    let mut item_index: HashMap<&str, usize> = HashMap::new();
    let mut sets: Vec<SetPlan> = Vec::new();
    let mut item_sets: Vec<u16> = Vec::with_capacity(def.items.len());
    for (i, item) in def.items.iter().enumerate() {
        let path = format!("$.items[{i}]");
        if item.id.is_empty() || item.id.contains(char::is_whitespace) {
            p.push(format!("{path}.id"), K::BadId, format!("item id `{}` must be non-empty with no spaces", item.id));
        }
        if item_index.insert(item.id.as_ref(), i).is_some() {
            p.push(format!("{path}.id"), K::DuplicateItem, format!("item id `{}` is used twice", item.id));
        }
        let values: Vec<i64> = match def.response_sets.get(&item.response_set) {
            Some(set) => set.iter().map(|o| o.value).collect(),
            None => {
                p.push(
                    format!("{path}.response_set"),
                    K::UnknownResponseSet,
                    format!("response set `{}` is not defined in response_sets", item.response_set),
                );
                Vec::new()
            }
        };
        if !text_bundled && item.text.is_some() && def.license.is_some() {
            p.push(format!("{path}.text"), K::TextNotAllowed, "item text is given although text_bundled is false");
        }
        let k = match sets.iter().position(|s| s.name == item.response_set) {
            Some(k) => k,
            None => {
                sets.push(SetPlan { name: item.response_set.clone(), values: Cow::Owned(values) });
                sets.len() - 1
            }
        };
        // More sets than fit are a problem below.
        item_sets.push(u16::try_from(k).unwrap_or(u16::MAX));
    }
    if def.items.is_empty() {
        p.push("$.items", K::BadScore, "an instrument needs at least one item");
    }
    if sets.len() > usize::from(u16::MAX) {
        p.push("$.response_sets", K::BadResponseSet, "the items use more than 65,535 response sets");
    }

    // Context.
    let mut context = Vec::new();
    for (key, spec) in def.context.iter().flatten() {
        if spec.values.is_empty() {
            p.push(format!("$.context.{key}.values"), K::BadContext, "a context key needs at least one allowed value");
        }
        context.push(ContextPlan {
            key: Cow::Owned(key.to_string()),
            values: spec.values.clone(),
            required: spec.required,
        });
    }

    // Scores: ids first, so expressions can refer to scores defined later.
    let mut score_index: HashMap<&str, usize> = HashMap::new();
    for (s, score) in def.scores.iter().enumerate() {
        if !valid_id(&score.id) {
            p.push(format!("$.scores[{s}].id"), K::BadId, format!("score id `{}` must be lowercase", score.id));
        }
        if score_index.insert(score.id.as_ref(), s).is_some() {
            p.push(format!("$.scores[{s}].id"), K::DuplicateId, format!("score id `{}` is used twice", score.id));
        }
    }
    if def.scores.is_empty() {
        p.push("$.scores", K::BadScore, "an instrument needs at least one score");
    }
    let names = NameTable { items: &item_index, scores: &score_index };

    let mut scores = Vec::with_capacity(def.scores.len());
    let mut scored_items = Vec::new();
    for (s, score) in def.scores.iter().enumerate() {
        let path = format!("$.scores[{s}]");
        let [lo, hi] = score.range;
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            p.push(format!("{path}.range"), K::BadScore, "range must be [lowest, highest] with lowest <= highest");
        }
        let values_of = |i: usize| -> &[i64] {
            item_sets.get(i).and_then(|&k| sets.get(usize::from(k))).map_or(&[], |s| &s.values)
        };
        let calc = compile_calc(&def, score, &path, &names, &values_of, p, &mut scored_items);

        // Bands: inclusive [min, max]; sorted they must tile the range with no overlap and no gap.
        let mut band_ids = HashSet::new();
        let mut bands: Vec<(f64, usize)> = Vec::new();
        for (b, band) in score.bands.iter().enumerate() {
            let bp = format!("{path}.bands[{b}]");
            if !band_ids.insert(band.id.as_ref()) {
                p.push(format!("{bp}.id"), K::DuplicateId, format!("band id `{}` is used twice", band.id));
            }
            if band.min > band.max {
                p.push(&bp, K::BadScore, format!("band `{}` has min {} above max {}", band.id, band.min, band.max));
            }
            if band.min < lo || band.max > hi {
                p.push(
                    &bp,
                    K::OutsideRange,
                    format!("band `{}` ({}-{}) leaves the range {lo}-{hi}", band.id, band.min, band.max),
                );
            }
            bands.push((band.min, b));
        }
        bands.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let (Some(first), Some(last)) =
            (bands.first(), bands.iter().max_by(|a, b| score.bands[a.1].max.total_cmp(&score.bands[b.1].max)))
        {
            if first.0 > lo {
                p.push(
                    format!("{path}.bands[{}].min", first.1),
                    K::BandGap,
                    format!("no band covers {lo} up to {}", first.0),
                );
            }
            let top = score.bands[last.1].max;
            if top < hi {
                p.push(format!("{path}.bands[{}].max", last.1), K::BandGap, format!("no band covers {top} up to {hi}"));
            }
        }
        for w in bands.windows(2) {
            let (prev, next) = (&score.bands[w[0].1], &score.bands[w[1].1]);
            if next.min <= prev.max {
                p.push(
                    format!("{path}.bands[{}]", w[1].1),
                    K::BandOverlap,
                    format!(
                        "band `{}` ({}-{}) overlaps band `{}` ({}-{})",
                        next.id, next.min, next.max, prev.id, prev.min, prev.max
                    ),
                );
            } else if next.min > prev.max + 1.0 {
                p.push(
                    format!("{path}.bands[{}]", w[1].1),
                    K::BandGap,
                    format!(
                        "nothing covers the values between band `{}` (to {}) and band `{}` (from {})",
                        prev.id, prev.max, next.id, next.min
                    ),
                );
            }
        }

        let mut cutoff_ids = HashSet::new();
        let mut cutoffs = Vec::new();
        for (c, cut) in score.cutoffs.iter().enumerate() {
            let cp = format!("{path}.cutoffs[{c}]");
            if !cutoff_ids.insert(cut.id.as_ref()) {
                p.push(format!("{cp}.id"), K::DuplicateId, format!("cut-off id `{}` is used twice", cut.id));
            }
            if cut.min < lo || cut.min > hi {
                p.push(
                    format!("{cp}.min"),
                    K::OutsideRange,
                    format!("cut-off {} lies outside the range {lo}-{hi}", cut.min),
                );
            }
            let mut when = Vec::new();
            for (key, value) in cut.when.iter().flat_map(Map::iter) {
                match context.iter().position(|c| c.key == key) {
                    None => p.push(
                        format!("{cp}.when.{key}"),
                        K::BadContext,
                        format!("context key `{key}` is not declared in `context`"),
                    ),
                    Some(ki) => match context[ki].values.iter().position(|v| v == value) {
                        None => p.push(
                            format!("{cp}.when.{key}"),
                            K::BadContext,
                            format!("`{value}` is not an allowed value of context `{key}`"),
                        ),
                        Some(vi) => when.push((ki, vi)),
                    },
                }
            }
            cutoffs.push(CutoffPlan { id: cut.id.clone(), min: cut.min, when: Cow::Owned(when) });
        }
        scores.push(ScorePlan {
            id: score.id.clone(),
            calc,
            range: score.range,
            band_ids: score.bands.iter().map(|b| b.id.clone()).collect(),
            bands: Cow::Owned(bands),
            cutoffs: Cow::Owned(cutoffs),
        });
    }
    scored_items.sort_unstable();
    scored_items.dedup();

    let order = evaluation_order(&def, &scores, p);

    // Flags.
    let mut flag_ids = HashSet::new();
    let mut flags = Vec::new();
    for (f, flag) in def.flags.iter().enumerate() {
        let path = format!("$.flags[{f}]");
        if !flag_ids.insert(flag.id.as_ref()) {
            p.push(format!("{path}.id"), K::DuplicateId, format!("flag id `{}` is used twice", flag.id));
        }
        let test = match flag.unanswered_more_than {
            Some(n) => {
                if n as usize >= def.items.len() {
                    p.push(
                        format!("{path}.unanswered_more_than"),
                        K::BadRule,
                        "the threshold must be below the number of items",
                    );
                }
                FlagTest::UnansweredMoreThan(n as usize)
            }
            None => match expr::parse_condition(&flag.rule, &names) {
                Ok(c) => FlagTest::Condition(c),
                Err(e) => {
                    p.push(format!("{path}.rule"), K::BadRule, format!("cannot parse `{}`: {e}", flag.rule));
                    continue;
                }
            },
        };
        flags.push(FlagPlan {
            id: flag.id.clone(),
            critical: flag.critical,
            test,
            invalidates: flag.invalidates_scores,
        });
    }

    // Skip logic.
    let mut skips = Vec::new();
    let mut skipped_item_score = 0;
    if let Some(skip) = &def.skip_logic {
        skipped_item_score = skip.skipped_items_score;
        for (r, rule) in skip.rules.iter().enumerate() {
            let path = format!("$.skip_logic.rules[{r}]");
            let cond = match expr::parse_condition(&rule.when, &names) {
                Ok(c) => Some(c),
                Err(e) => {
                    p.push(format!("{path}.when"), K::BadRule, format!("cannot parse `{}`: {e}", rule.when));
                    None
                }
            };
            let mut targets = Vec::new();
            for (k, id) in rule.skip.iter().enumerate() {
                match item_index.get(id.as_ref()) {
                    Some(&i) => targets.push(i),
                    None => p.push(format!("{path}.skip[{k}]"), K::UnknownItem, format!("item `{id}` does not exist")),
                }
            }
            if let Some(when) = cond {
                skips.push(SkipPlan { when, items: Cow::Owned(targets) });
            }
        }
    }

    if !p.0.is_empty() {
        return None;
    }
    let about = About {
        name: def.name.clone(),
        short_name: def.short_name.clone(),
        domain: def.domain.clone(),
        licence: def.license.as_ref().map_or(LicenceStatus::Unverified, |l| l.status),
        text_bundled: def.license.as_ref().is_some_and(|l| l.text_bundled),
        translations: Cow::Borrowed(&[]),
    };
    Some(Instrument {
        id: def.id.clone(),
        about,
        item_ids: def.items.iter().map(|i| i.id.clone()).collect(),
        item_sets: Cow::Owned(item_sets),
        sets: Cow::Owned(sets),
        scores: Cow::Owned(scores),
        order: Cow::Owned(order),
        flags: Cow::Owned(flags),
        skips: Cow::Owned(skips),
        skipped_item_score,
        context: Cow::Owned(context),
        scored_items: Cow::Owned(scored_items),
        source: Source::Owned(Box::new((def, Vec::new()))),
    })
}

fn compile_calc<'s>(
    def: &Definition,
    score: &crate::model::ScoreDef,
    path: &str,
    names: &NameTable<'_>,
    values_of: &dyn Fn(usize) -> &'s [i64],
    p: &mut Problems,
    scored_items: &mut Vec<usize>,
) -> Calc {
    let max_missing = score.missing.max_missing.unwrap_or(0) as usize;
    match score.method {
        Method::Sum | Method::Mean => {
            if score.items.is_empty() {
                p.push(format!("{path}.items"), K::BadScore, "a sum or mean score needs items");
            }
            if score.expression.is_some() {
                p.push(format!("{path}.expression"), K::BadScore, "only an `expression` score has an expression");
            }
            let reverse_c = score.reverse.as_ref().and_then(|r| {
                let c = parse_reverse_rule(&r.rule);
                if c.is_none() {
                    p.push(
                        format!("{path}.reverse.rule"),
                        K::BadReverse,
                        format!("reversal rule `{}` is not of the form `c - x`", r.rule),
                    );
                }
                c
            });
            let mut seen = HashSet::new();
            let mut planned = Vec::new();
            for (k, id) in score.items.iter().enumerate() {
                if !seen.insert(id.as_ref()) {
                    p.push(format!("{path}.items[{k}]"), K::DuplicateItem, format!("item `{id}` is listed twice"));
                }
                match names.items.get(id.as_ref()) {
                    None => p.push(format!("{path}.items[{k}]"), K::UnknownItem, format!("item `{id}` does not exist")),
                    Some(&i) => {
                        if !def.items[i].scored {
                            p.push(
                                format!("{path}.items[{k}]"),
                                K::BadScore,
                                format!("item `{id}` is marked unscored"),
                            );
                        }
                        let reversed = score.reverse.as_ref().is_some_and(|r| r.items.contains(id));
                        planned.push((i, if reversed { reverse_c } else { None }));
                        scored_items.push(i);
                    }
                }
            }
            if let Some(r) = &score.reverse {
                for (k, id) in r.items.iter().enumerate() {
                    if !score.items.contains(id) {
                        p.push(
                            format!("{path}.reverse.items[{k}]"),
                            K::UnknownItem,
                            format!("reversed item `{id}` is not an item of this score"),
                        );
                    } else if let (Some(c), Some(&i)) = (reverse_c, names.items.get(id.as_ref())) {
                        let values: HashSet<i64> = values_of(i).iter().copied().collect();
                        if !values_of(i).iter().all(|v| c.checked_sub(*v).is_some_and(|r| values.contains(&r))) {
                            p.push(
                                format!("{path}.reverse.rule"),
                                K::BadReverse,
                                format!("`{}` does not map the options of item `{id}` onto themselves", r.rule),
                            );
                        }
                    }
                }
            }
            match score.missing.rule {
                MissingRule::NoneAllowed => {
                    if max_missing != 0 {
                        p.push(
                            format!("{path}.missing.max_missing"),
                            K::BadMissingRule,
                            "none-allowed takes max_missing 0",
                        );
                    }
                }
                MissingRule::Prorate | MissingRule::MeanOfAnswered => {
                    if score.missing.max_missing.is_none() {
                        p.push(format!("{path}.missing"), K::BadMissingRule, "this rule needs max_missing");
                    } else if max_missing >= score.items.len() {
                        p.push(
                            format!("{path}.missing.max_missing"),
                            K::BadMissingRule,
                            "max_missing must leave at least one answered item",
                        );
                    }
                    if score.missing.rule == MissingRule::MeanOfAnswered && score.method != Method::Mean {
                        p.push(
                            format!("{path}.missing.rule"),
                            K::BadMissingRule,
                            "mean-of-answered applies to mean scores",
                        );
                    }
                }
            }
            Calc::Items {
                mean: score.method == Method::Mean,
                items: Cow::Owned(planned),
                rule: score.missing.rule,
                max_missing,
            }
        }
        Method::Expression => {
            if !score.items.is_empty() {
                p.push(format!("{path}.items"), K::BadScore, "an expression score takes no items");
            }
            if score.missing.rule != MissingRule::NoneAllowed {
                p.push(
                    format!("{path}.missing.rule"),
                    K::BadMissingRule,
                    "an expression is null when any score it reads is null: use none-allowed",
                );
            }
            match score.expression.as_deref() {
                None => {
                    p.push(format!("{path}.expression"), K::BadScore, "an expression score needs an expression");
                    Calc::Expression(Expr(Cow::Borrowed(&[Op::Num(f64::NAN)])))
                }
                Some(src) => match expr::parse_score_expression(src, names) {
                    Ok(e) => Calc::Expression(e),
                    Err(e) => {
                        let kind = if e.message.starts_with("unknown score") { K::UnknownScore } else { K::BadRule };
                        p.push(format!("{path}.expression"), kind, format!("`{src}`: {e}"));
                        Calc::Expression(Expr(Cow::Borrowed(&[Op::Num(f64::NAN)])))
                    }
                },
            }
        }
        Method::Lookup => match &score.lookup {
            None => {
                p.push(format!("{path}.lookup"), K::BadScore, "a lookup score needs `lookup` with `score` and `table`");
                Calc::Lookup { source: 0, table: Cow::Borrowed(&[]) }
            }
            Some(l) => {
                let source = names.scores.get(l.score.as_ref()).copied().unwrap_or_else(|| {
                    p.push(
                        format!("{path}.lookup.score"),
                        K::UnknownScore,
                        format!("score `{}` does not exist", l.score),
                    );
                    0
                });
                if l.table.is_empty() {
                    p.push(format!("{path}.lookup.table"), K::BadScore, "the lookup table is empty");
                }
                for (r, row) in l.table.iter().enumerate() {
                    if row.min > row.max {
                        p.push(format!("{path}.lookup.table[{r}]"), K::BadScore, "min is above max");
                    }
                    if row.value < score.range[0] || row.value > score.range[1] {
                        p.push(
                            format!("{path}.lookup.table[{r}].value"),
                            K::OutsideRange,
                            "the value lies outside the score's range",
                        );
                    }
                }
                Calc::Lookup { source, table: l.table.iter().map(|r| (r.min, r.max, r.value)).collect() }
            }
        },
    }
}

/// Orders scores so every expression or lookup comes after the scores it reads; reports cycles.
fn evaluation_order(def: &Definition, scores: &[ScorePlan], p: &mut Problems) -> Vec<usize> {
    let deps: Vec<Vec<usize>> = scores
        .iter()
        .map(|s| match &s.calc {
            Calc::Items { .. } => Vec::new(),
            Calc::Expression(e) => {
                let mut d = Vec::new();
                e.visit_scores(&mut |i| d.push(i));
                d
            }
            Calc::Lookup { source, .. } => vec![*source],
        })
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; scores.len()];
    let mut order = Vec::with_capacity(scores.len());
    let mut reported = false;
    fn visit(
        s: usize,
        deps: &[Vec<usize>],
        state: &mut [u8],
        stack: &mut Vec<usize>,
        order: &mut Vec<usize>,
        cycle: &mut Option<Vec<usize>>,
    ) {
        match state[s] {
            2 => return,
            1 => {
                if cycle.is_none() {
                    let from = stack.iter().position(|&x| x == s).unwrap_or(0);
                    let mut c = stack[from..].to_vec();
                    c.push(s);
                    *cycle = Some(c);
                }
                return;
            }
            _ => {}
        }
        state[s] = 1;
        stack.push(s);
        for &d in &deps[s] {
            if d < deps.len() {
                visit(d, deps, state, stack, order, cycle);
            }
        }
        stack.pop();
        state[s] = 2;
        order.push(s);
    }
    for s in 0..scores.len() {
        let mut cycle = None;
        visit(s, &deps, &mut state, &mut Vec::new(), &mut order, &mut cycle);
        if let (Some(c), false) = (cycle, reported) {
            let names: Vec<&str> = c.iter().map(|&i| def.scores[i].id.as_ref()).collect();
            p.push(
                format!("$.scores[{}].expression", c[0]),
                K::ExpressionCycle,
                format!("scores depend on each other in a cycle: {}", names.join(" -> ")),
            );
            reported = true;
        }
    }
    order
}

/// Checks a translation against the definition it translates.
pub(crate) fn check_translation(def: &Definition, t: &Translation, p: &mut Problems) {
    if t.instrument != def.id {
        p.push("$.instrument", K::BadTranslation, format!("translation is for `{}`, not `{}`", t.instrument, def.id));
    }
    if !def.license.as_ref().is_some_and(|l| l.text_bundled) {
        p.push("$", K::TextNotAllowed, "the instrument's licence does not allow bundling wording");
    }
    for id in t.items.keys() {
        if !def.items.iter().any(|i| i.id == id) {
            p.push(format!("$.items.{id}"), K::BadTranslation, format!("item `{id}` does not exist"));
        }
    }
    for (name, options) in t.response_sets.iter() {
        match def.response_sets.get(name).map(|set| set.iter().map(|o| o.value).collect::<Vec<i64>>()) {
            None => p.push(
                format!("$.response_sets.{name}"),
                K::BadTranslation,
                format!("response set `{name}` does not exist"),
            ),
            Some(values) => {
                let got: Vec<i64> = options.iter().map(|o| o.value).collect();
                if got != values {
                    p.push(
                        format!("$.response_sets.{name}"),
                        K::BadTranslation,
                        format!("values {got:?} differ from {values:?}"),
                    );
                }
            }
        }
    }
}
