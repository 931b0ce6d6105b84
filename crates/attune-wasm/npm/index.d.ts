// The API of `attune`: functions and types are generated from the Rust crate `attune-wasm` by
// wasm-bindgen and tsify (pkg/attune_wasm.d.ts); this file re-exports them without the loader.
export { score, scoreMany, catalog, instrument, groupStats } from "./pkg/attune_wasm.js";
export type * from "./pkg/attune_wasm.js";
import type { AttuneError } from "./pkg/attune_wasm.js";

/** The version of Attune's scoring core. */
export declare const version: string;

/** Whether `e` is an error thrown by Attune for input it cannot accept. */
export declare function isAttuneError(e: unknown): e is AttuneError;
