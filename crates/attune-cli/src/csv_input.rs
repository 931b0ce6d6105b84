//! CSV input for `attune score --csv`: a header row, an `instrument` column (or `--instrument`),
//! and one column per item named by item id. An empty cell is an unanswered item; any other cell
//! must be a number that is one of the item's option values, or the row becomes an error object.

use std::io::{BufRead, Write};

use attune_core::{Catalog, Request, ScoreError};
use serde_json::{Map, Number, Value};

use crate::commands::{CliError, Output};

pub struct CsvScorer<R: BufRead> {
    reader: csv::Reader<R>,
    instrument: Option<String>,
    instrument_col: Option<usize>,
    id_col: Option<usize>,
    headers: Vec<String>,
}

impl<R: BufRead> CsvScorer<R> {
    pub fn new(input: R, instrument: Option<&str>, id_column: Option<&str>) -> Result<Self, CliError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| CliError::Input(format!("cannot read the CSV header row: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        if headers.iter().all(String::is_empty) {
            return Err(CliError::Input(
                "the CSV input is empty: it needs a header row naming the item columns".into(),
            ));
        }
        // A repeated column would let one cell silently overwrite another.
        for (k, h) in headers.iter().enumerate() {
            if !h.is_empty() && headers[..k].contains(h) {
                return Err(CliError::Input(format!("the CSV header names column `{h}` twice")));
            }
        }
        let instrument_col = headers.iter().position(|h| h == "instrument");
        if instrument.is_none() && instrument_col.is_none() {
            return Err(CliError::Usage("the CSV has no `instrument` column: add one or pass --instrument ID".into()));
        }
        let id_col = match id_column {
            None => None,
            Some(name) => Some(
                headers
                    .iter()
                    .position(|h| h == name)
                    .ok_or_else(|| CliError::Usage(format!("--id-column `{name}` is not a column of the CSV")))?,
            ),
        };
        Ok(CsvScorer { reader, instrument: instrument.map(str::to_string), instrument_col, id_col, headers })
    }

    pub fn run(&mut self, catalog: &Catalog, out: &mut Output<impl Write>) -> Result<(), CliError> {
        let mut record = csv::StringRecord::new();
        loop {
            match self.reader.read_record(&mut record) {
                Ok(false) => return Ok(()),
                Ok(true) => {
                    let id = self.id_col.and_then(|c| record.get(c)).map(|s| Value::String(s.to_string()));
                    match self.request(&record) {
                        Ok(req) => out.score(catalog, Request { id, ..req })?,
                        Err((instrument, error)) => out.fail(id.as_ref(), instrument, error)?,
                    }
                }
                // A malformed row (bad quoting, not UTF-8) is that row's error; the rest is scored.
                Err(e) if !matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                    out.fail(None, self.instrument.clone(), ScoreError::invalid_json(format!("bad CSV row: {e}")))?;
                }
                Err(e) => return Err(CliError::Input(format!("cannot read input: {e}"))),
            }
        }
    }

    fn request(&self, record: &csv::StringRecord) -> Result<Request, (Option<String>, ScoreError)> {
        let instrument = match (&self.instrument, self.instrument_col.and_then(|c| record.get(c))) {
            (Some(fixed), Some(cell)) if !cell.is_empty() && cell != fixed => {
                return Err((
                    Some(cell.to_string()),
                    ScoreError::invalid_json(format!("row is for `{cell}` but --instrument is `{fixed}`")),
                ));
            }
            (Some(fixed), _) => fixed.clone(),
            (None, Some(cell)) if !cell.is_empty() => cell.to_string(),
            (None, _) => return Err((None, ScoreError::invalid_json("the row's `instrument` cell is empty"))),
        };
        if record.len() > self.headers.len() {
            let msg = format!("the row has {} cells but the header has {} columns", record.len(), self.headers.len());
            return Err((Some(instrument), ScoreError::invalid_json(msg)));
        }
        let mut answers = Map::new();
        for (c, cell) in record.iter().enumerate() {
            if Some(c) == self.instrument_col || Some(c) == self.id_col || cell.is_empty() {
                continue;
            }
            answers.insert(self.headers[c].clone(), cell_value(cell));
        }
        Ok(Request { instrument, answers, context: None, id: None })
    }
}

/// A cell as the JSON value it stands for: a number when it parses as one, otherwise the text (which
/// the scorer then rejects as `invalid_value`, naming the item).
fn cell_value(cell: &str) -> Value {
    if let Ok(i) = cell.parse::<i64>() {
        return Value::Number(i.into());
    }
    match cell.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(n) => Value::Number(n),
        None => Value::String(cell.to_string()),
    }
}
