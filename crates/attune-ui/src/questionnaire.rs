//! `<attune-questionnaire>`'s user interface: items as radio groups in fieldsets, progress, back and
//! next, a review step, the results card and the crisis panel. State is answers and navigation
//! only; every judgement about the answers (skips, scores, flags) comes from the injected evaluator.

use std::rc::Rc;

use web_sys::HtmlElement;
use yew::prelude::*;

use crate::strings::{fill, strings, Strings};
use crate::view::{Crisis, Evaluation, Evaluator, Form, Layout, Problem, Question, ScoreLine, Text};

/// Answers, one slot per item in order; `None` is unanswered (never zero).
pub type Answers = Rc<Vec<Option<i64>>>;

/// Properties of [`Questionnaire`].
#[derive(Properties, PartialEq, Clone, Debug)]
pub struct QuestionnaireProps {
    /// The form's wording and credits.
    pub form: Rc<Form>,
    /// The scoring core, injected.
    pub evaluator: Evaluator,
    /// Answers to start from (prefill or resume). Read when the component is created.
    pub initial: Answers,
    /// Interface language.
    pub lang: AttrValue,
    /// Paged or list.
    pub layout: Layout,
    /// Whether the client sees scores at the end.
    pub show_results: bool,
    /// The crisis panel's wording.
    pub crisis: Rc<Crisis>,
    /// A number unique to this element, so radio group names never repeat on a page.
    pub instance: u32,
    /// Bumped (with an item index) to show that item and move focus to it: the first
    /// unanswered item when a form's `required` check fails, or after resuming.
    pub seek: (u32, usize),
    /// Called after every answer with all answers so far.
    pub on_change: Callback<Answers>,
    /// Called when the client finishes.
    pub on_complete: Callback<Answers>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Screen {
    Items { at: usize },
    Review,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    Heading,
    Item(usize),
}

#[derive(Debug, Clone, PartialEq)]
struct State {
    answers: Answers,
    screen: Screen,
    focus: Option<Focus>,
    /// Bumped on every answer, every move and every finish: effects key on them.
    changes: u32,
    moves: u32,
    finishes: u32,
}

enum Action {
    Answer(usize, i64),
    Next(Evaluator, Layout),
    Back(Evaluator, Layout),
    GoTo(usize),
    Finish,
    Edit,
}

fn asked(eval: &Evaluation, n: usize) -> Vec<usize> {
    (0..n).filter(|&i| eval.asked(i)).collect()
}

impl State {
    fn go(&self, screen: Screen, focus: Focus) -> State {
        State { screen, focus: Some(focus), moves: self.moves.wrapping_add(1), ..self.clone() }
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let n = self.answers.len();
        let next = match action {
            Action::Answer(i, v) => {
                if i >= n || self.answers[i] == Some(v) {
                    return self;
                }
                let mut answers = (*self.answers).clone();
                answers[i] = Some(v);
                State { answers: Rc::new(answers), changes: self.changes.wrapping_add(1), ..(*self).clone() }
            }
            // Skips are decided on the latest answers, not on those of the last render.
            Action::Next(eval, layout) => match (self.screen, layout) {
                (Screen::Items { at }, Layout::Paged) => {
                    let shown = asked(&eval.eval(&self.answers), n);
                    match shown.iter().find(|&&i| i > at) {
                        Some(&i) => self.go(Screen::Items { at: i }, Focus::Item(i)),
                        None => self.go(Screen::Review, Focus::Heading),
                    }
                }
                (Screen::Items { .. }, Layout::List) => self.go(Screen::Review, Focus::Heading),
                _ => return self,
            },
            Action::Back(eval, layout) => {
                let shown = asked(&eval.eval(&self.answers), n);
                match (self.screen, layout) {
                    (Screen::Items { at }, Layout::Paged) => match shown.iter().rev().find(|&&i| i < at) {
                        Some(&i) => self.go(Screen::Items { at: i }, Focus::Item(i)),
                        None => return self,
                    },
                    (Screen::Review, Layout::Paged) => {
                        let last = shown.last().copied().unwrap_or(0);
                        self.go(Screen::Items { at: last }, Focus::Item(last))
                    }
                    (Screen::Review, Layout::List) => {
                        let first = shown.first().copied().unwrap_or(0);
                        self.go(Screen::Items { at: first }, Focus::Item(first))
                    }
                    _ => return self,
                }
            }
            Action::GoTo(i) => self.go(Screen::Items { at: i.min(n.saturating_sub(1)) }, Focus::Item(i)),
            Action::Finish => {
                let mut s = self.go(Screen::Done, Focus::Heading);
                s.finishes = s.finishes.wrapping_add(1);
                s
            }
            Action::Edit => self.go(Screen::Review, Focus::Heading),
        };
        Rc::new(next)
    }
}

/// Renders text with its `lang` attribute when it is not in the interface language.
fn text(t: &Text) -> Html {
    match &t.lang {
        Some(lang) => html! { <span lang={lang.clone()}>{ &t.text }</span> },
        // A bare text node: no fragment around it (one bundle fewer per text on the first render).
        None => Html::VText(yew::virtual_dom::VText::new(t.text.clone())),
    }
}

/// The questionnaire: items, progress, review, results and the crisis panel.
#[function_component(Questionnaire)]
pub fn questionnaire(props: &QuestionnaireProps) -> Html {
    let n = props.form.questions.len();
    let state = use_reducer(|| {
        let mut answers = (*props.initial).clone();
        answers.resize(n, None);
        State {
            answers: Rc::new(answers),
            screen: Screen::Items { at: 0 },
            focus: None,
            changes: 0,
            moves: 0,
            finishes: 0,
        }
    });
    let focus_ref = use_node_ref();

    {
        let focus_ref = focus_ref.clone();
        use_effect_with(state.moves, move |moves| {
            // Never steal focus from the host page on first render; only after the client moves.
            if *moves > 0 {
                if let Some(el) = focus_ref.cast::<HtmlElement>() {
                    let _ = el.focus();
                }
            }
        });
    }
    {
        let (state, (seek, at)) = (state.clone(), props.seek);
        use_effect_with(seek, move |seek| {
            if *seek > 0 {
                state.dispatch(Action::GoTo(at));
            }
        });
    }
    {
        let (cb, answers) = (props.on_change.clone(), state.answers.clone());
        use_effect_with(state.changes, move |changes| {
            if *changes > 0 {
                cb.emit(answers);
            }
        });
    }
    {
        let (cb, answers) = (props.on_complete.clone(), state.answers.clone());
        use_effect_with(state.finishes, move |finishes| {
            if *finishes > 0 {
                cb.emit(answers);
            }
        });
    }

    let s = strings(&props.lang);
    let eval = props.evaluator.eval(&state.answers);
    let shown = asked(&eval, n);
    let (answered, total) = (eval.answered, eval.total);

    let announce = if state.changes > 0 {
        let mut a = fill(s.selected_announce, answered, total);
        if eval.critical() {
            a = format!("{a}. {}", props.crisis.title);
        }
        a
    } else {
        String::new()
    };

    let body = match state.screen {
        Screen::Items { at } => items_screen(props, &state, s, &shown, at, answered, &focus_ref),
        Screen::Review => review_screen(props, &state, s, &eval, &shown, &focus_ref),
        Screen::Done => done_screen(props, &state, s, &eval, &focus_ref),
    };

    html! {
        <div class="attune" part="root" lang={s.lang}>
            <h2 class="title" part="title">{ &props.form.title }</h2>
            if props.form.english_fallback {
                <p class="note">{ s.english_fallback }</p>
            }
            if eval.critical() {
                { crisis_panel(&props.crisis, s) }
            }
            <p class="sr-only" aria-live="polite" aria-atomic="true">{ announce }</p>
            { body }
            { credits(&props.form, s) }
        </div>
    }
}

#[allow(clippy::too_many_arguments)]
fn items_screen(
    props: &QuestionnaireProps,
    state: &UseReducerHandle<State>,
    s: &'static Strings,
    shown: &[usize],
    at: usize,
    answered: usize,
    focus_ref: &NodeRef,
) -> Html {
    let total = shown.len();
    let paged = props.layout == Layout::Paged;
    // The item on screen: `at`, or the next one asked if a skip rule has since hidden it.
    let current = shown.iter().copied().find(|&i| i >= at).or_else(|| shown.last().copied()).unwrap_or(0);
    let position = shown.iter().position(|&i| i == current).map_or(0, |p| p + 1);
    let has_prev = paged && shown.first().is_some_and(|&f| f < current);
    let is_last = !paged || shown.last().is_none_or(|&l| l <= current);

    let onsubmit = {
        let (state, ev, layout) = (state.clone(), props.evaluator.clone(), props.layout);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            state.dispatch(Action::Next(ev.clone(), layout));
        })
    };
    // Enter on a radio moves on in paged layout; in a list it must not jump to the review.
    let onkeydown = {
        let (state, ev, layout) = (state.clone(), props.evaluator.clone(), props.layout);
        Callback::from(move |e: KeyboardEvent| {
            let on_radio = e.target_dyn_into::<web_sys::HtmlInputElement>().is_some_and(|i| i.type_() == "radio");
            if e.key() == "Enter" && on_radio {
                e.prevent_default();
                if layout == Layout::Paged {
                    state.dispatch(Action::Next(ev.clone(), layout));
                }
            }
        })
    };
    let onback = {
        let (state, ev, layout) = (state.clone(), props.evaluator.clone(), props.layout);
        Callback::from(move |_: MouseEvent| state.dispatch(Action::Back(ev.clone(), layout)))
    };

    let on_screen: Vec<usize> = if paged { vec![current] } else { shown.to_vec() };
    let focus_item = match state.focus {
        Some(Focus::Item(i)) => Some(i),
        _ => None,
    }
    .or(Some(current));
    let progress_text = if paged { fill(s.question_of, position, total) } else { fill(s.answered_of, answered, total) };

    html! {
        <form class="screen" novalidate=true {onsubmit} {onkeydown}>
            if let Some(instr) = &props.form.instructions {
                <p class="instructions" part="instructions">{ text(instr) }</p>
            }
            <div class="progress" part="progress">
                <span class="progress-text">{ progress_text }</span>
                <progress max={total.max(1).to_string()} value={answered.to_string()}
                    aria-label={format!("{}: {}", s.progress, fill(s.answered_of, answered, total))}></progress>
            </div>
            { for on_screen.iter().map(|&i| {
                let focus = if focus_item == Some(i) { Some(focus_ref.clone()) } else { None };
                item_fieldset(props, state, i, &props.form.questions[i], focus)
            }) }
            <div class="nav">
                if has_prev {
                    <button type="button" class="secondary" part="button" onclick={onback}>{ s.back }</button>
                }
                <button type="submit" class="primary" part="button">
                    { if is_last { s.review } else { s.next } }
                </button>
            </div>
        </form>
    }
}

