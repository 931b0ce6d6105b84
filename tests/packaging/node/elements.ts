// The element and live-poll declarations (`attune/elements`, `attune/poll`), compiled with the same
// strict settings. Type-only: Node cannot run custom elements.
import type { AttuneQuestionnaireElement, CompleteDetail, TextPack, ErrorDetail } from "attune/elements";
import type { LiveMessage, LiveHello, LiveRequest, Aggregate, Poll, Withheld, Joined, PollList, Trend, Released } from "attune/poll";

declare const form: AttuneQuestionnaireElement;
const pack: TextPack = { terms: "By permission", languages: { en: { items: { "1": "An item" }, options: { agree5: { "1": "No" } } } } };
form.textPack = pack;
form.answers = { "1": 2 };
form.addEventListener("attune-complete", (e) => {
  const d: CompleteDetail = e.detail;
  const total: number | null | undefined = d.result.scores["total"]?.value;
  void total;
});
form.addEventListener("attune-error", (e) => {
  const d: ErrorDetail = e.detail;
  const code: "unknown_instrument" | string = d.code;
  void code;
});
const tag: AttuneQuestionnaireElement | null = document.querySelector("attune-questionnaire");
void tag;
// In a form, and delivering: the events are typed on the element.
form.addEventListener("attune-queued", (e) => {
  const retryAt: string | null = e.detail.retryAt;
  void retryAt;
});
form.addEventListener("attune-delivered", (e) => {
  const status: number = e.detail.status;
  void status;
});
form.addEventListener("attune-delivery-error", (e) => {
  const again: boolean = e.detail.willRetry;
  const code: "network" | "http_status" | "queue_unavailable" | "key_mismatch" = e.detail.code;
  void again; void code;
});
const valid: boolean = form.checkValidity() && form.validity.valueMissing === false;
const token0: string | null = form.resumeToken;
const owner: HTMLFormElement | null = form.form;
void valid; void token0; void owner;
// @ts-expect-error: the response's value is read-only
form.response = null;

const hello: LiveHello = { type: "dashboard", token: "secret" };
const member: LiveHello = { type: "member" };
function answered(m: LiveMessage): number | null {
  switch (m.type) {
    case "snapshot": {
      const a: Aggregate = m.aggregate;
      const p: Poll = a.poll;
      const w: Withheld | null = a.withheld;
      const r: Released | null = a.released;
      void p; void w; void r;
      return a.answered - a.pending;
    }
    case "status": return m.poll.status === "closed" ? 0 : null;
    case "stored": return m.revision;
    case "pong": return null;
    case "error": return m.error.code.length;
  }
}
void hello; void member; void answered;
// @ts-expect-error: not a message the server sends
const bad: LiveMessage = { type: "hello" };
// @ts-expect-error: a dashboard hello needs the host token
const noToken: LiveHello = { type: "dashboard" };
void bad; void noToken;
const answer: LiveRequest = { type: "answer", token: "member-token", answers: { "1": 3, "2": null } };
// @ts-expect-error: answers are numbers (or null), by item id
const wrongAnswer: LiveRequest = { type: "answer", token: "member-token", answers: { "1": "3" } };
void answer; void wrongAnswer;
// The join answer, the poll list and the trend.
function token(j: Joined): string | undefined {
  return j.member_token;
}
function latestCode(l: PollList): string | null {
  return l.polls[l.polls.length - 1]?.code ?? null;
}
function means(t: Trend): (number | null)[] {
  return t.sessions.map((s) => s.scores["total"]?.mean ?? null);
}
void token; void latestCode; void means;
