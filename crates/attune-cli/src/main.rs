//! `attune`: score questionnaires from the command line. Reads JSON Lines or CSV, writes one JSON
//! result (or error object) per input line, in order, streaming so memory stays flat on any input.

mod commands;
mod csv_input;
mod fhir;

use std::process::ExitCode;

const HELP: &str = "\
attune — score validated questionnaires exactly as published

USAGE:
    attune score [--input FILE] [--csv [--instrument ID] [--id-column NAME]]
                 [--fhir [--base URI] [--authored DATETIME] [--subject REF]]
    attune group ID [--min-n N] [--input FILE] [--fhir [--base URI] [--authored DATETIME]]
    attune catalog [--commercial]
    attune validate FILE [--json]
    attune fhir questionnaire ID [--base URI] [--lang TAG] [--text PACK.json]
    attune help | --help | --version

COMMANDS:
    score      Read answers (JSON Lines: one {\"instrument\", \"answers\", \"context\"} object per line,
               or CSV with --csv) and write one result or error object per line, in input order.
               A request's \"id\" field, or the --id-column cell, is copied into its output line.
               Blank lines are skipped. A line may also be a FHIR R4 QuestionnaireResponse from any
               system (one per line): Attune's own, or one whose questionnaire is a LOINC panel with
               answers carrying ordinalValue/itemWeight (LHC-Forms). With --fhir each scored response
               is written as a transaction Bundle: the QuestionnaireResponse, an Observation per
               score and per raised flag, and a panel Observation. Exits 0 when the input was read,
               even if some lines were errors; 1 only when the input cannot be read at all.
    group      Read one member per line (same shape as score; \"instrument\" may be omitted) and
               write group statistics: n, mean, SD, min, max, r_wg(j) per score and answer counts
               per item. Nothing is shown for fewer than --min-n members (default 3). With --fhir
               the statistics are one FHIR Observation of the group (a component per statistic;
               no member's answers, no item counts).
    catalog    List the instruments (id, name, domain, licence, wording bundled, items, scores) as
               a JSON array, one instrument per line. --commercial leaves out instruments whose
               licence allows only non-commercial use.
    fhir       `fhir questionnaire ID` writes the instrument as a FHIR R4 Questionnaire (SDC): LOINC
               codes where the catalog has them, each option's score as ordinalValue and itemWeight,
               skip rules as enableWhen, wording only where the licence bundles it.
    validate   Check an instrument definition file and report every problem with its JSON path,
               then run its test vectors. Exits 0 when valid, 1 with problems, 2 when unreadable.

OPTIONS:
    -i, --input FILE       Read FILE instead of standard input (`-` is standard input)
        --csv              Input is CSV: a header row, an `instrument` column (or --instrument),
                           and one column per item named by item id; an empty cell is unanswered
        --instrument ID    Score every CSV row with instrument ID
        --id-column NAME   CSV column copied into each result as \"id\" (not an item)
        --min-n N          Minimum group size for group statistics (integer >= 1, default 3)
        --commercial       Catalog without non-commercial instruments
        --json             validate: print problems as a JSON array
        --fhir             score: write a FHIR transaction Bundle per scored response
        --base URI         Canonical base of Attune's Questionnaires and code systems
                           (default urn:attune:fhir)
        --authored DATETIME
                           --fhir: when the responses were completed, or the statistics
                           released (FHIR dateTime)
        --subject REF      score --fhir: the patient, e.g. Patient/123
        --lang TAG         fhir questionnaire: language of the wording (en, a verified translation,
                           or a language of --text)
        --text FILE        fhir questionnaire: the host's text pack (JSON, as the element takes it)
                           for wording the catalog does not bundle
    -h, --help             Show this help
    -V, --version          Show the version

EXAMPLES:
    # Score a file of PHQ-9 and GAD-7 answers
    attune score --input examples/intake.jsonl

    # One request on standard input
    echo '{\"instrument\": \"phq9\", \"answers\": {\"1\": 2, \"2\": 1, \"9\": 0}}' | attune score

    # A researcher's CSV, one GCQ-S form per row, keyed by participant
    attune score --csv --instrument gcqs --id-column participant --input examples/gcqs.csv

    # Group climate of one session (members' answers, one per line)
    attune group gcqs --input examples/session.jsonl

    # Which instruments a commercial clinic may ship
    attune catalog --commercial

    # PHQ-9 results for an electronic health record, and the PHQ-9 as a Questionnaire
    attune score --fhir --authored 2026-12-05T09:30:00Z --input examples/intake.jsonl
    attune fhir questionnaire phq9

    # Check a new instrument definition before adding it to the catalog
    attune validate crates/attune-core/instruments/phq9.json

Answers are keyed by item id (\"1\", \"2\", ...) with the published option values; an unanswered
item is left out (null means the same). Missing answers are never counted as zero.
";

fn main() -> ExitCode {
    match commands::run(std::env::args_os().skip(1)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("attune: {e}");
            e.exit_code()
        }
    }
}