fn item_fieldset(
    props: &QuestionnaireProps,
    state: &UseReducerHandle<State>,
    index: usize,
    q: &Question,
    focus: Option<NodeRef>,
) -> Html {
    // A new name on every move: Chromium cannot Tab into a re-rendered radio group in a shadow
    // root that reuses a removed group's name (TOOLCHAIN.md).
    let group = format!("a{}-{}-{}", props.instance, q.id, state.moves);
    let chosen = state.answers[index];
    let target = chosen.or_else(|| q.choices.first().map(|c| c.value));
    html! {
        <fieldset class="item" part="item" key={q.id.clone()}>
            <legend><span class="num">{ format!("{}.", q.id) }</span>{" "}{ text(&q.text) }</legend>
            <div class="options">
                { for q.choices.iter().map(|c| {
                    let onchange = {
                        let (state, v) = (state.clone(), c.value);
                        Callback::from(move |_: Event| state.dispatch(Action::Answer(index, v)))
                    };
                    let r = if Some(c.value) == target { focus.clone().unwrap_or_default() } else { NodeRef::default() };
                    html! {
                        <label class="option" part="option">
                            <input type="radio" name={group.clone()} value={c.value.to_string()}
                                checked={chosen == Some(c.value)} {onchange} ref={r} />
                            <span>{ text(&c.label) }</span>
                        </label>
                    }
                }) }
            </div>
        </fieldset>
    }
}

