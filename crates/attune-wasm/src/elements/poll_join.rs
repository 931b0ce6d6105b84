//! `<attune-poll-join server=URL code=...>`: a member enters the join code (or arrives with it),
//! answers with the questionnaire, sees a confirmation, and may revise until the poll closes. The
//! browser keeps the member token (per code) so a reload revises the same answer. Nothing about the
//! member is sent but the token and the answers.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use attune_core::Catalog;
use attune_protocol::{JoinedPoll, PollState, StemSource};
use attune_ui::poll::{JoinStage, PollJoin, PollJoinProps};
use attune_ui::{
    Answers, Choice, Crisis, Evaluation, Evaluator, Form, Layout, NumberFn, Question, QuestionnaireProps, Text,
};
use wasm_bindgen::prelude::*;
use yew::{AppHandle, AttrValue, Callback};

use super::net::{self, Live};
use super::protocol::{self, Message};
use super::{show, text_pack, wording};
use crate::js::object;
use crate::read::get;

struct Inner {
    root: web_sys::ShadowRoot,
    app: Option<AppHandle<PollJoin>>,
    connected: bool,
    narrow: bool,
    server: String,
    code: String,
    stage: Stage,
    live: Option<Live>,
    /// Answers sent on the live socket and not yet acknowledged: sent again over HTTP if the
    /// socket drops before the server's reply, or if no reply comes within [`ACK_WAIT_MS`].
    pending: Option<Vec<(String, i64)>>,
    /// Bumped by every submission, so a late timer of an earlier one does nothing.
    sent: u32,
    /// The last answers submitted, for "Try again" after a failure.
    last: Option<Vec<(String, i64)>>,
    /// Bumped by every join, so a late answer from an older one is ignored.
    generation: u32,
}

enum Stage {
    Code {
        error: Option<String>,
        busy: bool,
    },
    Answer {
        poll: String,
        token: String,
        form: Rc<Form>,
        evaluator: Evaluator,
        note: Option<String>,
        status: Option<(bool, String)>,
        retry: bool,
    },
    Closed,
}

/// How long answers sent on the socket wait for the server's `stored` before they go over HTTP.
const ACK_WAIT_MS: u32 = 4_000;

/// The Rust side of one `<attune-poll-join>`.
/// Internal to the element's JavaScript shell: not part of the typed API.
#[wasm_bindgen(skip_typescript)]
pub struct PollJoinElement {
    inner: Rc<RefCell<Inner>>,
}

impl std::fmt::Debug for PollJoinElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollJoinElement").field("code", &self.inner.borrow().code).finish()
    }
}

fn props(me: &Inner, weak: &Weak<RefCell<Inner>>) -> PollJoinProps {
    let stage = match &me.stage {
        Stage::Code { error, busy } => JoinStage::Code { error: error.clone(), busy: *busy },
        Stage::Closed => JoinStage::Closed,
        Stage::Answer { form, evaluator, note, status, retry, .. } => JoinStage::Answer {
            questionnaire: Box::new(QuestionnaireProps {
                form: form.clone(),
                evaluator: evaluator.clone(),
                initial: Rc::new(Vec::new()),
                lang: AttrValue::Static("en"),
                layout: if me.narrow || form.questions.len() > 12 { Layout::Paged } else { Layout::List },
                show_results: false,
                crisis: Rc::new(Crisis {
                    title: attune_ui::strings::EN.crisis_title.into(),
                    body: attune_ui::strings::EN.crisis_body.into(),
                    contact: None,
                    href: None,
                }),
                instance: 0,
                seek: (0, 0),
                on_change: Callback::noop(),
                on_complete: {
                    let weak = weak.clone();
                    Callback::from(move |a: Answers| {
                        let weak = weak.clone();
                        wasm_bindgen_futures::spawn_local(async move { submit(weak, a).await });
                    })
                },
            }),
            note: note.clone(),
            status: status.clone(),
            retry: *retry,
        },
    };
    PollJoinProps {
        stage,
        code: AttrValue::from(me.code.clone()),
        on_code: {
            let weak = weak.clone();
            Callback::from(move |code: String| join(&weak, code))
        },
        on_retry: {
            let weak = weak.clone();
            Callback::from(move |()| {
                let Some(this) = weak.upgrade() else { return };
                let last = this.borrow().last.clone();
                if let Some(answers) = last {
                    update(&weak, |me| {
                        if let Stage::Answer { status, retry, .. } = &mut me.stage {
                            *status = Some((true, "Saving your answer…".into()));
                            *retry = false;
                        }
                    });
                    let weak = weak.clone();
                    wasm_bindgen_futures::spawn_local(async move { put_over_http(weak, answers).await });
                }
            })
        },
    }
}

