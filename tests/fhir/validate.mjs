// Validates FHIR R4 resources with FHIR.js (the `fhir` package: R4 structure definitions and value
// sets, offline). Arguments: JSON Lines files, one resource per line (Bundles are validated with every
// resource in them). Fails on any error, and on any warning other than a code outside a value set
// that R4 binds only as an example or as extensible (Observation.code and component.code: Attune's own codes, and LOINC
// codes FHIR.js's bundled subset does not list; Observation.interpretation: Attune's band codes, and
// v3 `AA`, which FHIR.js reports only because its bundled value sets lack observation-interpretation).
// Prints what it counted.
//
//   node fhir/validate.mjs target/fhir/questionnaires.jsonl target/fhir/bundles.jsonl

import { readFileSync } from "node:fs";
import fhirPackage from "fhir";

const { Fhir } = fhirPackage;
const fhir = new Fhir();

// Example or extensible bindings in R4: a code outside them is allowed.
const openBindings = [
  /^Observation\.code$/,
  /^Observation\.component\[\d+\]\.code$/,
  /^Observation\.interpretation\[\d+\]$/,
  /^Questionnaire\.code\[\d+\]$/,
];

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node fhir/validate.mjs FILE.jsonl...");
  process.exit(2);
}

// The validator must catch what it is here for: a response without its status and an item without
// its linkId.
const probe = fhir.validate({ resourceType: "QuestionnaireResponse", item: [{ answer: [{ valueInteger: 1 }] }] });
if (probe.valid || probe.messages.filter((m) => m.severity === "error").length < 2) {
  console.error("FHIR.js accepted a QuestionnaireResponse without status or linkId: it is not validating");
  process.exit(1);
}

// A defect of FHIR.js 4.12.0: it reports `answer[x]` missing for an `enableWhen` whose answer is
// `answerBoolean: false` (a falsy value read as absent; `true` passes). R4 requires `exists` to take
// a boolean, and `false` is the one Attune writes ("asked while item N is unanswered"). Only that
// exact case is let through: the element at the location must hold `answerBoolean: false`.
function falseBooleanAnswer(resource, m) {
  if (m.message !== "Missing property" || !/\.enableWhen\[\d+\]\.answer\[x\]$/.test(m.location)) return false;
  let node = m.resourceId.startsWith("Bundle.entry[") ? null : resource;
  if (!node) return false;
  for (const step of m.location.split(".").slice(1, -1)) {
    const [, name, index] = step.match(/^(\w+)(?:\[(\d+)\])?$/) ?? [];
    node = node?.[name];
    if (index !== undefined) node = node?.[Number(index)];
  }
  return node?.operator === "exists" && node.answerBoolean === false;
}

const counts = new Map();
let fhirJsDefect = 0;
const warnings = new Map();
const failures = [];
for (const file of files) {
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
  lines.forEach((line, k) => {
    const resource = JSON.parse(line);
    const types = resource.resourceType === "Bundle" ? resource.entry.map((e) => e.resource.resourceType) : [];
    for (const type of [resource.resourceType, ...types]) counts.set(type, (counts.get(type) ?? 0) + 1);
    const result = fhir.validate(resource, { errorOnUnexpected: true });
    let errors = 0;
    for (const m of result.messages) {
      const where = `${file}:${k + 1} ${m.resourceId} ${m.location}`;
      if (m.severity === "error" && falseBooleanAnswer(resource, m)) {
        fhirJsDefect++;
      } else if (m.severity === "error") {
        errors++;
        failures.push(`${where}: ${m.severity}: ${m.message}`);
      } else if (m.severity === "warning") {
        if (openBindings.some((re) => re.test(m.location)) && /not found in value set/.test(m.message)) {
          const kind = `${m.location.replace(/\[\d+\]/g, "[]")}: ${m.message.replace(/"[^"]*"/, "CODE")}`;
          warnings.set(kind, (warnings.get(kind) ?? 0) + 1);
        } else {
          failures.push(`${where}: warning: ${m.message}`);
        }
      }
    }
    if (!result.valid && errors === 0 && result.messages.every((m) => m.severity !== "error")) {
      failures.push(`${file}:${k + 1}: invalid without an error message`);
    }
  });
}

const total = [...counts.values()].reduce((a, b) => a + b, 0);
console.log(
  `FHIR.js R4: ${total} resources validated (${[...counts]
    .map(([t, n]) => `${n} ${t}`)
    .join(", ")})`,
);
for (const [kind, n] of warnings) console.log(`  allowed (open binding) x${n}: ${kind}`);
if (fhirJsDefect > 0) console.log(`  allowed (FHIR.js reads answerBoolean false as missing) x${fhirJsDefect}: enableWhen exists false`);
if (failures.length > 0) {
  console.error(`${failures.length} problems:`);
  for (const f of failures.slice(0, 50)) console.error(`  ${f}`);
  process.exit(1);
}
