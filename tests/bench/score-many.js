// Measures, in the browser: the time from `import` to the first score (module fetched, compiled and
// instantiated, catalog parsed, one PHQ-9 scored), then scoreMany throughput on PHQ-9 responses
// (one in ten with an item left out, one in fifty invalid, as in the CLI benchmark).
const params = new URLSearchParams(location.search);
const mode = params.get("mode") ?? "throughput";
const out = document.getElementById("out");
const first = { instrument: "phq9", answers: { 1: 1, 2: 2, 3: 1, 4: 2, 5: 1, 6: 1, 7: 0, 8: 1, 9: 0 } };

const t0 = performance.now();
const attune = await import("../packaging/static/node_modules/attune/index.js");
attune.score(first);
const importToFirstScore = performance.now() - t0;

let report = { importToFirstScore };
if (mode === "throughput") {
  let seed = 0xa77e;
  const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; };
  const make = (n) => Array.from({ length: n }, (_, k) => {
    const answers = {};
    const skip = rnd() % 10 === 0 ? (rnd() % 9) + 1 : 0;
    for (let item = 1; item <= 10; item++) {
      if (item !== skip) answers[item] = k % 50 === 0 && item === 1 ? 7 : rnd() % 4;
    }
    return { instrument: "phq9", answers };
  });
  const n = Number(params.get("n") ?? 200000);
  const batch = make(n);
  attune.scoreMany(batch.slice(0, 20000)); // warm-up
  const times = [];
  for (let run = 0; run < 7; run++) {
    const s = performance.now();
    const results = attune.scoreMany(batch);
    times.push(performance.now() - s);
    if (results.length !== n || !("scores" in results[1]) || !("error" in results[0])) throw new Error("wrong results");
  }
  times.sort((a, b) => a - b);
  report = { ...report, n, medianMs: times[3], perSecond: n / (times[3] / 1000), runs: times };
}
out.textContent = JSON.stringify(report);
out.dataset.status = "done";