fn render(this: &Rc<RefCell<Inner>>) {
    let mut me = this.borrow_mut();
    if !me.connected {
        return;
    }
    let p = props(&me, &Rc::downgrade(this));
    let me = &mut *me;
    show(&mut me.app, &me.root, p);
}

fn update(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(&mut Inner)) {
    if let Some(this) = weak.upgrade() {
        f(&mut this.borrow_mut());
        render(&this);
    }
}

/// Members see no scores: their form never writes a number, and would write it as the browser does.
fn no_numbers() -> Rc<NumberFn> {
    Rc::new(|v| super::format_number(v, "en"))
}

/// The form of a poll: a catalog instrument with the poll's stem, or a custom question.
async fn poll_form(poll: &JoinedPoll) -> Result<(Rc<Form>, Evaluator, Option<String>), String> {
    let stem = poll.stem.as_ref().map(|stem| {
        let mut t = stem.text.clone();
        if stem.source == StemSource::Attune {
            t.push_str(" (Attune's wording)");
        }
        Text::plain(t)
    });
    if let Some(q) = &poll.question {
        let choices =
            q.options.iter().map(|o| Choice { value: o.value, label: Text::plain(o.label.clone()) }).collect();
        let form = Form {
            id: "custom".into(),
            title: "A quick question from your therapist".into(),
            instructions: None,
            questions: vec![Question { id: "1".into(), text: Text::plain(q.text.clone()), choices }],
            citation: "Written by your therapist for this session.".into(),
            attribution: None,
            terms: None,
            english_fallback: false,
        };
        let evaluator = Evaluator { score: Rc::new(|_: &[Option<i64>]| Evaluation::default()), number: no_numbers() };
        return Ok((Rc::new(form), evaluator, Some(q.note.clone())));
    }
    let id = poll.instrument.as_str();
    let inst =
        Catalog::embedded_instrument(id).ok_or_else(|| format!("this page does not know the instrument `{id}`"))?;
    let words = wording::wait(id).await.map_err(|m| format!("its wording could not be loaded ({m})"))?;
    let (mut form, _) = text_pack::form(inst, "en", &words, None).map_err(|p| p.message)?;
    if stem.is_some() {
        form.instructions = stem;
    }
    // Members see no scores: only the skip rules matter here.
    let score = Rc::new(move |a: &[Option<i64>]| {
        inst.answer_sheet_from_pairs(a.iter().zip(inst.item_ids()).filter_map(|(v, id)| v.map(|v| (id, v))))
            .map(|s| {
                let progress = inst.progress(&s);
                Evaluation {
                    skipped: inst.skipped_items(&s),
                    answered: progress.answered,
                    total: progress.total,
                    ..Evaluation::default()
                }
            })
            .unwrap_or_default()
    });
    Ok((Rc::new(form), Evaluator { score, number: no_numbers() }, None))
}

