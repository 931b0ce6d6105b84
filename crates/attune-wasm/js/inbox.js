// `import "attune/inbox"` defines <attune-inbox server="https://attune.clinic.example" inbox="ID">:
// the clinic staff's view of a sealed intake inbox (docs/inbox.md). Patients' browsers seal each
// completed response to the inbox's public key; this element holds the private key, as a
// non-extractable CryptoKey in this browser's IndexedDB, and opens, scores again, lists, exports and
// deletes the submissions the server keeps.
//
// - No key for server + inbox: "Create an inbox" (a key pair made here; the server gets the public
//   key; a passphrase-encrypted backup file is required before the key is stored) or "Restore from a
//   backup file".
// - With a key: the submissions, opened and scored again with this package's core, in a table
//   (critical flags first, then newest first), a detail view per submission, CSV and FHIR (NDJSON)
//   exports, and deletion (with a confirmation, which says so when a submission was not exported).
//
// Plain DOM in a shadow root with an adopted constructable stylesheet: no inline style or script,
// so it runs under a strict Content-Security-Policy. `./fhir.js` is imported only on a FHIR export.

import { b64url, fromB64url, fingerprint, generateKeyPair, exportPrivate, importPrivate, open } from "./hpke.js";
import { score, instrument, version as coreVersion } from "./index.js";
import { load as loadWording } from "./wording/index.js";

const TAG = "attune-inbox";
const DB = "attune-inbox";
const KEYS = "keys";
const EXPORTED = "exported";
const TIMEOUT = 30_000;
const MIN_PASSPHRASE = 12;
const ITERATIONS = 600_000;

const TEXT = {
  en: {
    title: "Sealed intake inbox",
    setupIntro: "This browser holds no key for an inbox on {server}. Create an inbox, or restore one from its backup file.",
    setupIntroInbox: "This browser holds no key for the inbox {inbox} on {server}. Restore it from its backup file, or create a new inbox.",
    keysHere: "Inboxes with a key in this browser",
    openNamed: "Open {name}",
    createHeading: "Create an inbox",
    nameLabel: "Inbox name",
    nameHint: "For your own reference, for example the clinic's name. Anyone with the inbox's address can see it: put no patient information in it.",
    nameRequired: "Enter a name for the inbox.",
    create: "Create the inbox",
    creating: "Creating the inbox…",
    restoreHeading: "Restore from a backup file",
    fileLabel: "Backup file",
    fileHint: "The file attune-inbox-….json downloaded when the inbox was created.",
    fileRequired: "Choose the backup file.",
    passLabel: "Passphrase of the backup",
    passRequired: "Enter the passphrase the backup was made with.",
    restore: "Restore",
    restoring: "Restoring the key…",
    restored: "The key for the inbox {inbox} was restored in this browser.",
    serverKeyChanged: "The server now lists another key for this inbox. Submissions sealed to that key cannot be opened with this backup.",
    backupHeading: "Back up the inbox's key",
    backupCreated: "The inbox {inbox} was created. Its private key exists only in this browser.",
    backupWarning: "If this browser's data is cleared and you have no backup, the submissions sealed to this key can never be opened, by anyone, including Attune.",
    backupHow: "Choose a passphrase to protect the backup file, download the file, and keep the file and the passphrase safe, apart from each other. This is the only time a backup can be made.",
    pass1Label: "Passphrase for the backup",
    pass2Label: "The same passphrase again",
    passHint: "At least 12 characters. Anyone who gets hold of the file can try passphrases on it as fast as their computers allow; only a long one (four or five unrelated words, for example) keeps them out. It cannot be reset.",
    passShort: "The passphrase must be at least 12 characters long.",
    passDiffer: "The two passphrases are not the same.",
    makeBackup: "Make the backup file",
    making: "Encrypting the backup file…",
    backupReady: "The backup file is ready. Download it and keep it safe.",
    download: "Download the backup file ({file})",
    continue: "I have saved the backup file: continue",
    downloadFirst: "Download the backup file first: it is the only way to recover the key.",
    readyHeading: "The inbox is ready",
    readyIntro: "Patients' answers are sealed in their browser to this inbox's key; the server keeps only sealed bytes.",
    snippetLabel: "Code for your website's intake page",
    snippetHint: "Paste it into the page where patients fill in the questionnaire; change instrument=\"phq9\" to the questionnaire you use.",
    copy: "Copy the code",
    copied: "The code is copied to the clipboard.",
    copyFailed: "The code could not be copied automatically: it is selected, press Ctrl+C (⌘+C on a Mac).",
    fingerprintLabel: "Key fingerprint",
    openInbox: "Open the inbox",
    inboxHeading: "Inbox: {name}",
    keyNote: "The inbox's private key is kept in this browser and cannot be copied out of it. The backup file made when the inbox was created is the only other copy.",
    embedSummary: "Code for your website",
    refresh: "Refresh",
    exportCsv: "Export CSV",
    exportFhir: "Export FHIR (NDJSON)",
    deleteExported: "Delete exported",
    caption: "Submissions: critical flags first, then newest first",
    colReceived: "Received",
    colInstrument: "Instrument",
    colScore: "Score and band",
    colFlags: "Flags",
    colActions: "Actions",
    loading: "Loading and opening the submissions…",
    empty: "No submissions.",
    count: (n, critical, failed) => n === 0 ? "No submissions." :
      `${n === 1 ? "1 submission" : `${n} submissions`}, ${critical} with a critical flag` +
      (failed ? `, ${failed} could not be opened` : ""),
    critical: "Critical",
    none: "None",
    noScore: "no score",
    open: "Open",
    delete: "Delete",
    rowContext: "the submission received {date}",
    exportedTag: "Exported",
    unopened: "Could not be opened",
    reasons: {
      open_failed: "it was altered, or sealed to another key",
      key_mismatch: "it was sealed to another key of this inbox",
      invalid_envelope: "the stored envelope is malformed",
      invalid_encoding: "the stored envelope is malformed",
      invalid_plaintext: "it opened, but its contents are not an Attune response",
      other: "an unexpected error: {message}",
    },
    unscored: "Could not be scored again: {message}",
    differs: "Differs from the result the patient's browser sealed; shown is the result scored again here.",
    detailHeading: "{instrument}, received {date}",
    completed: "Completed",
    version: "Attune version",
    versionValue: "{sealed} in the patient's browser; {here} here",
    language: "Patient's language",
    context: "Context",
    scores: "Scores",
    flags: "Flags",
    answers: "Answers",
    band: "Band",
    cutoffs: "Cut-offs met",
    noCutoffs: "none",
    noFlags: "No flags raised.",
    notAnswered: "Not answered",
    item: "Item {n}",
    citation: "Citation",
    back: "Back to the list",
    deleteTitle: "Delete this submission?",
    deleteExportedBody: "It was exported ({format}, {date}). Deleting removes it from the server for good.",
    deleteUnexported: "This submission has not been exported. Once deleted it is gone for good: nobody can recover it.",
    deleteUnopened: "This submission could not be opened and has not been exported. Once deleted it is gone for good: nobody can recover it.",
    deleteAllTitle: "Delete {n} exported submissions?",
    deleteAllBody: "They were exported from this browser. Deleting removes them from the server for good.",
    confirmDelete: "Delete",
    cancel: "Cancel",
    noneExported: "No listed submission has been exported yet.",
    deleted: (n) => (n === 1 ? "1 submission deleted." : `${n} submissions deleted.`),
    exported: (n, format) => `${n === 1 ? "1 submission" : `${n} submissions`} exported as ${format}.`,
    leftOut: (n) => ` ${n === 1 ? "1 submission" : `${n} submissions`} could not be scored and ${n === 1 ? "was" : "were"} left out.`,
    nothingToExport: "There is no opened submission to export.",
    unauthorized: "This browser's access token for the inbox was refused.",
    network: "The server could not be reached.",
    serverSaid: "The server answered: {message}",
    unsupported: "This browser cannot keep an inbox's key: {why}. Use a current Chrome, Edge, Firefox or Safari, outside a private window.",
    whyX25519: "its WebCrypto has no X25519",
    whyStore: "it cannot store a key in IndexedDB",
    missingServer: "The element has no server attribute (the Attune server's address).",
    invalidServer: "The server attribute must be an https URL (http only for localhost).",
    wrongPassphrase: "The passphrase does not open this backup file (or the file was altered).",
    invalidBackup: "This is not an Attune inbox key backup file.",
    fingerprintMismatch: "The key fingerprint the server returned is not the one of the key made here. Nothing was stored; do not use this inbox.",
    backupMismatch: "The key in the backup file does not match its fingerprint.",
    inboxMismatch: "This backup file is for the inbox {file}, not {inbox}.",
    serverMismatch: "This backup file is for the server {file}, not {server}.",
    badResponse: "The server's answer was not what was expected.",
    fhirUnavailable: "The FHIR module could not be loaded: {message}",
  },
  es: {
    title: "Buzón sellado de admisión",
    setupIntro: "Este navegador no guarda ninguna clave de un buzón en {server}. Cree un buzón o restaure uno desde su archivo de copia de seguridad.",
    setupIntroInbox: "Este navegador no guarda la clave del buzón {inbox} en {server}. Restáurela desde su archivo de copia de seguridad o cree un buzón nuevo.",
    keysHere: "Buzones con clave en este navegador",
    openNamed: "Abrir {name}",
    createHeading: "Crear un buzón",
    nameLabel: "Nombre del buzón",
    nameHint: "Para su propia referencia, por ejemplo el nombre de la clínica. Cualquiera con la dirección del buzón puede verlo: no incluya datos de pacientes.",
    nameRequired: "Escriba un nombre para el buzón.",
    create: "Crear el buzón",
    creating: "Creando el buzón…",
    restoreHeading: "Restaurar desde un archivo de copia de seguridad",
    fileLabel: "Archivo de copia de seguridad",
    fileHint: "El archivo attune-inbox-….json descargado al crear el buzón.",
    fileRequired: "Elija el archivo de copia de seguridad.",
    passLabel: "Frase de contraseña de la copia",
    passRequired: "Escriba la frase de contraseña con la que se hizo la copia.",
    restore: "Restaurar",
    restoring: "Restaurando la clave…",
    restored: "Se restauró en este navegador la clave del buzón {inbox}.",
    serverKeyChanged: "El servidor indica ahora otra clave para este buzón. Los envíos sellados con esa clave no se pueden abrir con esta copia.",
    backupHeading: "Haga una copia de seguridad de la clave del buzón",
    backupCreated: "Se creó el buzón {inbox}. Su clave privada solo existe en este navegador.",
    backupWarning: "Si se borran los datos de este navegador y no tiene una copia de seguridad, los envíos sellados con esta clave no podrán abrirse nunca, por nadie, ni siquiera por Attune.",
    backupHow: "Elija una frase de contraseña para proteger el archivo, descárguelo y guarde el archivo y la frase en lugares seguros y separados. Es la única ocasión de hacer una copia.",
    pass1Label: "Frase de contraseña de la copia",
    pass2Label: "La misma frase otra vez",
    passHint: "Al menos 12 caracteres. Quien obtenga el archivo puede probar frases tan rápido como le permitan sus ordenadores; solo una frase larga (por ejemplo cuatro o cinco palabras sin relación) lo impide. No se puede restablecer.",
    passShort: "La frase de contraseña debe tener al menos 12 caracteres.",
    passDiffer: "Las dos frases no son iguales.",
    makeBackup: "Crear el archivo de copia",
    making: "Cifrando el archivo de copia…",
    backupReady: "El archivo de copia está listo. Descárguelo y guárdelo en un lugar seguro.",
    download: "Descargar el archivo de copia ({file})",
    continue: "He guardado el archivo de copia: continuar",
    downloadFirst: "Descargue primero el archivo de copia: es la única forma de recuperar la clave.",
    readyHeading: "El buzón está listo",
    readyIntro: "Las respuestas de los pacientes se sellan en su navegador con la clave de este buzón; el servidor solo guarda bytes sellados.",
    snippetLabel: "Código para la página de admisión de su sitio web",
    snippetHint: "Péguelo en la página donde los pacientes responden el cuestionario; cambie instrument=\"phq9\" por el cuestionario que use.",
    copy: "Copiar el código",
    copied: "El código está copiado en el portapapeles.",
    copyFailed: "No se pudo copiar automáticamente: el código está seleccionado, pulse Ctrl+C (⌘+C en un Mac).",
    fingerprintLabel: "Huella de la clave",
    openInbox: "Abrir el buzón",
    inboxHeading: "Buzón: {name}",
    keyNote: "La clave privada del buzón se guarda en este navegador y no se puede copiar fuera de él. El archivo de copia hecho al crear el buzón es la única otra copia.",
    embedSummary: "Código para su sitio web",
    refresh: "Actualizar",
    exportCsv: "Exportar CSV",
    exportFhir: "Exportar FHIR (NDJSON)",
    deleteExported: "Eliminar los exportados",
    caption: "Envíos: primero los que tienen alertas críticas, luego los más recientes",
    colReceived: "Recibido",
    colInstrument: "Instrumento",
    colScore: "Puntuación y categoría",
    colFlags: "Alertas",
    colActions: "Acciones",
    loading: "Cargando y abriendo los envíos…",
    empty: "No hay envíos.",
    count: (n, critical, failed) => n === 0 ? "No hay envíos." :
      `${n === 1 ? "1 envío" : `${n} envíos`}, ${critical} con una alerta crítica` +
      (failed ? `, ${failed} no se ${failed === 1 ? "pudo" : "pudieron"} abrir` : ""),
    critical: "Crítica",
    none: "Ninguna",
    noScore: "sin puntuación",
    open: "Abrir",
    delete: "Eliminar",
    rowContext: "el envío recibido el {date}",
    exportedTag: "Exportado",
    unopened: "No se pudo abrir",
    reasons: {
      open_failed: "fue alterado o sellado con otra clave",
      key_mismatch: "fue sellado con otra clave de este buzón",
      invalid_envelope: "el sobre guardado está mal formado",
      invalid_encoding: "el sobre guardado está mal formado",
      invalid_plaintext: "se abrió, pero su contenido no es una respuesta de Attune",
      other: "un error inesperado: {message}",
    },
    unscored: "No se pudo puntuar de nuevo: {message}",
    differs: "Difiere del resultado que selló el navegador del paciente; se muestra el resultado puntuado de nuevo aquí.",
    detailHeading: "{instrument}, recibido el {date}",
    completed: "Completado",
    version: "Versión de Attune",
    versionValue: "{sealed} en el navegador del paciente; {here} aquí",
    language: "Idioma del paciente",
    context: "Contexto",
    scores: "Puntuaciones",
    flags: "Alertas",
    answers: "Respuestas",
    band: "Categoría",
    cutoffs: "Puntos de corte alcanzados",
    noCutoffs: "ninguno",
    noFlags: "No se activó ninguna alerta.",
    notAnswered: "Sin respuesta",
    item: "Ítem {n}",
    citation: "Cita",
    back: "Volver a la lista",
    deleteTitle: "¿Eliminar este envío?",
    deleteExportedBody: "Se exportó ({format}, {date}). Al eliminarlo se borra del servidor para siempre.",
    deleteUnexported: "Este envío no se ha exportado. Una vez eliminado desaparece para siempre: nadie podrá recuperarlo.",
    deleteUnopened: "Este envío no se pudo abrir y no se ha exportado. Una vez eliminado desaparece para siempre: nadie podrá recuperarlo.",
    deleteAllTitle: "¿Eliminar {n} envíos exportados?",
    deleteAllBody: "Se exportaron desde este navegador. Al eliminarlos se borran del servidor para siempre.",
    confirmDelete: "Eliminar",
    cancel: "Cancelar",
    noneExported: "Ningún envío de la lista se ha exportado todavía.",
    deleted: (n) => (n === 1 ? "1 envío eliminado." : `${n} envíos eliminados.`),
    exported: (n, format) => `${n === 1 ? "1 envío exportado" : `${n} envíos exportados`} como ${format}.`,
    leftOut: (n) => ` ${n === 1 ? "1 envío no se pudo puntuar y se omitió" : `${n} envíos no se pudieron puntuar y se omitieron`}.`,
    nothingToExport: "No hay ningún envío abierto que exportar.",
    unauthorized: "El servidor rechazó el token de acceso al buzón de este navegador.",
    network: "No se pudo contactar con el servidor.",
    serverSaid: "El servidor respondió: {message}",
    unsupported: "Este navegador no puede guardar la clave de un buzón: {why}. Use una versión actual de Chrome, Edge, Firefox o Safari, fuera de una ventana privada.",
    whyX25519: "su WebCrypto no admite X25519",
    whyStore: "no puede guardar una clave en IndexedDB",
    missingServer: "El elemento no tiene el atributo server (la dirección del servidor de Attune).",
    invalidServer: "El atributo server debe ser una URL https (http solo para localhost).",
    wrongPassphrase: "La frase de contraseña no abre este archivo de copia (o el archivo fue alterado).",
    invalidBackup: "Este archivo no es una copia de seguridad de la clave de un buzón de Attune.",
    fingerprintMismatch: "La huella de la clave que devolvió el servidor no es la de la clave creada aquí. No se guardó nada; no use este buzón.",
    backupMismatch: "La clave del archivo de copia no coincide con su huella.",
    inboxMismatch: "Este archivo de copia es del buzón {file}, no de {inbox}.",
    serverMismatch: "Este archivo de copia es del servidor {file}, no de {server}.",
    badResponse: "La respuesta del servidor no es la esperada.",
    fhirUnavailable: "No se pudo cargar el módulo FHIR: {message}",
  },
};

