//! `scoreMany`: two lanes, one answer.
//!
//! The JSON lane (`JSON.stringify`, `attune-core`'s request parser, `JSON.parse`) is exact for any
//! input but spends most of its time turning text into objects and back. Batches are mostly plain
//! requests, so `js/batch.js` writes each plain one as numbers (item, value pairs), Rust checks and
//! scores it with the same core calls the JSON lane ends in, and writes the result as numbers that
//! `js/batch.js` turns into the same objects `JSON.parse` would build. A request the fast lane does
//! not take, or one it cannot score (an unknown instrument or item, a value that is not an option,
//! a required context), goes through the JSON lane, so every error is the canonical one.

use attune_core::{Catalog, Instrument, Outcome, ScoreError, ScoreResult};
use js_sys::{Array, Int32Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::{from_json, json_text};

#[wasm_bindgen(module = "/js/batch.js")]
extern "C" {
    #[wasm_bindgen(js_name = encodeRequests)]
    fn encode_requests(requests: &Array, start: u32, end: u32) -> Array;
    #[wasm_bindgen(js_name = decodeResults)]
    fn decode_results(
        out: &Array,
        start: u32,
        count: u32,
        codes: &[i32],
        values: &[f64],
        schemas: &JsValue,
        slow: &JsValue,
    );
}

/// Requests per round trip: large enough to amortise the calls, small enough to bound memory.
const CHUNK: u32 = 4096;

/// The ids a result refers to by position, for `decodeResults`.
#[derive(Serialize)]
struct Schema<'a> {
    id: &'a str,
    scores: Vec<ScoreSchema<'a>>,
    flags: Vec<&'a str>,
}

#[derive(Serialize)]
struct ScoreSchema<'a> {
    id: &'a str,
    bands: Vec<&'a str>,
    cutoffs: Vec<&'a str>,
}

fn schema(inst: &Instrument) -> Schema<'_> {
    let d = inst.definition();
    Schema {
        id: inst.id(),
        scores: d
            .scores
            .iter()
            .map(|s| ScoreSchema {
                id: &s.id,
                bands: s.bands.iter().map(|b| b.id.as_ref()).collect(),
                cutoffs: s.cutoffs.iter().map(|c| c.id.as_ref()).collect(),
            })
            .collect(),
        flags: d.flags.iter().map(|f| f.id.as_ref()).collect(),
    }
}

/// One instrument named in a chunk: where its item ids are, by item number.
struct Named<'c> {
    inst: &'c Instrument,
    items: Vec<Option<&'c str>>,
}

impl<'c> Named<'c> {
    fn new(inst: &'c Instrument) -> Named<'c> {
        let mut items = Vec::new();
        for item in inst.definition().items.iter() {
            // Item ids are item numbers; an id of another shape is only reachable by the JSON lane.
            if let Ok(n) = item.id.parse::<usize>() {
                if n.to_string() == item.id && n < 4096 {
                    if items.len() <= n {
                        items.resize(n + 1, None);
                    }
                    items[n] = Some(item.id.as_ref());
                }
            }
        }
        Named { inst, items }
    }

    /// Scores `(item, value)` pairs, or `None` when the JSON lane must answer.
    fn score(&self, pairs: &[i32]) -> Option<ScoreResult<'c>> {
        let mut ids = Vec::with_capacity(pairs.len() / 2);
        for pair in pairs.chunks_exact(2) {
            let id = usize::try_from(pair[0]).ok().and_then(|n| self.items.get(n).copied().flatten())?;
            ids.push((id, i64::from(pair[1])));
        }
        let sheet = self.inst.answer_sheet_from_pairs(ids).ok()?;
        let context = self.inst.context_values(None).ok()?;
        Some(self.inst.score_sheet(&sheet, &context))
    }
}

fn position<T>(list: &[T], found: &str, id: impl Fn(&T) -> &str) -> i32 {
    list.iter().position(|x| id(x) == found).map_or(-1, |k| k as i32)
}

/// Appends a result's encoding (see `decodeResults` in js/batch.js).
fn encode_result(name: i32, inst: &Instrument, r: &ScoreResult<'_>, codes: &mut Vec<i32>, values: &mut Vec<f64>) {
    let d = inst.definition();
    codes.push(name);
    codes.push(i32::from(r.complete));
    for (s, def) in r.scores.iter().zip(d.scores.iter()) {
        // As the JSON lane writes it: non-finite is null, and zero has no sign.
        values.push(match s.value {
            Some(v) if v.is_finite() => v + 0.0,
            _ => f64::NAN,
        });
        codes.push(s.band.map_or(-1, |b| position(&def.bands, b, |x| &x.id)));
        codes.push(s.cutoffs.len() as i32);
        codes.extend(s.cutoffs.iter().map(|c| position(&def.cutoffs, c, |x| &x.id)));
    }
    codes.push(r.flags.len() as i32);
    codes.extend(r.flags.iter().map(|f| position(&d.flags, f, |x| &x.id)));
}

/// Scores `requests` (already known to be an array) into a new array of outcomes.
pub(crate) fn score_many(catalog: &Catalog, requests: &Array) -> Result<Array, JsValue> {
    let n = requests.length();
    let out = Array::new_with_length(n);
    let (mut codes, mut values, mut slow) = (Vec::new(), Vec::new(), String::new());
    let mut start = 0;
    while start < n {
        let end = n.min(start + CHUNK);
        let encoded = encode_requests(requests, start, end);
        let input = encoded.get(0).dyn_into::<Int32Array>().map(|a| a.to_vec()).unwrap_or_default();
        let named: Vec<Option<Named<'_>>> = encoded
            .get(1)
            .dyn_into::<Array>()
            .map(|names| names.iter().map(|n| n.as_string().and_then(|s| catalog.get(&s)).map(Named::new)).collect())
            .unwrap_or_default();

        codes.clear();
        values.clear();
        slow.clear();
        slow.push('[');
        let mut pos = 0;
        for k in start..end {
            let (name, count) = (input.get(pos).copied().unwrap_or(-1), input.get(pos + 1).copied().unwrap_or(0));
            let pairs = input.get(pos + 2..pos + 2 + 2 * count.max(0) as usize).unwrap_or(&[]);
            pos += 2 + pairs.len();
            let fast = usize::try_from(name)
                .ok()
                .and_then(|i| named.get(i))
                .and_then(Option::as_ref)
                .and_then(|named| Some((named, named.score(pairs)?)));
            match fast {
                Some((named, result)) => encode_result(name, named.inst, &result, &mut codes, &mut values),
                None => {
                    codes.push(-1);
                    if slow.len() > 1 {
                        slow.push(',');
                    }
                    let outcome = match json_text(&requests.get(k), "the request") {
                        Ok(text) => attune_core::score_json(catalog, &text),
                        Err(m) => Outcome::Failed { instrument: None, error: ScoreError::invalid_json(m) },
                    };
                    if let Ok(s) = serde_json::to_string(&outcome) {
                        slow.push_str(&s);
                    }
                }
            }
        }
        slow.push(']');
        let schemas: Vec<Option<Schema<'_>>> = named.iter().map(|n| n.as_ref().map(|n| schema(n.inst))).collect();
        let schemas = from_json(&serde_json::to_string(&schemas).map_err(|e| crate::invalid_json(&e.to_string()))?)?;
        let slow = if slow.len() > 2 { from_json(&slow)? } else { JsValue::NULL };
        decode_results(&out, start, end - start, &codes, &values, &schemas, &slow);
        start = end;
    }
    Ok(out)
}
