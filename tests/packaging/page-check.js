// Shared by the Vite and static fixtures: scores a PHQ-9 and an invalid answer with the package the
// page imported, and writes what happened into #result for the Playwright test to read.
export function run({ score, catalog, version, isAttuneError }) {
  const out = document.getElementById("result");
  try {
    const result = score({ instrument: "phq9", answers: { 1: 2, 2: 1, 3: 2, 4: 1, 5: 1, 6: 2, 7: 1, 8: 1, 9: 1 } });
    let error = null;
    try {
      score({ instrument: "phq9", answers: { 1: 9 } });
    } catch (e) {
      error = isAttuneError(e) ? { code: e.code, item: e.item } : String(e);
    }
    out.textContent = JSON.stringify({ result, error, instruments: catalog().length, version });
    out.dataset.status = "ok";
  } catch (e) {
    out.textContent = String(e);
    out.dataset.status = "failed";
  }
}