const SHEET = `
:host {
  display: block;
  --_accent: var(--attune-accent, #1d4ed8);
  --_on-accent: var(--attune-on-accent, #ffffff);
  --_text: var(--attune-text, #1f2937);
  --_bg: var(--attune-background, #ffffff);
  --_muted: var(--attune-muted, #4b5563);
  --_border: var(--attune-border, #6b7280);
  --_font: var(--attune-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  --_radius: var(--attune-radius, 0.5rem);
  --_space: var(--attune-space, 1rem);
  --_crisis-bg: var(--attune-crisis-background, #fff7ed);
  --_crisis-border: var(--attune-crisis-border, #9a3412);
  --_warn: var(--attune-warning, #92400e);
}
@media (prefers-color-scheme: dark) {
  :host {
    --_accent: var(--attune-accent, #93c5fd);
    --_on-accent: var(--attune-on-accent, #0b1220);
    --_text: var(--attune-text, #e5e7eb);
    --_bg: var(--attune-background, #111827);
    --_muted: var(--attune-muted, #cbd5e1);
    --_border: var(--attune-border, #9ca3af);
    --_crisis-bg: var(--attune-crisis-background, #2a1608);
    --_crisis-border: var(--attune-crisis-border, #fdba74);
    --_warn: var(--attune-warning, #fcd34d);
  }
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.inbox {
  color: var(--_text); background: var(--_bg); font-family: var(--_font); font-size: 1rem;
  line-height: 1.5; padding: var(--_space); border-radius: var(--_radius); max-width: 72rem;
  overflow-wrap: anywhere;
}
h2 { font-size: 1.375rem; margin: 0 0 calc(var(--_space) * 0.75); }
h3 { font-size: 1.125rem; margin: var(--_space) 0 0.5rem; }
h4 { font-size: 1rem; margin: var(--_space) 0 0.25rem; }
h2:focus, h3:focus { outline: none; }
h2:focus-visible, h3:focus-visible { outline: 3px solid var(--_accent); outline-offset: 2px; }
p { margin: 0 0 0.75rem; }
.note, .hint { color: var(--_muted); }
.hint { font-size: 0.9375rem; margin: 0.125rem 0 0.25rem; }
.warn { color: var(--_warn); font-weight: 600; }
.box {
  border: 1px solid var(--_border); border-radius: var(--_radius); padding: var(--_space);
  margin: 0 0 var(--_space);
}
.important {
  background: var(--_crisis-bg); border: 2px solid var(--_crisis-border); border-radius: var(--_radius);
  padding: calc(var(--_space) * 0.75); font-weight: 600;
}
.field { margin: 0 0 var(--_space); }
label { display: block; font-weight: 600; }
input, textarea {
  font: inherit; color: var(--_text); background: var(--_bg); border: 1px solid var(--_border);
  border-radius: calc(var(--_radius) * 0.5); padding: 0.5rem; min-height: 2.75rem; width: 100%; max-width: 32rem;
}
input[type="file"] { padding: 0.375rem; }
textarea { max-width: none; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.875rem; }
input[aria-invalid="true"] { border: 2px solid var(--_warn); }
.error-text { color: var(--_warn); font-weight: 600; margin: 0.25rem 0 0; }
.error-text:empty { display: none; }
input:focus-visible, textarea:focus-visible, a:focus-visible, [tabindex="0"]:focus-visible {
  outline: 3px solid var(--_accent); outline-offset: 2px;
}
.actions, .toolbar { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: center; margin: 0 0 var(--_space); }
button, a.button {
  font: inherit; min-height: 2.75rem; min-width: 2.75rem; padding: 0.5rem 1.25rem; cursor: pointer;
  border-radius: var(--_radius); border: 2px solid var(--_accent); display: inline-flex; align-items: center;
  text-decoration: none;
}
button.primary, a.button { background: var(--_accent); color: var(--_on-accent); }
button.secondary { background: var(--_bg); color: var(--_accent); }
button.danger { background: var(--_bg); color: var(--_warn); border-color: var(--_warn); }
button.small { min-height: 2.5rem; padding: 0.25rem 0.75rem; }
button:focus-visible, a.button:focus-visible { outline: 3px solid var(--_text); outline-offset: 2px; }
button[aria-busy="true"] { cursor: progress; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.875rem; }
.alert:empty, .status:empty { display: none; }
.alert {
  border: 2px solid var(--_warn); border-radius: var(--_radius); padding: 0.75rem; margin: 0 0 var(--_space);
  color: var(--_warn); font-weight: 600;
}
.status { margin: 0 0 var(--_space); }
.table-wrap { overflow-x: auto; margin: 0 0 var(--_space); }
/* A data table keeps its columns on a narrow screen: it scrolls sideways in its wrapper. */
table { border-collapse: collapse; width: 100%; min-width: 46rem; }
th, td { overflow-wrap: normal; }
caption { text-align: left; font-weight: 600; padding: 0 0 0.5rem; }
th, td { text-align: left; vertical-align: top; padding: 0.5rem; border-bottom: 1px solid var(--_border); }
thead th { border-bottom: 2px solid var(--_text); }
tbody th, td.instrument { font-weight: 400; white-space: nowrap; }
tr.critical { background: var(--_crisis-bg); }
tr.critical > th { border-left: 6px solid var(--_crisis-border); }
tr.failed > td.failed { color: var(--_warn); font-weight: 600; }
ul.plain { list-style: none; margin: 0; padding: 0; }
.flag-critical { font-weight: 700; }
.tag {
  display: inline-block; border: 1px solid currentColor; border-radius: 999px; padding: 0 0.5rem;
  font-size: 0.875rem; font-weight: 700;
}
.tag.critical { color: var(--_crisis-border); border-width: 2px; }
.row-actions { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
.band { font-weight: 600; }
dl.scores { margin: 0; }
dl.scores dt { font-weight: 600; margin-top: 0.5rem; }
dl.scores dd { margin: 0; }
ul.answers li { margin-bottom: 0.5rem; }
.answer { display: block; font-weight: 600; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0 0 var(--_space); }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
ul.flags { padding-left: 1.25rem; }
.critical-flag { border-left: 6px solid var(--_crisis-border); background: var(--_crisis-bg); padding: 0.5rem; list-style: none; margin-left: -1.25rem; margin-bottom: 0.5rem; }
.credits { border-top: 1px solid var(--_border); padding-top: 0.5rem; color: var(--_muted); font-size: 0.875rem; }
details { margin: 0 0 var(--_space); }
summary { cursor: pointer; min-height: 2.75rem; display: list-item; padding: 0.5rem 0; font-weight: 600; }
summary:focus-visible { outline: 3px solid var(--_accent); outline-offset: 2px; }
dialog {
  color: var(--_text); background: var(--_bg); font-family: var(--_font); line-height: 1.5;
  border: 2px solid var(--_border); border-radius: var(--_radius); padding: var(--_space); max-width: min(32rem, 90vw);
}
dialog::backdrop { background: rgb(0 0 0 / 0.5); }
dialog h3 { margin-top: 0; }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
@media (prefers-reduced-motion: no-preference) {
  button { transition: border-color 120ms ease, background-color 120ms ease; }
}
@media (forced-colors: active) {
  button, a.button, input, textarea, .box, .important, .alert, dialog { border-color: ButtonText; }
  tr.critical > th, .critical-flag { border-left-color: Highlight; }
  button:focus-visible, input:focus-visible, textarea:focus-visible, a:focus-visible, h2:focus-visible, h3:focus-visible { outline-color: Highlight; }
}
`;
let sheet;