fn review_screen(
    props: &QuestionnaireProps,
    state: &UseReducerHandle<State>,
    s: &'static Strings,
    eval: &Evaluation,
    shown: &[usize],
    focus_ref: &NodeRef,
) -> Html {
    let missing: Vec<usize> = shown.iter().copied().filter(|&i| state.answers[i].is_none()).collect();
    let unscored: Vec<&str> = eval.scores.iter().filter(|l| l.value.is_none()).map(|l| l.label.as_str()).collect();
    let onback = {
        let (state, ev, layout) = (state.clone(), props.evaluator.clone(), props.layout);
        Callback::from(move |_: MouseEvent| state.dispatch(Action::Back(ev.clone(), layout)))
    };
    let onfinish = {
        let state = state.clone();
        Callback::from(move |_: MouseEvent| state.dispatch(Action::Finish))
    };
    html! {
        <section class="screen review" aria-labelledby="review-title">
            <h3 id="review-title" tabindex="-1" ref={focus_ref.clone()}>{ s.review_title }</h3>
            if missing.is_empty() {
                <p>{ s.all_answered }</p>
            } else {
                <p>{ s.unanswered_intro }</p>
                <ul class="missing">
                    { for missing.iter().map(|&i| {
                        let q = &props.form.questions[i];
                        let onclick = {
                            let state = state.clone();
                            Callback::from(move |_: MouseEvent| state.dispatch(Action::GoTo(i)))
                        };
                        html! {
                            <li key={q.id.clone()}>
                                <button type="button" class="link" part="button" {onclick}>
                                    { fill(s.go_to, &q.id, "") }
                                </button>
                                <span class="missing-text">{ text(&q.text) }</span>
                            </li>
                        }
                    }) }
                </ul>
                if unscored.is_empty() {
                    <p>{ s.unanswered_allowed }</p>
                } else {
                    <p class="warn">{ s.unanswered_blocks.replace("{list}", &unscored.join(", ")) }</p>
                }
            }
            <div class="nav">
                <button type="button" class="secondary" part="button" onclick={onback}>{ s.back_to_questions }</button>
                <button type="button" class="primary" part="button" onclick={onfinish}>{ s.finish }</button>
            </div>
        </section>
    }
}