fn join(weak: &Weak<RefCell<Inner>>, typed: String) {
    let code: String =
        typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        update(weak, |me| {
            me.code = typed;
            me.stage = Stage::Code {
                error: Some("A join code has 6 letters and digits, for example K7QX2M.".into()),
                busy: false,
            };
        });
        return;
    }
    let mut generation = 0;
    let mut server = String::new();
    update(weak, |me| {
        me.generation += 1;
        generation = me.generation;
        server = me.server.clone();
        me.code = code.clone();
        me.stage = Stage::Code { error: None, busy: true };
        if let Some(l) = me.live.take() {
            l.close();
        }
    });
    let weak = weak.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let kept = net::member_token(&code, None);
        let headers: Vec<(&str, &str)> = kept.as_deref().map(|t| vec![("x-attune-member", t)]).unwrap_or_default();
        let reply =
            net::request("POST", &net::absolute(&server, &format!("/api/join/{code}"), false), &headers, None).await;
        let Some(this) = weak.upgrade() else { return };
        if this.borrow().generation != generation {
            return;
        }
        let stage = match reply.status {
            200 | 201 => {
                let joined = protocol::joined(&reply.body);
                let token = joined.as_ref().and_then(|j| j.member_token.clone()).or(kept);
                match (token, joined.map(|j| j.poll)) {
                    (Some(token), Some(poll)) if poll.status == PollState::Open => {
                        net::member_token(&code, Some(token.clone()));
                        let form = poll_form(&poll).await;
                        // The wording may have been loaded meanwhile: a newer join wins.
                        if this.borrow().generation != generation {
                            return;
                        }
                        match form {
                            Ok((form, evaluator, note)) => {
                                let live = listen(&weak, &server, &poll.id);
                                this.borrow_mut().live = Some(live);
                                Stage::Answer {
                                    poll: poll.id,
                                    token,
                                    form,
                                    evaluator,
                                    note,
                                    status: None,
                                    retry: false,
                                }
                            }
                            Err(m) => Stage::Code {
                                error: Some(format!("This poll cannot be shown here: {m}.")),
                                busy: false,
                            },
                        }
                    }
                    (_, Some(poll)) if poll.status == PollState::Closed => Stage::Closed,
                    _ => Stage::Code { error: Some("The server's answer could not be read.".into()), busy: false },
                }
            }
            404 => Stage::Code {
                error: Some("No open poll has this code. Check it on the screen in the room.".into()),
                busy: false,
            },
            429 => Stage::Code {
                error: Some("Too many tries from this network. Wait a minute and try again.".into()),
                busy: false,
            },
            0 => Stage::Code {
                error: Some("The poll server cannot be reached. Check your connection and try again.".into()),
                busy: false,
            },
            _ => Stage::Code { error: Some(format!("Joining failed: {}.", reply.message())), busy: false },
        };
        this.borrow_mut().stage = stage;
        render(&this);
    });
}

/// Told by the server when the poll closes, and whether answers sent on the socket were stored.
fn listen(weak: &Weak<RefCell<Inner>>, server: &str, poll: &str) -> Live {
    let w = weak.clone();
    let on_state = {
        let weak = weak.clone();
        move |state: String| {
            // The socket dropped with answers in flight: send them the other way.
            if state == "open" {
                return;
            }
            let Some(this) = weak.upgrade() else { return };
            let pending = this.borrow_mut().pending.take();
            if let Some(answers) = pending {
                let weak = weak.clone();
                wasm_bindgen_futures::spawn_local(async move { put_over_http(weak, answers).await });
            }
        }
    };
    net::live(
        &net::absolute(server, &format!("/api/polls/{poll}/live"), true),
        &protocol::hello(None),
        move |m: JsValue| match protocol::message(&m) {
            Some(Message::Status(poll)) if poll.status == PollState::Closed => update(&w, |me| {
                me.stage = Stage::Closed;
                me.pending = None;
                if let Some(l) = me.live.take() {
                    l.close();
                }
            }),
            Some(Message::Stored(revision)) => update(&w, |me| {
                if me.pending.take().is_some() {
                    saved(me, revision);
                }
            }),
            Some(Message::Error(error)) => update(&w, |me| {
                if me.pending.take().is_some() {
                    if error.code == "poll_closed" {
                        me.stage = Stage::Closed;
                    } else {
                        not_saved(me, &error.message);
                    }
                }
            }),
            _ => {}
        },
        on_state,
    )
}

fn saved(me: &mut Inner, revision: u64) {
    if let Stage::Answer { status, retry, .. } = &mut me.stage {
        *retry = false;
        let how = if revision > 1 { "Your changed answer is saved" } else { "Your answer is saved" };
        *status = Some((true, format!("{how}. You can change it until the poll closes.")));
    }
}

fn not_saved(me: &mut Inner, why: &str) {
    if let Stage::Answer { status, retry, .. } = &mut me.stage {
        *retry = false;
        *status = Some((
            false,
            format!("Your answer could not be saved ({why}). Choose \"Change answers\", then Finish to try again."),
        ));
    }
}

/// The answers did not reach the server, or it did not answer: nothing is wrong with them, so the
/// member may simply send them again.
fn not_reached(me: &mut Inner, why: &str) {
    if let Stage::Answer { status, retry, .. } = &mut me.stage {
        *retry = true;
        *status = Some((false, format!("Your answer is not saved yet: {why}. Check your connection, then try again.")));
    }
}