// ---------------------------------------------------------------------------------------------
// Storage: IndexedDB `attune-inbox`, stores `keys` (`${server}|${inbox}`) and `exported`
// (`${server}|${inbox}|${id}`). Every write resolves once its transaction has committed.

let opening = null;
function db() {
  opening ??= new Promise((resolve, reject) => {
    if (typeof indexedDB === "undefined") throw new Error("IndexedDB is not available");
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      const d = req.result;
      if (!d.objectStoreNames.contains(KEYS)) d.createObjectStore(KEYS);
      if (!d.objectStoreNames.contains(EXPORTED)) d.createObjectStore(EXPORTED);
    };
    req.onsuccess = () => {
      const d = req.result;
      d.onversionchange = () => { d.close(); opening = null; };
      d.onclose = () => { opening = null; };
      resolve(d);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("the inbox's storage is held by an older version of this page in another tab"));
  }).catch((e) => {
    opening = null;
    throw e;
  });
  return opening;
}

async function run(store, mode, request) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(store, mode, { durability: "strict" });
    let r;
    try {
      r = request(t.objectStore(store));
    } catch (e) {
      // A DataCloneError (a CryptoKey this browser cannot store) is thrown by put() itself.
      try { t.abort(); } catch { /* already finished */ }
      reject(e);
      return;
    }
    t.oncomplete = () => resolve(r.result);
    t.onerror = () => reject(t.error ?? r.error);
    t.onabort = () => reject(t.error ?? new Error("the transaction was aborted"));
  });
}

const range = (prefix) => IDBKeyRange.bound(prefix, `${prefix}\uffff`);

// ---------------------------------------------------------------------------------------------
// Helpers

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

function fail(code, message, extra) {
  return Object.assign(new Error(message), { code }, extra);
}

/** `{name}` placeholders filled from `values`. */
function fill(template, values = {}) {
  return template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
}

/** An element: `h("button", { class: "primary", on: { click } }, "Text")`. */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") for (const [type, fn] of Object.entries(v)) el.addEventListener(type, fn);
    else if (k === "class") el.className = v;
    else if (k === "value" || k === "tabIndex" || k === "hidden") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" || typeof c === "number" ? String(c) : c);
  }
  return el;
}

/** A UTF-8 JSON value's bytes; the caller zeroes them after use. */
const jsonBytes = (value) => enc.encode(JSON.stringify(value));

function isB64url(s) {
  return typeof s === "string" && /^[A-Za-z0-9_-]*$/.test(s);
}

/** Whether the error is the browser's lack of support for X25519 or storing keys. */
function unsupportedCause(e) {
  return e?.name === "NotSupportedError" || e?.code === "unsupported";
}

/** Canonical JSON (sorted keys) for comparing results. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

/** A result restricted to what scoring decides, for comparing the sealed one with ours. */
function comparable(r) {
  if (!r || typeof r !== "object") return null;
  const scores = {};
  for (const [id, s] of Object.entries(r.scores ?? {})) {
    scores[id] = { value: s?.value ?? null, band: s?.band ?? null, cutoffs: [...(s?.cutoffs ?? [])].sort() };
  }
  return canonical({ complete: !!r.complete, scores, flags: [...(r.flags ?? [])].sort() });
}

// ---------------------------------------------------------------------------------------------
// The key backup: PBKDF2-SHA-256 (600,000 iterations) → AES-256-GCM, additional data = the inbox id.

async function passphraseKey(passphrase, salt, iterations, usage) {
  const pass = enc.encode(passphrase.normalize("NFC"));
  try {
    const base = await crypto.subtle.importKey("raw", pass, "PBKDF2", false, ["deriveKey"]);
    return await crypto.subtle.deriveKey(
      { name: "PBKDF2", hash: "SHA-256", salt, iterations },
      base,
      { name: "AES-GCM", length: 256 },
      false,
      [usage],
    );
  } finally {
    pass.fill(0);
  }
}

/** The backup file's text. `pkcs8` is read, not zeroed (the caller owns it). */
async function makeBackup({ server, inbox, fingerprint: fp, pkcs8, publicKey, hostToken }, passphrase) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await passphraseKey(passphrase, salt, ITERATIONS, "encrypt");
  const plain = jsonBytes({ private_key: b64url(pkcs8), public_key: b64url(publicKey), host_token: hostToken });
  try {
    const data = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: enc.encode(inbox) }, key, plain));
    return JSON.stringify({
      attune: "inbox-key-backup",
      v: 1,
      server,
      inbox,
      fingerprint: fp,
      kdf: { name: "PBKDF2", hash: "SHA-256", iterations: ITERATIONS, salt: b64url(salt) },
      cipher: { name: "AES-GCM", iv: b64url(iv) },
      data: b64url(data),
    }, null, 2);
  } finally {
    plain.fill(0);
  }
}

