//! `<attune-questionnaire>`: attributes and properties in, CustomEvents out. It resolves the
//! instrument, its wording (bundled, translated or host-supplied), the layout and the crisis panel
//! into props for `attune_ui::Widget`, scores with `attune-core` on every change, and emits
//! `attune-change`, `attune-critical`, `attune-complete` and `attune-error`.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use attune_core::{AnswerSheet, Catalog, ContextValues, Instrument, ScoreError, TextPack};
use attune_ui::{
    strings::{fill, strings},
    Answers, Content, Crisis, Evaluation, Evaluator, FlagLine, Layout, Problem, QuestionnaireProps, ScoreLine, Widget,
    WidgetProps,
};
use js_sys::Object;
use wasm_bindgen::prelude::*;
use yew::{AppHandle, AttrValue, Callback};

use super::text_pack::{self, Labels};
use super::wording::{Want, Wording};
use super::{dispatch, element_error, format_number, now_iso, show};
use crate::js::{object, set};
use crate::lane::result_object;
use crate::read;

thread_local! {
    static INSTANCES: Cell<u32> = const { Cell::new(0) };
}

/// Largest answers, crisis or context value accepted, in characters of JSON.
const MAX_PROP_LEN: u32 = 64 << 10;

/// The element's state. Owned by the JavaScript element object through [`QuestionnaireElement`].
struct Inner {
    /// This state, for the callback that re-resolves it when the wording arrives.
    this: Weak<RefCell<Inner>>,
    host: web_sys::HtmlElement,
    root: web_sys::ShadowRoot,
    app: Option<AppHandle<Widget>>,
    connected: bool,
    instance: u32,
    // Attributes.
    instrument: Option<String>,
    lang: String,
    layout: Option<Layout>,
    narrow: bool,
    show_results: bool,
    // Properties.
    pack: Option<Result<Rc<TextPack>, String>>,
    /// Answers to start from (a plain object), checked once the instrument is known.
    prefill: Option<JsValue>,
    crisis: Option<Crisis>,
    /// The context (a plain object or `null`).
    context: JsValue,
    // Derived, rebuilt by `resolve`.
    resolved: Option<Resolved>,
    session: u64,
    /// Answers as the client left them: one slot per item.
    latest: Answers,
    started: Option<String>,
    /// The instrument the attribute names, once known (even while its wording loads).
    current: Option<&'static Instrument>,
    /// The catalog wording this element waits for or failed to get (asked again on the host's
    /// next change).
    want: Want,
    /// Critical flags currently raised, so `attune-critical` fires when one is raised, not on every change.
    critical: Vec<String>,
    /// The last problem reported by `attune-error`, so a re-render does not repeat it.
    reported: Option<Problem>,
    /// Asks the form to show an item (see `QuestionnaireProps::seek`); zero in a new session.
    seek: (u32, usize),
}

/// Everything that depends on the instrument, language, pack and context.
struct Resolved {
    content: Result<Resolution, Rc<Stop>>,
}

/// Why there is no form.
enum Stop {
    /// The instrument's wording is on its way.
    Loading,
    Problem(Problem),
}

impl From<Problem> for Stop {
    fn from(p: Problem) -> Stop {
        Stop::Problem(p)
    }
}

struct Resolution {
    inst: &'static Instrument,
    ctx: Rc<ContextValues>,
    form: Rc<attune_ui::Form>,
    evaluator: Evaluator,
}

/// The Rust side of one `<attune-questionnaire>`; created by the element's JavaScript class.
/// Internal to the element's JavaScript shell: not part of the typed API.
#[wasm_bindgen(skip_typescript)]
pub struct QuestionnaireElement {
    inner: Rc<RefCell<Inner>>,
}

fn default_crisis(lang: &str) -> Crisis {
    let s = strings(lang);
    Crisis { title: s.crisis_title.into(), body: s.crisis_body.into(), contact: None, href: None }
}

