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
// <attune-questionnaire fhir> imports attune/fhir when it completes.
export const defined = defineElements(wording, async (h, d) => (await import("./fhir-element.js")).bundle(h, d));
