// The custom element classes. A class that extends HTMLElement has to be JavaScript; everything it
// does is delegated to the Rust object that `mount` returns (src/elements/). Defining is idempotent:
// a second import, or a second copy of the package on the page, leaves the first definition alone.

// One sheet per stylesheet text (the questionnaire's; the poll elements' adds their rules).
const sheets = new Map();
let narrow = null;

function styles(css) {
  let sheet = sheets.get(css);
  if (!sheet) {
    // A constructable stylesheet: no <style> element, no style attribute, so a strict
    // `style-src 'self'` policy is satisfied.
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    sheets.set(css, sheet);
  }
  return sheet;
}

function narrowQuery() {
  narrow ??= matchMedia("(max-width: 40rem)");
  return narrow;
}

// Code loaded only when an element asks for it: `fhir()` imports the package's `fhir-element.js`
// (the FHIR Bundle of a response), `extras()` its `extras.js` (saved progress and delivery).
let loaders = {};
const loading = {}; // name → Promise of the module
const loaded = {}; // name → the module, once it is in
/** Sets the loaders (`defineElements`' second argument). */
export function setLoaders(l) {
  loaders = l ?? {};
}
function load(name) {
  if (!loaders[name]) return Promise.reject(Object.assign(new Error(`${name} is not available in this build`), { code: `${name}_unavailable` }));
  return (loading[name] ??= loaders[name]().then((m) => (loaded[name] = m)));
}

const SYNC = Symbol("attune-sync");

/**
 * Dispatches `name` on `host` with a plain-object detail; bubbles out of the shadow root. The
 * host's form value and validity are brought up to date first. With the `fhir` attribute,
 * `attune-complete` waits for its FHIR Bundle (`detail.fhir`); if that cannot be made the event
 * still comes, with `fhir: null`, after an `attune-error`.
 */
export function emit(host, name, detail) {
  host[SYNC]?.();
  const send = () => host.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail }));
  if (name !== "attune-complete" || !host.hasAttribute("fhir")) return send();
  load("fhir")
    .then((m) => { detail.fhir = m.bundle(host, detail); })
    .catch((e) => {
      detail.fhir = null;
      emit(host, "attune-error", { code: e?.code ?? "fhir_unavailable", message: String(e?.message ?? e), instrument: detail.instrument });
    })
    .finally(send);
}

/** The current time as an ISO 8601 string. */
export function nowIso() {
  return new Date().toISOString();
}

// One formatter per language: at most two decimals, rounded half to even as Rust's formatting
// rounds, no grouping ("14.63" is "14,63" in Spanish).
const formats = new Map();
export function formatNumber(value, lang) {
  let f = formats.get(lang);
  if (!f) {
    f = new Intl.NumberFormat(lang, { maximumFractionDigits: 2, useGrouping: false, roundingMode: "halfEven" });
    formats.set(lang, f);
  }
  return f.format(value);
}

/**
 * Creates the mount point for a new render: a `<div>` in the root's first child, a borderless
 * `<fieldset class="wrap">` that the questionnaire disables with its host. What else the root
 * holds (the saved-progress prompt, the delivery status) stays.
 */
export function mountPoint(root) {
  let wrap = root.querySelector("fieldset.wrap");
  if (!wrap) {
    wrap = document.createElement("fieldset");
    wrap.className = "wrap";
    // Focusable from script only: a form's validation anchor.
    wrap.tabIndex = -1;
    root.prepend(wrap);
  }
  const div = document.createElement("div");
  wrap.replaceChildren(div);
  return div;
}

const INNER = Symbol("attune-inner");

/**
 * The life cycle every Attune element shares: on connection, an open shadow root with the adopted
 * stylesheet, the Rust object from `mount`, the attributes present, then the first render; a move
 * (removed and inserted in the same task) keeps it; a removal destroys it.
 */
