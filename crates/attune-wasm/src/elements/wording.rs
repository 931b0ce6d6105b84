//! The catalog's own wording, loaded per instrument. The element modules carry the scoring plans
//! and no text: each instrument's bundled English, verified translations and labels are a text
//! pack in a JavaScript module of its own (`attune/wording/<id>.js`, written by `cargo xtask npm`
//! from `Instrument::bundled_text`). The package's loader hands [`define_elements`] an object
//! `{ load(id), loaded(id) }`: `load` imports one (a promise), `loaded` gives one that has already
//! arrived (the loader starts fetching the wording of the questionnaires in the page while the
//! module compiles, so the first render usually finds it there and shows the form at once). This
//! module asks once per instrument, reads the pack with the host packs' reader, and keeps it for
//! every element of the page.
//!
//! [`define_elements`]: super::define_elements

use std::cell::RefCell;
use std::rc::Rc;

use attune_core::TextPack;
use wasm_bindgen::prelude::*;

use super::text_pack;

/// An instrument's wording, or why it could not be had.
pub type Loaded = Result<Rc<TextPack>, String>;

/// What runs when an instrument's wording has arrived or failed to.
type Waiter = Box<dyn FnOnce(&Loaded)>;

enum State {
    /// Asked for; these run when it settles.
    Pending(Vec<Waiter>),
    Arrived(Rc<TextPack>),
}

thread_local! {
    static LOADER: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
    static CACHE: RefCell<Vec<(String, State)>> = const { RefCell::new(Vec::new()) };
}

/// Sets what loads an instrument's wording: `{ load(id): Promise<TextPack>, loaded(id): TextPack |
/// undefined }`.
pub fn set_loader(loader: JsValue) {
    LOADER.with(|l| *l.borrow_mut() = loader);
}

/// The loader's method `name`, if it has one.
fn method(name: &str) -> Option<(JsValue, js_sys::Function)> {
    let loader = LOADER.with(|l| l.borrow().clone());
    let f = js_sys::Reflect::get(&loader, &JsValue::from_str(name)).ok()?.dyn_into::<js_sys::Function>().ok()?;
    Some((loader, f))
}

/// The wording of `id` if the loader already has it.
fn arrived(id: &str) -> Option<Loaded> {
    let (loader, loaded) = method("loaded")?;
    let pack = loaded.call1(&loader, &JsValue::from_str(id)).ok().filter(|p| !p.is_undefined() && !p.is_null())?;
    Some(text_pack::read(&pack).map(Rc::new))
}

/// The wording of instrument `id` if it has arrived (or, when the loader has it already, the
/// problem reading it). Otherwise it is asked for, once however many ask, and `then` runs with the
/// outcome. A failure is given to those waiting and not kept: the next request asks again (a
/// caller that retries on every failure must remember it, or it would ask for ever).
pub fn get(id: &str, then: impl FnOnce(&Loaded) + 'static) -> Option<Loaded> {
    let mut then: Option<Waiter> = Some(Box::new(then));
    let cached = CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        match cache.iter_mut().find(|(k, _)| k == id) {
            Some((_, State::Arrived(pack))) => Some(Some(Ok(pack.clone()))),
            Some((_, State::Pending(waiting))) => {
                waiting.extend(then.take());
                Some(None)
            }
            None => None,
        }
    });
    if let Some(known) = cached {
        return known;
    }
    if let Some(done) = arrived(id) {
        if let Ok(pack) = &done {
            CACHE.with(|c| c.borrow_mut().push((id.to_string(), State::Arrived(pack.clone()))));
        }
        return Some(done);
    }
    CACHE.with(|c| c.borrow_mut().push((id.to_string(), State::Pending(then.into_iter().collect()))));
    request(id);
    None
}

/// One element's wording, as it stands for the instrument it shows.
pub enum Wording {
    Ready(Rc<TextPack>),
    Loading,
    Failed(String),
}

/// One element's interest in an instrument's wording: it asks once while it waits (however often it
/// renders meanwhile), and remembers a failure for that instrument until [`Want::retry`], so that a
/// failed load is not asked again on every render.
#[derive(Default)]
pub struct Want {
    waiting: Option<String>,
    failed: Option<(String, String)>,
}

impl Want {
    /// The wording of `id`; when it is not here yet, `then` runs once it settles, and must call
    /// [`Want::settled`] on this element's `Want`.
    pub fn wording(&mut self, id: &str, then: impl FnOnce(&Loaded) + 'static) -> Wording {
        match &self.failed {
            Some((k, m)) if k == id => return Wording::Failed(m.clone()),
            Some(_) => self.failed = None,
            None => {}
        }
        if self.waiting.as_deref() == Some(id) {
            return Wording::Loading;
        }
        match get(id, then) {
            None => {
                self.waiting = Some(id.to_string());
                Wording::Loading
            }
            Some(Ok(pack)) => Wording::Ready(pack),
            Some(Err(m)) => {
                self.failed = Some((id.to_string(), m.clone()));
                Wording::Failed(m)
            }
        }
    }

    /// What arrived for `id`, recorded.
    pub fn settled(&mut self, id: &str, loaded: &Loaded) {
        self.waiting = None;
        if let Err(m) = loaded {
            self.failed = Some((id.to_string(), m.clone()));
        }
    }

    /// Asks again for wording that failed to load.
    pub fn retry(&mut self) {
        self.failed = None;
    }
}

/// Calls the loader, and settles `id` with what its promise gives. Always later, never during the
/// call: the caller may hold its element's state.
fn request(id: &str) {
    let promise = match method("load") {
        None => {
            js_sys::Promise::reject(&JsValue::from_str("no wording loader: import the elements from `attune/elements`"))
        }
        Some((loader, load)) => match load.call1(&loader, &JsValue::from_str(id)) {
            Ok(p) => js_sys::Promise::resolve(&p),
            Err(e) => js_sys::Promise::reject(&e),
        },
    };
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

/// Keeps what arrived (a failure is dropped, so a later request retries) and runs the waiters.
fn settle(id: &str, loaded: Loaded) {
    let waiting = CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let Some(at) = cache.iter().position(|(k, _)| k == id) else { return Vec::new() };
        let before = match &loaded {
            Ok(pack) => std::mem::replace(&mut cache[at].1, State::Arrived(pack.clone())),
            Err(_) => cache.remove(at).1,
        };
        match before {
            State::Pending(w) => w,
            State::Arrived(_) => Vec::new(),
        }
    });
    for then in waiting {
        then(&loaded);
    }
}

/// The wording of `id`, once it has arrived or failed to (asked for once: no retry).
#[cfg(feature = "poll")]
pub async fn wait(id: &str) -> Loaded {
    let outcome: Rc<RefCell<Option<Loaded>>> = Rc::default();
    let mut resolve = None;
    let settled = js_sys::Promise::new(&mut |res, _| resolve = Some(res));
    let Some(resolve) = resolve else { return Err("no promise".into()) };
    let slot = outcome.clone();
    if let Some(done) = get(id, move |loaded| {
        *slot.borrow_mut() = Some(loaded.clone());
        drop(resolve.call0(&JsValue::NULL));
    }) {
        return done;
    }
    let _ = wasm_bindgen_futures::JsFuture::from(settled).await;
    let done = outcome.borrow_mut().take();
    done.unwrap_or_else(|| Err("the wording did not arrive".into()))
}
