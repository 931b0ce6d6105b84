// Entry point for Node.js (20+): reads the .wasm file from disk, then exports the same API as index.js.
import { readFile } from "node:fs/promises";
import { initSync, version as coreVersion } from "./pkg/attune_wasm.js";

initSync({ module: await readFile(new URL("./pkg/attune_wasm_bg.wasm", import.meta.url)) });

export { score, scoreMany, catalog, instrument, groupStats } from "./pkg/attune_wasm.js";
export { isAttuneError } from "./errors.js";

/** The version of Attune's scoring core. */
export const version = coreVersion();
