// The live-poll elements' side of the shell (feature `poll`): their class, and the HTTP and
// WebSocket helpers src/elements/net.rs calls. Apart from js/elements.js, so that a page with only
// the questionnaire does not load them.
import { elementBase } from "./elements.js";

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
