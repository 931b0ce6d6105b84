// `import { questionnaire, toFhir, fromQuestionnaireResponse } from "attune/fhir"` in browsers and
// bundlers: the FHIR R4 mapping (Questionnaires, transaction Bundles of scored responses, and
// QuestionnaireResponses from other systems read as requests). Its own module (a JSON parser and the
// catalog's wording), loaded only by those who import it.
import init from "./pkg-fhir/attune_wasm.js";

await init({ module_or_path: new URL("./pkg-fhir/attune_wasm_bg.wasm", import.meta.url) });

export { questionnaire, toFhir, fromQuestionnaireResponse } from "./pkg-fhir/attune_wasm.js";
export { isAttuneError } from "./errors.js";
