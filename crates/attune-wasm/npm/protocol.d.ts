// The live poll's messages and aggregate (`GET /api/polls/{poll}/live`, `GET /api/polls/{poll}/aggregate`):
// declared from the same Rust types the server writes them with (crate attune-protocol, via tsify).
export type {
  LiveHello,
  LiveRequest,
  LiveMessage,
  Aggregate,
  Poll,
  PollState,
  PollStatus,
  Stem,
  StemSource,
  CustomQuestion,
  QuestionOption,
  Withheld,
  LiveError,
} from "./pkg-poll/attune_wasm.js";
