//! One lane for `score` and `scoreMany`: every request goes in here and every result comes out
//! through one encoder (the elements' events use the same encoder for their `result`).
//!
//! Batches are mostly plain requests, so `js/lane.js` writes each plain one as numbers (item, value
//! pairs) and Rust checks and scores it with the core's typed calls. Any other request (a context, an
//! odd key, a fraction, a string value, a getter that throws...) is made plain by `normalize` and read
//! part by part (`read.rs`), ending in the same core calls. A result is written as numbers that
//! `decodeResults` turns into the objects of the documented shape, with ids from a per-instrument
//! schema sent once; a request that cannot be scored becomes a failure in place.

#[cfg(feature = "scoring")]
use attune_core::{Catalog, ScoreError};
use attune_core::{Instrument, ScoreResult};
use js_sys::Array;
#[cfg(feature = "scoring")]
use js_sys::Int32Array;
use wasm_bindgen::prelude::*;
#[cfg(feature = "scoring")]
use wasm_bindgen::JsCast;

use crate::js::{object, strings};
#[cfg(feature = "scoring")]
use crate::read;

#[cfg(feature = "scoring")]
#[wasm_bindgen(module = "/js/lane.js")]
extern "C" {
    #[wasm_bindgen(js_name = encodeRequests)]
    fn encode_requests(requests: &Array, start: u32, end: u32) -> Array;
    #[wasm_bindgen(js_name = hasSchema)]
    fn has_schema(index: u32) -> bool;
    #[wasm_bindgen(js_name = setSchema)]
    fn set_schema(index: u32, schema: &JsValue);
    #[wasm_bindgen(js_name = decodeResults)]
    fn decode_results(out: &Array, start: u32, count: u32, codes: &[i32], values: &[f64], failures: &Array);
}

#[cfg(feature = "elements")]
#[wasm_bindgen(module = "/js/plain.js")]
extern "C" {
    #[wasm_bindgen(js_name = decodeResult)]
    fn decode_result(codes: &[i32], values: &[f64], schema: &JsValue) -> JsValue;
}

#[cfg(feature = "scoring")]
/// Requests per round trip: large enough to amortise the calls, small enough to bound memory.
const CHUNK: u32 = 4096;

/// The ids a result refers to by position: `{ id, scores: [{ id, bands, cutoffs }], flags }`.
fn schema(inst: &Instrument) -> JsValue {
    let scores: Array = inst
        .score_ids()
        .enumerate()
        .map(|(k, id)| {
            object(&[
                ("id", &JsValue::from_str(id)),
                ("bands", &strings(inst.band_ids(k))),
                ("cutoffs", &strings(inst.cutoff_ids(k))),
            ])
        })
        .collect();
    object(&[("id", &JsValue::from_str(inst.id())), ("scores", &scores), ("flags", &strings(inst.flag_ids()))])
}

#[cfg(feature = "scoring")]
/// One instrument named by plain requests of a chunk: its item ids by item number.
struct Named<'c> {
    index: usize,
    inst: &'c Instrument,
    items: Vec<Option<&'c str>>,
}

#[cfg(feature = "scoring")]
impl<'c> Named<'c> {
    fn new(catalog: &'c Catalog, id: &str) -> Option<Named<'c>> {
        let index = catalog.position(id)?;
        let inst = &catalog.instruments()[index];
        let mut items = Vec::new();
        for id in inst.item_ids() {
            // Item ids are item numbers; an id of another shape is read by the general lane.
            if let Ok(n) = id.parse::<usize>() {
                if n.to_string() == id && n < 4096 {
                    if items.len() <= n {
                        items.resize(n + 1, None);
                    }
                    items[n] = Some(id);
                }
            }
        }
        Some(Named { index, inst, items })
    }

    /// Scores `(item, value)` pairs, or `None` when the general lane must answer (its error is the
    /// canonical one).
    fn score(&self, pairs: &[i32]) -> Option<ScoreResult<'c>> {
        let mut ids = Vec::with_capacity(pairs.len() / 2);
        for pair in pairs.chunks_exact(2) {
            let id = usize::try_from(pair[0]).ok().and_then(|n| self.items.get(n).copied().flatten())?;
            ids.push((id, i64::from(pair[1])));
        }
        let sheet = self.inst.answer_sheet_from_pairs(ids).ok()?;
        let context = self.inst.context_values_with(|_| attune_core::ContextInput::Absent).ok()?;
        Some(self.inst.score_sheet(&sheet, &context))
    }
}

