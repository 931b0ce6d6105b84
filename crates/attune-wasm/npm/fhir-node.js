// `import { questionnaire, toFhir, fromQuestionnaireResponse } from "attune/fhir"` in Node.js (20+):
// reads the .wasm file from disk, then exports the same as fhir.js.
import { readFile } from "node:fs/promises";
import { initSync } from "./pkg-fhir/attune_wasm.js";

initSync({ module: await readFile(new URL("./pkg-fhir/attune_wasm_bg.wasm", import.meta.url)) });

export { questionnaire, toFhir, fromQuestionnaireResponse } from "./pkg-fhir/attune_wasm.js";
export { isAttuneError } from "./errors.js";