fn sheet(inst: &Instrument, answers: &[Option<i64>]) -> Result<AnswerSheet, ScoreError> {
    inst.answer_sheet_from_pairs(answers.iter().zip(inst.item_ids()).filter_map(|(a, id)| a.map(|v| (id, v))))
}

fn evaluate(inst: &'static Instrument, ctx: &ContextValues, labels: &Labels, answers: &[Option<i64>]) -> Evaluation {
    let Ok(sheet) = sheet(inst, answers) else {
        return Evaluation::default();
    };
    let result = inst.score_sheet(&sheet, ctx);
    let named = |ids: &mut dyn Iterator<Item = &str>, names: Option<&Vec<String>>, id: &str| {
        ids.enumerate()
            .find(|(_, x)| *x == id)
            .map(|(k, _)| k)
            .and_then(|k| names?.get(k).cloned())
            .unwrap_or_else(|| id.to_string())
    };
    let scores = result
        .scores
        .iter()
        .enumerate()
        .map(|(k, o)| ScoreLine {
            // Results list scores in the plan's order, as the labels are.
            label: labels.scores.get(k).cloned().unwrap_or_else(|| o.id.to_string()),
            value: o.value,
            range: inst.score_range(k),
            band: o.band.map(|b| named(&mut inst.band_ids(k), labels.bands.get(k), b)),
            cutoffs: o.cutoffs.iter().map(|c| named(&mut inst.cutoff_ids(k), labels.cutoffs.get(k), c)).collect(),
        })
        .collect();
    let critical: Vec<&str> = inst.critical_flags().collect();
    let flags = result
        .flags
        .iter()
        .map(|f| FlagLine {
            label: named(&mut inst.flag_ids(), Some(&labels.flags), f),
            critical: critical.contains(f),
        })
        .collect();
    let progress = inst.progress(&sheet);
    Evaluation {
        skipped: inst.skipped_items(&sheet),
        answered: progress.answered,
        total: progress.total,
        scores,
        flags,
    }
}

/// Answers as the object of the interfaces: item id → value, unanswered items absent.
fn answers_object(inst: &Instrument, answers: &[Option<i64>]) -> JsValue {
    let o = JsValue::from(Object::new());
    for (id, a) in inst.item_ids().zip(answers) {
        if let Some(v) = a {
            set(&o, id, &JsValue::from_f64(*v as f64));
        }
    }
    o
}

