// `<attune-questionnaire fhir>`: the FHIR R4 Bundle its `attune-complete` carries. Imported (with
// `attune/fhir`) only when such an element completes; `fhir-subject` and `fhir-base` fill the
// Bundle's subject and canonical base. Throws an AttuneError for attributes FHIR would reject.
import { toFhir } from "./fhir.js";

export function bundle(host, detail) {
  const attr = (name) => host.getAttribute(name) ?? undefined;
  const request = { instrument: detail.instrument, answers: detail.answers, context: host.context ?? undefined };
  return toFhir(request, undefined, { authored: detail.finished, subject: attr("fhir-subject"), base: attr("fhir-base") });
}
