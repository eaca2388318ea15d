//! Differential tests: whatever the subset reader answers must be exactly what the full
//! reader answers (value and spans); where it is not sure it must give up.

mod cases;
mod corpus;
mod generate;
mod random;
mod scalar_cases;

use crate::plan::yaml::{self, Node};

/// The subset reader either gives up on `text` or agrees with the full reader; returns
/// whether it answered.
pub(super) fn same(text: &str) -> bool {
    let Some(fast) = super::parse(text) else {
        return false;
    };
    match yaml::parse_full(text) {
        Ok(full) => assert_eq!(fast, full, "the readers disagree on {text:?}"),
        Err(e) => panic!("the subset reader accepted {text:?}; the full reader says {e}"),
    }
    true
}

/// `text` is inside the subset: the subset reader answers, as the full reader does.
pub(super) fn fast(text: &str) -> Node {
    assert!(same(text), "the subset reader gave up on {text:?}");
    super::parse(text).expect("answered")
}

/// The subset reader must give up on `text`.
pub(super) fn gives_up(text: &str) {
    assert_eq!(
        super::parse(text),
        None,
        "the subset reader answered {text:?}"
    );
}
