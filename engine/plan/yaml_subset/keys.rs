//! Mapping keys the subset reader must not decide on: a duplicate (the full reader reports
//! it) and `<<` (a merge key there).
//!
//! The full reader calls two keys duplicates when both are plain integers of the same value,
//! or when they have the same scalar text (quoted keys decoded) and are both, or both not,
//! plain nulls. So `1.0` and `'1.0'` are duplicates, `1` and `'1'` are not. Rather than
//! reproduce that, a key conflicts here with an earlier one when either their resolved text
//! (`Node::key_text`) or their scalar text is equal: every duplicate of the full reader is
//! caught, and a few more (`1` and `'1'`), which give up too; that is always safe.
//!
//! Small maps scan linearly; from `HASHED_FROM` entries on, hashes of the texts are kept,
//! and a repeated hash (a conflict, or a collision) gives up as well.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::plan::yaml::{Node, Value};

const HASHED_FROM: usize = 16;

#[derive(Default)]
pub(super) struct Keys {
    hashes: Option<HashSet<u64>>,
}

impl Keys {
    /// Whether `key` may follow the `entries` read so far; `source` is the document text.
    pub(super) fn admit(&mut self, source: &str, entries: &[(Node, Node)], key: &Node) -> bool {
        let (resolved, text) = texts(source, key);
        if resolved == "<<" || text == "<<" {
            return false;
        }
        if entries.len() < HASHED_FROM {
            return !entries.iter().any(|(k, _)| conflict(source, k, key));
        }
        let hashes = self.hashes.get_or_insert_with(|| {
            entries
                .iter()
                .flat_map(|(k, _)| {
                    let (r, t) = texts(source, k);
                    [hash(&r), hash(t)]
                })
                .collect()
        });
        let (r, t) = (hash(&resolved), hash(text));
        if hashes.contains(&r) || hashes.contains(&t) {
            return false;
        }
        hashes.insert(r);
        hashes.insert(t);
        true
    }
}

/// Whether two keys share their resolved or scalar text.
fn conflict(source: &str, a: &Node, b: &Node) -> bool {
    // The common case: both are strings, whose two texts are the same.
    if let (Value::Str(x), Value::Str(y)) = (&a.value, &b.value) {
        return x == y;
    }
    let (ar, at) = texts(source, a);
    let (br, bt) = texts(source, b);
    ar == br || ar == bt || at == br || at == bt
}

/// A key's resolved text and its scalar text (plain: as written; quoted: decoded).
fn texts<'a>(source: &'a str, key: &'a Node) -> (Cow<'a, str>, &'a str) {
    match &key.value {
        Value::Str(s) => (Cow::Borrowed(s), s),
        _ => (
            Cow::Owned(key.key_text()),
            &source[key.span.start..key.span.end],
        ),
    }
}

fn hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}
