// Pure JavaScript shared by both entry points; it never calls into WebAssembly.

/**
 * Whether `e` is an error thrown by Attune for input it cannot accept.
 * @param {unknown} e
 * @returns {e is import("./index.js").AttuneError}
 */
export function isAttuneError(e) {
  return e instanceof Error && e.name === "AttuneError" && typeof e.code === "string";
}
