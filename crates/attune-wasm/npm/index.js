// Entry point for browsers and bundlers: instantiates the module from the .wasm file next to this
// one (bundlers such as Vite copy it and rewrite the URL), then exports the API.
import init, * as wasm from "./pkg/attune_wasm.js";

await init({ module_or_path: new URL("./pkg/attune_wasm_bg.wasm", import.meta.url) });

export { score, scoreMany, catalog, instrument, groupStats } from "./pkg/attune_wasm.js";
export { isAttuneError } from "./errors.js";

/** The version of Attune's scoring core. */
export const version = wasm.version();
