//! The custom elements (feature `elements`): one file per element. `import "attune/elements"`
//! calls [`define_elements`] once the module is instantiated. The element classes themselves are
//! a thin JavaScript shell (`js/elements.js`) that forwards to the Rust objects here.

use wasm_bindgen::prelude::*;

#[cfg(feature = "poll")]
mod net;
#[cfg(feature = "poll")]
mod poll_dashboard;
#[cfg(feature = "poll")]
mod poll_join;
#[cfg(feature = "poll")]
mod protocol;
mod questionnaire;
mod text_pack;
mod wording;

#[cfg(feature = "poll")]
pub use poll_dashboard::PollDashboardElement;
#[cfg(feature = "poll")]
pub use poll_join::PollJoinElement;
pub use questionnaire::QuestionnaireElement;

#[wasm_bindgen(module = "/js/elements.js")]
extern "C" {
    #[wasm_bindgen(js_name = defineQuestionnaire)]
    fn define_questionnaire(tag: &str, css: &str, mount: &JsValue) -> bool;
    /// The loaders of code an element needs only with some attributes.
    #[wasm_bindgen(js_name = setLoaders)]
    fn set_loaders(loaders: &JsValue);
    /// Dispatches a CustomEvent from the host element, with `detail` (a plain object).
    #[wasm_bindgen(js_name = emit)]
    fn dispatch(host: &web_sys::HtmlElement, name: &str, detail: &JsValue);
    /// The current time as an ISO 8601 string.
    #[wasm_bindgen(js_name = nowIso)]
    fn now_iso() -> String;
    /// A number for people: at most two decimals (rounded half to even), in the language's style.
    #[wasm_bindgen(js_name = formatNumber)]
    fn format_number(value: f64, lang: &str) -> String;
    #[wasm_bindgen(js_name = mountPoint)]
    fn mount_point(root: &web_sys::ShadowRoot) -> web_sys::Element;
}

#[cfg(feature = "poll")]
#[wasm_bindgen(module = "/js/poll.js")]
extern "C" {
    #[wasm_bindgen(js_name = defineSimple)]
    fn define_simple(tag: &str, css: &str, observed: js_sys::Array, mount: &JsValue) -> bool;
}

/// Defines `<attune-questionnaire>` and, with the `poll` feature, `<attune-poll-join>` and
/// `<attune-poll-dashboard>`. Idempotent: returns the tags it defined now (none when an
/// earlier import, or another copy of the package, already defined them). `wording` loads an
/// instrument's wording: `{ load(id): Promise<TextPack>, loaded(id): TextPack | undefined }` (the
/// package's `wording/index.js`). `loaders` imports what only some elements need, on first use:
/// `{ fhir(): Promise<module>, extras(): Promise<module> }`, the package's `fhir-element.js` (the
/// FHIR Bundle of a questionnaire with a `fhir` attribute) and `extras.js` (saved progress and
/// delivery, for `save` and `action`).
#[wasm_bindgen(js_name = defineElements)]
pub fn define_elements(wording: JsValue, loaders: &JsValue) -> Vec<String> {
    wording::set_loader(wording);
    set_loaders(loaders);
    let mut defined = Vec::new();
    let mount = Closure::<dyn Fn(web_sys::HtmlElement, web_sys::ShadowRoot) -> JsValue>::new(
        |host: web_sys::HtmlElement, root: web_sys::ShadowRoot| JsValue::from(QuestionnaireElement::new(host, root)),
    )
    .into_js_value();
    if define_questionnaire("attune-questionnaire", attune_ui::STYLE, &mount) {
        defined.push("attune-questionnaire".to_string());
    }
    #[cfg(feature = "poll")]
    define_poll_elements(&mut defined);
    defined
}

/// `<attune-poll-join>` and `<attune-poll-dashboard>` (feature `poll`).
#[cfg(feature = "poll")]
fn define_poll_elements(defined: &mut Vec<String>) {
    let observed = |names: &[&str]| names.iter().map(|n| JsValue::from_str(n)).collect::<js_sys::Array>();
    let join = Closure::<dyn Fn(web_sys::HtmlElement, web_sys::ShadowRoot) -> JsValue>::new(
        |host: web_sys::HtmlElement, root: web_sys::ShadowRoot| JsValue::from(PollJoinElement::new(host, root)),
    )
    .into_js_value();
    if define_simple("attune-poll-join", attune_ui::POLL_STYLE, observed(&["server", "code", "lang"]), &join) {
        defined.push("attune-poll-join".to_string());
    }
    let dash = Closure::<dyn Fn(web_sys::HtmlElement, web_sys::ShadowRoot) -> JsValue>::new(
        |host: web_sys::HtmlElement, root: web_sys::ShadowRoot| JsValue::from(PollDashboardElement::new(host, root)),
    )
    .into_js_value();
    if define_simple(
        "attune-poll-dashboard",
        attune_ui::POLL_STYLE,
        observed(&["server", "group", "token", "lang"]),
        &dash,
    ) {
        defined.push("attune-poll-dashboard".to_string());
    }
}

/// Shows `props` in an element's shadow root: updates its app, or mounts it the first time. Yew
/// renders in a microtask, so no callback runs while the caller's borrow is held.
fn show<C: yew::BaseComponent>(app: &mut Option<yew::AppHandle<C>>, root: &web_sys::ShadowRoot, props: C::Properties) {
    match app.as_mut() {
        Some(app) => app.update(props),
        None => *app = Some(yew::Renderer::<C>::with_root_and_props(mount_point(root), props).render()),
    }
}

/// An `AttuneError` as the scoring API throws it, with the elements' codes too.
fn element_error(code: &str, message: &str, item: Option<&str>) -> JsValue {
    crate::error::error_with_code(code, message, item, None)
}