/** Reads and decrypts a backup file: `{ server, inbox, fingerprint, pkcs8, publicKey, hostToken }`. */
async function readBackup(text, passphrase) {
  let file;
  try { file = JSON.parse(text); } catch { file = null; }
  const ok = file && typeof file === "object" && file.attune === "inbox-key-backup" && file.v === 1 &&
    typeof file.server === "string" && typeof file.inbox === "string" && file.inbox !== "" &&
    typeof file.fingerprint === "string" && file.kdf?.name === "PBKDF2" && file.kdf.hash === "SHA-256" &&
    Number.isSafeInteger(file.kdf.iterations) && file.kdf.iterations >= 100_000 && file.kdf.iterations <= 10_000_000 &&
    isB64url(file.kdf.salt) && file.cipher?.name === "AES-GCM" && isB64url(file.cipher.iv) && isB64url(file.data);
  if (!ok) throw fail("invalid_backup", "not an Attune inbox key backup file");
  let salt, iv, data;
  try {
    salt = fromB64url(file.kdf.salt);
    iv = fromB64url(file.cipher.iv);
    data = fromB64url(file.data);
  } catch {
    throw fail("invalid_backup", "the backup file's encoding is damaged");
  }
  if (salt.length < 16 || iv.length !== 12 || data.length < 17) throw fail("invalid_backup", "the backup file is damaged");
  const key = await passphraseKey(passphrase, salt, file.kdf.iterations, "decrypt");
  let plain;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: enc.encode(file.inbox) }, key, data));
  } catch {
    throw fail("wrong_passphrase", "the passphrase does not open this backup file (or the file was altered)");
  }
  let inner;
  try { inner = JSON.parse(dec.decode(plain)); } catch { inner = null; } finally { plain.fill(0); }
  if (!inner || !isB64url(inner.private_key) || !isB64url(inner.public_key) || typeof inner.host_token !== "string") {
    throw fail("invalid_backup", "the backup's contents are not a key");
  }
  const publicKey = fromB64url(inner.public_key);
  if (publicKey.length !== 32 || (await fingerprint(publicKey)) !== file.fingerprint) {
    throw fail("backup_mismatch", "the key in the backup file does not match its fingerprint");
  }
  return {
    server: file.server,
    inbox: file.inbox,
    fingerprint: file.fingerprint,
    pkcs8: fromB64url(inner.private_key),
    publicKey,
    hostToken: inner.host_token,
  };
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180, CRLF line ends) with text cells that a spreadsheet would read as a formula
// (= + - @, tab, carriage return first) prefixed with a single quote. Numbers are written as they are.