impl Inner {
    fn ui_lang(&self) -> &'static str {
        strings(&self.lang).lang
    }

    /// The catalog instrument the `instrument` attribute names, or why there is none.
    fn lookup(&self) -> Result<&'static Instrument, Problem> {
        let id = self.instrument.as_deref().filter(|s| !s.trim().is_empty()).ok_or_else(|| Problem {
            code: "missing_instrument".into(),
            message: "Set the instrument attribute to a catalog id, for example instrument=\"phq9\".".into(),
        })?;
        Catalog::embedded_instrument(id).ok_or_else(|| {
            let ids = Catalog::embedded_ids();
            Problem {
                code: "unknown_instrument".into(),
                message: format!("There is no instrument `{id}` in Attune's catalog. Known ids: {}.", ids.join(", ")),
            }
        })
    }

    /// Whether the element shows (or is about to show) `current`'s form: not a problem.
    fn usable(&self) -> bool {
        self.resolved.as_ref().is_some_and(|r| match &r.content {
            Ok(_) => true,
            Err(stop) => matches!(**stop, Stop::Loading),
        })
    }

    /// Rebuilds the instrument-dependent state after an attribute or property changed, or the
    /// instrument's wording arrived.
    fn resolve(&mut self) {
        let lang = self.ui_lang();
        let found = self.lookup();
        // A change of instrument starts over; a change of wording or language, or the wording's
        // arrival, keeps the answers.
        let same = self.usable() && matches!((self.current, &found), (Some(a), Ok(b)) if std::ptr::eq(a, *b));
        if !same {
            self.new_session(None);
        }
        self.current = found.as_ref().ok().copied();
        // Answers set before the instrument was known apply to it now; the plan checks them, so
        // they need no wording.
        if let (Ok(inst), true) = (&found, self.prefill.is_some()) {
            let prefill = self.prefill.take().unwrap_or(JsValue::NULL);
            match read::answers(inst, &prefill) {
                Ok(s) => self.new_session(Some(s.values().to_vec())),
                Err(e) => {
                    self.resolved = Some(Resolved {
                        content: Err(Rc::new(Stop::Problem(Problem {
                            code: e.code().as_str().into(),
                            message: format!("The answers property: {e}"),
                        }))),
                    });
                    return;
                }
            }
        }
        let content = found.map_err(Stop::from).and_then(|inst| self.content(inst, lang));
        self.resolved = Some(Resolved { content: content.map_err(Rc::new) });
    }

    /// The form of `inst` in `lang`, with the host's pack, the context and the catalog's wording.
    fn content(&mut self, inst: &'static Instrument, lang: &'static str) -> Result<Resolution, Stop> {
        let pack = match &self.pack {
            Some(Err(m)) => return Err(Problem { code: "invalid_text_pack".into(), message: m.clone() }.into()),
            Some(Ok(p)) => {
                let problems = inst.check_text_pack(p);
                if !problems.is_empty() {
                    return Err(Problem {
                        code: "invalid_text_pack".into(),
                        message: format!("The text pack does not fit {}: {}.", inst.short_name(), problems.join("; ")),
                    }
                    .into());
                }
                Some(p.clone())
            }
            None => None,
        };
        let ctx = read::context(inst, &self.context)
            .map_err(|e| Problem { code: e.code().as_str().into(), message: format!("The context property: {e}") })?;
        let catalog = self.wording(inst)?;
        let (form, labels) = text_pack::form(inst, lang, &catalog, pack.as_deref())?;
        let ctx = Rc::new(ctx);
        let evaluator = {
            let ctx = ctx.clone();
            Evaluator {
                score: Rc::new(move |answers: &[Option<i64>]| evaluate(inst, &ctx, &labels, answers)),
                number: Rc::new(move |v| format_number(v, lang)),
            }
        };
        Ok(Resolution { inst, ctx, form: Rc::new(form), evaluator })
    }

    /// The catalog's wording of `inst`: here, on its way, or a failure (asked again on the host's
    /// next change).
    fn wording(&mut self, inst: &'static Instrument) -> Result<Rc<TextPack>, Stop> {
        let this = self.this.clone();
        let key = inst.id().to_string();
        let wording = self.want.wording(inst.id(), move |loaded| {
            let Some(this) = this.upgrade() else { return };
            {
                let mut me = this.borrow_mut();
                me.want.settled(&key, loaded);
                me.resolve();
            }
            render(&this);
        });
        match wording {
            Wording::Ready(pack) => Ok(pack),
            Wording::Loading => Err(Stop::Loading),
            Wording::Failed(m) => Err(Stop::Problem(Problem {
                code: "wording_unavailable".into(),
                message: format!("The wording of {} could not be loaded: {m}", inst.short_name()),
            })),
        }
    }

    /// The form's instrument and the first item that keeps its answers incomplete (the core's
    /// rule); `None` when there is no form.
    fn first_missing(&self) -> Option<(&'static Instrument, Option<usize>)> {
        let inst = self.current.filter(|_| self.usable())?;
        Some((inst, sheet(inst, &self.latest).ok().and_then(|sheet| inst.first_missing(&sheet))))
    }

    fn new_session(&mut self, answers: Option<Vec<Option<i64>>>) {
        self.session += 1;
        self.latest = Rc::new(answers.unwrap_or_default());
        self.started = None;
        self.critical.clear();
        self.seek = (0, 0);
    }

    fn props(&self, weak: &Weak<RefCell<Inner>>) -> WidgetProps {
        let lang = self.ui_lang();
        let content = match self.resolved.as_ref().map(|r| &r.content) {
            Some(Ok(r)) => Content::Ready(QuestionnaireProps {
                form: r.form.clone(),
                evaluator: r.evaluator.clone(),
                initial: self.latest.clone(),
                lang: AttrValue::Static(lang),
                layout: self.layout.unwrap_or(if self.narrow { Layout::Paged } else { Layout::List }),
                show_results: self.show_results,
                crisis: Rc::new(self.crisis.clone().unwrap_or_else(|| default_crisis(lang))),
                instance: self.instance,
                seek: self.seek,
                on_change: {
                    let weak = weak.clone();
                    Callback::from(move |a: Answers| changed(&weak, a))
                },
                on_complete: {
                    let weak = weak.clone();
                    Callback::from(move |a: Answers| completed(&weak, a))
                },
            }),
            Some(Err(stop)) => match &**stop {
                Stop::Loading => Content::Loading,
                Stop::Problem(p) => Content::Failed(Rc::new(p.clone())),
            },
            None => Content::Failed(Rc::new(Problem { code: "missing_instrument".into(), message: String::new() })),
        };
        WidgetProps { content, session: self.session, lang: AttrValue::Static(lang) }
    }
}

