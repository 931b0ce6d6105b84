// The packed package in Node: scores a PHQ-9, throws typed errors, and agrees with every reference
// vector of the catalog's copy of the clinical reference (ATTUNE_CATALOG_DIR).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  score, scoreMany, catalog, instrument, groupStats, version, isAttuneError,
} from "attune";
import { validateDefinition } from "attune/validate";
import { questionnaire, toFhir, fromQuestionnaireResponse } from "attune/fhir";
import * as scoring from "attune";

const pkg = JSON.parse(readFileSync(new URL("./node_modules/attune/package.json", import.meta.url), "utf8"));
assert.equal(version, pkg.version, "version is the package version");

// A PHQ-9 with item 9 endorsed: total 12, moderate, critical flag raised.
const phq9 = { instrument: "phq9", answers: { 1: 2, 2: 1, 3: 2, 4: 1, 5: 1, 6: 2, 7: 1, 8: 1, 9: 1 } };
assert.deepEqual(score(phq9), {
  instrument: "phq9",
  complete: true,
  scores: { total: { value: 12, band: "moderate", cutoffs: ["positive"] } },
  flags: ["item9_positive"],
});

// Missing answers are never zeros: one item left out is prorated and the form is incomplete.
const partial = score({ instrument: "phq9", answers: { 1: 2, 2: 2, 3: 2, 4: 2, 6: 2, 7: 1, 8: 1, 9: 1 } });
assert.equal(partial.scores.total.value, 14.625);
assert.equal(partial.complete, false);

assert.throws(() => score({ instrument: "phq9", answers: { 1: 9 } }), (e) => {
  assert.ok(e instanceof Error);
  assert.ok(isAttuneError(e));
  assert.equal(e.name, "AttuneError");
  assert.equal(e.code, "invalid_value");
  assert.equal(e.item, "1");
  return true;
});
assert.throws(() => score({ instrument: "nope" }), (e) => isAttuneError(e) && e.code === "unknown_instrument");
assert.equal(isAttuneError(new Error("x")), false);

const many = scoreMany([phq9, { instrument: "gad2", answers: { 1: 7 } }]);
assert.equal(many[0].scores.total.value, 12);
assert.equal(many[1].error.code, "invalid_value");

assert.equal(catalog().length, 22);
assert.equal(catalog({ commercial: true }).length, 19);
assert.equal(instrument("gad7").items.length, 7);
assert.equal(groupStats("ucla3", [{ 1: 1, 2: 1, 3: 2 }, { 1: 2, 2: 2, 3: 2 }, { 1: 3, 2: 2, 3: 3 }]).n, 3);
assert.deepEqual(validateDefinition(readFileSync(new URL("./node_modules/attune/instruments/phq9.json", import.meta.url), "utf8")), []);
assert.equal(validateDefinition("{}")[0].kind, "schema");
// validateDefinition moved to its own entry (0.2.0): the scoring entry has no JSON parser.
assert.equal("validateDefinition" in scoring, false);

// FHIR: the PHQ-9 as a Questionnaire, a result as a Bundle, and the Bundle's response read back.
const q = questionnaire("phq9");
assert.equal(q.resourceType, "Questionnaire");
assert.equal(q.code[0].code, "44249-1");
assert.equal(questionnaire("phq9", { lang: "es" }).language, "es");
const bundle = toFhir(phq9, score(phq9), { authored: "2026-12-05T09:30:00Z", subject: "Patient/p-1" });
assert.equal(bundle.type, "transaction");
const [qr, total, flag] = bundle.entry.map((e) => e.resource);
assert.equal(qr.status, "completed");
assert.equal(total.valueQuantity.value, 12);
assert.equal(total.code.coding[0].code, "44261-6");
assert.equal(flag.interpretation[0].coding[0].code, "AA");
assert.deepEqual(score(fromQuestionnaireResponse(qr)), score(phq9));
assert.throws(() => toFhir(phq9, score(partialRequest())), (e) => isAttuneError(e) && e.code === "invalid_json");
assert.throws(() => toFhir(phq9, undefined, { authored: "yesterday" }), (e) => isAttuneError(e) && /authored/.test(e.message));
assert.throws(
  () => fromQuestionnaireResponse({ resourceType: "QuestionnaireResponse", status: "completed",
    questionnaire: "urn:attune:fhir/Questionnaire/phq9", item: [{ linkId: "99", answer: [{ valueInteger: 1 }] }] }),
  (e) => isAttuneError(e) && e.code === "unknown_item" && e.item === "99",
);
assert.throws(() => questionnaire("nope"), (e) => isAttuneError(e) && e.code === "unknown_instrument");
// A keys-only instrument takes the host's wording (placeholder text for the test), checked as the element checks it.
const hostItems = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [String(i + 1), `Test statement ${i + 1}`]));
const urica = questionnaire("urica", { text: { instrument: "urica", languages: { en: { items: hostItems } } } });
assert.equal(urica.item.find((i) => i.linkId === "5").text, "Test statement 5");
assert.ok(questionnaire("urica").item.every((i) => i.text === undefined));
assert.throws(() => questionnaire("urica", { text: { languages: { en: { items: { 99: "x" } } } } }),
  (e) => isAttuneError(e) && e.code === "invalid_text_pack" && /99/.test(e.message));
function partialRequest() {
  return { instrument: "phq9", answers: { 1: 2 } };
}

// Every reference vector.
const near = (want, got) => {
  if (typeof want === "number" && typeof got === "number") return Math.abs(want - got) <= 1e-9;
  if (Array.isArray(want)) return Array.isArray(got) && want.length === got.length && want.every((w, k) => near(w, got[k]));
  if (want && typeof want === "object") {
    return got && typeof got === "object" && Object.keys(want).length === Object.keys(got).length
      && Object.keys(want).every((k) => near(want[k], got[k]));
  }
  return want === got;
};
const dir = process.env.ATTUNE_CATALOG_DIR;
assert.ok(dir, "ATTUNE_CATALOG_DIR names the catalog (crates/attune-core/instruments)");
let checked = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const def = JSON.parse(readFileSync(join(dir, file), "utf8"));
  for (const v of def.test_vectors ?? []) {
    const request = { instrument: def.id, answers: v.answers };
    if ("context" in v) request.context = v.context;
    let got;
    try {
      got = score(request);
    } catch (e) {
      assert.ok(isAttuneError(e), `${file}: ${v.note}: ${e}`);
      assert.equal(e.code, v.expected.error?.code, `${file}: ${v.note}: threw ${e.code}`);
      checked++;
      continue;
    }
    assert.equal(v.expected.error, undefined, `${file}: ${v.note}: scored, expected an error`);
    for (const [key, want] of Object.entries(v.expected)) {
      if (key === "scores") {
        for (const [s, w] of Object.entries(want)) {
          for (const [f, wv] of Object.entries(w)) {
            assert.ok(near(wv, got.scores[s][f]), `${file}: ${v.note}: ${s}.${f} = ${JSON.stringify(got.scores[s][f])}, want ${JSON.stringify(wv)}`);
          }
        }
      } else {
        assert.ok(near(want, got[key]), `${file}: ${v.note}: ${key}`);
      }
    }
    checked++;
  }
}
assert.equal(checked, 284);
console.log(`node fixture: PHQ-9, errors, API, FHIR and ${checked} reference vectors passed (attune ${version})`);
