// `<attune-questionnaire save action>`: saved progress and delivery. Imported by the element only
// when one of those attributes is set, so an element without them carries none of this and sends
// nothing.
//
// - `save="session"` (sessionStorage) or `save="local"` (localStorage) keeps the answers so far,
//   keyed by page, instrument and `name`; the element offers to continue or start over, and forgets
//   them on completion (once the response is safely queued) and on reset.
// - `action="https://clinic.example/intake"` posts each completed response as JSON, with an
//   `Idempotency-Key` header (one key per response, the same on every retry) and the headers of
//   `action-headers` (a JSON object). The response is first written to an IndexedDB queue (every
//   write awaited and checked), then sent; when the network or the endpoint fails it stays queued
//   and is sent again with backoff, when the page comes back online, or when it is next loaded.
//   A Web Lock per response keeps one delivery in flight across tabs. Redirects are refused, so a
//   response goes nowhere but the configured endpoint.
// - `inbox="https://attune.clinic.example/api/inboxes/ID" inbox-key="sha256:…"` seals each completed
//   response in this browser to the clinic's public key (HPKE, `seal.js`, imported only then) and
//   delivers the sealed envelope through the same queue: what is queued on this device and what the
//   server stores can be opened only with the clinic's private key. The key is fetched from the
//   inbox when the element connects (and kept on this device for completing offline later), and is
//   used only if its fingerprint is `inbox-key`: a swapped key is refused and nothing is sent.

const TEXT = {
  en: {
    resumeTitle: "Continue where you left off?",
    resumeBody: "You answered {n} of these questions on this device ({date}). The answers are kept only on this device.",
    resume: "Continue where you left off",
    restart: "Start over",
    sending: "Sending your answers to the clinic…",
    delivered: "Your answers have reached the clinic.",
    earlier: "Answers you gave earlier on this device have now reached the clinic.",
    offline: "You are offline. Your answers are saved on this device and will be sent to the clinic when you are back online. They have not reached the clinic yet.",
    retry: "The clinic could not be reached. Your answers are saved on this device and will be sent automatically. They have not reached the clinic yet.",
    failed: "The clinic did not accept your answers (error {n}). They are kept on this device. Please tell the clinic staff.",
    unsaved: "Your answers could not be saved on this device and have not reached the clinic yet. Please keep this page open and tell the clinic staff.",
    again: "Send again",
    mismatch: "This form is not set up correctly (the clinic's inbox key does not match), so your answers were not sent. Please tell the clinic staff.",
  },
  es: {
    resumeTitle: "¿Continuar donde lo dejó?",
    resumeBody: "Respondió {n} de estas preguntas en este dispositivo ({date}). Las respuestas se guardan solo en este dispositivo.",
    resume: "Continuar donde lo dejó",
    restart: "Empezar de nuevo",
    sending: "Enviando sus respuestas a la clínica…",
    delivered: "Sus respuestas han llegado a la clínica.",
    earlier: "Las respuestas que dio antes en este dispositivo ya han llegado a la clínica.",
    offline: "No tiene conexión. Sus respuestas están guardadas en este dispositivo y se enviarán a la clínica cuando vuelva a tener conexión. Todavía no han llegado a la clínica.",
    retry: "No se pudo contactar con la clínica. Sus respuestas están guardadas en este dispositivo y se enviarán automáticamente. Todavía no han llegado a la clínica.",
    failed: "La clínica no aceptó sus respuestas (error {n}). Se conservan en este dispositivo. Avise al personal de la clínica.",
    unsaved: "No se pudieron guardar sus respuestas en este dispositivo y todavía no han llegado a la clínica. Mantenga esta página abierta y avise al personal de la clínica.",
    again: "Enviar de nuevo",
    mismatch: "Este formulario no está bien configurado (la clave del buzón de la clínica no coincide), así que sus respuestas no se enviaron. Avise al personal de la clínica.",
  },
};

const SHEET = `
.extra { color: var(--_text); background: var(--_bg); font-family: var(--_font); line-height: 1.5; max-width: 48rem; padding: 0 var(--_space); }
.resume { border: 2px solid var(--_accent); border-radius: var(--_radius); padding: var(--_space); margin-bottom: var(--_space); }
.resume p { margin: 0 0 0.5rem; }
.status:empty { display: none; }
.status { padding-bottom: var(--_space); }
.status p { margin: 0 0 0.5rem; }
.status[data-state="failed"] p, .status[data-state="unsaved"] p, .status[data-state="mismatch"] p { color: var(--_warn); font-weight: 600; }
@media print { .extra { display: none; } }
`;
let sheet;

