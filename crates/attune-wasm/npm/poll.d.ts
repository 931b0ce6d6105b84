// Types for `import "attune/poll"`: the live-poll elements and the messages of the poll server's
// WebSocket (`GET /api/polls/{poll}/live`).
export * from "./elements.js";
export type * from "./protocol.js";

export interface AttunePollJoinElement extends HTMLElement {}
export interface AttunePollDashboardElement extends HTMLElement {}

declare global {
  interface HTMLElementTagNameMap {
    "attune-poll-join": AttunePollJoinElement;
    "attune-poll-dashboard": AttunePollDashboardElement;
  }
}
