//! The live poll's two faces: the member's join page and the therapist's dashboard. Render only:
//! the element glue talks to the server and passes in what to show; aggregates arrive computed.

use std::rc::Rc;

use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::questionnaire::{Questionnaire, QuestionnaireProps};

/// Where a member is.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinStage {
    /// Entering the join code.
    Code { error: Option<String>, busy: bool },
    /// Answering (and, after finishing, revising until the poll closes).
    Answer {
        /// The questionnaire, with results hidden.
        questionnaire: Box<QuestionnaireProps>,
        /// "A custom question, not a validated instrument." for custom questions.
        note: Option<String>,
        /// What happened to the last submission: (saved, message).
        status: Option<(bool, String)>,
        /// Whether the last submission failed in a way that trying again may fix (no network, no
        /// answer from the server): a "Try again" button is shown.
        retry: bool,
    },
    /// The poll is closed.
    Closed,
}

/// Properties of [`PollJoin`].
#[derive(Properties, PartialEq, Clone, Debug)]
pub struct PollJoinProps {
    /// The stage to show.
    pub stage: JoinStage,
    /// The code typed so far (from the `code` attribute).
    pub code: AttrValue,
    /// Called with the code the member submits.
    pub on_code: Callback<String>,
    /// Called when the member asks to send the last answers again.
    #[prop_or_default]
    pub on_retry: Callback<()>,
}

/// The member's page: a code, then the questionnaire, then a confirmation; revise until close.
#[function_component(PollJoin)]
pub fn poll_join(props: &PollJoinProps) -> Html {
    let input = use_node_ref();
    match &props.stage {
        JoinStage::Code { error, busy } => {
            let onsubmit = {
                let (input, cb) = (input.clone(), props.on_code.clone());
                Callback::from(move |e: SubmitEvent| {
                    e.prevent_default();
                    if let Some(i) = input.cast::<HtmlInputElement>() {
                        cb.emit(i.value());
                    }
                })
            };
            html! {
                <div class="attune" part="root" lang="en">
                    <h2 class="title" part="title">{ "Join the group's poll" }</h2>
                    <form class="screen join" {onsubmit} novalidate=true>
                        <label for="code" class="field-label">{ "Join code (6 letters and digits, on the screen in the room)" }</label>
                        <input id="code" class="code-input" ref={input} type="text" value={props.code.clone()}
                            autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="6"
                            aria-invalid={error.is_some().then_some("true")}
                            aria-describedby={error.is_some().then_some("code-error")} />
                        if let Some(e) = error {
                            <p id="code-error" class="warn" role="alert">{ e }</p>
                        }
                        <p class="note">{ "No name or account: your answers are anonymous. The therapist sees only the group's totals, once at least three people have answered, and after that only when at least three people's answers are new or changed, so no one's answer can be read from a change." }</p>
                        <div class="nav">
                            <button type="submit" class="primary" part="button" disabled={*busy}>{ if *busy { "Joining…" } else { "Join" } }</button>
                        </div>
                    </form>
                </div>
            }
        }
        JoinStage::Answer { questionnaire, note, status, retry } => {
            let onretry = props.on_retry.reform(|_: MouseEvent| ());
            html! {
                <div class="poll-answer">
                    if let Some(n) = note {
                        <p class="note unvalidated" part="note">{ n }</p>
                    }
                    <Questionnaire ..(**questionnaire).clone() />
                    <p class={classes!("status", status.as_ref().map(|s| if s.0 { "ok" } else { "warn" }))} role="status">
                        { status.as_ref().map(|s| s.1.clone()).unwrap_or_default() }
                    </p>
                    if *retry {
                        <div class="nav">
                            <button type="button" class="primary" part="button" onclick={onretry}>{ "Try again" }</button>
                        </div>
                    }
                </div>
            }
        }
        JoinStage::Closed => html! {
            <div class="attune" part="root" lang="en">
                <h2 class="title" part="title">{ "This poll is closed" }</h2>
                <p role="status">{ "Thank you. Answers can no longer be changed; your therapist has the group's results." }</p>
            </div>
        },
    }
}