/// Sends the answers on the live socket when it is open (no new connection: quicker on a phone's
/// network), else over HTTP. Either way the confirmation comes only once the server has stored them.
async fn submit(weak: Weak<RefCell<Inner>>, answers: Answers) {
    let Some(this) = weak.upgrade() else { return };
    let obj = {
        let mut me = this.borrow_mut();
        let Stage::Answer { token, form, status, retry, .. } = &mut me.stage else { return };
        *status = Some((true, "Saving your answer…".into()));
        *retry = false;
        let obj: Vec<(String, i64)> =
            form.questions.iter().zip(answers.iter()).filter_map(|(q, a)| a.map(|v| (q.id.to_string(), v))).collect();
        let message = protocol::answer_request(token, &obj);
        let sent = me.live.as_ref().is_some_and(|live| live.send(&message));
        me.sent = me.sent.wrapping_add(1);
        me.last = Some(obj.clone());
        if sent {
            me.pending = Some(obj);
            None
        } else {
            Some(obj)
        }
    };
    let sent = this.borrow().sent;
    render(&this);
    drop(this);
    match obj {
        Some(obj) => put_over_http(weak, obj).await,
        None => {
            // The socket is open but the server may never answer on it: after a few seconds
            // without `stored`, the answers go over HTTP instead.
            net::sleep(ACK_WAIT_MS).await;
            let Some(this) = weak.upgrade() else { return };
            let unanswered = {
                let mut me = this.borrow_mut();
                if me.sent == sent {
                    me.pending.take()
                } else {
                    None
                }
            };
            drop(this);
            if let Some(obj) = unanswered {
                put_over_http(weak, obj).await;
            }
        }
    }
}

async fn put_over_http(weak: Weak<RefCell<Inner>>, answers: Vec<(String, i64)>) {
    let Some(this) = weak.upgrade() else { return };
    let (url, token) = {
        let me = this.borrow();
        let Stage::Answer { poll, token, .. } = &me.stage else { return };
        (net::absolute(&me.server, &format!("/api/polls/{poll}/response"), false), token.clone())
    };
    drop(this);
    let body = object(&[("answers", &protocol::answers(&answers))]);
    let reply = net::request("PUT", &url, &[("x-attune-member", &token)], Some(&body)).await;
    update(&weak, |me| match reply.status {
        409 => me.stage = Stage::Closed,
        200 => saved(me, get(&reply.body, "revision").as_f64().map_or(1, |r| r as u64)),
        0 => not_reached(me, "the server could not be reached"),
        429 | 500..=599 => not_reached(me, &reply.message()),
        _ => not_saved(me, &reply.message()),
    });
}

#[wasm_bindgen]
impl PollJoinElement {
    pub(crate) fn new(_host: web_sys::HtmlElement, root: web_sys::ShadowRoot) -> PollJoinElement {
        PollJoinElement {
            inner: Rc::new(RefCell::new(Inner {
                root,
                app: None,
                connected: false,
                narrow: false,
                server: String::new(),
                code: String::new(),
                stage: Stage::Code { error: None, busy: false },
                live: None,
                pending: None,
                sent: 0,
                last: None,
                generation: 0,
            })),
        }
    }

    /// An observed attribute changed.
    pub fn attribute(&self, name: &str, value: Option<String>) {
        let rejoin = {
            let mut me = self.inner.borrow_mut();
            match name {
                "server" => me.server = value.unwrap_or_default().trim().trim_end_matches('/').to_string(),
                "code" => me.code = value.unwrap_or_default(),
                _ => {}
            }
            me.connected && name == "code" && !me.code.is_empty()
        };
        if rejoin {
            let code = self.inner.borrow().code.clone();
            join(&Rc::downgrade(&self.inner), code);
        }
    }

    /// Whether the viewport is narrow.
    #[wasm_bindgen(js_name = setNarrow)]
    pub fn set_narrow(&self, narrow: bool) {
        self.inner.borrow_mut().narrow = narrow;
        render(&self.inner);
    }

    /// First render; joins at once when the code is known.
    pub fn connect(&self) {
        let code = {
            let mut me = self.inner.borrow_mut();
            me.connected = true;
            me.code.clone()
        };
        render(&self.inner);
        if !code.is_empty() {
            join(&Rc::downgrade(&self.inner), code);
        }
    }

    /// Removes the rendered app and closes the connection.
    pub fn destroy(&self) {
        let (app, live) = {
            let mut me = self.inner.borrow_mut();
            me.connected = false;
            me.generation += 1;
            (me.app.take(), me.live.take())
        };
        if let Some(l) = live {
            l.close();
        }
        if let Some(app) = app {
            app.destroy();
        }
    }
}