export function elementBase(css, observed, mount) {
  return class extends HTMLElement {
    static observedAttributes = [...observed];
    #onMedia = () => this[INNER]?.setNarrow(narrowQuery().matches);

    #language() {
      return this.getAttribute("lang") ?? this.parentElement?.closest("[lang]")?.getAttribute("lang") ?? null;
    }

    connectedCallback() {
      this.upgradeProperties?.();
      if (this[INNER]) return;
      const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
      root.adoptedStyleSheets = [styles(css)];
      const inner = mount(this, root);
      this[INNER] = inner;
      inner.setNarrow(narrowQuery().matches);
      for (const a of observed) inner.attribute(a, a === "lang" ? this.#language() : this.getAttribute(a));
      this.applyProperties?.();
      narrowQuery().addEventListener("change", this.#onMedia);
      inner.connect();
    }

    disconnectedCallback() {
      queueMicrotask(() => {
        if (this.isConnected || !this[INNER]) return;
        narrowQuery().removeEventListener("change", this.#onMedia);
        const inner = this[INNER];
        this[INNER] = null;
        inner.destroy();
        inner.free();
      });
    }

    attributeChangedCallback(name, _old, value) {
      this[INNER]?.attribute(name, name === "lang" && value === null ? this.#language() : value);
    }
  };
}

const QUESTIONNAIRE_PROPS = ["textPack", "answers", "crisis", "context"];
const SETTERS = { textPack: "setTextPack", answers: "setAnswers", crisis: "setCrisis", context: "setContext" };
// Attributes that load extras.js (saved progress, delivery, sealing).
const EXTRAS = ["save", "action", "inbox"];
// Attributes the shell acts on when they change (the value and validity, loading extras.js);
// the others go to the Rust object. `name`, `action-headers` and the like are read when used.
const SHELL = ["required", "fhir", ...EXTRAS];
const VERSION = 1;

// While one element prints, everything else on the page is left off the paper.
let printSheet;
function printAlone(host) {
  printSheet ??= new CSSStyleSheet();
  printSheet.replaceSync("@media print { body *:not(:has([data-attune-print])):not([data-attune-print]) { display: none !important; } }");
  if (!document.adoptedStyleSheets.includes(printSheet)) document.adoptedStyleSheets = [...document.adoptedStyleSheets, printSheet];
  host.setAttribute("data-attune-print", "");
  addEventListener("afterprint", () => host.removeAttribute("data-attune-print"), { once: true });
  print();
}

const codeError = (code, message) => Object.assign(new Error(message), { name: "AttuneError", code });

export function defineQuestionnaire(tag, css, mount) {
  if (customElements.get(tag)) return false;
  const forwarded = ["instrument", "lang", "layout", "results"];

  class AttuneQuestionnaire extends elementBase(css, forwarded, mount) {
    static observedAttributes = [...forwarded, ...SHELL];
    // Takes part in a <form> like an input: value, validity, reset, disabled, state restore.
    static formAssociated = true;
    #props = {};
    #internals = this.attachInternals();
    #disabled = false;
    #extras = null;
    #fhirProblem = null;

    constructor() {
      super();
      this[SYNC] = () => this.#sync();
      // After the browser has focused the validation anchor: on to the first unanswered item.
      this.addEventListener("invalid", () => setTimeout(() => this[INNER]?.seekMissing()));
      // Capture: before the form handles the click (and may re-render that very button as another).
      this.addEventListener("click", (e) => { if (e.composedPath()[0]?.closest?.("button.print")) printAlone(this); }, true);
    }

    connectedCallback() {
      super.connectedCallback();
      const wrap = this.#wrap();
      if (wrap) wrap.disabled = this.#disabled;
      this.#extrasWanted();
      this.#sync();
    }

    disconnectedCallback() {
      super.disconnectedCallback();
      queueMicrotask(() => {
        if (!this.isConnected) { this.#extras?.close(); this.#extras = null; }
      });
    }

    attributeChangedCallback(name, old, value) {
      if (!SHELL.includes(name)) super.attributeChangedCallback(name, old, value);
      if (this.isConnected) { this.#extrasWanted(); this.#sync(); }
    }

    #wrap() {
      return this.shadowRoot?.querySelector("fieldset.wrap") ?? null;
    }

    /** Saved progress and delivery are loaded only for an element with `save`, `action` or `inbox`. */
    #extrasWanted() {
      if (this.#extras || !EXTRAS.some((a) => this.hasAttribute(a)) || !this[INNER]) return;
      this.#extras = { close() {}, reset() {} };
      const pending = this.#extras;
      load("extras").then((m) => {
        if (this.#extras !== pending) return;
        this.#extras = m.attach(this, { seekMissing: () => this[INNER]?.seekMissing(), wrap: () => this.#wrap() });
      }, (e) => {
        this.dispatchEvent(new CustomEvent("attune-error", { bubbles: true, composed: true,
          detail: { code: e?.code ?? "extras_unavailable", message: String(e?.message ?? e), instrument: this.getAttribute("instrument") } }));
      });
    }

    /** The form value (the response as JSON, or its FHIR Bundle with `fhir`), its state and validity. */
    #sync() {
      const inner = this[INNER];
      const r = inner?.response() ?? null;
      let value = null;
      this.#fhirProblem = null;
      if (r && this.hasAttribute("fhir")) {
        if (loaded.fhir?.bundle) {
          try {
            value = JSON.stringify(loaded.fhir.bundle(this, { instrument: r.instrument, answers: r.answers, finished: new Date().toISOString() }));
          } catch (e) {
            this.#fhirProblem = String(e?.message ?? e);
          }
        } else {
          load("fhir").then(() => this.#sync(), (e) => { this.#fhirProblem = String(e?.message ?? e); this.#validity(); });
        }
      } else if (r) {
        value = JSON.stringify(r);
      }
      this.#internals.setFormValue(value, r ? JSON.stringify(r.answers) : null);
      this.#validity();
    }

    #validity() {
      const missing = this.hasAttribute("required") ? (this[INNER]?.missing() ?? null) : null;
      const anchor = this.#wrap() ?? undefined;
      if (this.#fhirProblem) this.#internals.setValidity({ customError: true }, this.#fhirProblem, anchor);
      else if (missing) this.#internals.setValidity({ valueMissing: true }, missing, anchor);
      else this.#internals.setValidity({});
    }

    formResetCallback() {
      this.reset();
    }

    formDisabledCallback(disabled) {
      this.#disabled = disabled;
      const wrap = this.#wrap();
      if (wrap) wrap.disabled = disabled;
    }

    /** Back navigation (or autofill) gives the answers the page held. */
    formStateRestoreCallback(state) {
      try {
        const answers = JSON.parse(state);
        if (answers && typeof answers === "object" && Object.keys(answers).length) this.answers = answers;
      } catch { /* a state this version did not write: ignored */ }
    }

    /** Properties set before the element was defined shadow the accessors: move them over. */
    upgradeProperties() {
      for (const p of [...QUESTIONNAIRE_PROPS, "resumeToken"]) {
        if (Object.prototype.hasOwnProperty.call(this, p)) {
          const v = this[p];
          delete this[p];
          this[p] = v;
        }
      }
    }

    /** Properties set while disconnected reach the new Rust object; their errors were reported then. */
    applyProperties() {
      for (const p of QUESTIONNAIRE_PROPS) {
        if (p in this.#props) {
          try { this[INNER][SETTERS[p]](this.#props[p]); } catch { /* shown and reported by the element */ }
        }
      }
    }

    #set(prop, value) {
      this[INNER]?.[SETTERS[prop]](value);
      this.#props[prop] = value;
      this.#sync();
    }

    /** Host-supplied wording: `{ terms?, source?, languages: { en: { instructions?, items?, options? } } }`. */
    get textPack() { return this.#props.textPack ?? null; }
    set textPack(v) { this.#set("textPack", v); }
    /** The answers so far, keyed by item id; setting prefills (or resumes) and starts over. */
    get answers() { return this[INNER] ? this[INNER].answers() : (this.#props.answers ?? null); }
    set answers(v) { this.#set("answers", v); }
    /** The crisis panel's wording: `{ title?, body?, contact?, href? }`. */
    get crisis() { return this.#props.crisis ?? null; }
    set crisis(v) { this.#set("crisis", v); }
    /** Context some rules read (AUDIT-C: `{ sex: "female" }`). */
    get context() { return this.#props.context ?? null; }
    set context(v) { this.#set("context", v); }
    /** `{ instrument, version, answers, complete, result }`, or null while the element shows an error. */
    get response() { return this[INNER] ? this[INNER].response() : null; }
    /** The form's name (the `name` attribute), as for inputs. */
    get name() { return this.getAttribute("name"); }
    get form() { return this.#internals.form; }
    get validity() { return this.#internals.validity; }
    get validationMessage() { return this.#internals.validationMessage; }
    get willValidate() { return this.#internals.willValidate; }
    checkValidity() { return this.#internals.checkValidity(); }
    reportValidity() { return this.#internals.reportValidity(); }

    /**
     * The answers so far as an opaque string, for a host that keeps progress itself; setting it
     * resumes there (an AttuneError `invalid_json` for a token of another instrument).
     */
    get resumeToken() {
      const r = this.response;
      if (!r) return null;
      const bytes = new TextEncoder().encode(JSON.stringify({ v: VERSION, instrument: r.instrument, answers: r.answers }));
      return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    }
    set resumeToken(token) {
      let t;
      try {
        const bin = atob(String(token).replace(/-/g, "+").replace(/_/g, "/"));
        t = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
      } catch {
        throw codeError("invalid_json", "resumeToken is not a token this element wrote");
      }
      const instrument = this.getAttribute("instrument")?.trim();
      if (t?.v !== VERSION || typeof t.answers !== "object" || t.instrument !== instrument) {
        throw codeError("invalid_json", `resumeToken is for ${t?.instrument ?? "another instrument"}, not ${instrument}`);
      }
      this.answers = t.answers;
      this[INNER]?.seekMissing();
    }

    /** Clears every answer (and saved progress) and starts again at the first item. */
    reset() {
      delete this.#props.answers;
      this[INNER]?.reset();
      this.#extras?.reset();
      this.#sync();
    }
  }

  customElements.define(tag, AttuneQuestionnaire);
  return true;
}