fn done_screen(
    props: &QuestionnaireProps,
    state: &UseReducerHandle<State>,
    s: &'static Strings,
    eval: &Evaluation,
    focus_ref: &NodeRef,
) -> Html {
    let onedit = {
        let state = state.clone();
        Callback::from(move |_: MouseEvent| state.dispatch(Action::Edit))
    };
    let title = if props.show_results { s.results_title } else { s.thanks_title };
    let number = |v: f64| props.evaluator.number(v);
    let range = |l: &ScoreLine| l.range.map_or_else(String::new, |[lo, hi]| format!("{}–{}", number(lo), number(hi)));
    html! {
        <section class="screen results" part="results" aria-labelledby="done-title">
            <h3 id="done-title" tabindex="-1" ref={focus_ref.clone()}>{ title }</h3>
            if props.show_results {
                <dl class="scores">
                    { for eval.scores.iter().map(|l| html! {
                        <div class="score">
                            <dt>{ &l.label }</dt>
                            <dd>
                                if let Some(v) = l.value {
                                    <strong class="value">{ number(v) }</strong>
                                    <span class="range">{ format!(" ({})", s.score_of_range.replace("{range}", &range(l))) }</span>
                                    if let Some(b) = &l.band { <span class="band">{ b }</span> }
                                    { for l.cutoffs.iter().map(|c| html! { <span class="cutoff">{ format!("{}: {c}", s.cutoff_met) }</span> }) }
                                } else {
                                    <span class="unscored">{ s.not_scored }</span>
                                }
                            </dd>
                        </div>
                    }) }
                </dl>
                if !eval.flags.is_empty() {
                    <h4>{ s.flags_title }</h4>
                    <ul class="flags">
                        { for eval.flags.iter().map(|f| html! {
                            <li class={classes!(f.critical.then_some("critical"))}>
                                if f.critical { <strong>{ format!("{}: ", s.critical_label) }</strong> }
                                { &f.label }
                            </li>
                        }) }
                    </ul>
                }
            } else {
                <p>{ s.thanks_body }</p>
            }
            <p class="date">{ format!("{}: {}", s.date, today(&props.lang)) }</p>
            <div class="nav">
                <button type="button" class="secondary" part="button" onclick={onedit}>{ s.change_answers }</button>
                // The element's shell prints the results card alone (`js/elements.js`).
                if props.show_results {
                    <button type="button" class="secondary print" part="button">{ s.print }</button>
                }
            </div>
        </section>
    }
}