const DB = "attune-delivery";
const STORE = "outbox";
const MAX_DELAY = 300_000;
const TIMEOUT = 30_000;

/** The delivery queue: IndexedDB, every request and transaction checked. */
let opening = null;
function db() {
  opening ??= new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "key" });
    open.onsuccess = () => {
      const d = open.result;
      d.onversionchange = () => { d.close(); opening = null; };
      d.onclose = () => { opening = null; };
      resolve(d);
    };
    open.onerror = () => reject(open.error);
    open.onblocked = () => reject(new Error("the delivery queue is held by an older version of this page in another tab"));
  }).catch((e) => {
    opening = null;
    throw e;
  });
  return opening;
}

/** Runs one request in a transaction; resolves with its result once the transaction has committed. */
async function run(mode, request) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(STORE, mode, { durability: "strict" });
    const r = request(t.objectStore(STORE));
    t.oncomplete = () => resolve(r.result);
    t.onerror = () => reject(t.error ?? r.error);
    t.onabort = () => reject(t.error ?? new Error("the queue's transaction was aborted"));
  });
}

// Responses that could not be written to IndexedDB (private windows, storage off) are kept in this
// page's memory and still delivered while it stays open; the patient is told.
const memory = new Map();
const queue = {
  put: (rec) => (rec.memory ? (memory.set(rec.key, rec), Promise.resolve()) : run("readwrite", (s) => s.put(rec))),
  remove: (rec) => (rec.memory ? (memory.delete(rec.key), Promise.resolve()) : run("readwrite", (s) => s.delete(rec.key))),
  get: (rec) => (rec.memory ? Promise.resolve(memory.get(rec.key)) : run("readonly", (s) => s.get(rec.key))),
  async all() {
    let stored = [];
    try { stored = await run("readonly", (s) => s.getAll()); } catch { /* reported when written */ }
    return [...stored, ...memory.values()];
  },
};

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const emit = (host, name, detail) => host.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail }));
const problem = (host, code, message) => emit(host, "attune-error", { code, message, instrument: host.getAttribute("instrument") });

/** The element's language tag, and its wording here (English for a language this file lacks). */
function language(host) {
  const tag = host.getAttribute("lang") ?? host.parentElement?.closest("[lang]")?.getAttribute("lang") ?? "en";
  const t = TEXT[tag.split(/[-_]/)[0].toLowerCase()];
  return t ? { tag, t } : { tag: "en", t: TEXT.en };
}
const text = (host) => language(host).t;

/** A button styled like the form's own. */
function button(label, cls, onclick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.setAttribute("part", "button");
  b.textContent = label;
  b.addEventListener("click", onclick);
  return b;
}

/** `raw` as an absolute URL: https, or http only to this machine; `code` names the attribute's error. */
function secureUrl(raw, name, code) {
  let url;
  try { url = new URL(raw, document.baseURI); } catch { url = null; }
  const local = url && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  if (!url || !(url.protocol === "https:" || (url.protocol === "http:" && local))) {
    throw Object.assign(new Error(`${name} must be an https URL (http only for localhost); got "${raw}"`), { code });
  }
  return url;
}

/** Where completed responses go: the `action` URL, or the submissions of the `inbox`. */
function endpoint(host) {
  const sealed = sealing(host);
  if (sealed) return sealed.submissions;
  const raw = host.getAttribute("action");
  return raw === null ? null : secureUrl(raw, "action", "invalid_action").href;
}

/** `inbox` and `inbox-key`, checked: `{ url, submissions, fingerprint }`, or null without `inbox`. */
function sealing(host) {
  const raw = host.getAttribute("inbox");
  if (raw === null) return null;
  const fail = (m) => { throw Object.assign(new Error(m), { code: "invalid_inbox" }); };
  if (host.hasAttribute("action")) fail("an element delivers to its action or seals to its inbox, not both: remove one");
  const url = secureUrl(raw, "inbox", "invalid_inbox");
  url.search = url.hash = "";
  const base = url.href.replace(/\/+$/, "");
  const fingerprint = host.getAttribute("inbox-key")?.trim() ?? "";
  if (!/^sha256:[A-Za-z0-9_-]{43}$/.test(fingerprint)) {
    fail(`inbox-key must be the inbox's key fingerprint as the clinic's inbox page shows it ("sha256:" and 43 characters); got "${fingerprint}"`);
  }
  return { url: base, submissions: `${base}/submissions`, fingerprint };
}