/// Renders (or re-renders) the widget, then reports a new problem with `attune-error`.
fn render(this: &Rc<RefCell<Inner>>) {
    let report = {
        let mut me = this.borrow_mut();
        if !me.connected {
            return;
        }
        let props = me.props(&Rc::downgrade(this));
        let problem = match &props.content {
            Content::Failed(p) => Some((**p).clone()),
            _ => None,
        };
        {
            let me = &mut *me;
            show(&mut me.app, &me.root, props);
        }
        let new = problem != me.reported;
        me.reported = problem.clone();
        problem.filter(|_| new).map(|p| (me.host.clone(), p, me.instrument.clone()))
    };
    if let Some((host, p, instrument)) = report {
        let instrument = instrument.as_deref().map_or(JsValue::NULL, JsValue::from_str);
        let detail = object(&[
            ("code", &JsValue::from_str(&p.code)),
            ("message", &JsValue::from_str(&p.message)),
            ("instrument", &instrument),
        ]);
        dispatch(&host, "attune-error", &detail);
    }
}

fn changed(weak: &Weak<RefCell<Inner>>, answers: Answers) {
    let Some(this) = weak.upgrade() else { return };
    let events = {
        let mut me = this.borrow_mut();
        let Some(Resolved { content: Ok(r) }) = &me.resolved else { return };
        let inst = r.inst;
        let Ok(sheet) = sheet(inst, &answers) else { return };
        let scored = inst.score_sheet(&sheet, &r.ctx);
        let progress = inst.progress(&sheet);
        let raised: Vec<String> =
            scored.flags.iter().filter(|f| inst.critical_flags().any(|c| c == **f)).map(|f| f.to_string()).collect();
        let newly: js_sys::Array =
            raised.iter().filter(|f| !me.critical.contains(f)).map(|f| JsValue::from_str(f)).collect();
        let id = JsValue::from_str(inst.id());
        let critical = (newly.length() > 0).then(|| {
            object(&[
                ("instrument", &id),
                ("flags", &newly),
                ("answers", &answers_object(inst, &answers)),
                ("result", &result_object(inst, &scored)),
            ])
        });
        let count = |n: usize| JsValue::from_f64(n as f64);
        let change = object(&[
            ("instrument", &id),
            ("answers", &answers_object(inst, &answers)),
            ("progress", &object(&[("answered", &count(progress.answered)), ("total", &count(progress.total))])),
            ("complete", &JsValue::from_bool(scored.complete)),
        ]);
        me.critical = raised;
        me.latest = answers;
        me.started.get_or_insert_with(now_iso);
        (me.host.clone(), change, critical)
    };
    let (host, change, critical) = events;
    dispatch(&host, "attune-change", &change);
    if let Some(c) = critical {
        dispatch(&host, "attune-critical", &c);
    }
}

