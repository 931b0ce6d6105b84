//! The poll elements' network: HTTP requests and self-reconnecting WebSockets, done by the small
//! JavaScript helpers in `js/elements.js`, with JSON in and out.

use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/js/elements.js")]
extern "C" {
    #[wasm_bindgen(js_name = request)]
    fn js_request(method: &str, url: &str, headers: &str, body: Option<String>) -> js_sys::Promise;
    /// A WebSocket that reconnects by itself; `close()` ends it.
    pub type Live;
    #[wasm_bindgen(js_name = live)]
    fn js_live(url: &str, hello: &str, on_message: &JsValue, on_state: &JsValue) -> Live;
    #[wasm_bindgen(method)]
    pub fn close(this: &Live);
    /// Sends a text message if the socket is open; `false` if it is not (nothing was sent).
    #[wasm_bindgen(method)]
    pub fn send(this: &Live, text: &str) -> bool;
    #[wasm_bindgen(js_name = memberToken)]
    pub fn member_token(code: &str, token: Option<String>) -> Option<String>;
    /// An absolute URL on the server; `ws` gives a WebSocket URL.
    pub fn absolute(server: &str, path: &str, ws: bool) -> String;
    /// A Unix time as a local date.
    pub fn day(seconds: f64) -> String;
    #[wasm_bindgen(js_name = sleep)]
    fn js_sleep(ms: u32) -> js_sys::Promise;
}

/// A response: HTTP status (0 when the server could not be reached) and JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The body as one of the server's typed answers (`attune_protocol`), if it is one.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        T::deserialize(&self.body).ok()
    }

    /// The server's error message, or a description of the failure.
    pub fn message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("the server answered {}", self.status))
    }
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: u32) {
    let _ = JsFuture::from(js_sleep(ms)).await;
}

/// Sends one request; never fails (a network failure is status 0).
pub async fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Reply {
    let mut h = serde_json::Map::new();
    for (k, v) in headers {
        h.insert((*k).to_string(), Value::from(*v));
    }
    if body.is_some() {
        h.insert("content-type".into(), "application/json".into());
    }
    let text = JsFuture::from(js_request(method, url, &Value::Object(h).to_string(), body.map(Value::to_string)))
        .await
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status: v["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0), body: v["body"].clone() }
}

/// Opens a live connection; `on_message` gets each JSON message, `on_state` each state change.
pub fn live(
    url: &str,
    hello: &Value,
    on_message: impl Fn(Value) + 'static,
    on_state: impl Fn(String) + 'static,
) -> Live {
    let m = Closure::<dyn Fn(String)>::new(move |text: String| {
        if let Ok(v) = serde_json::from_str(&text) {
            on_message(v);
        }
    })
    .into_js_value();
    let s = Closure::<dyn Fn(String)>::new(on_state).into_js_value();
    js_live(url, &hello.to_string(), &m, &s)
}