// Inbox keys by inbox URL: fetched once per page, kept on this device so that a response completed
// offline later can still be sealed. A key is public; whichever copy is used, it seals only if its
// fingerprint is the page's `inbox-key`.
const keys = new Map();
function inboxKey(inbox) {
  let pending = keys.get(inbox.url);
  if (!pending) {
    const kept = `attune-inbox-key:${inbox.url}`;
    pending = fetch(inbox.url, { mode: "cors", credentials: "omit", cache: "no-cache", redirect: "error", referrerPolicy: "no-referrer", signal: AbortSignal.timeout(TIMEOUT) })
      .then(async (res) => {
        if (!res.ok) throw Object.assign(new Error(`the inbox answered ${res.status}`), { status: res.status });
        const body = await res.json();
        // The inbox a response is sealed for is the one the page names (the last part of its URL),
        // never what a server says: a server could not bind it to another inbox of the same key.
        const id = decodeURIComponent(new URL(inbox.url).pathname.split("/").filter(Boolean).pop() ?? "");
        if (String(body.inbox) !== id) throw new Error(`the inbox at ${inbox.url} says it is "${body.inbox}"`);
        const key = { inbox: id, publicKey: String(body.public_key) };
        try { localStorage.setItem(kept, JSON.stringify(key)); } catch { /* kept for this page only */ }
        return key;
      })
      .catch((e) => {
        keys.delete(inbox.url);
        let key = null;
        try { key = JSON.parse(localStorage.getItem(kept) ?? "null"); } catch { key = null; }
        if (key?.inbox && key?.publicKey) return key;
        throw e;
      });
    keys.set(inbox.url, pending);
  }
  return pending;
}

/** The response sealed for `inbox` as submission `key`: the envelope's JSON text. Throws with code
 * `key_mismatch` when the inbox's key is not the one the page pins. */
async function seal(host, inbox, key, detail) {
  const [{ seal: sealWith }, k] = await Promise.all([import("./seal.js"), inboxKey(inbox)]);
  const plaintext = JSON.stringify({
    v: 1, instrument: detail.instrument, version: detail.version, answers: detail.answers,
    context: host.context ?? {}, result: detail.result, started: detail.started, completed: detail.finished, lang: detail.lang,
  });
  return sealWith(k.publicKey, inbox.fingerprint, k.inbox, key, plaintext, crypto.getRandomValues(new Uint8Array(32)));
}

/** `action-headers`: a JSON object of header names to string values. */
function extraHeaders(host) {
  const raw = host.getAttribute("action-headers");
  if (raw === null || raw.trim() === "") return {};
  let h;
  try { h = JSON.parse(raw); } catch { h = null; }
  if (!h || typeof h !== "object" || Array.isArray(h) || Object.values(h).some((v) => typeof v !== "string")) {
    throw Object.assign(new Error("action-headers must be a JSON object of strings, e.g. {\"Authorization\": \"Bearer …\"}"), { code: "invalid_action" });
  }
  return h;
}

/** `read(host)` (an attribute read and checked), or undefined after its error is reported. */
function configured(host, read) {
  try {
    return read(host);
  } catch (e) {
    problem(host, e.code, e.message);
    return undefined;
  }
}

/** Elements attached per endpoint, and the element each response of this page came from. */
const attached = new Map();
const owners = new Map();
const inFlight = new Set();
const waitingOffline = new Set();
const timers = new Map();
let listening = false;

function hostFor(rec) {
  const owner = owners.get(rec.key);
  if (owner?.isConnected) return owner;
  return [...(attached.get(rec.action) ?? [])].find((s) => s.host.isConnected)?.host ?? null;
}

/** Sends every queued response for `action` that is due (`force`: also those refused before). */
async function flush(action, { now = false, force = false } = {}) {
  const records = (await queue.all()).filter((r) => r.action === action);
  const due = records.filter((r) => force || (!r.failed && (now || r.nextAt <= Date.now())));
  await Promise.all(due.map((r) => deliver(r)));
  schedule(action);
}

