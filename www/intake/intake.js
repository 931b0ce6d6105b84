// The clinic-form demo. The page's own script does little: the element takes part in the form by
// itself. Query parameters set the element's attributes, so the tests (and you) can try each one:
// ?action=URL&token=T (delivery), ?inbox=URL&key=FINGERPRINT (sealed to a clinic inbox), ?save=local|session|none, ?layout=, ?results=, ?fhir, ?post (a
// real POST to ./submitted instead of showing the data here).
import "../node_modules/attune/elements.js";

const params = new URLSearchParams(location.search);
const form = document.getElementById("intake");
const element = document.getElementById("phq9");

for (const name of ["instrument", "layout", "results", "lang", "name"]) {
  if (params.has(name)) element.setAttribute(name, params.get(name));
}
if (params.has("save")) {
  if (params.get("save") === "none") element.removeAttribute("save");
  else element.setAttribute("save", params.get("save"));
}
if (params.get("required") === "no") element.removeAttribute("required");
if (params.has("fhir")) element.setAttribute("fhir", "");
// Sealed delivery: ?inbox=URL&key=FINGERPRINT (the snippet the clinic inbox page shows). Otherwise
// delivery to ?action=, or to the receiver `cargo xtask serve` starts beside the site.
const action = params.get("action") ?? document.querySelector("meta[name=attune-receiver]")?.content;
if (params.has("inbox")) {
  element.setAttribute("inbox", params.get("inbox"));
  element.setAttribute("inbox-key", params.get("key") ?? "");
  document.getElementById("sealed-note").hidden = false;
} else if (action && params.get("action") !== "") {
  element.setAttribute("action", action);
  element.setAttribute("action-headers", JSON.stringify({ Authorization: `Bearer ${params.get("token") ?? "demo-token"}` }));
}

if (!params.has("post")) {
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const shown = {};
    for (const [k, v] of new FormData(form)) {
      try { shown[k] = JSON.parse(v); } catch { shown[k] = v; }
    }
    document.getElementById("submitted").textContent = JSON.stringify(shown, null, 2);
  });
}

const events = document.getElementById("events");
for (const type of ["attune-queued", "attune-delivered", "attune-delivery-error", "attune-error"]) {
  element.addEventListener(type, (e) => {
    const li = document.createElement("li");
    li.textContent = `${e.type} ${JSON.stringify(e.detail)}`;
    events.prepend(li);
  });
}
