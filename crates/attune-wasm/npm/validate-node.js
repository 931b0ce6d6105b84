// `import { validateDefinition } from "attune/validate"` in Node.js (20+): reads the .wasm file from
// disk, then exports the same as validate.js.
import { readFile } from "node:fs/promises";
import { initSync } from "./pkg-validate/attune_wasm.js";

initSync({ module: await readFile(new URL("./pkg-validate/attune_wasm_bg.wasm", import.meta.url)) });

export { validateDefinition } from "./pkg-validate/attune_wasm.js";
export { isAttuneError } from "./errors.js";
