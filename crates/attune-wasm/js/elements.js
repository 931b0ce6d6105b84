// The custom element classes. A class that extends HTMLElement has to be JavaScript; everything it
// does is delegated to the Rust object that `mount` returns (src/elements/). Defining is idempotent:
// a second import, or a second copy of the package on the page, leaves the first definition alone.

let sheet = null;
let narrow = null;

function styles(css) {
  if (!sheet) {
    // A constructable stylesheet: no <style> element, no style attribute, so a strict
    // `style-src 'self'` policy is satisfied.
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
  }
  return sheet;
}

function narrowQuery() {
  narrow ??= matchMedia("(max-width: 40rem)");
  return narrow;
}

/** Dispatches `name` on `host` with a JSON detail; bubbles out of the shadow root. */
export function emit(host, name, json) {
  host.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail: JSON.parse(json) }));
}

/** Creates the mount point for a new render. */
export function mountPoint(root) {
  const div = document.createElement("div");
  root.replaceChildren(div);
  return div;
}

const QUESTIONNAIRE_PROPS = ["textPack", "answers", "crisis", "context"];

export function defineQuestionnaire(tag, css, mount) {
  if (customElements.get(tag)) return false;

  class AttuneQuestionnaire extends HTMLElement {
    static observedAttributes = ["instrument", "lang", "layout", "results"];
    #inner = null;
    #props = {};
    #onMedia = () => this.#inner?.setNarrow(narrowQuery().matches);

    #language() {
      return this.getAttribute("lang") ?? this.parentElement?.closest("[lang]")?.getAttribute("lang") ?? null;
    }

    connectedCallback() {
      // Properties set before the element was defined shadow the accessors: move them over.
      for (const p of QUESTIONNAIRE_PROPS) {
        if (Object.prototype.hasOwnProperty.call(this, p)) {
          const v = this[p];
          delete this[p];
          this[p] = v;
        }
      }
      if (this.#inner) return;
      const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
      root.adoptedStyleSheets = [styles(css)];
      const inner = mount(this, root);
      this.#inner = inner;
      inner.setNarrow(narrowQuery().matches);
      for (const a of AttuneQuestionnaire.observedAttributes) {
        inner.attribute(a, a === "lang" ? this.#language() : this.getAttribute(a));
      }
      for (const p of QUESTIONNAIRE_PROPS) {
        if (p in this.#props) this.#apply(p, this.#props[p], false);
      }
      narrowQuery().addEventListener("change", this.#onMedia);
      inner.connect();
    }

    disconnectedCallback() {
      // A move (remove then insert in the same task) keeps the form; a removal destroys it.
      queueMicrotask(() => {
        if (this.isConnected || !this.#inner) return;
        narrowQuery().removeEventListener("change", this.#onMedia);
        const inner = this.#inner;
        this.#inner = null;
        inner.destroy();
        inner.free();
      });
    }

    attributeChangedCallback(name, _old, value) {
      this.#inner?.attribute(name, name === "lang" && value === null ? this.#language() : value);
    }

    #apply(prop, value, rethrow) {
      const inner = this.#inner;
      if (!inner) return;
      try {
        if (prop === "textPack") inner.setTextPack(value);
        else if (prop === "answers") inner.setAnswers(value);
        else if (prop === "crisis") inner.setCrisis(value);
        else if (prop === "context") inner.setContext(value);
      } catch (e) {
        if (rethrow) throw e;
      }
    }

    #set(prop, value) {
      this.#apply(prop, value, true);
      this.#props[prop] = value;
    }

    /** Host-supplied wording: `{ terms?, source?, languages: { en: { instructions?, items?, options? } } }`. */
    get textPack() { return this.#props.textPack ?? null; }
    set textPack(v) { this.#set("textPack", v); }
    /** The answers so far, keyed by item id; setting prefills (or resumes) and starts over. */
    get answers() { return this.#inner ? this.#inner.answers() : (this.#props.answers ?? null); }
    set answers(v) { this.#set("answers", v); }
    /** The crisis panel's wording: `{ title?, body?, contact?, href? }`. */
    get crisis() { return this.#props.crisis ?? null; }
    set crisis(v) { this.#set("crisis", v); }
    /** Context some rules read (AUDIT-C: `{ sex: "female" }`). */
    get context() { return this.#props.context ?? null; }
    set context(v) { this.#set("context", v); }
    /** `{ instrument, answers, complete, result }`, or null while the element shows an error. */
    get response() { return this.#inner ? this.#inner.response() : null; }
    /** Clears every answer and starts again at the first item. */
    reset() {
      delete this.#props.answers;
      this.#inner?.reset();
    }
  }

  customElements.define(tag, AttuneQuestionnaire);
  return true;
}