async function schedule(action) {
  clearTimeout(timers.get(action));
  // Offline, the `online` event sends them; nothing to wake up for meanwhile.
  if (navigator.onLine === false) return;
  const waiting = (await queue.all()).filter((r) => r.action === action && !r.failed);
  if (!waiting.length || !attached.get(action)?.size) return;
  // At least a second from now: a response another tab is sending (its lock held) is looked at
  // again then, and is gone if that tab delivered it.
  const next = Math.min(...waiting.map((r) => r.nextAt));
  timers.set(action, setTimeout(() => flush(action), Math.max(1000, next - Date.now())));
}

/** One delivery of one response: in this tab one at a time, across tabs under a Web Lock. */
async function deliver(rec) {
  if (inFlight.has(rec.key)) return;
  inFlight.add(rec.key);
  try {
    const attempt = () => send(rec);
    if (navigator.locks && !rec.memory) {
      await navigator.locks.request(`attune-delivery:${rec.key}`, { ifAvailable: true }, (lock) => (lock ? attempt() : null));
    } else {
      await attempt();
    }
  } finally {
    inFlight.delete(rec.key);
  }
}

async function send(given) {
  // Another tab may have delivered it since it was listed.
  const rec = await queue.get(given).catch(() => null);
  const host = hostFor(given);
  if (!rec || !host) return;
  const state = (s, n) => setStatus(host, rec, s, n);
  if (navigator.onLine === false) {
    state("offline");
    // Once per response and page: it stays queued until the browser is back online.
    if (!waitingOffline.has(rec.key)) {
      waitingOffline.add(rec.key);
      emit(host, "attune-queued", { key: rec.key, instrument: rec.instrument, attempts: rec.attempts, retryAt: null });
    }
    return;
  }
  waitingOffline.delete(rec.key);
  const headers = configured(host, extraHeaders);
  if (!headers) return;
  state("sending");
  let status = 0;
  let code = "network";
  let message;
  try {
    const res = await fetch(rec.action, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json", "Idempotency-Key": rec.key },
      body: rec.body,
      mode: "cors",
      credentials: "omit",
      redirect: "error",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      signal: AbortSignal.timeout(TIMEOUT),
    });
    status = res.status;
    if (res.ok) {
      await queue.remove(rec);
      delivered(host, rec, status);
      tabs?.postMessage({ key: rec.key, instrument: rec.instrument, status });
      return;
    }
    code = "http_status";
    message = `the endpoint answered ${status} ${res.statusText}`.trim();
  } catch (e) {
    message = e?.name === "TimeoutError" ? `no answer within ${TIMEOUT / 1000} s` : `the request failed (${e?.message ?? e})`;
  }
  // Worth trying again: no answer, a timeout, too many requests, a server error.
  const retry = status === 0 || status === 408 || status === 425 || status === 429 || status >= 500;
  rec.attempts += 1;
  if (retry) {
    const delay = Math.min(MAX_DELAY, 1000 * 2 ** (rec.attempts - 1)) * (0.8 + Math.random() * 0.4);
    rec.nextAt = Date.now() + delay;
  } else {
    rec.failed = status;
  }
  try {
    await queue.put(rec);
  } catch (e) {
    // It was stored before; keep trying from memory rather than lose it.
    rec.memory = true;
    memory.set(rec.key, rec);
    problem(host, "queue_unavailable", `the delivery queue could not be written: ${e?.message ?? e}`);
  }
  state(retry ? "retry" : "failed", status);
  emit(host, "attune-delivery-error", { key: rec.key, instrument: rec.instrument, code, status: status || null, message, willRetry: retry });
  if (retry) emit(host, "attune-queued", { key: rec.key, instrument: rec.instrument, attempts: rec.attempts, retryAt: new Date(rec.nextAt).toISOString() });
}

/** Announces a delivery: on the element the response came from, or (from an earlier visit) the first one. */
function delivered(host, rec, status) {
  // A response of an earlier visit is announced as such.
  setStatus(host, rec, owners.get(rec.key) === host ? "delivered" : "earlier");
  owners.delete(rec.key);
  emit(host, "attune-delivered", { key: rec.key, instrument: rec.instrument, status });
}

// Another tab may deliver a response this tab queued (whichever heard `online` first): it says so.
const tabs = typeof BroadcastChannel === "function" ? new BroadcastChannel("attune-delivery") : null;
if (tabs) {
  tabs.onmessage = ({ data }) => {
    const host = owners.get(data?.key);
    if (host?.isConnected) delivered(host, data, data.status);
  };
}