fn completed(weak: &Weak<RefCell<Inner>>, answers: Answers) {
    let Some(this) = weak.upgrade() else { return };
    let (host, detail) = {
        let mut me = this.borrow_mut();
        let Some(Resolved { content: Ok(r) }) = &me.resolved else { return };
        let Ok(sheet) = sheet(r.inst, &answers) else { return };
        let finished = now_iso();
        let started = me.started.clone().unwrap_or_else(|| finished.clone());
        let detail = object(&[
            ("instrument", &JsValue::from_str(r.inst.id())),
            ("version", &JsValue::from_str(attune_core::VERSION)),
            ("lang", &JsValue::from_str(me.ui_lang())),
            ("answers", &answers_object(r.inst, &answers)),
            ("result", &result_object(r.inst, &r.inst.score_sheet(&sheet, &r.ctx))),
            ("started", &JsValue::from_str(&started)),
            ("finished", &JsValue::from_str(&finished)),
        ]);
        me.latest = answers;
        (me.host.clone(), detail)
    };
    dispatch(&host, "attune-complete", &detail);
}

/// A property value made plain; `null` and `undefined` are `None`.
fn prop(value: &JsValue, what: &str) -> Result<Option<JsValue>, JsValue> {
    if read::is_absent(value) {
        return Ok(None);
    }
    read::plain_within(value, what, MAX_PROP_LEN).map(Some).map_err(|m| element_error("invalid_json", &m, None))
}

#[wasm_bindgen]
impl QuestionnaireElement {
    pub(crate) fn new(host: web_sys::HtmlElement, root: web_sys::ShadowRoot) -> QuestionnaireElement {
        let instance = INSTANCES.with(|n| {
            n.set(n.get().wrapping_add(1));
            n.get()
        });
        let inner = |this: &Weak<RefCell<Inner>>| Inner {
            this: this.clone(),
            host,
            root,
            app: None,
            connected: false,
            instance,
            instrument: None,
            lang: "en".into(),
            layout: None,
            narrow: false,
            show_results: true,
            pack: None,
            prefill: None,
            crisis: None,
            context: JsValue::NULL,
            resolved: None,
            current: None,
            want: Want::default(),
            session: 0,
            latest: Rc::new(Vec::new()),
            started: None,
            critical: Vec::new(),
            reported: None,
            seek: (0, 0),
        };
        QuestionnaireElement { inner: Rc::new_cyclic(|this| RefCell::new(inner(this))) }
    }

    fn update(&self, f: impl FnOnce(&mut Inner) -> bool) {
        let resolve = f(&mut self.inner.borrow_mut());
        if resolve {
            let mut me = self.inner.borrow_mut();
            // A change the host makes asks again for wording that failed to load.
            me.want.retry();
            // The attributes and properties present at connection are applied one by one before
            // `connect`, which resolves them all at once (nothing is shown, or can be read, before).
            if me.connected {
                me.resolve();
            }
        }
        render(&self.inner);
    }

    /// An observed attribute changed (`null` when removed).
    pub fn attribute(&self, name: &str, value: Option<String>) {
        self.update(|me| match name {
            "instrument" => {
                me.instrument = value.map(|v| v.trim().to_string());
                true
            }
            "lang" => {
                me.lang = value.unwrap_or_else(|| "en".into());
                true
            }
            "layout" => {
                me.layout = match value.as_deref().map(str::trim) {
                    Some("paged") => Some(Layout::Paged),
                    Some("list") => Some(Layout::List),
                    _ => None,
                };
                false
            }
            "results" => {
                me.show_results = value.as_deref().map(str::trim) != Some("hide");
                false
            }
            _ => false,
        });
    }