/// Today's date in the interface language, as the browser writes it ("December 5, 2026").
fn today(lang: &str) -> String {
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"long".into());
    String::from(js_sys::Date::new_0().to_locale_date_string(lang, &options))
}

fn crisis_panel(c: &Crisis, s: &'static Strings) -> Html {
    html! {
        <section class="crisis" part="crisis" aria-labelledby="crisis-title">
            <h3 id="crisis-title">{ &c.title }</h3>
            <p>{ &c.body }</p>
            if let Some(contact) = &c.contact {
                <p class="contact">
                    if let Some(href) = &c.href {
                        <a href={href.clone()}>{ contact }</a>
                    } else {
                        <strong>{ contact }</strong>
                    }
                </p>
            }
            <p class="note">{ s.crisis_note }</p>
        </section>
    }
}

fn credits(form: &Form, s: &'static Strings) -> Html {
    html! {
        <footer class="credits" part="citation">
            <p><span class="k">{ format!("{}: ", s.citation) }</span>{ &form.citation }</p>
            if let Some(a) = &form.attribution {
                <p><span class="k">{ format!("{}: ", s.attribution) }</span>{ text(a) }</p>
            }
            if let Some(t) = &form.terms {
                <p><span class="k">{ format!("{}: ", s.terms) }</span>{ t }</p>
            }
        </footer>
    }
}

/// What the element shows.
#[derive(PartialEq, Clone, Debug)]
pub enum Content {
    /// The form.
    Ready(QuestionnaireProps),
    /// The instrument's wording is on its way (a module of its own, loaded on first use).
    Loading,
    /// The problem that prevents the form.
    Failed(Rc<Problem>),
}

/// Properties of [`Widget`].
#[derive(Properties, PartialEq, Clone, Debug)]
pub struct WidgetProps {
    /// The form, the wait for its wording, or the problem that prevents it.
    pub content: Content,
    /// Bumped to start over (reset, new answers, another instrument): the form is remade.
    pub session: u64,
    /// Interface language for the error box.
    pub lang: AttrValue,
}

/// The element's root: the questionnaire, or a visible error box (never a blank box).
#[function_component(Widget)]
pub fn widget(props: &WidgetProps) -> Html {
    match &props.content {
        Content::Ready(q) => html! {
            <div class="host" key={props.session.to_string()}>
                <Questionnaire ..q.clone() />
            </div>
        },
        Content::Loading => {
            let s = strings(&props.lang);
            html! { <p class="attune loading" part="loading" role="status" aria-live="polite" lang={s.lang}>{ s.loading }</p> }
        }
        Content::Failed(p) => {
            let s = strings(&props.lang);
            html! {
                <div class="attune problem" part="error" role="alert" lang={s.lang}>
                    <h2 class="title">{ s.error_title }</h2>
                    <p>{ &p.message }</p>
                    <p class="code"><code>{ &p.code }</code></p>
                </div>
            }
        }
    }
}
