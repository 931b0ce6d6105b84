//! `<attune-poll-dashboard server=URL group=... token=...>`: the therapist creates a poll, shows
//! its code and QR code to the room, watches the counts and (from the minimum group size) the
//! aggregates arrive live, closes it, and sees the group's trend. Aggregates only: the server has
//! no route that returns a member's answers. A wrong token sees nothing.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use attune_core::{Catalog, PackLanguage, TextPack};
use attune_protocol::{Aggregate, Poll, PollState, StemSource, TrendSession, Withheld};
use attune_ui::poll::{DashboardProps, ItemAgg, NewPoll, PollDashboard, PollPanel, ScoreAgg, TrendSeries};
use wasm_bindgen::prelude::*;
use yew::{AppHandle, AttrValue, Callback};

use super::net::{self, Live};
use super::protocol::{self, entries, number, Message};
use super::show;
use super::wording::{Want, Wording};
use crate::js::{object, set};
use crate::read::get;

#[derive(Default)]
struct State {
    polls: Vec<Poll>,
    /// The latest aggregate, with its statistics as the server sent them.
    aggregate: Option<(Aggregate, JsValue)>,
    trend: Vec<TrendSession>,
    connection: String,
    error: Option<String>,
    busy: bool,
}

struct Inner {
    root: web_sys::ShadowRoot,
    app: Option<AppHandle<PollDashboard>>,
    connected: bool,
    server: String,
    group: String,
    token: String,
    state: State,
    live: Option<(String, Live)>,
    generation: u32,
    /// The wording of the latest poll's instrument, awaited or failed (asked again for another
    /// instrument).
    want: Want,
}

/// The Rust side of one `<attune-poll-dashboard>`.
/// Internal to the element's JavaScript shell: not part of the typed API.
#[wasm_bindgen(skip_typescript)]
pub struct PollDashboardElement {
    inner: Rc<RefCell<Inner>>,
}

impl std::fmt::Debug for PollDashboardElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollDashboardElement").field("group", &self.inner.borrow().group).finish()
    }
}

fn instruments() -> Rc<Vec<(String, String)>> {
    thread_local! {
        static LIST: Rc<Vec<(String, String)>> = Rc::new(
            Catalog::embedded().instruments().iter().map(|i| {
                (i.id().to_string(), format!("{}: {}", i.short_name(), i.name()))
            }).collect()
        );
    }
    LIST.with(Rc::clone)
}