    /// Whether the viewport is narrow (paged layout by default).
    #[wasm_bindgen(js_name = setNarrow)]
    pub fn set_narrow(&self, narrow: bool) {
        let changed = {
            let mut me = self.inner.borrow_mut();
            let changed = me.narrow != narrow && me.layout.is_none();
            me.narrow = narrow;
            changed
        };
        if changed {
            render(&self.inner);
        }
    }

    /// First render, once the attributes and properties present at connection are applied.
    pub fn connect(&self) {
        self.update(|me| {
            me.connected = true;
            true
        });
    }

    /// Removes the rendered app; the object is freed by the caller.
    pub fn destroy(&self) {
        let app = {
            let mut me = self.inner.borrow_mut();
            me.connected = false;
            me.app.take()
        };
        if let Some(app) = app {
            app.destroy();
        }
    }

    /// Sets (or with `null`, clears) the host text pack. A malformed pack is shown as an error
    /// and reported with `attune-error`, not thrown: the page's own script carries on.
    #[wasm_bindgen(js_name = setTextPack)]
    pub fn set_text_pack(&self, value: JsValue) {
        let pack = (!read::is_absent(&value)).then(|| text_pack::read(&value).map(Rc::new));
        self.update(|me| {
            me.pack = pack;
            true
        });
    }

    /// Prefills (or resumes) with answers keyed by item id, and starts over. Throws an
    /// `AttuneError` (`unknown_item`, `invalid_value`, `invalid_json`) and changes nothing when
    /// the answers do not fit the instrument.
    #[wasm_bindgen(js_name = setAnswers)]
    pub fn set_answers(&self, value: JsValue) -> Result<(), JsValue> {
        let answers = match prop(&value, "the answers")? {
            None => JsValue::from(Object::new()),
            Some(v) if read::is_object(&v) => v,
            Some(_) => return Err(element_error("invalid_json", "answers must be an object keyed by item id", None)),
        };
        // Checked against the instrument's plan at once, whether or not its wording has arrived (and
        // before the first resolution, when the element is being connected).
        if let Ok(inst) = self.inner.borrow().lookup() {
            read::answers(inst, &answers).map_err(|e| crate::error::score_error(&e))?;
        }
        self.update(|me| {
            me.prefill = Some(answers);
            true
        });
        Ok(())
    }

    /// The answers so far, keyed by item id.
    pub fn answers(&self) -> JsValue {
        let me = self.inner.borrow();
        match me.current.filter(|_| me.usable()) {
            Some(inst) => answers_object(inst, &me.latest),
            None => JsValue::NULL,
        }
    }

    /// Why a form holding this element as `required` cannot be submitted yet, in the interface
    /// language: the first unanswered item that keeps the response incomplete (the core's rule), or
    /// the element's problem. `undefined` once every scored item is answered.
    pub fn missing(&self) -> Option<String> {
        let me = self.inner.borrow();
        let s = strings(&me.lang);
        let Some((inst, at)) = me.first_missing() else { return Some(s.error_title.to_string()) };
        at.and_then(|i| inst.item_ids().nth(i)).map(|id| fill(s.required, id, ""))
    }

    /// Shows the first unanswered item that keeps the response incomplete and moves focus to it;
    /// false when there is none (or no form).
    #[wasm_bindgen(js_name = seekMissing)]
    pub fn seek_missing(&self) -> bool {
        let Some((_, Some(at))) = self.inner.borrow().first_missing() else { return false };
        self.update(|me| {
            me.seek = (me.seek.0.wrapping_add(1).max(1), at);
            false
        });
        true
    }

    /// Clears every answer and starts again.
    pub fn reset(&self) {
        self.update(|me| {
            me.prefill = None;
            me.new_session(None);
            false
        });
    }

