//! The custom elements (feature `elements`): one file per element. `import "attune/elements"`
//! calls [`define_elements`] once the module is instantiated. The element classes themselves are
//! a thin JavaScript shell (`js/elements.js`) that forwards to the Rust objects here.

use serde::Serialize;
use wasm_bindgen::prelude::*;

#[cfg(feature = "poll")]
mod net;
#[cfg(feature = "poll")]
mod poll_dashboard;
#[cfg(feature = "poll")]
mod poll_join;
mod questionnaire;
mod text_pack;

#[cfg(feature = "poll")]
pub use poll_dashboard::PollDashboardElement;
#[cfg(feature = "poll")]
pub use poll_join::PollJoinElement;
pub use questionnaire::QuestionnaireElement;

#[wasm_bindgen(inline_js = "export function toJson(v) {
  return JSON.stringify(v, (k, x) => typeof x === 'number' && !Number.isFinite(x) ? String(x) : x);
}")]
extern "C" {
    /// `JSON.stringify`, keeping non-finite numbers as text so that they cannot pass for `null`.
    #[wasm_bindgen(catch, js_name = toJson)]
    fn to_json(value: &JsValue) -> Result<JsValue, JsValue>;
}

/// The JSON text of a JavaScript value; `what` names it in error messages.
pub(crate) fn json_text(value: &JsValue, what: &str) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    let text = to_json(value).map_err(|e| format!("{what} cannot be read as JSON: {}", crate::error::describe(&e)))?;
    let Some(s) = text.dyn_ref::<js_sys::JsString>() else {
        return Err(format!("{what} must be a JSON value, not {}", value.js_typeof().as_string().unwrap_or_default()));
    };
    if s.length() > crate::MAX_JSON_LEN {
        return Err(format!("{what} is larger than {} MiB of JSON", crate::MAX_JSON_LEN >> 20));
    }
    Ok(String::from(s))
}

#[wasm_bindgen(module = "/js/elements.js")]
extern "C" {
    #[wasm_bindgen(js_name = defineQuestionnaire)]
    fn define_questionnaire(tag: &str, css: &str, mount: &JsValue) -> bool;
    fn emit(host: &web_sys::HtmlElement, name: &str, json: &str);
    #[wasm_bindgen(js_name = mountPoint)]
    fn mount_point(root: &web_sys::ShadowRoot) -> web_sys::Element;
    #[cfg(feature = "poll")]
    #[wasm_bindgen(js_name = defineSimple)]
    fn define_simple(tag: &str, css: &str, observed: js_sys::Array, mount: &JsValue) -> bool;
}

/// Defines `<attune-questionnaire>` and, with the `poll` feature, `<attune-poll-join>` and
/// `<attune-poll-dashboard>`. Idempotent: returns the tags it defined now (none when an
/// earlier import, or another copy of the package, already defined them).
#[wasm_bindgen(js_name = defineElements)]
pub fn define_elements() -> Vec<String> {
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
    if define_simple("attune-poll-join", attune_ui::STYLE, observed(&["server", "code", "lang"]), &join) {
        defined.push("attune-poll-join".to_string());
    }
    let dash = Closure::<dyn Fn(web_sys::HtmlElement, web_sys::ShadowRoot) -> JsValue>::new(
        |host: web_sys::HtmlElement, root: web_sys::ShadowRoot| JsValue::from(PollDashboardElement::new(host, root)),
    )
    .into_js_value();
    if define_simple("attune-poll-dashboard", attune_ui::STYLE, observed(&["server", "group", "token", "lang"]), &dash)
    {
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

/// Dispatches a CustomEvent with a JSON detail from the host element.
fn dispatch<T: Serialize>(host: &web_sys::HtmlElement, name: &str, detail: &T) {
    // Serializing plain maps and strings cannot fail; an empty detail is better than none.
    let json = serde_json::to_string(detail).unwrap_or_else(|_| "null".to_string());
    emit(host, name, &json);
}

/// An `Error` with `name` "AttuneError" and a `code`, as thrown by the scoring API.
fn element_error(code: &str, message: &str, item: Option<&str>) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("AttuneError");
    let _ = js_sys::Reflect::set(&err, &"code".into(), &code.into());
    if let Some(item) = item {
        let _ = js_sys::Reflect::set(&err, &"item".into(), &item.into());
    }
    err.into()
}

/// The current time as an ISO 8601 string.
fn now_iso() -> String {
    String::from(js_sys::Date::new_0().to_iso_string())
}
