// Compiled with `tsc --noEmit --strict` against the packed package's declarations: `attune/fhir`.
import {
  questionnaire, toFhir, fromQuestionnaireResponse, isAttuneError,
  type Bundle, type FhirOptions, type Questionnaire, type QuestionnaireResponse, type ReadingOptions,
  type ScoreRequest,
} from "attune/fhir";
import { score } from "attune";

const q: Questionnaire = questionnaire("gad7", { base: "https://clinic.example.org/fhir" });
const url: string = q.url;
const request: ScoreRequest = { instrument: "gad7", answers: { "1": 2, "2": 1 } };
const options: FhirOptions = { authored: "2026-12-05T09:30:00Z", subject: "Patient/p-1", identifier: "row-7" };
const bundle: Bundle = toFhir(request, score(request), options);
const first = bundle.entry[0];
const response = first?.resource as QuestionnaireResponse | undefined;
if (response) {
  const how: ReadingOptions = { instrument: "gad7" };
  const back: ScoreRequest = fromQuestionnaireResponse(response, how);
  console.log(url, back.instrument, isAttuneError(new Error("x")));
}
// Options are checked: no such field.
// @ts-expect-error unknown option
questionnaire("gad7", { language: "es" });
toFhir(request);
