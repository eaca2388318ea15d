//! sim/cluster: the Zeebe brokers' partitions — log (processed) position, exported position,
//! exporter position `E` — and the exporting mode (running / soft / hard pause). It owns the
//! rules of how positions move; it must not know HTTP, indices or snapshots (the model feeds
//! indices from `exported` and tells the cluster the lowest index position).

use serde::Serialize;

/// The exporting mode of all partitions (reference 4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exporting {
    Running,
    /// Records keep being exported, the exporter position does not advance.
    SoftPaused,
    /// Nothing is exported.
    HardPaused,
}

/// One partition.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Partition {
    pub partition_id: u32,
    /// Processed position (the log is processed as soon as written).
    pub position: u64,
    /// Up to where records were written into the exporter's indices.
    pub exported: u64,
    /// The exporter position `E` (what the exporter acknowledged; compaction stops there).
    pub exporter_position: u64,
    /// `exported` one and two ticks ago: the web apps and Optimize follow with this lag.
    #[serde(skip)]
    pub history: [u64; 2],
}

/// The partitions and the exporting mode.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub partitions: Vec<Partition>,
    pub exporting: Exporting,
    /// Broker data was deleted: nothing runs until a restore or a fresh start.
    pub data_wiped: bool,
    /// The Zeebe backup the brokers were last restored from.
    pub restored_from: Option<u64>,
}

impl Cluster {
    pub fn new(partitions: u32) -> Self {
        Cluster {
            partitions: (1..=partitions)
                .map(|id| Partition {
                    partition_id: id,
                    position: 0,
                    exported: 0,
                    exporter_position: 0,
                    history: [0; 2],
                })
                .collect(),
            exporting: Exporting::Running,
            data_wiped: false,
            restored_from: None,
        }
    }

    /// Processes `records` more records on every partition and exports them unless exporting is
    /// hard-paused. Returns false when nothing could run (data wiped).
    pub fn grow(&mut self, records: u64) -> bool {
        if self.data_wiped {
            return false;
        }
        for p in &mut self.partitions {
            p.history = [p.exported, p.history[0]];
            p.position += records;
            if self.exporting != Exporting::HardPaused {
                p.exported = p.position;
            }
        }
        true
    }

    /// Advances `E` to what all indices hold (`lowest[i]` for partition i+1), except in a pause.
    pub fn acknowledge(&mut self, lowest: &[u64]) {
        if self.exporting != Exporting::Running {
            return;
        }
        for (p, low) in self.partitions.iter_mut().zip(lowest) {
            // E never passes what was exported and never moves backwards.
            let target = (*low).min(p.exported);
            p.exporter_position = p.exporter_position.max(target);
        }
    }

    /// Soft pause; a hard pause supersedes it and stays (reference 4.2).
    pub fn soft_pause(&mut self) {
        if self.exporting == Exporting::Running {
            self.exporting = Exporting::SoftPaused;
        }
    }

    pub fn hard_pause(&mut self) {
        self.exporting = Exporting::HardPaused;
    }

    /// Resume after either pause; `E` catches up on the next acknowledgements.
    pub fn resume(&mut self) {
        self.exporting = Exporting::Running;
    }

    /// Deletes all broker data.
    pub fn wipe(&mut self) {
        for p in &mut self.partitions {
            p.position = 0;
            p.exported = 0;
            p.exporter_position = 0;
            p.history = [0; 2];
        }
        self.exporting = Exporting::Running;
        self.data_wiped = true;
        self.restored_from = None;
    }

    /// Restores the brokers from a backup: positions as recorded (C, E); records after E are
    /// exported again once the brokers run.
    pub fn restore(&mut self, backup_id: u64, positions: &[(u64, u64)]) {
        for (p, (c, e)) in self.partitions.iter_mut().zip(positions) {
            p.position = *c;
            p.exporter_position = *e;
            p.exported = *e;
            p.history = [*e; 2];
        }
        self.exporting = Exporting::Running;
        self.data_wiped = false;
        self.restored_from = Some(backup_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_pause_keeps_exporting_but_freezes_e() {
        let mut c = Cluster::new(1);
        c.grow(5);
        c.acknowledge(&[5]);
        assert_eq!(c.partitions[0].exporter_position, 5);
        c.soft_pause();
        c.grow(5);
        c.acknowledge(&[10]);
        assert_eq!(c.partitions[0].exported, 10);
        assert_eq!(c.partitions[0].exporter_position, 5);
        c.resume();
        c.acknowledge(&[10]);
        assert_eq!(c.partitions[0].exporter_position, 10);
    }

    #[test]
    fn hard_pause_stops_exporting_and_supersedes_soft() {
        let mut c = Cluster::new(1);
        c.grow(5);
        c.hard_pause();
        c.soft_pause();
        assert_eq!(c.exporting, Exporting::HardPaused);
        c.grow(5);
        assert_eq!(c.partitions[0].exported, 5);
        assert_eq!(c.partitions[0].position, 10);
    }
}