/// One score's aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreAgg {
    pub label: String,
    pub n: u64,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub rwg: Option<f64>,
}

/// One item's distribution: option labels and how many chose each.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemAgg {
    pub label: String,
    pub bars: Vec<(String, u64)>,
}

/// The poll on the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct PollPanel {
    pub title: String,
    pub open: bool,
    pub code: Option<String>,
    pub join_url: Option<String>,
    pub qr_url: Option<String>,
    pub stem: Option<String>,
    pub note: Option<String>,
    pub joined: u64,
    pub answered: u64,
    /// Why aggregates are not shown yet, in words.
    pub withheld: Option<String>,
    /// Which answers the results shown hold, and why newer ones are not in them yet.
    pub release_note: Option<String>,
    pub scores: Vec<ScoreAgg>,
    pub items: Vec<ItemAgg>,
}

/// One score's mean across sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendSeries {
    pub label: String,
    /// (session label, mean, n); the mean is `None` where it was withheld.
    pub points: Vec<(String, Option<f64>, u64)>,
    pub range: (f64, f64),
}

/// A new poll, as the therapist asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPoll {
    /// A catalog instrument, or `None` for a custom question.
    pub instrument: Option<String>,
    pub question: Option<String>,
    /// Options of a custom question; empty for a 0–10 scale.
    pub options: Vec<String>,
    pub min_n: u32,
    pub hide_until_closed: bool,
    pub stem: Option<String>,
}

/// Properties of [`PollDashboard`].
#[derive(Properties, PartialEq, Clone, Debug)]
pub struct DashboardProps {
    /// Catalog instruments for the picker: (id, label).
    pub instruments: Rc<Vec<(String, String)>>,
    pub group: AttrValue,
    pub poll: Option<Rc<PollPanel>>,
    pub trend: Rc<Vec<TrendSeries>>,
    /// "Live", "Reconnecting…", or empty.
    pub connection: AttrValue,
    pub error: Option<AttrValue>,
    pub busy: bool,
    pub on_create: Callback<NewPoll>,
    pub on_close: Callback<()>,
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| fixed(v, 2))
}

/// `v` with `decimals` (at most 3) decimals, as `format!("{v:.2}")` writes it, ties to even on the
/// exact value included; without Rust's float formatting, which would add about 5 KB gzip to the
/// poll module. For finite values (statistics and coordinates are).
pub fn fixed(v: f64, decimals: usize) -> String {
    let scale = [1.0, 10.0, 100.0, 1000.0][decimals.min(3)];
    let s = v * scale;
    // The product's rounding error, exactly (Dekker's two-product): a tie is decided on the value
    // `v * scale` really has, not on its rounded product.
    let split = |a: f64| {
        let c = 134_217_729.0 * a;
        let hi = c - (c - a);
        (hi, a - hi)
    };
    let ((vh, vl), (sh, sl)) = (split(v), split(scale));
    let err = ((vh * sh - s) + vh * sl + vl * sh) + vl * sl;
    let mut r = s.round_ties_even();
    if (s - r).abs() == 0.5 {
        if err > 0.0 {
            r = (s + 0.5).floor();
        } else if err < 0.0 {
            r = (s - 0.5).ceil();
        }
    }
    let n = r.abs() as u64;
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if decimals == 0 {
        return format!("{sign}{n}");
    }
    let p = 10u64.pow(decimals.min(3) as u32);
    format!("{sign}{}.{:0w$}", n / p, n % p, w = decimals.min(3))
}

