// Types for `import { questionnaire, toFhir, fromQuestionnaireResponse } from "attune/fhir"`
// (generated from the Rust types by wasm-bindgen and tsify, re-exported without the loader).
export { questionnaire, toFhir, fromQuestionnaireResponse } from "./pkg-fhir/attune_wasm.js";
export type {
  Bundle,
  FhirOptions,
  FhirResource,
  Questionnaire,
  QuestionnaireOptions,
  QuestionnaireResponse,
  ReadingOptions,
  ScoreRequest,
  ScoreResult,
} from "./pkg-fhir/attune_wasm.js";
export { isAttuneError } from "./index.js";
