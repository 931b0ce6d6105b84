// `import "attune/poll"` defines <attune-poll-join> and <attune-poll-dashboard> (and
// <attune-questionnaire>, which the join page answers with). Its own module: intake pages that
// import only "attune/elements" never load the poll code. Importing twice is harmless.
import init, { defineElements } from "./pkg-poll/attune_wasm.js";
import * as wording from "./wording/index.js";

// Each instrument's wording is a module of its own (`wording/`): the questionnaires already in the
// page start fetching theirs while the element module compiles.
wording.prefetch();
await init({ module_or_path: new URL("./pkg-poll/attune_wasm_bg.wasm", import.meta.url) });

export { isAttuneError } from "./errors.js";

/** The tags this import defined (empty when they were already defined). */
// Imported on first use: the FHIR Bundle of <attune-questionnaire fhir>, and saved progress and
// delivery for <attune-questionnaire save> and <attune-questionnaire action>.
export const defined = defineElements(wording, {
  fhir: () => import("./fhir-element.js"),
  extras: () => import("./extras.js"),
});