    /// `{ instrument, version, answers, complete, result }` for the answers so far, or `null` while the
    /// element shows an error.
    pub fn response(&self) -> JsValue {
        let me = self.inner.borrow();
        let Some(inst) = me.current.filter(|_| me.usable()) else { return JsValue::NULL };
        // While the wording loads there is no resolution yet: the context is read as it will be.
        let ctx = match &me.resolved {
            Some(Resolved { content: Ok(r) }) => r.ctx.clone(),
            _ => match read::context(inst, &me.context) {
                Ok(c) => Rc::new(c),
                Err(_) => return JsValue::NULL,
            },
        };
        let Ok(sheet) = sheet(inst, &me.latest) else { return JsValue::NULL };
        let scored = inst.score_sheet(&sheet, &ctx);
        object(&[
            ("instrument", &JsValue::from_str(inst.id())),
            ("version", &JsValue::from_str(attune_core::VERSION)),
            ("answers", &answers_object(inst, &me.latest)),
            ("complete", &JsValue::from_bool(scored.complete)),
            ("result", &result_object(inst, &scored)),
        ])
    }

    /// Sets the crisis panel's wording: `{ title?, body?, contact?, href? }`; `null` restores the
    /// default. `href` must be a `tel:`, `sms:`, `mailto:` or `https:` link.
    #[wasm_bindgen(js_name = setCrisis)]
    pub fn set_crisis(&self, value: JsValue) -> Result<(), JsValue> {
        let crisis = match prop(&value, "the crisis property")? {
            None => None,
            Some(m) if read::is_object(&m) => {
                let lang = self.inner.borrow().ui_lang();
                let mut c = default_crisis(lang);
                for (k, v) in read::entries(&m) {
                    let s = v.as_string();
                    let Some(s) = s.filter(|s| !s.trim().is_empty()) else {
                        return Err(element_error(
                            "invalid_json",
                            &format!("crisis.{k} must be a non-empty string"),
                            None,
                        ));
                    };
                    match k.as_str() {
                        "title" => c.title = s,
                        "body" => c.body = s,
                        "contact" => c.contact = Some(s),
                        "href" => {
                            let ok = ["tel:", "sms:", "mailto:", "https:"]
                                .iter()
                                .any(|p| s.to_ascii_lowercase().starts_with(p));
                            if !ok {
                                return Err(element_error(
                                    "invalid_json",
                                    "crisis.href must start with tel:, sms:, mailto: or https:",
                                    None,
                                ));
                            }
                            c.href = Some(s);
                        }
                        other => {
                            return Err(element_error(
                                "invalid_json",
                                &format!("crisis has no field `{other}` (title, body, contact, href)"),
                                None,
                            ))
                        }
                    }
                }
                Some(c)
            }
            Some(_) => return Err(element_error("invalid_json", "crisis must be an object", None)),
        };
        self.update(|me| {
            me.crisis = crisis;
            false
        });
        Ok(())
    }

    /// Sets the context some rules read (AUDIT-C: `{ sex: "female" }`). Throws `invalid_context`
    /// when the instrument does not accept it, and changes nothing.
    #[wasm_bindgen(js_name = setContext)]
    pub fn set_context(&self, value: JsValue) -> Result<(), JsValue> {
        let ctx = prop(&value, "the context")?.unwrap_or(JsValue::NULL);
        if let Ok(inst) = self.inner.borrow().lookup() {
            read::context(inst, &ctx).map_err(|e| element_error(e.code().as_str(), &format!("context: {e}"), None))?;
        }
        self.update(|me| {
            me.context = ctx;
            true
        });
        Ok(())
    }
}

impl std::fmt::Debug for QuestionnaireElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let me = self.inner.borrow();
        f.debug_struct("QuestionnaireElement")
            .field("instrument", &me.instrument)
            .field("session", &me.session)
            .finish()
    }
}
