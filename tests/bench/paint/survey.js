// The same PHQ-9 (the reference's bundled wording, items 1-9 and the difficulty item) in SurveyJS
// (survey-core + survey-js-ui 2.5.38 from the lockfile), rendered as SurveyJS documents.
(async () => {
  const def = await (await fetch("../../packaging/static/node_modules/attune/instruments/phq9.json")).json();
  const json = {
    title: def.name,
    description: def.instructions,
    elements: def.items.map((item) => ({
      type: "radiogroup",
      name: item.id,
      title: item.text,
      choices: def.response_sets[item.response_set].map((o) => ({ value: o.value, text: o.label })),
    })),
  };
  const survey = new Survey.Model(json);
  SurveyUI.renderSurvey(survey, document.getElementById("survey"));
})();
