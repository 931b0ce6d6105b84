// Compiled with `tsc --noEmit --strict` against the packed package's declarations: uses the whole
// API, and the @ts-expect-error lines prove the types reject what the API rejects.
import {
  score, scoreMany, catalog, instrument, groupStats, version, isAttuneError,
  type AttuneError, type ErrorCode, type ScoreRequest, type ScoreResult, type ScoreOutcome, type ScoreValue,
  type Summary, type InstrumentDefinition, type GroupStats, type ScoreStats,
  type MemberAnswers, type CatalogOptions, type GroupOptions, type LicenceStatus,
} from "attune";
import { validateDefinition, type Problem, type ProblemKind } from "attune/validate";

const request: ScoreRequest = { instrument: "phq9", answers: { "1": 2, "2": 1, "9": null }, context: {} };
const result: ScoreResult = score(request);
const total: ScoreValue | undefined = result.scores["total"];
const value: number | null = total ? total.value : null;
const band: string | null = total ? total.band : null;
const cutoffs: string[] = total ? total.cutoffs : [];
const flags: string[] = result.flags;
const complete: boolean = result.complete;

const outcomes: ScoreOutcome[] = scoreMany([request, { instrument: "auditc", answers: { "1": 1 }, context: { sex: "female" } }]);
for (const o of outcomes) {
  if ("error" in o) {
    const code: ErrorCode = o.error.code;
    const item: string | undefined = o.error.item ?? undefined;
    console.log(code, item, o.error.message);
  } else {
    console.log(o.scores);
  }
}

const options: CatalogOptions = { commercial: true };
const summaries: Summary[] = catalog(options);
const all: Summary[] = catalog();
const first: string | undefined = summaries[0]?.id;
const licence: LicenceStatus | undefined = all[0]?.licence as LicenceStatus | undefined;

const def: InstrumentDefinition = instrument("phq9");
const itemText: string | null | undefined = def.items[0]?.text;
const citation: string | null | undefined = def.citation;
const langs: string[] = def.translations.map((t) => t.lang);

const members: MemberAnswers[] = [{ "1": 1, "2": 2, "3": 1 }, { "1": 3, "2": 3, "3": 3 }];
const groupOptions: GroupOptions = { minN: 3 };
const stats: GroupStats = groupStats("ucla3", members, groupOptions);
const totalStats: ScoreStats | undefined = stats.scores["total"];
const mean: number | null = totalStats ? totalStats.mean : null;
const suppressed: boolean = stats.suppressed;

const problems: Problem[] = validateDefinition("{}");
const kinds: ProblemKind[] = problems.map((p) => p.kind);
const paths: string[] = validateDefinition({ id: "x" }).map((p) => p.path);
const v: string = version;

try {
  score({ instrument: "phq9", answers: { "1": 9 } });
} catch (e: unknown) {
  if (isAttuneError(e)) {
    const err: AttuneError = e;
    const code: ErrorCode = err.code;
    const item: string | undefined = err.item;
    const member: number | undefined = err.member;
    const message: string = err.message;
    console.log(code, item, member, message, err.name === "AttuneError");
  }
}

// @ts-expect-error an answer is a number, not a string
score({ instrument: "phq9", answers: { "1": "2" } });
// @ts-expect-error the instrument id is required
score({ answers: {} });
// @ts-expect-error scoreMany takes an array
scoreMany(request);
// @ts-expect-error error codes are a closed set
const wrong: ErrorCode = "not_a_code";
// @ts-expect-error minN is a number
groupStats("ucla3", members, { minN: "3" });
// @ts-expect-error the loader is not part of the API
import("attune").then((m) => m.initSync);
// @ts-expect-error validateDefinition lives in "attune/validate" since 0.2.0
import("attune").then((m) => m.validateDefinition);

console.log(value, band, cutoffs, flags, complete, first, licence, itemText, citation, langs, mean, suppressed, kinds, paths, v, wrong);
