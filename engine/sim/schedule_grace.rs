//! sim/schedule_grace: asynchronous backup scheduling (the Camunda API reference §7.2). Web
//! apps ("snapshots will be created asynchronously"), Optimize ("Backup creation is
//! asynchronous") and Zeebe (202 "has been scheduled") schedule in the background, so a status
//! GET right after the POST may not find the backup yet. This module remembers when each
//! backup was scheduled and says whether a GET still falls inside `config.schedule_404_ms`; it
//! must not build responses (each API answers its own 404).

use std::collections::BTreeMap;

/// When each backup was scheduled, by API (`webapps`/`operate`/`tasklist`, `optimize`,
/// `zeebe`) and backup id.
#[derive(Debug, Default)]
pub struct ScheduleGrace {
    at: BTreeMap<(String, u64), u64>,
}

impl ScheduleGrace {
    /// A POST scheduled backup `id` on `api` at `now_ms`.
    pub fn scheduled(&mut self, api: &str, id: u64, now_ms: u64) {
        self.at.insert((api.to_string(), id), now_ms);
    }

    /// Whether backup `id` on `api` is still invisible to status GETs.
    pub fn hidden(&self, api: &str, id: u64, now_ms: u64, grace_ms: u64) -> bool {
        self.at
            .get(&(api.to_string(), id))
            .is_some_and(|at| now_ms < at.saturating_add(grace_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_only_within_the_grace_of_its_own_api() {
        let mut g = ScheduleGrace::default();
        g.scheduled("zeebe", 3, 100);
        assert!(g.hidden("zeebe", 3, 100, 50));
        assert!(g.hidden("zeebe", 3, 149, 50));
        assert!(!g.hidden("zeebe", 3, 150, 50));
        assert!(!g.hidden("optimize", 3, 100, 50));
        assert!(!g.hidden("zeebe", 4, 100, 50));
        assert!(!g.hidden("zeebe", 3, 100, 0));
    }
}
