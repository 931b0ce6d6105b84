// Types for `import "attune/inbox"`: the <attune-inbox> element (the clinic staff's view of a sealed
// intake inbox) and the `detail` of its events.

/** Where the element is. */
export type InboxState =
  /** Not connected yet, or reading this browser's storage. */
  | "idle"
  /** No key for this server and inbox in this browser: create an inbox, or restore one from its backup file. */
  | "setup"
  /** An inbox was just created: a passphrase-encrypted backup file must be downloaded before the key is stored. */
  | "backup"
  /** The key is stored: the code for the clinic's website and the key fingerprint are shown. */
  | "ready"
  /** The submissions, opened and scored again in this browser. */
  | "list"
  /** One submission in full. */
  | "detail"
  /** The attributes cannot be used (no `server`, or not an https URL). */
  | "error";

/** `attune-inbox-created`: an inbox was created, its key backed up and stored in this browser. */
export interface InboxCreatedDetail {
  /** The inbox id (now also the element's `inbox` attribute). */
  inbox: string;
  /** `sha256:` and the base64url of the SHA-256 of the public key: the widget's `inbox-key`. */
  fingerprint: string;
  /** The inbox's address, for the widget's `inbox` attribute. */
  url: string;
}

/** `attune-inbox-opened`: the submissions were fetched and opened (on load and on every refresh). */
export interface InboxOpenedDetail {
  /** Submissions listed, opened or not. */
  count: number;
  /** Submissions with a critical flag (e.g. PHQ-9 item 9). */
  critical: number;
}

export type InboxErrorCode =
  /** No `server` attribute. */
  | "missing_server"
  /** `server` is not an https URL (http only for localhost). */
  | "invalid_server"
  /** This browser lacks X25519 in WebCrypto, or cannot keep a non-extractable key in IndexedDB. */
  | "unsupported"
  /** The server's fingerprint of the new inbox's key is not the one computed here: nothing was stored. */
  | "fingerprint_mismatch"
  /** "Continue" before the backup file was downloaded. */
  | "backup_required"
  /** The passphrase does not open the backup file (or the file was altered). */
  | "wrong_passphrase"
  /** Not an Attune inbox key backup file, or a damaged one. */
  | "invalid_backup"
  /** The key in the backup file does not match its fingerprint. */
  | "backup_mismatch"
  /** The backup file is for another inbox than the element's `inbox`. */
  | "inbox_mismatch"
  /** The backup file is for another server than the element's `server`. */
  | "server_mismatch"
  /** After a restore: the server lists another key for the inbox now. */
  | "key_changed"
  /** The server refused this browser's host token (401). */
  | "unauthorized"
  /** The server could not be reached. */
  | "network"
  /** The server's answer did not have the expected shape. */
  | "invalid_response"
  /** `attune/fhir` could not be loaded for a FHIR export. */
  | "fhir_unavailable"
  /** Some submissions could not be made into FHIR Bundles (the message names them). */
  | "fhir_failed"
  /** Any other code the server sent (`{ "error": { "code", "message" } }`), or `http_<status>`. */
  | (string & {});

export interface InboxErrorDetail {
  code: InboxErrorCode;
  /** The message shown in the element's alert region (in its language; the server's own message for its errors). */
  message: string;
}

export interface AttuneInboxElement extends HTMLElement {
  /** Where the element is (`setup`, `backup`, `ready`, `list`, `detail`, ...). */
  readonly state: InboxState;
  /** Fetches, opens and scores the submissions again (what the Refresh button does); does nothing without a key. */
  refresh(): Promise<void>;
}

export interface AttuneInboxEventMap {
  "attune-inbox-created": CustomEvent<InboxCreatedDetail>;
  "attune-inbox-opened": CustomEvent<InboxOpenedDetail>;
  /** Also the questionnaire element's event name: listen on the inbox element itself for this detail. */
  "attune-error": CustomEvent<InboxErrorDetail>;
}

// `attune-error` is left out of the global map: `attune/elements` types it there with its own detail.
declare global {
  interface HTMLElementTagNameMap {
    "attune-inbox": AttuneInboxElement;
  }
  interface HTMLElementEventMap {
    "attune-inbox-created": CustomEvent<InboxCreatedDetail>;
    "attune-inbox-opened": CustomEvent<InboxOpenedDetail>;
  }
}

/** The tags this import defined (empty when it was already defined). */
export declare const defined: string[];