function csvCell(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(rows) {
  return rows.map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

/** Offers `text` as a download named `name`. */
function download(root, text, name, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name, hidden: true });
  root.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---------------------------------------------------------------------------------------------
// The element

class AttuneInbox extends HTMLElement {
  static observedAttributes = ["server", "inbox", "lang"];

  #root = null;
  #alert = null;
  #status = null;
  #main = null;
  #view = "idle";
  #gen = 0;
  #selfSet = false;
  #uid = 0;
  #server = null;
  #inbox = null;
  #key = null; // the stored record
  #subs = []; // the listed submissions, opened
  #exported = new Map(); // id → { at, format }
  #list = null; // the list view's parts
  #detailId = null;
  #pending = null; // the creation in progress (backup step)
  #busy = false;
  #alertSource = null;

  connectedCallback() {
    if (!this.#root) {
      this.#root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
      sheet ??= new CSSStyleSheet();
      if (!sheet.cssRules.length) sheet.replaceSync(SHEET);
      this.#root.adoptedStyleSheets = [sheet];
      this.#alert = h("div", { class: "alert", role: "alert", part: "error" });
      this.#status = h("div", { class: "status", role: "status", "aria-live": "polite", part: "status" });
      this.#main = h("div", { class: "main" });
      this.#root.replaceChildren(h("div", { class: "inbox", part: "root" }, this.#alert, this.#status, this.#main));
      this.#start();
    }
  }

  attributeChangedCallback(name, old, value) {
    if (!this.#root || old === value) return;
    if (name === "lang") {
      this.#rerender();
      return;
    }
    if (this.#selfSet) return;
    this.#start();
  }

  /** Where the element is: `idle`, `setup`, `backup`, `ready`, `list`, `detail`, `error`. */
  get state() {
    return this.#view === "list" && this.#detailId !== null ? "detail" : this.#view;
  }

  /** Fetches and opens the submissions again (with a key). */
  refresh() {
    return this.#view === "list" ? this.#load() : Promise.resolve();
  }

  // --- language ---

  get #lang() {
    const tag = this.getAttribute("lang") ?? this.parentElement?.closest("[lang]")?.getAttribute("lang") ??
      document.documentElement.getAttribute("lang") ?? "en";
    const base = tag.split(/[-_]/)[0].toLowerCase();
    if (!TEXT[base]) return { tag: "en", base: "en" };
    // A tag Intl cannot read ("es_ES", "es-") formats dates as its language alone.
    let canonical = base;
    try { canonical = Intl.getCanonicalLocales(tag.replace(/_/g, "-"))[0] ?? base; } catch { canonical = base; }
    return { tag: canonical, base };
  }

  get #t() {
    return TEXT[this.#lang.base];
  }

  #date(seconds) {
    const d = new Date(seconds * 1000);
    return Number.isNaN(d.getTime()) ? "" : new Intl.DateTimeFormat(this.#lang.tag, { dateStyle: "medium", timeStyle: "short" }).format(d);
  }

  #number(n) {
    return new Intl.NumberFormat(this.#lang.tag, { maximumFractionDigits: 2, useGrouping: false }).format(n);
  }

  #id(prefix) {
    this.#uid += 1;
    return `${prefix}-${this.#uid}`;
  }

  // --- messages and events ---

  #emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail }));
  }

  /** Shows an error in the alert region and reports it as `attune-error`. */
  #error(code, message, source = null) {
    this.#alertSource = source;
    this.#alert.replaceChildren(h("p", {}, message));
    this.#emit("attune-error", { code, message });
  }

  /** Clears the alert; with `source`, only an alert that step showed (a later success). */
  #clearError(source = null) {
    if (source !== null && this.#alertSource !== source) return;
    this.#alertSource = null;
    this.#alert.replaceChildren();
  }

  #say(message) {
    if (message) this.#status.replaceChildren(h("p", {}, message));
    else this.#status.replaceChildren();
  }

  /** A thrown error as the user's message, and its code. */
  #explain(e) {
    const t = this.#t;
    const code = e?.code ?? (e?.name === "NotSupportedError" ? "unsupported" : "error");
    const byCode = {
      unauthorized: t.unauthorized,
      network: t.network,
      wrong_passphrase: t.wrongPassphrase,
      invalid_backup: t.invalidBackup,
      backup_mismatch: t.backupMismatch,
      fingerprint_mismatch: t.fingerprintMismatch,
      invalid_response: t.badResponse,
      missing_server: t.missingServer,
      invalid_server: t.invalidServer,
      fhir_unavailable: fill(t.fhirUnavailable, { message: e?.message ?? "" }),
      unsupported: fill(t.unsupported, { why: e?.why === "store" ? t.whyStore : t.whyX25519 }),
      inbox_mismatch: fill(t.inboxMismatch, { file: e?.file ?? "", inbox: this.#inbox ?? "" }),
      server_mismatch: fill(t.serverMismatch, { file: e?.file ?? "", server: this.#server ?? "" }),
    };
    let message = byCode[code];
    if (!message && e?.server) message = fill(t.serverSaid, { message: e.message });
    return { code, message: message ?? String(e?.message ?? e) };
  }

  #report(e, source = null) {
    const { code, message } = this.#explain(e);
    this.#error(code, message, source);
    return code;
  }

  // --- the server ---

  /** The `server` attribute as a base URL (no trailing slash): https, or http to this machine. */
  #readServer() {
    const raw = this.getAttribute("server");
    if (raw === null || raw.trim() === "") throw fail("missing_server", "the element has no server attribute");
    let url;
    try { url = new URL(raw.trim(), document.baseURI); } catch { url = null; }
    const local = url && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
    if (!url || !(url.protocol === "https:" || (url.protocol === "http:" && local)) || url.search || url.hash) {
      throw fail("invalid_server", `server must be an https URL (http only for localhost); got "${raw}"`);
    }
    return url.href.replace(/\/+$/, "");
  }

  async #request(method, path, { body, auth = true } = {}) {
    const headers = {};
    if (auth) headers.Authorization = `Bearer ${this.#key.hostToken}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(`${this.#server}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        mode: "cors",
        credentials: "omit",
        cache: "no-store",
        redirect: "error",
        referrerPolicy: "no-referrer",
        signal: AbortSignal.timeout(TIMEOUT),
      });
    } catch (e) {
      throw fail("network", `the server could not be reached (${e?.message ?? e})`);
    }
    if (res.status === 401) throw fail("unauthorized", "the inbox's access token was refused", { status: 401 });
    if (method === "DELETE" && (res.status === 204 || res.status === 404)) return null;
    let data = null;
    try { data = res.status === 204 ? null : await res.json(); } catch { data = null; }
    if (!res.ok) {
      const err = data?.error;
      const message = typeof err?.message === "string" ? err.message : `${res.status} ${res.statusText}`.trim();
      throw fail(typeof err?.code === "string" ? err.code : `http_${res.status}`, message, { status: res.status, server: true });
    }
    return data;
  }

  // --- life cycle ---

  /** Reads the attributes, looks for the key, and shows the setup or the list. */
  async #start() {
    const gen = ++this.#gen;
    this.#clearError();
    this.#say("");
    this.#key = null;
    this.#subs = [];
    this.#exported = new Map();
    this.#list = null;
    this.#detailId = null;
    // A creation left before its backup (the attributes changed): its key is dropped, zeroed.
    this.#pending?.pkcs8?.fill(0);
    if (this.#pending?.backup) URL.revokeObjectURL(this.#pending.backup);
    this.#pending = null;
    this.#busy = false;
    this.#inbox = this.getAttribute("inbox")?.trim() || null;
    try {
      this.#server = this.#readServer();
    } catch (e) {
      this.#server = null;
      this.#view = "error";
      this.#main.replaceChildren();
      this.#report(e);
      return;
    }
    let record = null;
    let others = [];
    try {
      if (this.#inbox) record = await run(KEYS, "readonly", (s) => s.get(`${this.#server}|${this.#inbox}`));
      else others = (await run(KEYS, "readonly", (s) => s.getAll(range(`${this.#server}|`)))).filter((r) => r?.server === this.#server);
    } catch {
      // No IndexedDB: the setup says why when a key is to be stored.
    }
    if (gen !== this.#gen) return;
    if (record?.privateKey) {
      this.#key = record;
      this.#showList();
      this.#load();
    } else {
      this.#showSetup(others);
    }
  }

  /** Renders the current view again (a language change), keeping its state. */
  #rerender() {
    if (this.#view === "list") {
      const detail = this.#detailId;
      this.#showList(false);
      this.#renderRows();
      if (detail !== null) this.#openDetail(detail, false);
    } else if (this.#view === "setup") {
      this.#start();
    } else if (this.#view === "backup" && this.#pending) {
      this.#showBackup(false);
    } else if (this.#view === "ready" && this.#pending) {
      this.#showReady(false);
    }
  }

  #focus(el) {
    if (!el) return;
    // After the browser has laid the new content out.
    requestAnimationFrame(() => el.isConnected && el.focus());
  }

  // --- a field with a label, a hint and an error message ---

  #field({ label, hint, type = "text", autocomplete, accept, required = true }) {
    const id = this.#id("f");
    const hintId = hint ? `${id}-hint` : null;
    const errId = `${id}-error`;
    const input = h("input", {
      id, type, name: id, autocomplete, accept,
      "aria-required": required ? "true" : null,
      "aria-describedby": [hintId, errId].filter(Boolean).join(" "),
      spellcheck: type === "password" ? "false" : null,
    });
    const error = h("p", { class: "error-text", id: errId });
    const wrap = h("div", { class: "field" }, h("label", { for: id }, label), hint ? h("p", { class: "hint", id: hintId }, hint) : null, input, error);
    const setError = (message) => {
      error.textContent = message ?? "";
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    };
    return { wrap, input, setError };
  }

  #busyButton(button, busy, label) {
    this.#busy = busy;
    button.setAttribute("aria-busy", busy ? "true" : "false");
    if (label) button.textContent = label;
  }

  // --- 1. no key: create or restore ---

  #showSetup(others = []) {
    const t = this.#t;
    this.#view = "setup";
    const sid = this.#id("s");
    const heading = h("h2", { id: sid, tabIndex: -1 }, t.title);
    const intro = h("p", {}, fill(this.#inbox ? t.setupIntroInbox : t.setupIntro, { server: this.#server, inbox: this.#inbox ?? "" }));

    let known = null;
    if (others.length) {
      const kid = this.#id("k");
      known = h("section", { class: "box", part: "known", "aria-labelledby": kid });
      known.append(h("h3", { id: kid }, t.keysHere), h("ul", { class: "plain actions" }, others.map((r) => h("li", {}, h("button", {
        type: "button",
        class: "secondary",
        on: { click: () => this.#useInbox(r.inbox) },
      }, fill(t.openNamed, { name: r.name ? `${r.name} (${r.inbox})` : r.inbox }))))));
    }

    // Create.
    const createId = this.#id("create");
    const name = this.#field({ label: t.nameLabel, hint: t.nameHint, autocomplete: "off" });
    const createButton = h("button", { type: "submit", class: "primary" }, t.create);
    const createForm = h("form", { novalidate: true, on: { submit: (e) => { e.preventDefault(); this.#create(name, createButton); } } },
      name.wrap, h("div", { class: "actions" }, createButton));
    const create = h("section", { class: "box", part: "create", "aria-labelledby": createId },
      h("h3", { id: createId }, t.createHeading), createForm);

    // Restore.
    const restoreId = this.#id("restore");
    const file = this.#field({ label: t.fileLabel, hint: t.fileHint, type: "file", accept: ".json,application/json" });
    const pass = this.#field({ label: t.passLabel, type: "password", autocomplete: "current-password" });
    const restoreButton = h("button", { type: "submit", class: "primary" }, t.restore);
    const restoreForm = h("form", { novalidate: true, on: { submit: (e) => { e.preventDefault(); this.#restore(file, pass, restoreButton); } } },
      file.wrap, pass.wrap, h("div", { class: "actions" }, restoreButton));
    const restore = h("section", { class: "box", part: "restore", "aria-labelledby": restoreId },
      h("h3", { id: restoreId }, t.restoreHeading), restoreForm);

    // With an inbox named, restoring is the likelier step: it comes first.
    this.#main.replaceChildren(h("section", { part: "setup", "aria-labelledby": sid }, heading, intro, known,
      this.#inbox ? [restore, create] : [create, restore]));
  }

  #useInbox(inbox) {
    this.#selfSet = true;
    this.setAttribute("inbox", inbox);
    this.#selfSet = false;
    this.#start().then(() => this.#focusHeading());
  }

  #focusHeading() {
    this.#focus(this.#main.querySelector("h2"));
  }

  /** Whether this browser can make an X25519 key and keep it, non-extractable, in IndexedDB. */
  async #probe(pkcs8) {
    let key;
    try {
      key = await importPrivate(pkcs8, false);
    } catch (e) {
      throw fail("unsupported", `X25519 keys cannot be imported here: ${e?.message ?? e}`, { why: "x25519" });
    }
    const probe = `${this.#server}|\u0000probe`;
    try {
      await run(KEYS, "readwrite", (s) => s.put({ probe: true, privateKey: key }, probe));
      await run(KEYS, "readwrite", (s) => s.delete(probe));
    } catch (e) {
      throw fail("unsupported", `the key cannot be stored in IndexedDB: ${e?.message ?? e}`, { why: "store" });
    }
  }

  async #create(name, button) {
    if (this.#busy) return;
    const t = this.#t;
    const value = name.input.value.trim();
    name.setError(value ? null : t.nameRequired);
    if (!value) {
      name.input.focus();
      return;
    }
    this.#clearError();
    const gen = this.#gen;
    this.#busyButton(button, true, t.creating);
    this.#say(t.creating);
    let pair, pkcs8;
    try {
      if (!globalThis.crypto?.subtle) throw fail("unsupported", "WebCrypto is not available (a secure context is needed)", { why: "x25519" });
      try {
        pair = await generateKeyPair();
        pkcs8 = await exportPrivate(pair.privateKey);
      } catch (e) {
        throw fail("unsupported", `X25519 keys cannot be made here: ${e?.message ?? e}`, { why: "x25519" });
      }
      await this.#probe(pkcs8);
      const created = await this.#request("POST", "/api/inboxes", { body: { name: value, public_key: b64url(pair.publicKey) }, auth: false });
      if (!created || typeof created.inbox !== "string" || !created.inbox || typeof created.host_token !== "string" ||
          typeof created.fingerprint !== "string" || typeof created.url !== "string") {
        throw fail("invalid_response", "the server's answer to creating an inbox lacks a field");
      }
      const local = await fingerprint(pair.publicKey);
      if (created.fingerprint !== local) {
        throw fail("fingerprint_mismatch", `the server returned the fingerprint ${created.fingerprint}, the key made here is ${local}`);
      }
      if (gen !== this.#gen) return;
      this.#pending = {
        server: this.#server,
        inbox: created.inbox,
        fingerprint: local,
        url: created.url,
        hostToken: created.host_token,
        name: value,
        publicKey: pair.publicKey,
        pkcs8,
        backup: null,
        downloaded: false,
      };
      pkcs8 = null; // owned by #pending now
      this.#say("");
      this.#showBackup();
    } catch (e) {
      if (gen !== this.#gen) return;
      this.#report(e);
      this.#say("");
      this.#busyButton(button, false, t.create);
      button.focus();
    } finally {
      // Zeroed unless handed to the backup step.
      pkcs8?.fill(0);
      this.#busy = false;
    }
  }

  /** The backup step: a passphrase twice, the file, then the key is stored. */
  #showBackup(focus = true) {
    const t = this.#t;
    const p = this.#pending;
    this.#view = "backup";
    const hid = this.#id("b");
    const heading = h("h2", { id: hid, tabIndex: -1 }, t.backupHeading);
    const pass1 = this.#field({ label: t.pass1Label, hint: t.passHint, type: "password", autocomplete: "new-password" });
    const pass2 = this.#field({ label: t.pass2Label, type: "password", autocomplete: "new-password" });
    const make = h("button", { type: "submit", class: "primary" }, t.makeBackup);
    const out = h("div", { class: "backup-out" });
    const form = h("form", { novalidate: true, on: { submit: (e) => { e.preventDefault(); this.#makeBackup(pass1, pass2, make, out); } } },
      pass1.wrap, pass2.wrap, h("div", { class: "actions" }, make));
    this.#main.replaceChildren(h("section", { part: "backup", "aria-labelledby": hid },
      heading,
      h("p", {}, fill(t.backupCreated, { inbox: p.inbox })),
      h("p", { class: "important" }, t.backupWarning),
      h("p", {}, t.backupHow),
      form,
      out));
    if (p.backup) this.#offerBackup(out, false);
    if (focus) this.#focus(heading);
  }

  async #makeBackup(pass1, pass2, button, out) {
    if (this.#busy) return;
    const t = this.#t;
    const a = pass1.input.value;
    const b = pass2.input.value;
    const short = [...a].length < MIN_PASSPHRASE;
    pass1.setError(short ? t.passShort : null);
    pass2.setError(!short && a !== b ? t.passDiffer : null);
    if (short) return pass1.input.focus();
    if (a !== b) return pass2.input.focus();
    const p = this.#pending;
    this.#busyButton(button, true, t.making);
    this.#say(t.making);
    try {
      const text = await makeBackup(p, a);
      if (this.#pending !== p) return;
      if (p.backup) URL.revokeObjectURL(p.backup);
      p.backup = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      p.downloaded = false;
      pass1.input.value = "";
      pass2.input.value = "";
      this.#busyButton(button, false, t.makeBackup);
      this.#offerBackup(out, true);
    } catch (e) {
      this.#busyButton(button, false, t.makeBackup);
      this.#say("");
      this.#report(e);
    } finally {
      this.#busy = false;
    }
  }

  #offerBackup(out, focus) {
    const t = this.#t;
    const p = this.#pending;
    const file = `attune-inbox-${p.inbox}.json`;
    const link = h("a", {
      href: p.backup, download: file, class: "button", part: "download",
      on: { click: () => { p.downloaded = true; } },
    }, fill(t.download, { file }));
    const cont = h("button", { type: "button", class: "secondary", on: { click: () => this.#afterBackup(link, cont) } }, t.continue);
    out.replaceChildren(h("p", {}, t.backupReady), h("div", { class: "actions" }, link, cont));
    if (focus) {
      this.#say(t.backupReady);
      this.#focus(link);
    }
  }

  /** The backup was downloaded: the key, non-extractable, goes to IndexedDB; the PKCS#8 is zeroed. */
  async #afterBackup(link, button) {
    if (this.#busy) return;
    const t = this.#t;
    const p = this.#pending;
    if (!p.downloaded) {
      this.#error("backup_required", t.downloadFirst);
      link.focus();
      return;
    }
    this.#busy = true;
    button.setAttribute("aria-busy", "true");
    try {
      const privateKey = await importPrivate(p.pkcs8, false);
      const record = {
        server: p.server, inbox: p.inbox, fingerprint: p.fingerprint, publicKey: p.publicKey, privateKey,
        hostToken: p.hostToken, name: p.name, url: p.url,
      };
      try {
        await run(KEYS, "readwrite", (s) => s.put(record, `${p.server}|${p.inbox}`));
      } catch (e) {
        throw fail("unsupported", `the key cannot be stored in IndexedDB: ${e?.message ?? e}`, { why: "store" });
      }
      p.pkcs8.fill(0);
      p.pkcs8 = null;
      URL.revokeObjectURL(p.backup);
      p.backup = null;
      this.#clearError();
      this.#key = record;
      this.#inbox = p.inbox;
      if (this.getAttribute("inbox") !== p.inbox) {
        this.#selfSet = true;
        this.setAttribute("inbox", p.inbox);
        this.#selfSet = false;
      }
      this.#emit("attune-inbox-created", { inbox: p.inbox, fingerprint: p.fingerprint, url: p.url });
      this.#showReady();
    } catch (e) {
      this.#report(e);
      button.removeAttribute("aria-busy");
    } finally {
      this.#busy = false;
    }
  }

  #snippet(url, fp) {
    return `<attune-questionnaire instrument="phq9" inbox="${url}" inbox-key="${fp}"></attune-questionnaire>`;
  }

  /** The snippet block: a readonly textarea with a Copy button. */
  #snippetBlock(url, fp) {
    const t = this.#t;
    const id = this.#id("snippet");
    const area = h("textarea", { id, readonly: true, rows: 3, "aria-describedby": `${id}-hint`, spellcheck: "false", part: "snippet", value: this.#snippet(url, fp) });
    const copy = h("button", {
      type: "button", class: "secondary", on: {
        click: async () => {
          try {
            await navigator.clipboard.writeText(area.value);
            this.#say(t.copied);
          } catch {
            area.focus();
            area.select();
            this.#say(t.copyFailed);
          }
        },
      },
    }, t.copy);
    return h("div", { class: "field" }, h("label", { for: id }, t.snippetLabel), h("p", { class: "hint", id: `${id}-hint` }, t.snippetHint), area,
      h("div", { class: "actions" }, copy));
  }

  #showReady(focus = true) {
    const t = this.#t;
    const p = this.#pending;
    this.#view = "ready";
    const hid = this.#id("r");
    const heading = h("h2", { id: hid, tabIndex: -1 }, t.readyHeading);
    const open = h("button", { type: "button", class: "primary", on: { click: () => {
      this.#pending = null;
      this.#showList();
      this.#load();
    } } }, t.openInbox);
    this.#main.replaceChildren(h("section", { part: "ready", "aria-labelledby": hid },
      heading,
      h("p", {}, t.readyIntro),
      this.#snippetBlock(p.url, p.fingerprint),
      h("dl", { class: "meta" }, h("dt", {}, t.fingerprintLabel), h("dd", { class: "mono" }, p.fingerprint)),
      h("div", { class: "actions" }, open)));
    if (focus) this.#focus(heading);
  }

  async #restore(file, pass, button) {
    if (this.#busy) return;
    const t = this.#t;
    const chosen = file.input.files?.[0];
    file.setError(chosen ? null : t.fileRequired);
    pass.setError(pass.input.value ? null : t.passRequired);
    if (!chosen) return file.input.focus();
    if (!pass.input.value) return pass.input.focus();
    this.#clearError();
    const gen = this.#gen;
    this.#busyButton(button, true, t.restoring);
    this.#say(t.restoring);
    let backup = null;
    try {
      if (!globalThis.crypto?.subtle) throw fail("unsupported", "WebCrypto is not available (a secure context is needed)", { why: "x25519" });
      backup = await readBackup(await chosen.text(), pass.input.value);
      const server = backup.server.replace(/\/+$/, "");
      if (server !== this.#server) throw fail("server_mismatch", "the backup is for another server", { file: backup.server });
      if (this.#inbox && backup.inbox !== this.#inbox) throw fail("inbox_mismatch", "the backup is for another inbox", { file: backup.inbox });
      let privateKey;
      try {
        privateKey = await importPrivate(backup.pkcs8, false);
      } catch (e) {
        // A key this browser reads as damaged (DataError), or one it cannot import at all.
        if (e?.cause?.name === "DataError") throw fail("invalid_backup", "the backup's private key is damaged");
        throw fail("unsupported", `X25519 keys cannot be imported here: ${e?.cause?.message ?? e?.message ?? e}`, { why: "x25519" });
      }
      // The inbox's public record: its name, and whether the server still lists this key.
      let name = "";
      let keyChanged = false;
      try {
        const res = await fetch(`${this.#server}/api/inboxes/${encodeURIComponent(backup.inbox)}`, {
          mode: "cors", credentials: "omit", cache: "no-store", redirect: "error", referrerPolicy: "no-referrer",
          signal: AbortSignal.timeout(TIMEOUT),
        });
        if (res.ok) {
          const info = await res.json();
          if (typeof info?.name === "string") name = info.name;
          keyChanged = typeof info?.fingerprint === "string" && info.fingerprint !== backup.fingerprint;
        }
      } catch { /* the name is a convenience */ }
      const record = {
        server: this.#server, inbox: backup.inbox, fingerprint: backup.fingerprint, publicKey: backup.publicKey, privateKey,
        hostToken: backup.hostToken, name, url: `${this.#server}/api/inboxes/${encodeURIComponent(backup.inbox)}`,
      };
      try {
        await run(KEYS, "readwrite", (s) => s.put(record, `${this.#server}|${backup.inbox}`));
      } catch (e) {
        throw fail("unsupported", `the key cannot be stored in IndexedDB: ${e?.message ?? e}`, { why: "store" });
      }
      if (gen !== this.#gen) return;
      pass.input.value = "";
      this.#key = record;
      this.#inbox = backup.inbox;
      if (this.getAttribute("inbox") !== backup.inbox) {
        this.#selfSet = true;
        this.setAttribute("inbox", backup.inbox);
        this.#selfSet = false;
      }
      this.#showList();
      this.#say(fill(t.restored, { inbox: backup.inbox }));
      if (keyChanged) this.#error("key_changed", t.serverKeyChanged);
      this.#load(true);
    } catch (e) {
      if (gen !== this.#gen) return;
      this.#say("");
      this.#busyButton(button, false, t.restore);
      const code = this.#report(e);
      if (code === "wrong_passphrase") {
        pass.setError(t.wrongPassphrase);
        pass.input.focus();
      } else {
        file.input.focus();
      }
    } finally {
      backup?.pkcs8.fill(0);
      this.#busy = false;
    }
  }

  // --- 2. with a key: the list ---

  #showList(focus = true) {
    const t = this.#t;
    const k = this.#key;
    this.#view = "list";
    const hid = this.#id("l");
    const heading = h("h2", { id: hid, tabIndex: -1 }, fill(t.inboxHeading, { name: k.name || k.inbox }));
    const button = (label, cls, click) => h("button", { type: "button", class: cls, part: "button", on: { click } }, label);
    const refresh = button(t.refresh, "secondary", () => this.#load());
    const csvButton = button(t.exportCsv, "secondary", () => this.#export("csv"));
    const fhirButton = button(t.exportFhir, "secondary", () => this.#export("fhir"));
    const delAll = button(t.deleteExported, "danger", () => this.#confirmDeleteExported(delAll));
    const capId = this.#id("cap");
    const tbody = h("tbody");
    const table = h("table", { part: "table" },
      h("caption", { id: capId }, t.caption),
      h("thead", {}, h("tr", {}, [t.colReceived, t.colInstrument, t.colScore, t.colFlags, t.colActions].map((c) => h("th", { scope: "col" }, c)))),
      tbody);
    const embed = k.url ? h("details", { part: "embed" }, h("summary", {}, t.embedSummary), this.#snippetBlock(k.url, k.fingerprint)) : null;
    const list = h("section", { part: "list", "aria-labelledby": hid },
      heading,
      h("dl", { class: "meta" }, h("dt", {}, t.fingerprintLabel), h("dd", { class: "mono" }, k.fingerprint)),
      h("p", { class: "note" }, t.keyNote),
      h("div", { class: "toolbar", part: "toolbar" }, refresh, csvButton, fhirButton, delAll),
      h("div", { class: "table-wrap" }, table),
      embed);
    const detail = h("section", { part: "detail", hidden: true });
    const dialog = h("dialog", { part: "dialog" });
    this.#list = { list, heading, tbody, detail, dialog, refresh };
    this.#main.replaceChildren(list, detail, dialog);
    if (focus) this.#focus(heading);
  }

  /** Fetches the submissions, opens and scores each, and lists them. */
  async #load(keepStatus = false) {
    const t = this.#t;
    const gen = this.#gen;
    const parts = this.#list;
    if (!parts || parts.loading) return;
    parts.loading = true;
    parts.refresh.setAttribute("aria-busy", "true");
    if (!keepStatus) this.#say(t.loading);
    try {
      const k = this.#key;
      const data = await this.#request("GET", `/api/inboxes/${encodeURIComponent(k.inbox)}/submissions`);
      if (!data || !Array.isArray(data.submissions)) throw fail("invalid_response", "the server's list of submissions is not a list");
      const exported = new Map();
      try {
        const rows = await run(EXPORTED, "readonly", (s) => s.getAll(range(`${k.server}|${k.inbox}|`)));
        for (const r of rows) if (r?.id) exported.set(r.id, r);
      } catch { /* exports of this session are remembered in memory */ }
      const subs = [];
      for (const s of data.submissions) subs.push(await this.#openOne(s));
      if (gen !== this.#gen || this.#list !== parts) return;
      for (const [id, r] of this.#exported) if (!exported.has(id)) exported.set(id, r);
      this.#exported = exported;
      this.#subs = sort(subs);
      this.#clearError("server");
      this.#renderRows();
      const critical = this.#subs.filter((s) => s.critical.length).length;
      const failed = this.#subs.filter((s) => !s.ok).length;
      const count = t.count(this.#subs.length, critical, failed);
      if (keepStatus && this.#status.textContent) this.#say(`${this.#status.textContent} ${count}`);
      else this.#say(count);
      this.#emit("attune-inbox-opened", { count: this.#subs.length, critical });
    } catch (e) {
      if (gen !== this.#gen) return;
      this.#say("");
      this.#report(e, "server");
    } finally {
      parts.loading = false;
      parts.refresh.setAttribute("aria-busy", "false");
    }
  }

  /** One listed submission, opened and scored again; a failure is kept with its reason. */
  async #openOne(s) {
    const k = this.#key;
    const base = { id: String(s?.id ?? ""), receivedAt: Number(s?.received_at) || 0, size: s?.size ?? null, ok: false, critical: [] };
    let bytes;
    try {
      bytes = await open(k.privateKey, k.publicKey, k.inbox, base.id, s?.envelope);
    } catch (e) {
      return { ...base, reason: e?.code ?? "other", message: String(e?.message ?? e) };
    }
    let plain = null;
    try { plain = JSON.parse(dec.decode(bytes)); } catch { plain = null; } finally { bytes.fill?.(0); }
    if (!plain || typeof plain !== "object" || plain.v !== 1 || typeof plain.instrument !== "string" ||
        !plain.answers || typeof plain.answers !== "object" || Array.isArray(plain.answers)) {
      return { ...base, reason: "invalid_plaintext", message: "" };
    }
    const entry = { ...base, ok: true, plain, def: null, pack: null, result: null, scoreError: null, differs: false };
    try {
      entry.def = instrument(plain.instrument);
    } catch (e) {
      entry.scoreError = String(e?.message ?? e);
    }
    if (entry.def) {
      try {
        const request = { instrument: plain.instrument, answers: plain.answers };
        if (plain.context && typeof plain.context === "object" && Object.keys(plain.context).length) request.context = plain.context;
        entry.result = score(request);
        entry.differs = !!plain.result && typeof plain.result === "object" && comparable(entry.result) !== comparable(plain.result);
      } catch (e) {
        entry.scoreError = String(e?.message ?? e);
      }
      try { entry.pack = await loadWording(plain.instrument); } catch { entry.pack = null; }
    }
    const criticalIds = new Set((entry.def?.flags ?? []).filter((f) => f.critical).map((f) => f.id));
    // Scored again: its flags. Not scorable here (answers that do not fit): the sealed result's
    // critical flags still count.
    const flags = entry.result?.flags ?? (Array.isArray(plain.result?.flags) ? plain.result.flags : []);
    entry.critical = flags.filter((f) => criticalIds.has(f));
    return entry;
  }

  // --- wording ---

  /** The wording pack's language for this element (English when it lacks this one). */
  #words(entry) {
    const langs = entry.pack?.languages ?? {};
    return [langs[this.#lang.base], langs.en].filter(Boolean);
  }

  #pick(entry, get) {
    for (const w of this.#words(entry)) {
      const v = get(w);
      if (typeof v === "string" && v) return v;
    }
    return null;
  }

  #instrumentName(entry) {
    return entry.def?.short_name ?? entry.def?.name ?? entry.plain?.instrument ?? "";
  }

  #scoreLabel(entry, id) {
    return this.#pick(entry, (w) => w.scores?.[id]) ?? entry.def?.scores?.find((s) => s.id === id)?.label ?? id;
  }

  #bandLabel(entry, scoreId, band) {
    return this.#pick(entry, (w) => w.bands?.[scoreId]?.[band]) ??
      entry.def?.scores?.find((s) => s.id === scoreId)?.bands?.find((b) => b.id === band)?.label ?? band;
  }

  #cutoffLabel(entry, scoreId, cutoff) {
    return this.#pick(entry, (w) => w.cutoffs?.[scoreId]?.[cutoff]) ??
      entry.def?.scores?.find((s) => s.id === scoreId)?.cutoffs?.find((c) => c.id === cutoff)?.label ?? cutoff;
  }

  #flagLabel(entry, flag) {
    return this.#pick(entry, (w) => w.flags?.[flag]) ?? entry.def?.flags?.find((f) => f.id === flag)?.label ?? flag;
  }

  #itemText(entry, item) {
    return this.#pick(entry, (w) => w.items?.[item.id]) ?? item.text ?? null;
  }

  #optionLabel(entry, item, value) {
    return this.#pick(entry, (w) => w.options?.[item.response_set]?.[String(value)]) ??
      entry.def?.response_sets?.[item.response_set]?.find((o) => o.value === value)?.label ?? null;
  }

  #flagsOf(entry) {
    const flags = entry.result?.flags ?? [];
    const critical = new Set(entry.critical);
    return [...flags.filter((f) => critical.has(f)), ...flags.filter((f) => !critical.has(f))];
  }

  #scoreText(entry, id, s) {
    const t = this.#t;
    const value = s.value === null || s.value === undefined ? t.noScore : this.#number(s.value);
    return `${this.#scoreLabel(entry, id)}: ${value}`;
  }

  // --- the rows ---

  #renderRows() {
    const t = this.#t;
    const parts = this.#list;
    if (!parts) return;
    // Focus inside the table is restored to the same control of the same row after re-rendering.
    const active = this.#root.activeElement;
    const activeKey = parts.tbody.contains(active) ? active.dataset.key : null;
    const rows = this.#subs.map((s) => this.#row(s));
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 5 }, t.empty)));
    parts.tbody.replaceChildren(...rows);
    if (activeKey) parts.tbody.querySelector(`[data-key="${CSS.escape(activeKey)}"]`)?.focus();
  }

  #row(s) {
    const t = this.#t;
    const date = this.#date(s.receivedAt);
    const iso = s.receivedAt ? new Date(s.receivedAt * 1000).toISOString() : "";
    const context = h("span", { class: "sr-only" }, ` ${fill(t.rowContext, { date })}`);
    const received = h("th", { scope: "row" }, h("time", { datetime: iso }, date));
    const actions = h("td", {}, h("div", { class: "row-actions" },
      s.ok ? h("button", { type: "button", class: "secondary small", "data-key": `open:${s.id}`, part: "button",
        on: { click: () => this.#openDetail(s.id) } }, t.open, context.cloneNode(true)) : null,
      h("button", { type: "button", class: "danger small", "data-key": `delete:${s.id}`, part: "button",
        on: { click: (e) => this.#confirmDelete(s.id, e.currentTarget) } }, t.delete, context),
      this.#exported.has(s.id) ? h("span", { class: "tag" }, t.exportedTag) : null));
    if (!s.ok) {
      const reason = fill(t.reasons[s.reason] ?? t.reasons.other, { message: s.message ?? "" });
      return h("tr", { class: "failed", part: "row failed" }, received,
        h("td", { colspan: 3, class: "failed" }, `${t.unopened}: ${reason}`), actions);
    }
    const name = this.#instrumentName(s);
    let scoreCell;
    if (s.result) {
      scoreCell = h("td", {}, h("ul", { class: "plain" }, Object.entries(s.result.scores).map(([id, sc]) => h("li", {},
        this.#scoreText(s, id, sc), sc.band ? [" (", h("span", { class: "band" }, this.#bandLabel(s, id, sc.band)), ")"] : null))),
        s.differs ? h("p", { class: "warn" }, t.differs) : null);
    } else {
      scoreCell = h("td", { class: "warn" }, fill(t.unscored, { message: s.scoreError ?? "" }));
    }
    const flags = s.result ? this.#flagsOf(s) : s.critical;
    const critical = new Set(s.critical);
    const flagCell = h("td", {}, flags.length
      ? h("ul", { class: "plain" }, flags.map((f) => h("li", { class: critical.has(f) ? "flag-critical" : null },
        critical.has(f) ? [h("span", { class: "tag critical" }, t.critical), " "] : null, this.#flagLabel(s, f))))
      : t.none);
    return h("tr", { class: s.critical.length ? "critical" : null, part: s.critical.length ? "row critical" : "row" },
      received, h("td", { class: "instrument" }, name), scoreCell, flagCell, actions);
  }

  // --- the detail ---

  #openDetail(id, focus = true) {
    const t = this.#t;
    const parts = this.#list;
    const s = this.#subs.find((x) => x.id === id);
    if (!parts || !s?.ok) return;
    this.#detailId = id;
    const p = s.plain;
    const hid = this.#id("d");
    const name = this.#instrumentName(s);
    const heading = h("h2", { id: hid, tabIndex: -1 }, fill(t.detailHeading, { instrument: name, date: this.#date(s.receivedAt) }));
    const completed = p.completed ? new Date(p.completed) : null;
    const meta = h("dl", { class: "meta" },
      s.def ? [h("dt", {}, t.colInstrument), h("dd", {}, s.def.name)] : null,
      h("dt", {}, t.completed), h("dd", {}, completed && !Number.isNaN(completed.getTime())
        ? h("time", { datetime: completed.toISOString() }, new Intl.DateTimeFormat(this.#lang.tag, { dateStyle: "medium", timeStyle: "short" }).format(completed))
        : String(p.completed ?? "")),
      h("dt", {}, t.version), h("dd", {}, fill(t.versionValue, { sealed: String(p.version ?? "?"), here: coreVersion })),
      p.lang ? [h("dt", {}, t.language), h("dd", {}, String(p.lang))] : null,
      p.context && typeof p.context === "object" && Object.keys(p.context).length
        ? [h("dt", {}, t.context), h("dd", {}, Object.entries(p.context).map(([k, v]) => `${k}: ${v}`).join(", "))]
        : null);

    // Flags, critical ones first.
    const critical = new Set(s.critical);
    const flags = s.result ? this.#flagsOf(s) : s.critical;
    const flagList = flags.length
      ? h("ul", { class: "flags" }, flags.map((f) => h("li", { class: critical.has(f) ? "critical-flag" : null },
        critical.has(f) ? [h("strong", {}, `${t.critical}: `)] : null, this.#flagLabel(s, f))))
      : h("p", {}, t.noFlags);

    // Scores.
    let scores;
    if (s.result) {
      scores = h("dl", { class: "scores" }, Object.entries(s.result.scores).map(([sid, sc]) => [
        h("dt", {}, this.#scoreLabel(s, sid)),
        h("dd", {}, sc.value === null || sc.value === undefined ? t.noScore : this.#number(sc.value)),
        sc.band ? h("dd", {}, `${t.band}: `, h("span", { class: "band" }, this.#bandLabel(s, sid, sc.band))) : null,
        h("dd", {}, `${t.cutoffs}: `, sc.cutoffs?.length ? sc.cutoffs.map((c) => this.#cutoffLabel(s, sid, c)).join("; ") : t.noCutoffs),
      ]));
    } else {
      scores = h("p", { class: "warn" }, fill(t.unscored, { message: s.scoreError ?? "" }));
    }

    // Answers: the item's wording and the option's label, or "Item N: value".
    const items = s.def?.items ?? Object.keys(p.answers).map((k) => ({ id: k, text: null, response_set: null }));
    const answers = h("ul", { class: "answers plain" }, items.map((item) => {
      const raw = p.answers[item.id];
      const answered = raw !== null && raw !== undefined;
      const label = answered ? this.#optionLabel(s, item, raw) : null;
      const value = answered ? (label ? `${label} (${raw})` : String(raw)) : t.notAnswered;
      const text = this.#itemText(s, item);
      const itemName = fill(t.item, { n: item.id });
      return text
        ? h("li", {}, h("span", {}, `${item.id}. ${text}`), h("span", { class: "answer" }, value))
        : h("li", {}, `${itemName}: `, h("span", { class: "band" }, value));
    }));

    const attribution = this.#pick(s, (w) => w.attribution) ?? s.def?.license?.attribution ?? null;
    const back = h("button", { type: "button", class: "secondary", part: "button", on: { click: () => this.#closeDetail() } }, t.back);
    parts.detail.replaceChildren(...[
      heading,
      meta,
      s.differs ? h("p", { class: "warn" }, t.differs) : null,
      h("h3", {}, t.flags), flagList,
      h("h3", {}, t.scores), scores,
      h("h3", {}, t.answers), answers,
      s.def ? h("div", { class: "credits" }, h("p", {}, `${t.citation}: ${s.def.citation}`), attribution ? h("p", {}, attribution) : null) : null,
      h("div", { class: "actions" }, back),
    ].filter(Boolean));
    parts.detail.setAttribute("aria-labelledby", hid);
    parts.list.hidden = true;
    parts.detail.hidden = false;
    if (focus) this.#focus(heading);
  }

  #closeDetail() {
    const parts = this.#list;
    const id = this.#detailId;
    this.#detailId = null;
    parts.detail.hidden = true;
    parts.detail.replaceChildren();
    parts.list.hidden = false;
    const button = parts.tbody.querySelector(`[data-key="${CSS.escape(`open:${id}`)}"]`);
    this.#focus(button ?? parts.heading);
  }

  // --- exports ---

  async #remember(ids, format) {
    const k = this.#key;
    const at = new Date().toISOString();
    for (const id of ids) this.#exported.set(id, { server: k.server, inbox: k.inbox, id, at, format });
    try {
      await run(EXPORTED, "readwrite", (s) => {
        let r;
        for (const id of ids) r = s.put(this.#exported.get(id), `${k.server}|${k.inbox}|${id}`);
        return r;
      });
    } catch { /* remembered for this session */ }
  }

  async #export(format) {
    const t = this.#t;
    const opened = this.#subs.filter((s) => s.ok);
    const scored = opened.filter((s) => s.result);
    const leftOut = opened.length - scored.length;
    if (!scored.length) {
      this.#say(t.nothingToExport);
      return;
    }
    const k = this.#key;
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
    // Oldest first in the file.
    const rows = [...scored].sort((a, b) => a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : 1));
    let exported = rows;
    try {
      if (format === "csv") {
        download(this.#root, this.#csv(rows), `attune-inbox-${k.inbox}-${stamp}.csv`, "text/csv;charset=utf-8");
      } else {
        let fhir;
        try {
          fhir = await import("./fhir.js");
        } catch (e) {
          throw fail("fhir_unavailable", String(e?.message ?? e));
        }
        const lines = [];
        exported = [];
        const problems = [];
        for (const s of rows) {
          const p = s.plain;
          const request = { instrument: p.instrument, answers: p.answers };
          if (p.context && typeof p.context === "object" && Object.keys(p.context).length) request.context = p.context;
          const options = { identifier: s.id };
          if (typeof p.completed === "string") options.authored = p.completed;
          try {
            lines.push(JSON.stringify(fhir.toFhir(request, s.result, options)));
            exported.push(s);
          } catch (e) {
            problems.push(`${s.id}: ${e?.message ?? e}`);
          }
        }
        if (problems.length) this.#error("fhir_failed", problems.join("; "));
        if (!lines.length) return;
        download(this.#root, `${lines.join("\n")}\n`, `attune-inbox-${k.inbox}-${stamp}.ndjson`, "application/fhir+ndjson");
      }
    } catch (e) {
      this.#report(e);
      return;
    }
    await this.#remember(exported.map((s) => s.id), format === "csv" ? "CSV" : "FHIR");
    this.#renderRows();
    this.#say(t.exported(exported.length, format === "csv" ? "CSV" : "FHIR NDJSON") + (leftOut ? t.leftOut(leftOut) : ""));
  }

  #csv(rows) {
    const scoreIds = [];
    const itemIds = [];
    const add = (list, id) => { if (!list.includes(id)) list.push(id); };
    for (const s of rows) {
      for (const sc of s.def?.scores ?? []) add(scoreIds, sc.id);
      for (const id of Object.keys(s.result.scores)) add(scoreIds, id);
      for (const item of s.def?.items ?? []) add(itemIds, item.id);
      for (const id of Object.keys(s.plain.answers)) add(itemIds, id);
    }
    const header = ["submission", "received_at", "instrument", "version", "completed",
      ...scoreIds.flatMap((id) => [`score:${id}`, `band:${id}`]), "flags", ...itemIds.map((id) => `item:${id}`)];
    const body = rows.map((s) => {
      const p = s.plain;
      const sc = s.result.scores;
      return [
        s.id,
        s.receivedAt ? new Date(s.receivedAt * 1000).toISOString() : "",
        p.instrument,
        p.version ?? "",
        p.completed ?? "",
        ...scoreIds.flatMap((id) => [sc[id]?.value ?? null, sc[id]?.band ?? null]),
        s.result.flags.join(" "),
        ...itemIds.map((id) => {
          const v = p.answers[id];
          return typeof v === "number" ? v : v ?? null;
        }),
      ];
    });
    return csv([header, ...body]);
  }

  // --- deletion ---

  /** A modal confirmation; resolves true for Delete. Focus returns to `opener` on Cancel. */
  #confirm(title, body, opener) {
    const t = this.#t;
    const parts = this.#list;
    const dialog = parts.dialog;
    const hid = this.#id("dlg");
    const bid = `${hid}-body`;
    return new Promise((resolve) => {
      const cancel = h("button", { type: "button", class: "secondary", on: { click: () => dialog.close("cancel") } }, t.cancel);
      const confirm = h("button", { type: "button", class: "danger", on: { click: () => dialog.close("delete") } }, t.confirmDelete);
      dialog.replaceChildren(h("h3", { id: hid }, title), ...body.map((b, i) => h("p", { id: i === 0 ? bid : null }, b)),
        h("div", { class: "actions" }, confirm, cancel));
      dialog.setAttribute("aria-labelledby", hid);
      dialog.setAttribute("aria-describedby", bid);
      dialog.returnValue = "";
      dialog.addEventListener("close", () => {
        const yes = dialog.returnValue === "delete";
        dialog.replaceChildren();
        if (!yes) opener?.focus();
        resolve(yes);
      }, { once: true });
      dialog.showModal();
      // The safe choice has focus first.
      cancel.focus();
    });
  }

  async #confirmDelete(id, opener) {
    const t = this.#t;
    const s = this.#subs.find((x) => x.id === id);
    if (!s) return;
    const ex = this.#exported.get(id);
    const body = [];
    if (ex) body.push(fill(t.deleteExportedBody, { format: ex.format, date: this.#date(Date.parse(ex.at) / 1000) }));
    else body.push(s.ok ? t.deleteUnexported : t.deleteUnopened);
    if (!(await this.#confirm(t.deleteTitle, body, opener))) return;
    const index = this.#subs.indexOf(s);
    const gone = await this.#delete([id]);
    if (!gone.length) {
      opener?.isConnected ? opener.focus() : this.#focus(this.#list.refresh);
      return;
    }
    this.#say(t.deleted(gone.length));
    // Focus: the same control of the row that took its place, else the one before, else Refresh.
    const next = this.#subs[Math.min(index, this.#subs.length - 1)];
    const target = next && this.#list.tbody.querySelector(`[data-key="${CSS.escape(`delete:${next.id}`)}"]`);
    this.#focus(target ?? this.#list.refresh);
  }

  async #confirmDeleteExported(opener) {
    const t = this.#t;
    const ids = this.#subs.filter((s) => this.#exported.has(s.id)).map((s) => s.id);
    if (!ids.length) {
      this.#say(t.noneExported);
      return;
    }
    if (!(await this.#confirm(fill(t.deleteAllTitle, { n: ids.length }), [t.deleteAllBody], opener))) return;
    const gone = await this.#delete(ids);
    if (gone.length) this.#say(t.deleted(gone.length));
    this.#focus(opener);
  }

  /** Deletes on the server; returns the ids that are gone (204 or 404). Stops at the first error. */
  async #delete(ids) {
    const k = this.#key;
    const gone = [];
    try {
      for (const id of ids) {
        await this.#request("DELETE", `/api/inboxes/${encodeURIComponent(k.inbox)}/submissions/${encodeURIComponent(id)}`);
        gone.push(id);
      }
      this.#clearError("server");
    } catch (e) {
      this.#report(e, "server");
    }
    if (gone.length) {
      const set = new Set(gone);
      this.#subs = this.#subs.filter((s) => !set.has(s.id));
      for (const id of gone) this.#exported.delete(id);
      try {
        await run(EXPORTED, "readwrite", (s) => {
          let r;
          for (const id of gone) r = s.delete(`${k.server}|${k.inbox}|${id}`);
          return r;
        });
      } catch { /* nothing to forget */ }
      this.#renderRows();
    }
    return gone;
  }
}

/** Critical flags first, then newest first. */
function sort(subs) {
  return subs.sort((a, b) =>
    (b.critical.length > 0) - (a.critical.length > 0) || b.receivedAt - a.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The tags this import defined (empty when they were already defined). */
export const defined = [];
if (typeof customElements !== "undefined" && !customElements.get(TAG)) {
  customElements.define(TAG, AttuneInbox);
  defined.push(TAG);
}
