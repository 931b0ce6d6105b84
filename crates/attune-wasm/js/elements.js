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

/** Dispatches `name` on `host` with a plain-object detail; bubbles out of the shadow root. */
export function emit(host, name, detail) {
  host.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail }));
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
function elementBase(css, observed, mount) {
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

/** Elements configured by attributes only (<attune-poll-join>, <attune-poll-dashboard>). */
export function defineSimple(tag, css, observed, mount) {
  if (customElements.get(tag)) return false;
  customElements.define(tag, class extends elementBase(css, observed, mount) {});
  return true;
}

/** How long a request may take before it counts as a network failure. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * One HTTP request to the poll server: `headers` a plain object, `body` a plain value sent as JSON
 * (or `undefined`). Resolves to `{ status, body }` with the body parsed by the browser's JSON
 * parser (the module carries none); a network failure, or no answer within 10 s, is status 0 with
 * an error body, never a rejection. No cookies are sent.
 */
export async function request(method, url, headers, body) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error("no answer from the server")), REQUEST_TIMEOUT_MS);
  try {
    const sent = body === undefined ? undefined : JSON.stringify(body);
    const res = await fetch(url, {
      method,
      headers: sent === undefined ? headers : { ...headers, "content-type": "application/json" },
      body: sent,
      credentials: "omit",
      cache: "no-store",
      signal: abort.signal,
    });
    const text = await res.text();
    let parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { error: { code: "invalid_response", message: text.slice(0, 200) } }; }
    return { status: res.status, body: parsed };
  } catch (e) {
    return { status: 0, body: { error: { code: "network", message: String(e?.message ?? e) } } };
  } finally {
    clearTimeout(timer);
  }
}

/** A promise that resolves after `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A WebSocket that says `hello` on every (re)connection and reconnects by itself with backoff
 * (0.5 s doubling to 10 s) until `close()` or until the server ends it with code 1008 (refused).
 * Messages are plain values both ways (JSON text on the wire): `onMessage(value)` for each message
 * that parses; `onState("open" | "reconnecting" | "refused" | "closed")`; `send(value)` sends on an
 * open socket and says whether it did.
 */
export function live(url, hello, onMessage, onState) {
  let ws = null;
  let delay = 500;
  let stopped = false;
  let timer = null;
  const connect = () => {
    ws = new WebSocket(url);
    ws.onopen = () => { delay = 500; ws.send(JSON.stringify(hello)); onState("open"); };
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") return;
      let message;
      try { message = JSON.parse(e.data); } catch { return; }
      onMessage(message);
    };
    ws.onclose = (e) => {
      if (stopped) return;
      if (e.code === 1008) { onState("refused"); return; }
      if (e.code === 1000) { onState("closed"); return; }
      onState("reconnecting");
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10_000);
    };
  };
  connect();
  return {
    close() { stopped = true; clearTimeout(timer); ws?.close(1000); },
    send(message) {
      if (stopped || ws?.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(message));
      return true;
    },
  };
}

/** The member token this browser holds for a join code (so a reload keeps the member's answer). */
export function memberToken(code, token) {
  const key = `attune-member:${code}`;
  try {
    if (token) localStorage.setItem(key, token);
    return localStorage.getItem(key);
  } catch {
    return token ?? null;
  }
}

/** An absolute URL on the poll server (`server` empty: this page's origin); `ws` for WebSockets. */
export function absolute(server, path, ws) {
  const u = new URL(path, server || location.origin);
  if (ws) u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}

/** A Unix time as a local date, for trend labels. */
export function day(seconds) {
  return new Date(seconds * 1000).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}
