// Types for `import "attune/elements"`: the <attune-questionnaire> element, its properties and the
// `detail` of its events.

/** Answers keyed by item id ("1", "2", ...); an unanswered item is absent. */
export type Answers = Record<string, number>;

/** A score of a result: `value` is null when the missing-data rule allows none. */
export interface ResultScore {
  value: number | null;
  band: string | null;
  cutoffs: string[];
}

/** A result, as `score()` returns it. */
export interface QuestionnaireResult {
  instrument: string;
  complete: boolean;
  scores: Record<string, ResultScore>;
  flags: string[];
}

/** Wording of one language in a text pack. */
export interface TextPackLanguage {
  /** The stem shown above the items. */
  instructions?: string;
  /** Item wording by item id. */
  items?: Record<string, string>;
  /** Option labels by response set id, then by option value (`{ agree5: { "1": "Strongly disagree" } }`). */
  options?: Record<string, Record<string, string>>;
  /** An attribution line in this language. */
  attribution?: string;
  /** Score labels by score id (`{ total: "Total" }`), shown with the results. */
  scores?: Record<string, string>;
  /** Band labels by score id, then band id (`{ total: { mild: "Leve" } }`). */
  bands?: Record<string, Record<string, string>>;
  /** Cut-off labels by score id, then cut-off id. */
  cutoffs?: Record<string, Record<string, string>>;
  /** Flag labels by flag id. */
  flags?: Record<string, string>;
}

/** Host-supplied wording for an instrument whose text Attune does not bundle. */
export interface TextPack {
  /** The instrument it is for; checked when given. */
  instrument?: string;
  /** Licence terms under which the wording is used; the element shows them. */
  terms?: string;
  /** Where the wording comes from. */
  source?: string;
  /** Wording by language tag ("en", "es"). */
  languages: Record<string, TextPackLanguage>;
}

/** The crisis panel's wording. Every field is optional; the rest stays the default. */
export interface CrisisText {
  title?: string;
  body?: string;
  /** A contact line, e.g. "Call or text 988". */
  contact?: string;
  /** A tel:, sms:, mailto: or https: link for the contact. */
  href?: string;
}

/** `element.response`, and (as JSON) the element's value in a form. */
export interface QuestionnaireResponse {
  instrument: string;
  /** Attune's version (catalog and scoring core). */
  version: string;
  answers: Answers;
  complete: boolean;
  result: QuestionnaireResult;
}

export interface ChangeDetail {
  instrument: string;
  answers: Answers;
  progress: { answered: number; total: number };
  complete: boolean;
}

export interface CompleteDetail {
  /**
   * With the `fhir` attribute: the response as a FHIR R4 transaction Bundle (`attune/fhir`, imported
   * only then; `fhir-subject` and `fhir-base` attributes fill its subject and canonical base), or
   * `null` when it could not be made (an `attune-error` says why; the answers and result are here).
   */
  fhir?: import("./fhir.js").Bundle | null;
  instrument: string;
  /** Attune's version (catalog and scoring core). */
  version: string;
  /** Interface language. */
  lang: string;
  answers: Answers;
  result: QuestionnaireResult;
  /** ISO 8601: the first answer of this session. */
  started: string;
  /** ISO 8601: when the client finished. */
  finished: string;
}

export interface CriticalDetail {
  instrument: string;
  /** The critical flags just raised, e.g. ["item9_positive"]. */
  flags: string[];
  answers: Answers;
  result: QuestionnaireResult;
}

export type ElementErrorCode =
  | "missing_instrument"
  | "unknown_instrument"
  | "text_required"
  | "wording_unavailable"
  | "fhir_unavailable"
  | "extras_unavailable"
  | "invalid_action"
  /** `inbox` is not an https URL (http only for localhost), `inbox-key` is not a fingerprint, or `action` is set too. */
  | "invalid_inbox"
  /** The inbox's key is not the one `inbox-key` pins: nothing was sealed or sent. */
  | "key_mismatch"
  | "invalid_save"
  | "save_unavailable"
  | "queue_unavailable"
  | "invalid_text_pack"
  | "invalid_context"
  | "unknown_item"
  | "invalid_value"
  | "invalid_json";