fn position<'a>(mut ids: impl Iterator<Item = &'a str>, found: &str) -> i32 {
    ids.position(|id| id == found).map_or(-1, |k| k as i32)
}

/// Appends a result's encoding (see `decodeResult` in js/plain.js): complete, then per score its
/// value (in `values`), band, cut-offs, then the flags, each id by its position in the schema.
fn encode(inst: &Instrument, r: &ScoreResult<'_>, codes: &mut Vec<i32>, values: &mut Vec<f64>) {
    codes.push(i32::from(r.complete));
    for (k, s) in r.scores.iter().enumerate() {
        // As JSON writes it: non-finite is null, and zero has no sign.
        values.push(match s.value {
            Some(v) if v.is_finite() => v + 0.0,
            _ => f64::NAN,
        });
        codes.push(s.band.map_or(-1, |b| position(inst.band_ids(k), b)));
        codes.push(s.cutoffs.len() as i32);
        codes.extend(s.cutoffs.iter().map(|c| position(inst.cutoff_ids(k), c)));
    }
    codes.push(r.flags.len() as i32);
    codes.extend(r.flags.iter().map(|f| position(inst.flag_ids(), f)));
}

/// One result as the JavaScript object `score()` returns, for an instrument of the catalog or not.
#[cfg(feature = "elements")]
pub(crate) fn result_object(inst: &Instrument, r: &ScoreResult<'_>) -> JsValue {
    let (mut codes, mut values) = (Vec::new(), Vec::new());
    encode(inst, r, &mut codes, &mut values);
    decode_result(&codes, &values, &schema(inst))
}

/// Appends a result of the catalog's instrument at `index`, its schema sent first if JavaScript
/// does not have it yet.
#[cfg(feature = "scoring")]
fn encode_result(index: usize, inst: &Instrument, r: &ScoreResult<'_>, codes: &mut Vec<i32>, values: &mut Vec<f64>) {
    if !has_schema(index as u32) {
        set_schema(index as u32, &schema(inst));
    }
    codes.push(index as i32);
    encode(inst, r, codes, values);
}

#[cfg(feature = "scoring")]
/// Reads and scores one request that is not plain: `Ok((catalog index, instrument, result))`, or
/// the error with the instrument id when it is known.
fn score_general<'c>(
    catalog: &'c Catalog,
    request: &JsValue,
) -> Result<(usize, ScoreResult<'c>), (Option<String>, ScoreError)> {
    let value = read::plain(request, "the request").map_err(|m| (None, ScoreError::invalid_json(m)))?;
    let req = read::request(&value)?;
    let Some(index) = catalog.position(&req.instrument) else {
        let id = req.instrument.clone();
        return Err((Some(req.instrument), ScoreError::UnknownInstrument { id }));
    };
    let inst = &catalog.instruments()[index];
    let (sheet, context) = req.check(inst).map_err(|e| (Some(req.instrument.clone()), e))?;
    Ok((index, inst.score_sheet(&sheet, &context)))
}

#[cfg(feature = "scoring")]
/// Scores `requests` (an array) into `out`, one outcome per request in order. `failed` receives
/// each request that cannot be scored and returns what stands in its place.
pub(crate) fn score_into(
    catalog: &Catalog,
    requests: &Array,
    out: &Array,
    mut failed: impl FnMut(Option<String>, ScoreError) -> JsValue,
) {
    let n = requests.length();
    let (mut codes, mut values) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < n {
        let end = n.min(start + CHUNK);
        let encoded = encode_requests(requests, start, end);
        let input = encoded.get(0).dyn_into::<Int32Array>().map(|a| a.to_vec()).unwrap_or_default();
        let named: Vec<Option<Named<'_>>> = encoded
            .get(1)
            .dyn_into::<Array>()
            .map(|names| names.iter().map(|n| n.as_string().and_then(|s| Named::new(catalog, &s))).collect())
            .unwrap_or_default();

        codes.clear();
        values.clear();
        let failures = Array::new();
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
                Some((named, result)) => encode_result(named.index, named.inst, &result, &mut codes, &mut values),
                None => match score_general(catalog, &requests.get(k)) {
                    Ok((index, result)) => {
                        encode_result(index, &catalog.instruments()[index], &result, &mut codes, &mut values)
                    }
                    Err((instrument, error)) => {
                        codes.push(-1);
                        failures.push(&failed(instrument, error));
                    }
                },
            }
        }
        decode_results(out, start, end - start, &codes, &values, &failures);
        start = end;
    }
}
