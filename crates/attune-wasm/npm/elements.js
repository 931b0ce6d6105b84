// `import "attune/elements"` defines <attune-questionnaire>, in a module of its own: pages that
// only score never download it. Importing it twice, or two copies of the package, is harmless.
import init, { defineElements } from "./pkg-elements/attune_wasm.js";
import * as wording from "./wording/index.js";

// Each instrument's wording is a module (`wording/`): those of the page's questionnaires are
// fetched while the element module compiles.
wording.prefetch();
await init({ module_or_path: new URL("./pkg-elements/attune_wasm_bg.wasm", import.meta.url) });

export { isAttuneError } from "./errors.js";

/** The tags this import defined (empty when they were already defined). */
// Imported on first use: the FHIR Bundle of <attune-questionnaire fhir>, and saved progress and
// delivery for <attune-questionnaire save> and <attune-questionnaire action>.
export const defined = defineElements(wording, {
  fhir: () => import("./fhir-element.js"),
  extras: () => import("./extras.js"),
});
