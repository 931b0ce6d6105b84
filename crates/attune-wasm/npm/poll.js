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
// <attune-questionnaire fhir> imports attune/fhir when it completes.
export const defined = defineElements(wording, async (h, d) => (await import("./fhir-element.js")).bundle(h, d));