/** The delivery status under the form, read out by screen readers (a live region). */
function setStatus(host, rec, state, n) {
  const st = states.get(host);
  if (!st) return;
  const t = text(host);
  const p = document.createElement("p");
  p.textContent = t[state].replace("{n}", String(n ?? ""));
  const parts = [p];
  if (state === "failed" || state === "retry") {
    parts.push(button(t.again, "secondary", () => flush(rec.action, { now: true, force: true })));
  }
  st.status.dataset.state = state;
  st.status.replaceChildren(...parts);
}

const states = new Map();

const reported = new WeakMap();

function storage(host) {
  const kind = host.getAttribute("save");
  if (kind === null) return null;
  if (kind !== "session" && kind !== "local") {
    // Once per element and value, not on every answer.
    if (reported.get(host) !== kind) {
      reported.set(host, kind);
      problem(host, "invalid_save", `save must be "session" or "local", not "${kind}"`);
    }
    return null;
  }
  try {
    return kind === "local" ? localStorage : sessionStorage;
  } catch (e) {
    problem(host, "save_unavailable", `progress cannot be saved here: ${e?.message ?? e}`);
    return null;
  }
}

function progressKey(host) {
  const name = host.getAttribute("name");
  return `attune-progress:${location.pathname}:${host.getAttribute("instrument")?.trim() ?? ""}${name ? `:${name}` : ""}`;
}

function forget(host) {
  try { storage(host)?.removeItem(progressKey(host)); } catch { /* nothing to forget */ }
}

/** Offers saved answers: continue or start over. The form is hidden until the patient chooses. */
function offer(host, api, st) {
  const store = storage(host);
  if (!store) return;
  let saved = null;
  try { saved = JSON.parse(store.getItem(progressKey(host)) ?? "null"); } catch { saved = null; }
  const count = saved?.answers && typeof saved.answers === "object" ? Object.keys(saved.answers).length : 0;
  if (!count || saved.instrument !== host.getAttribute("instrument")?.trim() || Object.keys(host.answers ?? {}).length) return;
  const t = text(host);
  const box = document.createElement("section");
  box.className = "extra resume";
  box.setAttribute("part", "resume");
  box.setAttribute("aria-labelledby", "attune-resume-title");
  const h = document.createElement("h3");
  h.id = "attune-resume-title";
  h.textContent = t.resumeTitle;
  const p = document.createElement("p");
  const date = new Intl.DateTimeFormat(language(host).tag, { dateStyle: "medium", timeStyle: "short" }).format(new Date(saved.saved));
  p.textContent = t.resumeBody.replace("{n}", String(count)).replace("{date}", date);
  const nav = document.createElement("div");
  nav.className = "nav";
  const close = () => {
    box.remove();
    st.resume = null;
    const wrap = api.wrap();
    if (wrap) wrap.hidden = false;
  };
  nav.append(
    button(t.resume, "primary", () => {
      close();
      try {
        host.answers = saved.answers;
      } catch (e) {
        forget(host);
        problem(host, "invalid_save", `the saved answers no longer fit this questionnaire: ${e?.message ?? e}`);
      }
      // Yew renders in a microtask: show the first unanswered item once the answers are in.
      queueMicrotask(() => api.seekMissing());
    }),
    button(t.restart, "secondary", () => {
      forget(host);
      close();
      host.reset();
      queueMicrotask(() => api.seekMissing());
    }),
  );
  box.append(h, p, nav);
  const wrap = api.wrap();
  if (wrap) wrap.hidden = true;
  host.shadowRoot.prepend(box);
  st.resume = box;
}

/** Queues a completed response (sealed first, for an inbox), then forgets the saved progress it
 * replaces, then sends it. */
async function complete(host, st, detail) {
  const action = configured(host, endpoint);
  if (action === undefined) return;
  if (!action) {
    forget(host);
    return;
  }
  const key = uuid();
  const inbox = configured(host, sealing);
  let body = JSON.stringify(detail);
  if (inbox) {
    body = await sealed(host, inbox, key, detail);
    if (body === null) return;
  }
  const rec = {
    key,
    action,
    instrument: detail.instrument,
    body,
    created: new Date().toISOString(),
    attempts: 0,
    nextAt: 0,
  };
  owners.set(rec.key, host);
  try {
    await queue.put(rec);
    forget(host);
  } catch (e) {
    rec.memory = true;
    memory.set(rec.key, rec);
    setStatus(host, rec, "unsaved");
    emit(host, "attune-delivery-error", {
      key: rec.key, instrument: rec.instrument, code: "queue_unavailable", status: null,
      message: `the response could not be written to this device's queue: ${e?.message ?? e}`, willRetry: true,
    });
  }
  await deliver(rec);
  if (rec.memory && st.status.dataset.state !== "delivered") setStatus(host, rec, "unsaved");
  schedule(action);
}

