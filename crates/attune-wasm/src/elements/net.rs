//! The poll elements' network: HTTP requests and self-reconnecting WebSockets, done by the small
//! JavaScript helpers in `js/poll.js`. Messages are plain JavaScript values both ways: the
//! browser's own `JSON.parse` and `JSON.stringify` turn them into text and back, so the module
//! carries no JSON parser; `super::protocol` reads them into the server's types.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::read::get;

#[wasm_bindgen(module = "/js/poll.js")]
extern "C" {
    #[wasm_bindgen(js_name = request)]
    fn js_request(method: &str, url: &str, headers: &JsValue, body: &JsValue) -> js_sys::Promise;
    /// A WebSocket that reconnects by itself; `close()` ends it.
    pub type Live;
    #[wasm_bindgen(js_name = live)]
    fn js_live(url: &str, hello: &JsValue, on_message: &JsValue, on_state: &JsValue) -> Live;
    #[wasm_bindgen(method)]
    pub fn close(this: &Live);
    /// Sends a message (a plain value) if the socket is open; `false` if it is not (nothing was
    /// sent).
    #[wasm_bindgen(method)]
    pub fn send(this: &Live, message: &JsValue) -> bool;
    #[wasm_bindgen(js_name = memberToken)]
    pub fn member_token(code: &str, token: Option<String>) -> Option<String>;
    /// An absolute URL on the server; `ws` gives a WebSocket URL.
    pub fn absolute(server: &str, path: &str, ws: bool) -> String;
    /// A Unix time as a local date.
    pub fn day(seconds: f64) -> String;
    #[wasm_bindgen(js_name = sleep)]
    fn js_sleep(ms: u32) -> js_sys::Promise;
}

/// A response: HTTP status (0 when the server could not be reached) and its body, parsed.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: JsValue,
}

impl Reply {
    /// The server's error message, or a description of the failure.
    pub fn message(&self) -> String {
        get(&get(&self.body, "error"), "message")
            .as_string()
            .unwrap_or_else(|| format!("the server answered {}", self.status))
    }
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: u32) {
    let _ = JsFuture::from(js_sleep(ms)).await;
}

/// Sends one request with a body (a plain value, sent as JSON) or none; never fails (a network
/// failure is status 0).
pub async fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&JsValue>) -> Reply {
    let h = js_sys::Object::new();
    for (k, v) in headers {
        crate::js::set(&h, k, &JsValue::from_str(v));
    }
    let reply = JsFuture::from(js_request(method, url, &h, body.unwrap_or(&JsValue::UNDEFINED))).await;
    let reply = reply.unwrap_or(JsValue::NULL);
    let status = get(&reply, "status").as_f64().map_or(0, |s| s as u16);
    Reply { status, body: get(&reply, "body") }
}

/// Opens a live connection; `on_message` gets each message (a plain value), `on_state` each state
/// change.
pub fn live(
    url: &str,
    hello: &JsValue,
    on_message: impl Fn(JsValue) + 'static,
    on_state: impl Fn(String) + 'static,
) -> Live {
    let m = Closure::<dyn Fn(JsValue)>::new(on_message).into_js_value();
    let s = Closure::<dyn Fn(String)>::new(on_state).into_js_value();
    js_live(url, hello, &m, &s)
}
