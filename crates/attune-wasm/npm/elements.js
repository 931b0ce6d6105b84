// `import "attune/elements"` defines <attune-questionnaire>. It loads its own module (the scoring
// core plus the yew components), separate from the scoring-only entry, so pages that only score
// never download the interface. Importing it twice, or two copies of the package, is harmless.
import init, { defineElements } from "./pkg-elements/attune_wasm.js";
import * as wording from "./wording/index.js";

// Each instrument's wording is a module of its own (`wording/`): the questionnaires already in the
// page start fetching theirs while the element module compiles.
wording.prefetch();
await init({ module_or_path: new URL("./pkg-elements/attune_wasm_bg.wasm", import.meta.url) });

export { isAttuneError } from "./errors.js";

/** The tags this import defined (empty when they were already defined). */
export const defined = defineElements(wording);
