//! Argument parsing and the four commands. Each command reads its input as a stream and writes
//! through one buffered writer; a closed pipe (`attune catalog | head`) ends the program quietly.

use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use attune_core::{validate_definition, Catalog, Group, Outcome, Request, ScoreError};
use serde_json::Value;

use crate::csv_input::CsvScorer;
use crate::fhir;
use crate::HELP;

/// A failure that ends the program: bad usage (exit 2) or unreadable input (exit 1).
#[derive(Debug)]
pub enum CliError {
    Usage(String),
    Input(String),
    Output(io::Error),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) => write!(f, "{m}\nTry `attune --help`."),
            CliError::Input(m) => write!(f, "{m}"),
            CliError::Output(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Input(_) | CliError::Output(_) => ExitCode::from(1),
        }
    }
}

impl From<lexopt::Error> for CliError {
    fn from(e: lexopt::Error) -> Self {
        CliError::Usage(e.to_string())
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Output(e)
    }
}

#[derive(Debug, Default)]
struct Args {
    command: Option<String>,
    positional: Vec<String>,
    input: Option<PathBuf>,
    csv: bool,
    instrument: Option<String>,
    id_column: Option<String>,
    min_n: Option<String>,
    commercial: bool,
    json: bool,
    fhir: bool,
    base: Option<String>,
    authored: Option<String>,
    subject: Option<String>,
    lang: Option<String>,
    text: Option<PathBuf>,
}

fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Option<Args>, CliError> {
    use lexopt::prelude::*;
    let mut a = Args::default();
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(None),
            Short('V') | Long("version") => {
                println!("attune {}", attune_core::VERSION);
                return Ok(Some(Args { command: Some("--version".into()), ..Args::default() }));
            }
            Short('i') | Long("input") => a.input = Some(p.value()?.into()),
            Long("csv") => a.csv = true,
            Long("instrument") => a.instrument = Some(p.value()?.string()?),
            Long("id-column") => a.id_column = Some(p.value()?.string()?),
            Long("min-n") => a.min_n = Some(p.value()?.string()?),
            Long("commercial") => a.commercial = true,
            Long("json") => a.json = true,
            Long("fhir") => a.fhir = true,
            Long("base") => a.base = Some(p.value()?.string()?),
            Long("authored") => a.authored = Some(p.value()?.string()?),
            Long("subject") => a.subject = Some(p.value()?.string()?),
            Long("lang") => a.lang = Some(p.value()?.string()?),
            Long("text") => a.text = Some(p.value()?.into()),
            Value(v) if a.command.is_none() => a.command = Some(v.string()?),
            Value(v) => a.positional.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Some(a))
}

pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<ExitCode, CliError> {
    let Some(a) = parse_args(args)? else {
        print!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    };
    let out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let result = match a.command.as_deref() {
        None | Some("help") => {
            print!("{HELP}");
            Ok(ExitCode::SUCCESS)
        }
        Some("--version") => Ok(ExitCode::SUCCESS),
        Some("score") => {
            only_options(&a, &["input", "csv", "instrument", "id-column", "fhir", "base", "authored", "subject"])?;
            no_positional(&a)?;
            if !a.csv && (a.instrument.is_some() || a.id_column.is_some()) {
                return Err(CliError::Usage("--instrument and --id-column apply to --csv input".into()));
            }
            if !a.fhir && (a.authored.is_some() || a.subject.is_some()) {
                return Err(CliError::Usage("--authored and --subject apply to --fhir output".into()));
            }
            let fhir =
                fhir::Writing::from_args(a.fhir, a.base.as_deref(), a.authored.as_deref(), a.subject.as_deref())?;
            let mut output = Output { out, fhir, buf: Vec::with_capacity(1024) };
            score(open_input(&a.input)?, a.csv, a.instrument.as_deref(), a.id_column.as_deref(), &mut output)
        }
        Some("fhir") => {
            only_options(&a, &["base", "lang", "text"])?;
            match a.positional.as_slice() {
                [what, id] if what == "questionnaire" => {
                    fhir::questionnaire(id, a.base.as_deref(), a.lang.as_deref(), a.text.as_deref(), out)
                }
                _ => Err(CliError::Usage(
                    "usage: `attune fhir questionnaire ID` (e.g. `attune fhir questionnaire phq9`)".into(),
                )),
            }
        }
        Some("group") => {
            only_options(&a, &["input", "min-n", "fhir", "base", "authored"])?;
            let [id] = a.positional.as_slice() else {
                return Err(CliError::Usage("`attune group` takes one instrument id, e.g. `attune group gcqs`".into()));
            };
            if !a.fhir && a.authored.is_some() {
                return Err(CliError::Usage("--authored applies to --fhir output".into()));
            }
            let fhir = fhir::Writing::from_args(a.fhir, a.base.as_deref(), a.authored.as_deref(), None)?;
            group(open_input(&a.input)?, id, a.min_n.as_deref(), fhir.as_ref(), out)
        }
        Some("catalog") => {
            only_options(&a, &["commercial"])?;
            no_positional(&a)?;
            catalog(a.commercial, out)
        }
        Some("validate") => {
            only_options(&a, &["json"])?;
            let [file] = a.positional.as_slice() else {
                return Err(CliError::Usage("`attune validate` takes one definition file".into()));
            };
            validate(file, a.json, out)
        }
        Some(other) => Err(CliError::Usage(format!("unknown command `{other}`"))),
    };
    match result {
        Err(CliError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        r => r,
    }
}

fn only_options(a: &Args, allowed: &[&str]) -> Result<(), CliError> {
    let given = [
        ("input", a.input.is_some()),
        ("csv", a.csv),
        ("instrument", a.instrument.is_some()),
        ("id-column", a.id_column.is_some()),
        ("min-n", a.min_n.is_some()),
        ("commercial", a.commercial),
        ("json", a.json),
        ("fhir", a.fhir),
        ("base", a.base.is_some()),
        ("authored", a.authored.is_some()),
        ("subject", a.subject.is_some()),
        ("lang", a.lang.is_some()),
        ("text", a.text.is_some()),
    ];
    for (name, set) in given {
        if set && !allowed.contains(&name) {
            let cmd = a.command.as_deref().unwrap_or("");
            return Err(CliError::Usage(format!("`attune {cmd}` does not take --{name}")));
        }
    }
    Ok(())
}

fn no_positional(a: &Args) -> Result<(), CliError> {
    match a.positional.first() {
        Some(p) => Err(CliError::Usage(format!("unexpected argument `{p}`"))),
        None => Ok(()),
    }
}

type Input = BufReader<Box<dyn Read>>;

fn open_input(path: &Option<PathBuf>) -> Result<Input, CliError> {
    let source: Box<dyn Read> = match path {
        None => Box::new(io::stdin()),
        Some(p) if p.as_os_str() == "-" => Box::new(io::stdin()),
        Some(p) => Box::new(File::open(p).map_err(|e| CliError::Input(format!("cannot read {}: {e}", p.display())))?),
    };
    Ok(BufReader::with_capacity(64 * 1024, source))
}

const BOM: &[u8] = "\u{feff}".as_bytes();

/// JSON Lines input, as `score` and `group` read it: blank lines are skipped, a byte order mark is
/// not part of a request, and a line that is not UTF-8 is reported as that line's error.
struct JsonLines {
    input: Input,
    line: Vec<u8>,
}

impl JsonLines {
    fn new(input: Input) -> Self {
        JsonLines { input, line: Vec::with_capacity(1024) }
    }

    /// The next non-blank line, trimmed; `Err` with a message when it is not UTF-8.
    fn next_line(&mut self) -> Result<Option<Result<&str, String>>, CliError> {
        loop {
            self.line.clear();
            let read = self.input.read_until(b'\n', &mut self.line);
            if read.map_err(|e| CliError::Input(format!("cannot read input: {e}")))? == 0 {
                return Ok(None);
            }
            if !self.line.trim_ascii().is_empty() && self.line.trim_ascii() != BOM {
                break;
            }
        }
        let bytes = self.line.strip_prefix(BOM).unwrap_or(&self.line);
        Ok(Some(std::str::from_utf8(bytes).map(str::trim).map_err(|e| format!("the line is not UTF-8: {e}"))))
    }

    /// Whether everything read so far has been handed out, so the next read may wait on the caller.
    fn drained(&self) -> bool {
        self.input.buffer().is_empty()
    }
}

/// Where scored lines go: one result (or error) object per line, or with `--fhir` one transaction
/// Bundle per scored response.
pub struct Output<W> {
    pub out: W,
    pub fhir: Option<fhir::Writing>,
    pub buf: Vec<u8>,
}

impl<W: Write> Output<W> {
    /// Scores a request and writes its line, with the request's `id` first when it has one.
    pub fn score(&mut self, catalog: &Catalog, req: Request) -> io::Result<()> {
        match &self.fhir {
            Some(writing) => match writing.bundle(catalog, &req) {
                Ok(bundle) => {
                    serde_json::to_writer(&mut self.out, &bundle).map_err(io::Error::other)?;
                    self.out.write_all(b"\n")
                }
                Err(error) => {
                    let outcome = Outcome::Failed { instrument: Some(req.instrument.clone()), error };
                    write_outcome(&mut self.out, req.id.as_ref(), &outcome, &mut self.buf)
                }
            },
            None => write_outcome(&mut self.out, req.id.as_ref(), &req.score(catalog), &mut self.buf),
        }
    }

    /// Writes the error of a line that could not be read as a request.
    pub fn fail(&mut self, id: Option<&Value>, instrument: Option<String>, error: ScoreError) -> io::Result<()> {
        write_outcome(&mut self.out, id, &Outcome::Failed { instrument, error }, &mut self.buf)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes an outcome as one line, with the request's `id` first when it has one.
fn write_outcome(out: &mut impl Write, id: Option<&Value>, outcome: &Outcome<'_>, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    serde_json::to_writer(&mut *buf, outcome).map_err(io::Error::other)?;
    match id {
        // The outcome serialises as an object, so its text starts with `{`: splice the id in front.
        Some(id) if buf.first() == Some(&b'{') => {
            out.write_all(b"{\"id\":")?;
            serde_json::to_writer(&mut *out, id).map_err(io::Error::other)?;
            out.write_all(b",")?;
            out.write_all(&buf[1..])?;
        }
        _ => out.write_all(buf)?,
    }
    out.write_all(b"\n")
}

fn score(
    input: Input,
    csv: bool,
    instrument: Option<&str>,
    id_column: Option<&str>,
    out: &mut Output<impl Write>,
) -> Result<ExitCode, CliError> {
    let catalog = Catalog::embedded();
    if csv {
        if let Some(id) = instrument {
            if catalog.get(id).is_none() {
                return Err(CliError::Usage(format!(
                    "unknown instrument `{id}`; `attune catalog` lists the instruments"
                )));
            }
        }
        let mut scorer = CsvScorer::new(input, instrument, id_column)?;
        scorer.run(catalog, out)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let base = out.fhir.as_ref().map_or(attune_core::fhir::DEFAULT_BASE, |w| w.base()).to_string();
    let mut lines = JsonLines::new(input);
    while let Some(line) = lines.next_line()? {
        let text = match line {
            Ok(text) => text,
            Err(message) => {
                out.fail(None, None, ScoreError::invalid_json(message))?;
                continue;
            }
        };
        // A line is a request, or a FHIR QuestionnaireResponse from any system (or a Bundle of one).
        let request = match fhir::resource(text) {
            Some(resource) => fhir::read_response(catalog, resource, &base),
            None => Request::parse(text, None),
        };
        match request {
            Ok(req) => out.score(catalog, req)?,
            // The line could not be read as a request, so it has no usable "id" either.
            Err((instrument, error)) => out.fail(None, instrument, error)?,
        }
        // Nothing more is buffered: the next read may wait on the caller (a pipe or FIFO used
        // interactively), so hand over the answers given so far first.
        if lines.drained() {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn group(
    input: Input,
    id: &str,
    min_n: Option<&str>,
    fhir: Option<&fhir::Writing>,
    mut out: impl Write,
) -> Result<ExitCode, CliError> {
    let fail = |out: &mut dyn Write, member: Option<usize>, error: ScoreError| -> Result<ExitCode, CliError> {
        let body = attune_core::ErrorBody { error: &error, member };
        // Written by hand so `instrument` comes first, as in every other error object.
        write!(out, "{{\"instrument\":{},\"error\":", Value::from(id))?;
        serde_json::to_writer(&mut *out, &body).map_err(io::Error::other)?;
        writeln!(out, "}}")?;
        out.flush()?;
        eprintln!("attune: {}{error}", member.map(|m| format!("member {m}: ")).unwrap_or_default());
        Ok(ExitCode::from(1))
    };
    let Some(inst) = Catalog::embedded().get(id) else {
        return fail(&mut out, None, ScoreError::UnknownInstrument { id: id.to_string() });
    };
    let min_n = match min_n {
        None => attune_core::DEFAULT_MIN_N,
        // The same rule as the JSON API: an integer of at least 1, written `3` or `3.0`.
        Some(s) => match s.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Some(n) => match Group::min_n_from_json(Some(&Value::Number(n))) {
                Ok(n) => n,
                Err(e) => return fail(&mut out, None, e),
            },
            None => {
                let message = format!("--min-n must be an integer of at least 1, not `{s}`");
                return fail(&mut out, None, ScoreError::InvalidContext { message });
            }
        },
    };
    let mut group = Group::new(inst, min_n).map_err(|e| CliError::Usage(e.to_string()))?;
    let mut lines = JsonLines::new(input);
    while let Some(line) = lines.next_line()? {
        let text = match line {
            Ok(text) => text,
            Err(message) => {
                let member = group.skip_member();
                return fail(&mut out, Some(member), ScoreError::invalid_json(message));
            }
        };
        match Request::parse(text, Some(id)) {
            Ok(req) => {
                if let Err(e) = group.add_json(&req.answers) {
                    return fail(&mut out, Some(e.member), e.error);
                }
            }
            Err((_, error)) => {
                let member = group.skip_member();
                return fail(&mut out, Some(member), error);
            }
        }
    }
    let stats = group.finish();
    match fhir {
        Some(writing) => serde_json::to_writer(&mut out, &writing.group(inst, &stats)),
        None => serde_json::to_writer(&mut out, &stats),
    }
    .map_err(io::Error::other)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn catalog(commercial: bool, mut out: impl Write) -> Result<ExitCode, CliError> {
    let full = Catalog::embedded();
    let filtered;
    let catalog = if commercial {
        filtered = full.commercial_use();
        &filtered
    } else {
        full
    };
    let summaries = catalog.summaries();
    out.write_all(b"[\n")?;
    for (k, s) in summaries.iter().enumerate() {
        serde_json::to_writer(&mut out, s).map_err(io::Error::other)?;
        out.write_all(if k + 1 < summaries.len() { b",\n" } else { b"\n" })?;
    }
    out.write_all(b"]\n")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn validate(file: &str, json: bool, mut out: impl Write) -> Result<ExitCode, CliError> {
    let mut text = String::new();
    let read = if file == "-" {
        io::stdin().read_to_string(&mut text)
    } else {
        File::open(file).and_then(|mut f| f.read_to_string(&mut text))
    };
    if let Err(e) = read {
        eprintln!("attune: cannot read {file}: {e}");
        return Ok(ExitCode::from(2));
    }
    let problems = validate_definition(&text);
    if json {
        serde_json::to_writer_pretty(&mut out, &problems).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    } else if problems.is_empty() {
        let def: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let count = |k: &str| def[k].as_array().map_or(0, Vec::len);
        writeln!(
            out,
            "{file}: valid ({} items, {} score{}, {} test vector{} pass)",
            count("items"),
            count("scores"),
            if count("scores") == 1 { "" } else { "s" },
            count("test_vectors"),
            if count("test_vectors") == 1 { "" } else { "s" }
        )?;
    } else {
        for p in &problems {
            let kind = serde_json::to_value(p.kind).unwrap_or(Value::Null);
            writeln!(out, "{file}: {}: {} [{}]", p.path, p.message, kind.as_str().unwrap_or(""))?;
        }
        writeln!(out, "{file}: {} problem{}", problems.len(), if problems.len() == 1 { "" } else { "s" })?;
    }
    out.flush()?;
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
