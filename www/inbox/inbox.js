// The clinic-inbox demo: <attune-inbox> on this server. The inbox this browser created (or restored)
// is remembered, so the page opens it again; a link opens the clinic form sealed to it.
import "../node_modules/attune/inbox.js";

const REMEMBERED = "attune-demo-inbox";
const element = document.getElementById("inbox");
const params = new URLSearchParams(location.search);

element.setAttribute("server", params.get("server") ?? location.origin);
const remembered = (() => {
  try { return JSON.parse(localStorage.getItem(REMEMBERED) ?? "null"); } catch { return null; }
})();
const inbox = params.get("inbox") ?? remembered?.inbox;
if (inbox) element.setAttribute("inbox", inbox);
if (inbox && remembered?.inbox === inbox) link(remembered);
// An inbox opened here (restored from its backup, or named in ?inbox=): the link from its public record.
element.addEventListener("attune-inbox-opened", async () => {
  const id = element.getAttribute("inbox");
  if (!id || document.getElementById("try").hidden === false) return;
  const res = await fetch(`${element.getAttribute("server")}/api/inboxes/${encodeURIComponent(id)}`).catch(() => null);
  if (res?.ok) {
    const { fingerprint } = await res.json();
    link({ url: `${element.getAttribute("server")}/api/inboxes/${id}`, fingerprint });
  }
});

function link({ url, fingerprint }) {
  if (!url || !fingerprint) return;
  const form = new URL("../intake/", location.href);
  form.searchParams.set("inbox", url);
  form.searchParams.set("key", fingerprint);
  document.getElementById("form-link").href = form.href;
  document.getElementById("try").hidden = false;
}

element.addEventListener("attune-inbox-created", (e) => {
  const { inbox: id, fingerprint, url } = e.detail;
  try { localStorage.setItem(REMEMBERED, JSON.stringify({ inbox: id, fingerprint, url })); } catch { /* shown once */ }
  link(e.detail);
});
