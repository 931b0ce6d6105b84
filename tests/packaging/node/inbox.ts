// The sealed inbox's declarations (`attune/inbox`, `attune/seal`), compiled with the same strict
// settings. Type-only for the element; `seal` is typed as the widget calls it.
import type { AttuneInboxElement, InboxCreatedDetail, InboxOpenedDetail, InboxErrorDetail, InboxState } from "attune/inbox";
import type { seal, fingerprint, SealErrorCode } from "attune/seal";

declare const inbox: AttuneInboxElement;
const state: InboxState = inbox.state;
void state;
inbox.addEventListener("attune-inbox-created", (e) => {
  const d: InboxCreatedDetail = e.detail;
  const snippet = `<attune-questionnaire instrument="phq9" inbox="${d.url}" inbox-key="${d.fingerprint}">`;
  void snippet;
});
inbox.addEventListener("attune-inbox-opened", (e) => {
  const d: InboxOpenedDetail = e.detail;
  const critical: number = d.critical;
  void critical;
});
const found: AttuneInboxElement | null = document.querySelector("attune-inbox");
void found;
declare const detail: InboxErrorDetail;
void detail.code;
void inbox.refresh();

declare const sealWith: typeof seal;
declare const fp: typeof fingerprint;
const envelope: string = sealWith("pk", fp("pk"), "inbox", "key", "{}", new Uint8Array(32));
const code: SealErrorCode = "key_mismatch";
void envelope;
void code;