/// What the dashboard shows of a poll and its latest aggregate, with the instrument's English
/// wording once it has arrived (ids meanwhile).
fn panel(server: &str, poll: &Poll, latest: Option<&(Aggregate, JsValue)>, words: Option<&PackLanguage>) -> PollPanel {
    let agg = latest.map(|(a, _)| a);
    let id = poll.instrument.as_str();
    let inst = Catalog::embedded_instrument(id);
    let question = poll.question.as_ref();
    let title = match (question, inst) {
        (Some(q), _) => format!("quick question \"{}\"", q.text),
        (None, Some(i)) => format!("{} ({})", i.short_name(), i.name()),
        (None, None) => id.to_string(),
    };
    let code = poll.code.clone();
    let stats = latest.map(|(_, s)| s).filter(|s| s.is_object());
    let min_n = poll.min_n;
    let answered = agg.map_or(0, |a| a.answered);
    let withheld = agg.and_then(|a| a.withheld).map(|w| match w {
        Withheld::HiddenUntilClosed => "Results are hidden until you close the poll.".to_string(),
        Withheld::BelowMinN => format!("Results appear when {min_n} members have answered ({answered} so far)."),
    });
    // Results move in steps of at least `min_n` members' new or changed answers, so that no change
    // on the screen is one person's answers (the server's release rule): say what is shown.
    let release_note = agg.and_then(|a| a.released.map(|r| (r.n, a.pending))).map(|(n, pending)| {
        let closed = poll.status == PollState::Closed;
        match (pending, closed) {
            (0, _) => format!("From {n} members' answers."),
            (p, false) => format!(
                "From {n} members' answers. {p} new or changed {} will show once {min_n} have come in, so that no \
                 one's answer can be read from a change.",
                if p == 1 { "answer" } else { "answers" }
            ),
            (p, true) => format!(
                "From {n} members' answers. {p} later {} fewer than {min_n}, so {} not shown: no one's answer can \
                 be read from a change.",
                if p == 1 { "answer is" } else { "answers are" },
                if p == 1 { "it is" } else { "they are" }
            ),
        }
    });
    let score_label = |sid: &str| {
        words.and_then(|w| w.scores.get(sid).cloned()).unwrap_or_else(|| {
            if question.is_some() {
                "Answer".into()
            } else {
                sid.to_string()
            }
        })
    };
    // JSON objects arrive sorted by key ("1", "10", "11", "2", ...): show the instrument's order.
    let ordered = |key: &str, order: Vec<String>| -> Vec<(String, JsValue)> {
        let map = stats.map(|s| entries(&get(s, key))).unwrap_or_default();
        let mut out: Vec<(String, JsValue)> =
            order.iter().filter_map(|k| map.iter().find(|(id, _)| id == k).cloned()).collect();
        for (k, v) in map {
            if !order.contains(&k) {
                out.push((k, v));
            }
        }
        out
    };
    let score_order = inst.map(|i| i.score_ids().map(str::to_string).collect()).unwrap_or_default();
    let item_order = inst.map(|i| i.item_ids().map(str::to_string).collect()).unwrap_or_default();
    let scores = ordered("scores", score_order)
        .into_iter()
        .map(|(sid, s)| ScoreAgg {
            label: score_label(&sid),
            n: number(&get(&s, "n")).map_or(0, |n| n as u64),
            mean: number(&get(&s, "mean")),
            sd: number(&get(&s, "sd")),
            min: number(&get(&s, "min")),
            max: number(&get(&s, "max")),
            rwg: number(&get(&s, "rwg")),
        })
        .collect();
    let option_label = |item: &str, value: &str| -> String {
        if let Some(q) = question {
            return q
                .options
                .iter()
                .find(|o| Some(o.value) == value.parse::<i64>().ok())
                .map_or_else(|| value.to_string(), |o| format!("{} ({value})", o.label));
        }
        inst.and_then(|i| {
            let set = i.response_set(i.item_index(item)?);
            words?.options.get(set)?.get(value).map(|l| format!("{l} ({value})"))
        })
        .unwrap_or_else(|| value.to_string())
    };
    let item_label = |item: &str| -> String {
        if let Some(q) = question {
            return q.text.clone();
        }
        match words.and_then(|w| w.items.get(item)) {
            Some(t) => format!("{item}. {t}"),
            None => format!("Item {item}"),
        }
    };
    let items = ordered("items", item_order)
        .into_iter()
        .map(|(iid, it)| ItemAgg {
            label: item_label(&iid),
            bars: {
                let mut counts = entries(&get(&it, "counts"));
                counts.sort_by_key(|(v, _)| v.parse::<i64>().unwrap_or(i64::MAX));
                counts.into_iter().map(|(v, c)| (option_label(&iid, &v), number(&c).map_or(0, |c| c as u64))).collect()
            },
        })
        .collect();
    PollPanel {
        title,
        open: poll.status == PollState::Open,
        join_url: code.as_ref().map(|c| net::absolute(server, &format!("/join/?code={c}"), false)),
        qr_url: code.as_ref().map(|c| net::absolute(server, &format!("/api/join/{c}/qr.svg"), false)),
        code,
        stem: poll.stem.as_ref().map(|stem| {
            if stem.source == StemSource::Attune {
                format!("{} (Attune's wording)", stem.text)
            } else {
                stem.text.clone()
            }
        }),
        note: question.map(|q| q.note.clone()),
        joined: agg.map_or(0, |a| a.joined),
        answered,
        withheld,
        release_note,
        scores,
        items,
    }
}

