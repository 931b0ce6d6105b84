//! Building JavaScript values: an object's properties in order, an array of strings.

// The `attune/validate` build uses a part of this module.
#![cfg_attr(not(any(feature = "scoring", feature = "elements")), allow(dead_code))]

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

/// Sets a property on an object this module just made (which cannot fail).
pub(crate) fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// A new object with these properties, in this order.
pub(crate) fn object(props: &[(&str, &JsValue)]) -> JsValue {
    let o = JsValue::from(Object::new());
    for (k, v) in props {
        set(&o, k, v);
    }
    o
}

/// An array of strings.
pub(crate) fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Array {
    items.into_iter().map(JsValue::from_str).collect()
}