export interface ErrorDetail {
  code: ElementErrorCode;
  message: string;
  instrument: string | null;
}

/** `attune-queued`: a completed response is stored on this device and waits to be sent. */
export interface QueuedDetail {
  /** The response's idempotency key (its `Idempotency-Key` header on every attempt). */
  key: string;
  instrument: string;
  /** Attempts made so far. */
  attempts: number;
  /** ISO 8601: the next automatic attempt, or null while offline (sent when back online). */
  retryAt: string | null;
}

/** `attune-delivered`: the endpoint accepted the response (2xx). */
export interface DeliveredDetail {
  key: string;
  instrument: string;
  /** 201 for a new response, 200 when the endpoint had it already (a retry), or another 2xx. */
  status: number;
}

/** `attune-delivery-error`: one attempt failed, or the response could not be queued. */
export interface DeliveryErrorDetail {
  key: string;
  instrument: string;
  /** `network` (no answer, timeout, refused redirect), `http_status` (a non-2xx answer), `queue_unavailable`, or,
   * with `inbox`, `key_mismatch` (the inbox's key is not the pinned one: nothing sent, not retried). */
  code: "network" | "http_status" | "queue_unavailable" | "key_mismatch";
  /** The HTTP status, or null when there was none. */
  status: number | null;
  message: string;
  /** Whether it will be sent again by itself (false for a 4xx other than 408, 425 and 429: sent again on the next page load). */
  willRetry: boolean;
}

export interface AttuneQuestionnaireElement extends HTMLElement {
  /** Host-supplied wording (instruments whose text is not bundled, or other languages). */
  textPack: TextPack | null;
  /** The answers so far; setting prefills or resumes and starts over. Throws an AttuneError for answers that do not fit. */
  answers: Answers | null;
  /** The crisis panel's wording. Throws an AttuneError for unknown fields or an unsafe link. */
  crisis: CrisisText | null;
  /** Context some rules read (AUDIT-C: `{ sex: "female" }`). Throws `invalid_context` when not accepted. */
  context: Record<string, string> | null;
  /** The current answers and result, or null while the element shows an error. */
  readonly response: QuestionnaireResponse | null;
  /** Clears every answer (and progress saved with `save`) and starts again. */
  reset(): void;
  /**
   * The answers so far as an opaque string, for a host that keeps progress itself; setting it
   * resumes there. Throws an AttuneError `invalid_json` for a token of another instrument.
   */
  resumeToken: string | null;
  // Form participation, as for inputs (`name`, `required`, `disabled` attributes).
  readonly name: string | null;
  readonly form: HTMLFormElement | null;
  readonly validity: ValidityState;
  readonly validationMessage: string;
  readonly willValidate: boolean;
  checkValidity(): boolean;
  reportValidity(): boolean;
}

export interface AttuneQuestionnaireEventMap extends HTMLElementEventMap {
  "attune-change": CustomEvent<ChangeDetail>;
  "attune-complete": CustomEvent<CompleteDetail>;
  "attune-critical": CustomEvent<CriticalDetail>;
  "attune-error": CustomEvent<ErrorDetail>;
  "attune-queued": CustomEvent<QueuedDetail>;
  "attune-delivered": CustomEvent<DeliveredDetail>;
  "attune-delivery-error": CustomEvent<DeliveryErrorDetail>;
}

declare global {
  interface HTMLElementTagNameMap {
    "attune-questionnaire": AttuneQuestionnaireElement;
  }
  interface HTMLElementEventMap {
    "attune-change": CustomEvent<ChangeDetail>;
    "attune-complete": CustomEvent<CompleteDetail>;
    "attune-critical": CustomEvent<CriticalDetail>;
    "attune-error": CustomEvent<ErrorDetail>;
    "attune-queued": CustomEvent<QueuedDetail>;
    "attune-delivered": CustomEvent<DeliveredDetail>;
    "attune-delivery-error": CustomEvent<DeliveryErrorDetail>;
  }
}

// The same API as the scoring entry, from the elements' own module.
export { isAttuneError } from "./index.js";
export type { AttuneError } from "./index.js";

/** The tags this import defined (empty when they were already defined). */
export declare const defined: string[];