/// Each score's mean per session, for the instrument of the latest poll.
fn trend(sessions: &[TrendSession], latest: Option<&Poll>, words: Option<&PackLanguage>) -> Vec<TrendSeries> {
    let Some(latest) = latest else { return Vec::new() };
    let id = latest.instrument.as_str();
    if latest.question.is_some() {
        return Vec::new();
    }
    let Some(inst) = Catalog::embedded_instrument(id) else { return Vec::new() };
    let mine: Vec<&TrendSession> = sessions.iter().filter(|s| s.instrument == id).collect();
    inst.score_ids()
        .enumerate()
        .map(|(k, sid)| TrendSeries {
            label: words.and_then(|w| w.scores.get(sid).cloned()).unwrap_or_else(|| sid.to_string()),
            range: inst.score_range(k).map_or((0.0, 0.0), |[lo, hi]| (lo, hi)),
            points: mine
                .iter()
                .map(|s| {
                    let sc = s.scores.get(sid);
                    (net::day(s.created_at as f64), sc.and_then(|m| m.mean), sc.map_or(0, |m| m.n))
                })
                .collect(),
        })
        .collect()
}

/// The English wording of the latest poll's instrument, for labels: here, on its way (asked once;
/// ids are shown meanwhile), or failed (ids are shown, and a line says why). A failure is asked for
/// again when the latest poll is of another instrument.
fn wording_of(me: &mut Inner, weak: &Weak<RefCell<Inner>>) -> (Option<Rc<TextPack>>, Option<String>) {
    let Some(id) = me.state.polls.last().filter(|p| p.question.is_none()).map(|p| p.instrument.clone()) else {
        return (None, None);
    };
    let weak = weak.clone();
    let key = id.clone();
    let wording = me.want.wording(&id, move |loaded| {
        let Some(this) = weak.upgrade() else { return };
        this.borrow_mut().want.settled(&key, loaded);
        render(&this);
    });
    match wording {
        Wording::Ready(pack) => (Some(pack), None),
        Wording::Loading => (None, None),
        Wording::Failed(m) => {
            let name = Catalog::embedded_instrument(&id).map_or(id.as_str(), |i| i.short_name());
            (None, Some(format!("The wording of {name} could not be loaded ({m}): ids are shown instead of labels.")))
        }
    }
}

fn props(me: &Inner, weak: &Weak<RefCell<Inner>>, pack: Option<&TextPack>, note: Option<String>) -> DashboardProps {
    let s = &me.state;
    let latest = s.polls.last();
    let agg = s.aggregate.as_ref().filter(|(a, _)| latest.is_some_and(|p| a.poll.id == p.id));
    let words = pack.and_then(|w| w.languages.get("en"));
    DashboardProps {
        instruments: instruments(),
        group: AttrValue::from(me.group.clone()),
        poll: if s.error.is_some() && s.polls.is_empty() {
            None
        } else {
            latest.map(|p| Rc::new(panel(&me.server, p, agg, words)))
        },
        trend: Rc::new(trend(&s.trend, latest, words)),
        connection: AttrValue::from(s.connection.clone()),
        error: s.error.clone().or(note).map(AttrValue::from),
        busy: s.busy,
        on_create: {
            let weak = weak.clone();
            Callback::from(move |p: NewPoll| create(&weak, p))
        },
        on_close: {
            let weak = weak.clone();
            Callback::from(move |()| close(&weak))
        },
    }
}

fn render(this: &Rc<RefCell<Inner>>) {
    let mut me = this.borrow_mut();
    if !me.connected || me.group.is_empty() {
        return;
    }
    let weak = Rc::downgrade(this);
    let (pack, note) = wording_of(&mut me, &weak);
    let p = props(&me, &weak, pack.as_deref(), note);
    let me = &mut *me;
    show(&mut me.app, &me.root, p);
}

fn update(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(&mut Inner)) {
    if let Some(this) = weak.upgrade() {
        f(&mut this.borrow_mut());
        render(&this);
    }
}

fn endpoint(me: &Inner, path: &str) -> String {
    net::absolute(&me.server, &format!("/api/groups/{}{path}", me.group), false)
}

