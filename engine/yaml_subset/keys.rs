//! Mapping keys the subset reader must not decide on: a duplicate (the full reader reports
//! it) and `<<` (a merge key there). Keys compare by their text (`Node::key_text`), which
//! catches every duplicate the full reader sees and a few more (`1` and `1.0`); those give up
//! too, which is always safe. Small maps scan linearly; from `HASHED_FROM` entries on,
//! hashes of the key texts are kept, and a repeated hash (a duplicate, or a collision) gives
//! up as well.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::yaml::{Node, Value};

const HASHED_FROM: usize = 16;

#[derive(Default)]
pub(super) struct Keys {
    hashes: Option<HashSet<u64>>,
}

impl Keys {
    /// Whether `key` may follow the entries read so far.
    pub fn admit(&mut self, entries: &[(Node, Node)], key: &Node) -> bool {
        let text = key_text(&key.value);
        if text == "<<" {
            return false;
        }
        if entries.len() < HASHED_FROM {
            return entries.iter().all(|(k, _)| key_text(&k.value) != text);
        }
        let hashes = self.hashes.get_or_insert_with(|| {
            entries
                .iter()
                .map(|(k, _)| hash(&key_text(&k.value)))
                .collect()
        });
        hashes.insert(hash(&text))
    }
}

fn key_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::Str(s) => Cow::Borrowed(s),
        _ => Cow::Owned(
            Node {
                span: Default::default(),
                value: value.clone(),
            }
            .key_text(),
        ),
    }
}

fn hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}
