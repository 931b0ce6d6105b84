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

let fhir;
/** Makes the FHIR Bundle of a completed response (the package's `fhir-element.js`, imported on first use). */
export function setFhir(make) {
  fhir = make;
}

/**
 * Dispatches `name` on `host` with a plain-object detail; bubbles out of the shadow root. With the
 * `fhir` attribute, `attune-complete` waits for its FHIR Bundle (`detail.fhir`); if that cannot be
 * made the event still comes, with `fhir: null`, after an `attune-error`.
 */
export function emit(host, name, detail) {
  const send = () => host.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail }));
  if (name !== "attune-complete" || !fhir || !host.hasAttribute("fhir")) return send();
  fhir(host, detail)
    .then((bundle) => { detail.fhir = bundle; }, (e) => {
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

/** Creates the mount point for a new render. */
export function mountPoint(root) {
  const div = document.createElement("div");
  root.replaceChildren(div);
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

export function defineQuestionnaire(tag, css, mount) {
  if (customElements.get(tag)) return false;

  class AttuneQuestionnaire extends elementBase(css, ["instrument", "lang", "layout", "results"], mount) {
    #props = {};

    /** Properties set before the element was defined shadow the accessors: move them over. */
    upgradeProperties() {
      for (const p of QUESTIONNAIRE_PROPS) {
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
    /** `{ instrument, answers, complete, result }`, or null while the element shows an error. */
    get response() { return this[INNER] ? this[INNER].response() : null; }
    /** Clears every answer and starts again at the first item. */
    reset() {
      delete this.#props.answers;
      this[INNER]?.reset();
    }
  }

  customElements.define(tag, AttuneQuestionnaire);
  return true;
}