/** The sealed envelope, or null when it cannot be made: a key that is not the pinned one is
 * refused for good; an inbox that cannot be reached (and no key kept from an earlier visit) is
 * asked again while the page stays open, the answers kept in it meanwhile. */
async function sealed(host, inbox, key, detail) {
  const rec = { key, instrument: detail.instrument, action: inbox.submissions };
  for (let attempt = 0; host.isConnected; attempt++) {
    try {
      return await seal(host, inbox, key, detail);
    } catch (e) {
      if (e?.code === "key_mismatch" || e?.code === "invalid_key") {
        setStatus(host, rec, "mismatch");
        problem(host, "key_mismatch", `nothing was sent: ${e.message}`);
        emit(host, "attune-delivery-error", { key, instrument: detail.instrument, code: "key_mismatch", status: null, message: e.message, willRetry: false });
        return null;
      }
      const status = e?.status ?? null;
      setStatus(host, rec, navigator.onLine === false ? "offline" : "unsaved");
      emit(host, "attune-delivery-error", {
        key, instrument: detail.instrument, code: status ? "http_status" : "network", status,
        message: `the inbox's key could not be fetched: ${e?.message ?? e}`, willRetry: true,
      });
      const wait = Math.min(MAX_DELAY, 1000 * 2 ** attempt) * (0.8 + Math.random() * 0.4);
      await new Promise((resolve) => {
        const done = () => { removeEventListener("online", done); clearTimeout(timer); resolve(); };
        const timer = setTimeout(done, wait);
        addEventListener("online", done);
      });
    }
  }
  return null;
}

function online() {
  for (const action of attached.keys()) flush(action, { now: true });
}

/** Called by the element's shell with the host and its helpers; returns `{ reset(), close() }`. */
export function attach(host, api) {
  const root = host.shadowRoot;
  sheet ??= new CSSStyleSheet();
  if (!sheet.cssRules.length) sheet.replaceSync(SHEET);
  if (!root.adoptedStyleSheets.includes(sheet)) root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
  const status = document.createElement("div");
  status.className = "extra status";
  status.setAttribute("role", "status");
  status.setAttribute("part", "status");
  root.append(status);
  const st = { host, status, resume: null, action: null };
  states.set(host, st);

  const onChange = (e) => {
    if (e.target !== host) return;
    const store = storage(host);
    if (!store) return;
    try {
      store.setItem(progressKey(host), JSON.stringify({ v: 1, instrument: e.detail.instrument, answers: e.detail.answers, saved: new Date().toISOString() }));
    } catch (err) {
      problem(host, "save_unavailable", `progress could not be saved: ${err?.message ?? err}`);
    }
  };
  const onComplete = (e) => {
    if (e.target === host) complete(host, st, e.detail);
  };
  host.addEventListener("attune-change", onChange);
  host.addEventListener("attune-complete", onComplete);

  offer(host, api, st);
  st.action = configured(host, endpoint) ?? null;
  // The inbox's key and the sealer are fetched now, so that a response completed offline later
  // can still be sealed (failures are reported when the response is sealed).
  const inbox = st.action && sealing(host);
  if (inbox) {
    inboxKey(inbox).catch(() => {});
    import("./seal.js").catch(() => {});
  }
  if (st.action) {
    if (!attached.has(st.action)) attached.set(st.action, new Set());
    attached.get(st.action).add(st);
    if (!listening) {
      listening = true;
      addEventListener("online", online);
    }
    // Responses left from an earlier visit (or refused then) are sent now.
    flush(st.action, { force: true });
  }

  return {
    reset() {
      forget(host);
      st.resume?.remove();
      st.resume = null;
      const wrap = api.wrap();
      if (wrap) wrap.hidden = false;
    },
    close() {
      host.removeEventListener("attune-change", onChange);
      host.removeEventListener("attune-complete", onComplete);
      attached.get(st.action)?.delete(st);
      states.delete(host);
      status.remove();
      st.resume?.remove();
    },
  };
}
