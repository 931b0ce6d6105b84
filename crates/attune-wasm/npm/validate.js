// `import { validateDefinition } from "attune/validate"` in browsers and bundlers: checks an
// instrument definition and reports every problem with its JSON path. Its own module (the core's
// JSON reader), loaded only by those who import it; the scoring entry carries no JSON parser.
import init from "./pkg-validate/attune_wasm.js";

await init({ module_or_path: new URL("./pkg-validate/attune_wasm_bg.wasm", import.meta.url) });

export { validateDefinition } from "./pkg-validate/attune_wasm.js";
export { isAttuneError } from "./errors.js";