/// Reloads the polls, the latest poll's aggregate and the trend, and follows the open poll live.
fn load(weak: &Weak<RefCell<Inner>>) {
    let Some(this) = weak.upgrade() else { return };
    let (polls_url, trend_url, server, token, generation) = {
        let mut me = this.borrow_mut();
        // Attributes arrive one at a time: wait until the group and its token are both known.
        if me.group.is_empty() || me.token.is_empty() {
            return;
        }
        me.generation += 1;
        (endpoint(&me, "/polls"), endpoint(&me, "/trend"), me.server.clone(), me.token.clone(), me.generation)
    };
    let weak = weak.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let auth = format!("Bearer {token}");
        let headers = [("authorization", auth.as_str())];
        let polls = net::request("GET", &polls_url, &headers, None).await;
        let current = |weak: &Weak<RefCell<Inner>>| weak.upgrade().filter(|t| t.borrow().generation == generation);
        let Some(this) = current(&weak) else { return };
        if polls.status != 200 {
            let message = match polls.status {
                401 => "This dashboard's group or token is not accepted: nothing can be shown.".to_string(),
                0 => "The poll server cannot be reached.".to_string(),
                _ => format!("The polls could not be loaded: {}.", polls.message()),
            };
            this.borrow_mut().state = State { error: Some(message), ..State::default() };
            render(&this);
            return;
        }
        let Some(list) = protocol::poll_list(&polls.body) else {
            this.borrow_mut().state.error = Some("The server's list of polls could not be read.".into());
            render(&this);
            return;
        };
        let list = list.polls;
        let latest = list.last().cloned();
        {
            let mut me = this.borrow_mut();
            me.state.polls = list;
            me.state.error = None;
        }
        render(&this);
        drop(this);
        if let Some(p) = &latest {
            let id = p.id.clone();
            let agg_url = net::absolute(&server, &format!("/api/polls/{id}/aggregate"), false);
            let agg = net::request("GET", &agg_url, &headers, None).await;
            if let Some(agg) = protocol::aggregate(&agg.body).filter(|_| agg.status == 200) {
                if let Some(this) = current(&weak) {
                    this.borrow_mut().state.aggregate = Some(agg);
                    render(&this);
                }
            }
            if p.status == PollState::Open {
                follow(&weak, &server, &id, &token);
            }
        }
        let trend = net::request("GET", &trend_url, &headers, None).await;
        if let Some(this) = current(&weak) {
            this.borrow_mut().state.trend = protocol::trend(&trend.body).map(|t| t.sessions).unwrap_or_default();
            render(&this);
        }
    });
}

/// Follows a poll's snapshots over the WebSocket (reconnecting by itself).
fn follow(weak: &Weak<RefCell<Inner>>, server: &str, poll: &str, token: &str) {
    let Some(this) = weak.upgrade() else { return };
    if this.borrow().live.as_ref().is_some_and(|(p, _)| p == poll) {
        return;
    }
    let (w1, w2) = (weak.clone(), weak.clone());
    let live = net::live(
        &net::absolute(server, &format!("/api/polls/{poll}/live"), true),
        &protocol::hello(Some(token)),
        move |m: JsValue| {
            // The server's messages are the shared protocol types; anything else is ignored.
            let Some(Message::Snapshot(aggregate, stats)) = protocol::message(&m) else { return };
            let closed = aggregate.poll.status == PollState::Closed;
            update(&w1, |me| {
                if let Some(p) = me.state.polls.iter_mut().find(|p| p.id == aggregate.poll.id) {
                    *p = aggregate.poll.clone();
                }
                me.state.aggregate = Some((*aggregate, stats));
            });
            if closed {
                load(&w1);
            }
        },
        move |state: String| {
            update(&w2, |me| {
                me.state.connection = match state.as_str() {
                    "open" => "Live: updates as members answer.".into(),
                    "reconnecting" => "Connection lost: reconnecting…".into(),
                    "refused" => "The server refused this dashboard's token.".into(),
                    _ => String::new(),
                };
            });
        },
    );
    let old = this.borrow_mut().live.replace((poll.to_string(), live));
    if let Some((_, l)) = old {
        l.close();
    }
}

