//! Invariants over the whole catalog, checked on generated input: nothing panics, every value lies in
//! its score's range, reversed items mirror, and prorating never goes beyond its maximum.

use attune_core::model::{Method, MissingRule};
use attune_core::{score_json, validate_definition, Catalog, Group, Instrument};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn instruments() -> &'static [Instrument] {
    Catalog::embedded().instruments()
}

/// Any JSON value, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-10i64..20).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z0-9 ]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z0-9]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// For instrument `k`: each item absent, null, or one of its option values (`choice` picks which).
fn valid_answers(inst: &Instrument, choices: &[(u8, usize)]) -> Map<String, Value> {
    let mut m = Map::new();
    for (i, item) in inst.definition().items.iter().enumerate() {
        let (mode, pick) = choices[i % choices.len()];
        let values = inst.option_values(i);
        match mode % 4 {
            0 => {}
            1 => {
                m.insert(item.id.to_string(), Value::Null);
            }
            _ => {
                m.insert(item.id.to_string(), Value::from(values[pick % values.len()]));
            }
        }
    }
    m
}

fn all_answered(inst: &Instrument, picks: &[usize]) -> Map<String, Value> {
    let mut m = Map::new();
    for (i, item) in inst.definition().items.iter().enumerate() {
        let values = inst.option_values(i);
        m.insert(item.id.to_string(), Value::from(values[picks[i % picks.len()] % values.len()]));
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_answers_and_context_never_panic(k in 0usize..64, answers in prop::collection::btree_map("[0-9]{1,2}|[a-z]{1,3}", any_json(), 0..12), context in any_json()) {
        let inst = &instruments()[k % instruments().len()];
        let answers: Map<String, Value> = answers.into_iter().collect();
        if let Ok(r) = inst.score(&answers, Some(&context)) {
            prop_assert_eq!(r.scores.len(), inst.definition().scores.len());
        }
    }

    #[test]
    fn arbitrary_request_text_never_panics(line in ".{0,200}", k in 0usize..64, body in any_json()) {
        let catalog = Catalog::embedded();
        let _ = serde_json::to_string(&score_json(catalog, &line)).expect("outcomes serialise");
        let id = instruments()[k % instruments().len()].id();
        let req = serde_json::json!({"instrument": id, "answers": body.clone(), "context": body});
        let _ = serde_json::to_string(&score_json(catalog, &req.to_string())).expect("outcomes serialise");
    }

    #[test]
    fn arbitrary_definitions_never_panic_the_loader(text in ".{0,300}", k in 0usize..64, path_picks in prop::collection::vec(0usize..1000, 1..4), replacement in any_json()) {
        let _ = validate_definition(&text);
        // Mutate a real definition at a random place: the loader reports problems, never panics.
        let inst = &instruments()[k % instruments().len()];
        let mut def: Value = serde_json::to_value(inst.definition()).expect("definitions serialise");
        let mut pointer = String::new();
        let mut node = &def;
        for p in path_picks {
            let (step, next) = match node {
                Value::Object(o) if !o.is_empty() => { let (k, v) = o.iter().nth(p % o.len()).expect("entry"); (k.replace('~', "~0").replace('/', "~1"), v) }
                Value::Array(a) if !a.is_empty() => ((p % a.len()).to_string(), &a[p % a.len()]),
                _ => break,
            };
            pointer = format!("{pointer}/{step}");
            node = next;
        }
        *def.pointer_mut(&pointer).expect("the pointer was just walked") = replacement;
        let _ = validate_definition(&def.to_string());
    }

    /// `Group::contributions` holds everything a statistic reads: when one member's answers change
    /// and their contribution to a statistic does not, that statistic of the group does not change
    /// either (the poll server's release rule relies on it).
    #[test]
    fn a_statistic_changes_only_with_some_members_contribution_to_it(
        k in 0usize..64,
        others in prop::collection::vec(prop::collection::vec((any::<u8>(), any::<usize>()), 1..20), 1..5),
        before in prop::collection::vec((any::<u8>(), any::<usize>()), 1..40),
        after in prop::collection::vec((any::<u8>(), any::<usize>()), 1..40),
    ) {
        let inst = &instruments()[k % instruments().len()];
        let (a, b) = (valid_answers(inst, &before), valid_answers(inst, &after));
        let stats = |mine: &Map<String, Value>| {
            let mut g = Group::new(inst, 1).expect("group");
            for o in others.iter().map(|c| valid_answers(inst, c)).chain([mine.clone()]) {
                g.add_json(&o).expect("valid answers");
            }
            serde_json::to_value(g.finish()).expect("json")
        };
        let (sa, sb) = (stats(&a), stats(&b));
        let ca = Group::contributions(inst, &inst.answer_sheet(&a).expect("sheet"));
        let cb = Group::contributions(inst, &inst.answer_sheet(&b).expect("sheet"));
        let paths: Vec<(&str, &str)> = inst.score_ids().map(|id| ("scores", id)).chain(inst.item_ids().map(|id| ("items", id))).collect();
        prop_assert_eq!(paths.len(), ca.len());
        for (k, (part, id)) in paths.iter().enumerate() {
            if ca[k] == cb[k] {
                prop_assert_eq!(&sa[*part][*id], &sb[*part][*id], "{}.{} changed with the same contribution", inst.id(), id);
            }
        }
    }

    #[test]
    fn every_value_lies_in_its_range(k in 0usize..64, choices in prop::collection::vec((any::<u8>(), any::<usize>()), 1..70)) {
        let inst = &instruments()[k % instruments().len()];
        let answers = valid_answers(inst, &choices);
        let r = inst.score(&answers, None).expect("option values are valid");
        for (outcome, def) in r.scores.iter().zip(inst.definition().scores.iter()) {
            if let Some(v) = outcome.value {
                prop_assert!(v >= def.range[0] - 1e-9 && v <= def.range[1] + 1e-9, "{}.{} = {v} outside {:?}", inst.id(), def.id, def.range);
                if !def.bands.is_empty() { prop_assert!(outcome.band.is_some()); }
            } else {
                prop_assert!(outcome.band.is_none() && outcome.cutoffs.is_empty());
            }
        }
    }

    #[test]
    fn reversed_items_mirror(k in 0usize..64, picks in prop::collection::vec(any::<usize>(), 1..70), which in any::<usize>()) {
        let inst = &instruments()[k % instruments().len()];
        let def = inst.definition();
        for (s, score) in def.scores.iter().enumerate() {
            if score.method != Method::Sum { continue; }
            let item_id = &score.items[which % score.items.len()];
            let reversed = score.reverse.as_ref().is_some_and(|r| r.items.contains(item_id));
            let i = inst.item_index(item_id).expect("item");
            let values = inst.option_values(i);
            let (lo, hi) = (*values.iter().min().expect("options"), *values.iter().max().expect("options"));
            let mut answers = all_answered(inst, &picks);
            answers.insert(item_id.to_string(), lo.into());
            let at_lo = inst.score(&answers, None).expect("valid").scores[s].value;
            answers.insert(item_id.to_string(), hi.into());
            let at_hi = inst.score(&answers, None).expect("valid").scores[s].value;
            if let (Some(a), Some(b)) = (at_lo, at_hi) {
                // Moving an item from its lowest to its highest option moves the sum by the full
                // span: up for a plain item, down by the same amount for a reversed one.
                let span = (hi - lo) as f64;
                prop_assert_eq!(b - a, if reversed { -span } else { span }, "{}.{} item {}", inst.id(), score.id, item_id);
            }
        }
    }

    #[test]
    fn missing_data_rules_hold(k in 0usize..64, picks in prop::collection::vec(any::<usize>(), 1..70), drop_mask in any::<u128>()) {
        let inst = &instruments()[k % instruments().len()];
        let def = inst.definition();
        let mut answers = all_answered(inst, &picks);
        for (i, item) in def.items.iter().enumerate() {
            if drop_mask >> (i % 128) & 1 == 1 { answers.remove(item.id.as_ref()); }
        }
        let r = inst.score(&answers, None).expect("valid");
        let invalid_form = def.flags.iter().any(|f| f.invalidates_scores && r.has_flag(&f.id));
        for (outcome, score) in r.scores.iter().zip(def.scores.iter()) {
            if score.items.is_empty() { continue; }
            let answered: Vec<f64> = score.items.iter().filter_map(|id| answers.get(id.as_ref())).filter_map(Value::as_f64).collect();
            let missing = score.items.len() - answered.len();
            let max = score.missing.max_missing.unwrap_or(0) as usize;
            let skip_rules = def.skip_logic.is_some();
            match score.missing.rule {
                // Missing answers are never zeros: any gap leaves the score null (unless skipped by rule).
                MissingRule::NoneAllowed if missing > 0 && !skip_rules => prop_assert!(outcome.value.is_none()),
                MissingRule::Prorate | MissingRule::MeanOfAnswered => {
                    if missing > max || invalid_form {
                        prop_assert!(outcome.value.is_none(), "{}.{}: {missing} missing > {max}", inst.id(), score.id);
                    } else if score.reverse.is_none() {
                        let sum: f64 = answered.iter().sum();
                        let want = if score.method == Method::Mean { sum / answered.len() as f64 } else { sum * score.items.len() as f64 / answered.len() as f64 };
                        prop_assert!((outcome.value.expect("scored") - want).abs() < 1e-9);
                    }
                }
                _ => {}
            }
            if missing > 0 && !skip_rules { prop_assert!(!r.complete); }
        }
    }
}
