// The intake demo: an instrument picker around <attune-questionnaire>, and a log of its events.
import "./node_modules/attune/elements.js"; // defines <attune-questionnaire>
import { catalog } from "./node_modules/attune/index.js"; // the picker's list (the element does not re-export the API)
import nonCommercial from "./node_modules/attune/text/non-commercial.js";

const form = document.getElementById("form");
const picker = document.getElementById("instrument");
const events = document.getElementById("events");
const hint = document.getElementById("pack-hint");
const packBox = document.getElementById("noncommercial");

const params = new URLSearchParams(location.search);
const summaries = catalog();
for (const s of summaries) {
  const o = document.createElement("option");
  o.value = s.id;
  o.textContent = `${s.short_name}: ${s.name}${s.text_bundled ? "" : " (wording from the host)"}`;
  picker.append(o);
}

function applyPack() {
  const id = form.getAttribute("instrument");
  const pack = packBox.checked ? nonCommercial[id] ?? null : null;
  const summary = summaries.find((s) => s.id === id);
  form.textPack = pack;
  hint.hidden = !summary || summary.text_bundled || pack !== null;
  hint.textContent = summary && !summary.text_bundled
    ? `${summary.short_name}'s wording is not bundled (licence: ${summary.licence}). ` +
      (id in nonCommercial ? "Tick the non-commercial text pack if your use is non-commercial." : "A host with the right to use it supplies the text.")
    : "";
}

function set(name, value) {
  if (value) form.setAttribute(name, value);
  else form.removeAttribute(name);
}

for (const name of ["instrument", "lang", "layout", "results"]) {
  const control = document.getElementById(name);
  control.value = params.get(name) ?? form.getAttribute(name) ?? control.value;
  set(name, control.value);
  control.addEventListener("change", () => {
    set(name, control.value);
    if (name === "instrument") applyPack();
  });
}
// `?fhir` asks for the FHIR Bundle in `attune-complete` (attune/fhir, loaded only then).
if (params.has("fhir")) {
  form.setAttribute("fhir", "");
  form.setAttribute("fhir-subject", params.get("fhir") || "Patient/example");
}
packBox.checked = params.get("pack") === "non-commercial";
packBox.addEventListener("change", applyPack);
applyPack();
document.getElementById("reset").addEventListener("click", () => form.reset());

function log(e) {
  const li = document.createElement("li");
  li.textContent = `${e.type} ${JSON.stringify(e.detail)}`;
  li.dataset.type = e.type;
  events.prepend(li);
  while (events.children.length > 50) events.lastElementChild.remove();
}
for (const type of ["attune-change", "attune-critical", "attune-complete", "attune-error"]) {
  form.addEventListener(type, log);
}
form.addEventListener("attune-complete", (e) => {
  document.getElementById("response").textContent = JSON.stringify(e.detail, null, 2);
});
