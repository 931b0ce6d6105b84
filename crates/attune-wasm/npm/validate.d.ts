// Types for `import { validateDefinition } from "attune/validate"` (generated from the Rust types by
// wasm-bindgen and tsify, re-exported without the loader).
export { validateDefinition } from "./pkg-validate/attune_wasm.js";
export type { Problem, ProblemKind } from "./pkg-validate/attune_wasm.js";
export { isAttuneError } from "./index.js";
