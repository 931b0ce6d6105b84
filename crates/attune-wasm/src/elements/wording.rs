//! The catalog's own wording, loaded per instrument. The element modules carry the scoring plans
//! and no text: each instrument's bundled English, verified translations and labels are a text
//! pack in a JavaScript module of its own (`attune/wording/<id>.js`, written by `cargo xtask npm`
//! from `Instrument::bundled_text`). The package's loader hands [`define_elements`] a function that
//! imports one; this module calls it once per instrument, reads the pack with the host packs'
//! reader, and keeps it for every element of the page.
//!
//! [`define_elements`]: super::define_elements

use std::cell::RefCell;
use std::rc::Rc;

use attune_core::TextPack;
use wasm_bindgen::prelude::*;

use super::text_pack;

/// An instrument's wording, or why it could not be had.
pub type Loaded = Result<Rc<TextPack>, String>;

enum State {
    /// Asked for; these run when it arrives.
    Pending(Vec<Box<dyn FnOnce()>>),
    Done(Loaded),
}

thread_local! {
    static LOADER: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
    static CACHE: RefCell<Vec<(String, State)>> = const { RefCell::new(Vec::new()) };
}

/// Sets the function that loads an instrument's wording: `(id) => Promise<TextPack>`.
pub fn set_loader(loader: Option<js_sys::Function>) {
    LOADER.with(|l| *l.borrow_mut() = loader);
}

/// The wording of instrument `id` when it has arrived (or failed to). Otherwise it is asked for
/// (once per page) and `then` runs when it arrives.
pub fn get(id: &str, then: impl FnOnce() + 'static) -> Option<Loaded> {
    let start = CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        match cache.iter_mut().find(|(k, _)| k == id) {
            Some((_, State::Done(done))) => Err(done.clone()),
            Some((_, State::Pending(waiting))) => {
                waiting.push(Box::new(then));
                Ok(false)
            }
            None => {
                cache.push((id.to_string(), State::Pending(vec![Box::new(then)])));
                Ok(true)
            }
        }
    });
    match start {
        Err(done) => Some(done),
        Ok(true) => {
            request(id);
            None
        }
        Ok(false) => None,
    }
}

/// Calls the loader, and settles `id` with what its promise gives. Always later, never during the
/// call: the caller may hold its element's state.
fn request(id: &str) {
    let promise = LOADER.with(|l| match &*l.borrow() {
        None => {
            js_sys::Promise::reject(&JsValue::from_str("no wording loader: import the elements from `attune/elements`"))
        }
        Some(f) => match f.call1(&JsValue::NULL, &JsValue::from_str(id)) {
            Ok(p) => js_sys::Promise::resolve(&p),
            Err(e) => js_sys::Promise::reject(&e),
        },
    });
    let (ok_id, err_id) = (id.to_string(), id.to_string());
    let ok = Closure::once_into_js(move |pack: JsValue| {
        settle(&ok_id, text_pack::read(&pack).map(Rc::new));
    });
    let err = Closure::once_into_js(move |e: JsValue| settle(&err_id, Err(reason(&e))));
    if let Ok(then) = js_sys::Reflect::get(&promise, &JsValue::from_str("then")) {
        let _ = then.unchecked_into::<js_sys::Function>().call2(&promise, &ok, &err);
    }
}

/// A rejection's message.
fn reason(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the module did not load".to_string())
}

fn settle(id: &str, loaded: Loaded) {
    let waiting = CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let slot = cache.iter_mut().find(|(k, _)| k == id).map(|(_, s)| s);
        match slot.map(|s| std::mem::replace(s, State::Done(loaded))) {
            Some(State::Pending(w)) => w,
            _ => Vec::new(),
        }
    });
    for then in waiting {
        then();
    }
}

/// The wording of `id`, once it has arrived.
#[cfg(feature = "poll")]
pub async fn wait(id: &str) -> Loaded {
    loop {
        let mut resolve = None;
        let arrived = js_sys::Promise::new(&mut |res, _| resolve = Some(res));
        let Some(resolve) = resolve else { return Err("no promise".into()) };
        if let Some(done) = get(id, move || drop(resolve.call0(&JsValue::NULL))) {
            return done;
        }
        let _ = wasm_bindgen_futures::JsFuture::from(arrived).await;
    }
}
