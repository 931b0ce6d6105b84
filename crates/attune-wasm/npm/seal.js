// `import { seal, fingerprint } from "attune/seal"`: the sealed intake inbox's sealer (HPKE, RFC 9180:
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM; see docs/inbox.md). Its own small module,
// without the scoring catalog or a JSON parser, loaded only by those who import it.
import init from "./pkg-seal/attune_wasm.js";

await init({ module_or_path: new URL("./pkg-seal/attune_wasm_bg.wasm", import.meta.url) });

export { seal, fingerprint } from "./pkg-seal/attune_wasm.js";
export { isAttuneError } from "./errors.js";