fn create(weak: &Weak<RefCell<Inner>>, p: NewPoll) {
    let Some(this) = weak.upgrade() else { return };
    let (url, token) = {
        let mut me = this.borrow_mut();
        me.state.busy = true;
        (endpoint(&me, "/polls"), me.token.clone())
    };
    render(&this);
    // The request of `POST /api/groups/{group}/polls`.
    let body = object(&[("min_n", &p.min_n.into()), ("hide_until_closed", &p.hide_until_closed.into())]);
    if let Some(stem) = &p.stem {
        set(&body, "stem", &stem.into());
    }
    match (&p.instrument, &p.question) {
        (Some(i), _) => set(&body, "instrument", &i.into()),
        (None, Some(q)) if p.options.is_empty() => {
            let scale = object(&[("min", &0.into()), ("max", &10.into())]);
            set(&body, "question", &object(&[("text", &q.into()), ("scale", &scale)]));
        }
        (None, Some(q)) => {
            let options = crate::js::strings(p.options.iter().map(String::as_str));
            set(&body, "question", &object(&[("text", &q.into()), ("options", &options)]));
        }
        (None, None) => {}
    }
    let weak = weak.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let auth = format!("Bearer {token}");
        let reply = net::request("POST", &url, &[("authorization", auth.as_str())], Some(&body)).await;
        update(&weak, |me| {
            me.state.busy = false;
            me.state.error =
                (reply.status != 201).then(|| format!("The poll could not be started: {}.", reply.message()));
        });
        if reply.status == 201 {
            load(&weak);
        }
    });
}

fn close(weak: &Weak<RefCell<Inner>>) {
    let Some(this) = weak.upgrade() else { return };
    let (url, token) = {
        let mut me = this.borrow_mut();
        me.state.busy = true;
        let id = me.state.polls.last().map(|p| p.id.clone()).unwrap_or_default();
        (net::absolute(&me.server, &format!("/api/polls/{id}/close"), false), me.token.clone())
    };
    render(&this);
    let weak = weak.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let auth = format!("Bearer {token}");
        let reply = net::request("POST", &url, &[("authorization", auth.as_str())], None).await;
        update(&weak, |me| {
            me.state.busy = false;
            me.state.error =
                (reply.status != 200).then(|| format!("The poll could not be closed: {}.", reply.message()));
            if let Some((_, l)) = me.live.take() {
                l.close();
            }
        });
        load(&weak);
    });
}

#[wasm_bindgen]
impl PollDashboardElement {
    pub(crate) fn new(_host: web_sys::HtmlElement, root: web_sys::ShadowRoot) -> PollDashboardElement {
        PollDashboardElement {
            inner: Rc::new(RefCell::new(Inner {
                root,
                app: None,
                connected: false,
                server: String::new(),
                group: String::new(),
                token: String::new(),
                state: State::default(),
                live: None,
                generation: 0,
                want: Want::default(),
            })),
        }
    }

    /// An observed attribute changed: a new server, group or token reloads everything.
    pub fn attribute(&self, name: &str, value: Option<String>) {
        let reload = {
            let mut me = self.inner.borrow_mut();
            let v = value.unwrap_or_default().trim().to_string();
            match name {
                "server" => me.server = v.trim_end_matches('/').to_string(),
                "group" => me.group = v,
                "token" => me.token = v,
                _ => return,
            }
            if let Some((_, l)) = me.live.take() {
                l.close();
            }
            me.state = State::default();
            me.connected
        };
        if reload {
            load(&Rc::downgrade(&self.inner));
        }
    }

    /// The dashboard has one layout; kept for the element shell.
    #[wasm_bindgen(js_name = setNarrow)]
    pub fn set_narrow(&self, _narrow: bool) {}

    /// First render and load.
    pub fn connect(&self) {
        self.inner.borrow_mut().connected = true;
        render(&self.inner);
        load(&Rc::downgrade(&self.inner));
    }

    /// Removes the rendered app and closes the connection.
    pub fn destroy(&self) {
        let (app, live) = {
            let mut me = self.inner.borrow_mut();
            me.connected = false;
            me.generation += 1;
            (me.app.take(), me.live.take())
        };
        if let Some((_, l)) = live {
            l.close();
        }
        if let Some(app) = app {
            app.destroy();
        }
    }
}
