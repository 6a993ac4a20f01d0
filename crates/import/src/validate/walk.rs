//! An iterative walk over a JSON value: nesting depth and, for metadata, keys holding `.`
//! (`user-schema.md` §3.4). An explicit stack replaces recursion, so no input can
//! exhaust the call stack.

use serde_json::Value;
use userbridge_model::field_path::push_key;

use super::MAX_NESTING;

/// What [`scan`] found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Paths of keys containing `.`, in document order (only when asked for).
    pub(crate) dotted_keys: Vec<String>,
    /// Some container is nested deeper than [`MAX_NESTING`] (counting `value` as 1); the
    /// walk did not descend below that level.
    pub(crate) too_deep: bool,
}

#[derive(Clone, Copy)]
enum Step<'v> {
    Root,
    Key(&'v str),
    Index(usize),
}

/// A container on the way to the current value, for building paths lazily.
struct Node<'v> {
    parent: usize,
    step: Step<'v>,
}

/// A value still to visit.
struct Pending<'v> {
    value: &'v Value,
    parent: usize,
    step: Step<'v>,
    depth: usize,
}

/// Walks `value`, whose path is `root`; with `check_keys`, collects the paths of object
/// keys (at any depth, inside arrays too) that contain `.`.
pub(crate) fn scan(value: &Value, root: &str, check_keys: bool) -> Scan {
    let mut scan = Scan::default();
    let mut nodes: Vec<Node<'_>> = Vec::new();
    let mut stack = vec![Pending {
        value,
        parent: usize::MAX,
        step: Step::Root,
        depth: 1,
    }];
    while let Some(Pending {
        value,
        parent,
        step,
        depth,
    }) = stack.pop()
    {
        if let Step::Key(key) = step
            && check_keys
            && key.contains('.')
        {
            scan.dotted_keys.push(path(root, &nodes, parent, step));
        }
        let len = match value {
            Value::Object(map) => map.len(),
            Value::Array(items) => items.len(),
            _ => continue,
        };
        if depth > MAX_NESTING {
            scan.too_deep = true;
            continue;
        }
        if len == 0 {
            continue;
        }
        nodes.push(Node { parent, step });
        let me = nodes.len() - 1;
        // Children are pushed in reverse so that they are visited in document order.
        match value {
            Value::Object(map) => stack.extend(map.iter().rev().map(|(key, child)| Pending {
                value: child,
                parent: me,
                step: Step::Key(key),
                depth: depth + 1,
            })),
            Value::Array(items) => stack.extend(items.iter().enumerate().rev().map(
                |(index, child)| Pending {
                    value: child,
                    parent: me,
                    step: Step::Index(index),
                    depth: depth + 1,
                },
            )),
            _ => {}
        }
    }
    scan
}

/// The readable path (`export` field-path syntax, `user-schema.md` §9.1) of `step` under
/// the container `parent`, e.g. `user_metadata.prefs["a.b"]` or `app_metadata.list[0]`.
fn path(root: &str, nodes: &[Node<'_>], parent: usize, step: Step<'_>) -> String {
    let mut steps = vec![step];
    let mut at = parent;
    while let Some(node) = nodes.get(at) {
        steps.push(node.step);
        at = node.parent;
    }
    let mut out = root.to_string();
    for step in steps.into_iter().rev() {
        match step {
            Step::Root => {}
            Step::Key(key) => push_key(&mut out, key),
            Step::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}
