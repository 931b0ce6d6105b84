// Types for `attune/text/non-commercial`: verified wording for instruments whose licence allows
// only non-commercial use. Opt in only if your use is non-commercial; the element shows the terms.
import type { TextPack } from "../elements.js";

export declare const audit: TextPack;
export declare const auditc: TextPack;
export declare const dast10: TextPack;
declare const packs: { audit: TextPack; auditc: TextPack; dast10: TextPack };
export default packs;
