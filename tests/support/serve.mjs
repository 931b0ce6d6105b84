// A small static file server for browser tests and benchmarks: serves one folder on 127.0.0.1 with
// the right MIME types (application/wasm for streaming compilation) and a strict Content-Security-
// Policy, so every page proves it needs no inline script, no inline style and no eval.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

export const CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'self'";

/** The policy `<attune-questionnaire>` must work under (issue: strict CSP), exactly. */
export const WIDGET_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'";

/** Serves `root` on a free port of 127.0.0.1; resolves to `{ url, close }`. */
export function serve(root, { csp = CSP } = {}) {
  const base = normalize(root + sep);
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      if (path === "/favicon.ico") {
        res.writeHead(204);
        res.end();
        return;
      }
      let file = normalize(join(base, path));
      if (!file.startsWith(base)) throw Object.assign(new Error("outside root"), { status: 403 });
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      const headers = { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" };
      if (csp) headers["content-security-policy"] = csp;
      res.writeHead(200, headers);
      res.end(body);
    } catch (e) {
      res.writeHead(e.status ?? 404, { "content-type": "text/plain" });
      res.end(String(e.status ?? 404));
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

/** The real attune-server binary (ATTUNE_SERVER_BIN, else target/debug/attune-server) on a SQLite
 * file at `database`, serving `www` (none when null); resolves with `{ url, close() }` once it listens. */
export async function attuneServer(www, database, extra = []) {
  const { spawn } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const bin = process.env.ATTUNE_SERVER_BIN ?? fileURLToPath(new URL("../../target/debug/attune-server", import.meta.url));
  const site = www === null ? [] : ["--www", www];
  const child = spawn(bin, ["--addr", "127.0.0.1:0", "--database", database, ...site, ...extra], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("attune-server did not start")), 20_000);
    child.stdout.on("data", (d) => {
      const m = /listening on (http:\/\/[^ ]+)/.exec(String(d));
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on("exit", (code) => reject(new Error(`attune-server exited (${code})`)));
    child.on("error", (e) => reject(new Error(`attune-server could not start from ${bin}: ${e.message}`)));
  });
  return { url, close: () => child.kill("SIGTERM") };
}