/// `v` as `format!("{v}")` writes a value with at most two decimals (score ranges: the catalog's
/// are whole numbers).
fn plain(v: f64) -> String {
    let s = fixed(v, 2);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The therapist's dashboard: create a poll, show its code and QR, live counts, close, aggregates
/// with distribution bars, and the group's trend.
#[function_component(PollDashboard)]
pub fn poll_dashboard(props: &DashboardProps) -> Html {
    html! {
        <div class="attune dashboard" part="root" lang="en">
            <h2 class="title" part="title">{ format!("Group {}", props.group) }</h2>
            if let Some(e) = &props.error {
                <p class="warn" role="alert">{ e.to_string() }</p>
            }
            <p class="sr-only" aria-live="polite">{ props.poll.as_ref().map(|p| format!("{} joined, {} answered", p.joined, p.answered)).unwrap_or_default() }</p>
            { match &props.poll {
                Some(p) if p.open => current(props, p),
                _ => html! { <NewPollForm instruments={props.instruments.clone()} busy={props.busy} on_create={props.on_create.clone()} /> },
            } }
            if let Some(p) = props.poll.as_ref().filter(|p| p.open) {
                { results(p) }
            } else if let Some(p) = &props.poll {
                <section class="panel" aria-labelledby="last-title">
                    <h3 id="last-title">{ format!("Last poll: {} (closed)", p.title) }</h3>
                    { counts(p) }
                    { results(p) }
                </section>
            }
            { trend(&props.trend) }
        </div>
    }
}

fn counts(p: &PollPanel) -> Html {
    html! {
        <dl class="counts" part="progress">
            <div><dt>{ "Joined" }</dt><dd class="count" data-joined={p.joined.to_string()}>{ p.joined }</dd></div>
            <div><dt>{ "Answered" }</dt><dd class="count" data-answered={p.answered.to_string()}>{ p.answered }</dd></div>
        </dl>
    }
}

fn current(props: &DashboardProps, p: &PollPanel) -> Html {
    let onclose = {
        let cb = props.on_close.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    html! {
        <section class="panel current" aria-labelledby="current-title">
            <h3 id="current-title">{ format!("Open poll: {}", p.title) }</h3>
            if let Some(n) = &p.note { <p class="note unvalidated">{ n }</p> }
            if let Some(s) = &p.stem { <p class="instructions">{ s }</p> }
            <div class="join-box">
                if let Some(code) = &p.code {
                    <p class="join-label">{ "Join with code" }</p>
                    <p class="join-code" aria-label={format!("Join code {}", code.chars().map(String::from).collect::<Vec<_>>().join(" "))}>{ code }</p>
                }
                if let Some(url) = &p.join_url { <p class="join-url">{ url }</p> }
                if let (Some(qr), Some(code)) = (&p.qr_url, &p.code) {
                    <img class="qr" src={qr.clone()} alt={format!("QR code that opens the join page with code {code}")} width="320" height="320" />
                }
            </div>
            { counts(p) }
            <p class="note">{ props.connection.to_string() }</p>
            <div class="nav">
                <button type="button" class="secondary" part="button" onclick={onclose} disabled={props.busy}>{ "Close poll" }</button>
            </div>
        </section>
    }
}

fn results(p: &PollPanel) -> Html {
    if let Some(w) = &p.withheld {
        return html! { <p class="withheld" part="results">{ w }</p> };
    }
    html! {
        <section class="results" part="results" aria-labelledby="agg-title">
            <h3 id="agg-title">{ "The group's answers" }</h3>
            if let Some(note) = &p.release_note {
                <p class="note">{ note }</p>
            }
            <table class="agg">
                <caption class="sr-only">{ "Scores: members answered, mean, standard deviation, range and agreement" }</caption>
                <thead><tr><th scope="col">{ "Score" }</th><th scope="col">{ "n" }</th><th scope="col">{ "Mean" }</th><th scope="col">{ "SD" }</th><th scope="col">{ "Min–max" }</th><th scope="col">{ "r_wg" }</th></tr></thead>
                <tbody>
                    { for p.scores.iter().map(|s| html! {
                        <tr><th scope="row">{ &s.label }</th><td>{ s.n }</td><td class="mean">{ num(s.mean) }</td><td>{ num(s.sd) }</td>
                            <td>{ format!("{}–{}", num(s.min), num(s.max)) }</td><td>{ num(s.rwg) }</td></tr>
                    }) }
                </tbody>
            </table>
            { for p.items.iter().map(|it| {
                let most = it.bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
                html! {
                    <figure class="dist">
                        <figcaption>{ &it.label }</figcaption>
                        <table class="bars">
                            <tbody>
                                { for it.bars.iter().map(|(label, c)| html! {
                                    <tr>
                                        <th scope="row">{ label }</th>
                                        <td class="bar-cell">
                                            <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false">
                                                <rect x="0" y="0" height="10" width={(100 * c / most).to_string()} />
                                            </svg>
                                        </td>
                                        <td class="bar-count">{ c }</td>
                                    </tr>
                                }) }
                            </tbody>
                        </table>
                    </figure>
                }
            }) }
        </section>
    }
}

fn trend(series: &[TrendSeries]) -> Html {
    if series.iter().all(|s| s.points.iter().all(|p| p.1.is_none())) {
        return html! {};
    }
    html! {
        <section class="panel trend" aria-labelledby="trend-title">
            <h3 id="trend-title">{ "Trend across sessions" }</h3>
            { for series.iter().map(|s| {
                let (lo, hi) = s.range;
                let span = if hi > lo { hi - lo } else { 1.0 };
                let n = s.points.len().max(2) - 1;
                let xy: Vec<(f64, f64)> = s.points.iter().enumerate().filter_map(|(i, p)| {
                    p.1.map(|m| (10.0 + 280.0 * i as f64 / n as f64, 110.0 - 100.0 * (m - lo) / span))
                }).collect();
                let points = xy.iter().map(|(x, y)| format!("{},{}", fixed(*x, 1), fixed(*y, 1))).collect::<Vec<_>>().join(" ");
                html! {
                    <figure class="chart">
                        <figcaption>{ format!("{} (mean per session, {}–{})", s.label, plain(lo), plain(hi)) }</figcaption>
                        <svg viewBox="0 0 300 120" role="img" aria-label={format!("{}: {}", s.label, s.points.iter().map(|p| format!("{} {}", p.0, num(p.1))).collect::<Vec<_>>().join(", "))}>
                            <line x1="10" y1="110" x2="290" y2="110" class="axis" />
                            <line x1="10" y1="10" x2="10" y2="110" class="axis" />
                            <polyline points={points} class="line" fill="none" />
                            { for xy.iter().map(|(x, y)| html! { <circle cx={fixed(*x, 1)} cy={fixed(*y, 1)} r="3" class="dot" /> }) }
                        </svg>
                        <table class="trend-table">
                            <thead><tr><th scope="col">{ "Session" }</th><th scope="col">{ "Mean" }</th><th scope="col">{ "n" }</th></tr></thead>
                            <tbody>{ for s.points.iter().map(|p| html! { <tr><th scope="row">{ &p.0 }</th><td>{ num(p.1) }</td><td>{ p.2 }</td></tr> }) }</tbody>
                        </table>
                    </figure>
                }
            }) }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct NewPollFormProps {
    instruments: Rc<Vec<(String, String)>>,
    busy: bool,
    on_create: Callback<NewPoll>,
}

#[function_component(NewPollForm)]
fn new_poll_form(props: &NewPollFormProps) -> Html {
    let custom = use_state(|| false);
    let (pick, text, options, min_n, hide, stem) =
        (use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref());
    let onchange = {
        let (pick, custom) = (pick.clone(), custom.clone());
        Callback::from(move |_: Event| {
            if let Some(s) = pick.cast::<HtmlSelectElement>() {
                custom.set(s.value() == "custom");
            }
        })
    };
    let onsubmit = {
        let (pick, text, options, min_n, hide, stem) =
            (pick.clone(), text.clone(), options.clone(), min_n.clone(), hide.clone(), stem.clone());
        let cb = props.on_create.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let instrument = pick.cast::<HtmlSelectElement>().map(|s| s.value()).unwrap_or_default();
            let is_custom = instrument == "custom";
            let opts: Vec<String> = options
                .cast::<HtmlTextAreaElement>()
                .map(|t| t.value())
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            let stem_text = value(&stem);
            cb.emit(NewPoll {
                instrument: (!is_custom).then_some(instrument),
                question: is_custom.then(|| value(&text)),
                options: if is_custom { opts } else { Vec::new() },
                min_n: value(&min_n).trim().parse().unwrap_or(3),
                hide_until_closed: hide.cast::<HtmlInputElement>().is_some_and(|i| i.checked()),
                stem: (!stem_text.trim().is_empty()).then_some(stem_text),
            });
        })
    };
    html! {
        <form class="panel new-poll" {onsubmit} aria-labelledby="new-title">
            <h3 id="new-title">{ "Start a poll for this session" }</h3>
            <div class="field">
                <label for="pick">{ "Instrument" }</label>
                <select id="pick" ref={pick} {onchange}>
                    { for props.instruments.iter().map(|(id, label)| html! { <option value={id.clone()} selected={id == "gcqs"}>{ label }</option> }) }
                    <option value="custom">{ "A quick custom question (not a validated instrument)" }</option>
                </select>
            </div>
            if *custom {
                <div class="field">
                    <label for="qtext">{ "Question" }</label>
                    <input id="qtext" ref={text} type="text" maxlength="300" />
                </div>
                <div class="field">
                    <label for="qopts">{ "Options, one per line (2 to 7); leave empty for a 0–10 scale" }</label>
                    <textarea id="qopts" ref={options} rows="4" />
                </div>
            }
            <div class="field">
                <label for="stem">{ "Your stem (optional; otherwise the instrument's own, or \"Thinking about today's session:\")" }</label>
                <input id="stem" ref={stem} type="text" maxlength="300" />
            </div>
            <div class="field">
                <label for="minn">{ "Show results from this many answers (3 or more)" }</label>
                <input id="minn" ref={min_n} type="number" min="3" max="100" value="3" />
            </div>
            <div class="field check">
                <input id="hide" ref={hide} type="checkbox" />
                <label for="hide">{ "Hide results until I close the poll" }</label>
            </div>
            <p class="note">{ "Live results change only when at least that many members' answers are new or changed, so no one's answer can be read from a change. Hidden results appear all at once when you close the poll." }</p>
            <div class="nav">
                <button type="submit" class="primary" part="button" disabled={props.busy}>{ "Start poll" }</button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::{fixed, plain};

    /// Written as Rust's own formatting writes them, on means of small groups (where exact ties
    /// are common), square roots (standard deviations) and negatives.
    #[test]
    fn fixed_writes_what_rust_formatting_writes() {
        let mut values = vec![0.0, -0.0, -0.001, 0.125, 2.675, 1e6 / 3.0];
        for n in 1..=40u32 {
            values.extend((-200..=400).map(|k| f64::from(k) / f64::from(n)));
        }
        values.extend((0..20_000u32).map(|i| f64::from(i).sqrt() / 7.3));
        for v in values {
            assert_eq!(fixed(v, 2), format!("{v:.2}"), "{v:?}");
            assert_eq!(fixed(v, 1), format!("{v:.1}"), "{v:?}");
            assert_eq!(fixed(v, 0), format!("{v:.0}"), "{v:?}");
        }
        for v in [0.0, 27.0, -4.0, 165.0, 2.5, 0.25] {
            assert_eq!(plain(v), format!("{v}"));
        }
    }
}
