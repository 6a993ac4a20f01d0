//! Secret masking of a record as given (`management-api.md` §7.4).
//!
//! Masked: `password_hash`, `custom_password_hash.hash.value`,
//! `custom_password_hash.hash.key.value`, `custom_password_hash.salt.value`,
//! `mfa_factors[*].totp.secret`, and every property named `password` (ASCII
//! case-insensitively) at any depth. Defensively, a value found where one of those
//! secrets' containers should be (a string `custom_password_hash.hash`, a string `totp`…)
//! is masked whole, as are the legacy flat shape's `salt_prefix` / `salt_suffix`; only
//! `null` is kept there, since it cannot hold a secret.

use serde_json::{Map, Value};

/// What a masked secret reads as.
pub const MASK: &str = "*****";

/// The record as given, with every secret replaced by `"*****"`. Never panics and uses
/// no recursion, whatever the input's depth.
pub fn mask_secrets(record: &Value) -> Value {
    let mut copy = copy_masking_passwords(record);
    if let Value::Object(map) = &mut copy {
        if let Some(hash) = map.get_mut("password_hash") {
            mask(hash);
        }
        if let Some(custom) = map.get_mut("custom_password_hash") {
            mask_custom_password_hash(custom);
        }
        if let Some(factors) = map.get_mut("mfa_factors") {
            match factors {
                Value::Array(items) => items.iter_mut().for_each(mask_factor),
                other => mask_factor(other),
            }
        }
    }
    copy
}

fn mask(value: &mut Value) {
    *value = Value::String(MASK.to_string());
}

/// For a position that should hold an object containing secrets: the object is handed
/// to `inner`, anything else but `null` is masked whole.
fn within(value: &mut Value, inner: impl FnOnce(&mut Map<String, Value>)) {
    match value {
        Value::Object(map) => inner(map),
        Value::Null => {}
        other => mask(other),
    }
}

fn mask_member(map: &mut Map<String, Value>, key: &str) {
    if let Some(value) = map.get_mut(key) {
        mask(value);
    }
}

fn mask_custom_password_hash(custom: &mut Value) {
    within(custom, |custom| {
        if let Some(hash) = custom.get_mut("hash") {
            within(hash, |hash| {
                mask_member(hash, "value");
                if let Some(key) = hash.get_mut("key") {
                    within(key, |key| mask_member(key, "value"));
                }
            });
        }
        if let Some(salt) = custom.get_mut("salt") {
            within(salt, |salt| mask_member(salt, "value"));
        }
        mask_member(custom, "salt_prefix");
        mask_member(custom, "salt_suffix");
    });
}

fn mask_factor(factor: &mut Value) {
    within(factor, |factor| {
        if let Some(totp) = factor.get_mut("totp") {
            within(totp, |totp| mask_member(totp, "secret"));
        }
    });
}

fn is_password(key: &str) -> bool {
    key.eq_ignore_ascii_case("password")
}

/// A container being copied.
enum Frame<'v> {
    Object {
        source: serde_json::map::Iter<'v>,
        copy: Map<String, Value>,
        slot: Option<String>,
    },
    Array {
        source: std::slice::Iter<'v, Value>,
        copy: Vec<Value>,
        slot: Option<String>,
    },
}

impl<'v> Frame<'v> {
    /// A frame for `value` if it is a container; `slot` is its key in the parent object.
    fn open(value: &'v Value, slot: Option<String>) -> Option<Frame<'v>> {
        match value {
            Value::Object(map) => Some(Frame::Object {
                source: map.iter(),
                copy: Map::new(),
                slot,
            }),
            Value::Array(items) => Some(Frame::Array {
                source: items.iter(),
                copy: Vec::with_capacity(items.len()),
                slot,
            }),
            _ => None,
        }
    }

    /// The next child: its key (objects only) and value.
    fn next_child(&mut self) -> Option<(Option<String>, &'v Value)> {
        match self {
            Frame::Object { source, .. } => {
                source.next().map(|(key, value)| (Some(key.clone()), value))
            }
            Frame::Array { source, .. } => source.next().map(|value| (None, value)),
        }
    }

    fn put(&mut self, slot: Option<String>, value: Value) {
        match self {
            Frame::Object { copy, .. } => {
                copy.insert(slot.unwrap_or_default(), value);
            }
            Frame::Array { copy, .. } => copy.push(value),
        }
    }

    fn close(self) -> (Option<String>, Value) {
        match self {
            Frame::Object { copy, slot, .. } => (slot, Value::Object(copy)),
            Frame::Array { copy, slot, .. } => (slot, Value::Array(copy)),
        }
    }
}

/// A deep copy of `value` in which every property named `password` is masked, built with
/// an explicit stack.
fn copy_masking_passwords(value: &Value) -> Value {
    let Some(root) = Frame::open(value, None) else {
        return value.clone();
    };
    let mut stack = vec![root];
    while let Some(top) = stack.last_mut() {
        match top.next_child() {
            Some((slot, child)) => {
                if slot.as_deref().is_some_and(is_password) {
                    top.put(slot, Value::String(MASK.to_string()));
                } else if child.is_object() || child.is_array() {
                    if let Some(frame) = Frame::open(child, slot) {
                        stack.push(frame);
                    }
                } else {
                    top.put(slot, child.clone());
                }
            }
            None => {
                let Some(done) = stack.pop() else { break };
                let (slot, built) = done.close();
                match stack.last_mut() {
                    Some(parent) => parent.put(slot, built),
                    None => return built,
                }
            }
        }
    }
    Value::Null // unreachable: the root frame returns above
}
