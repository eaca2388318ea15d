//! sim/time: wall-clock timestamps in the exact text forms the simulated products print.
//! It owns date arithmetic only (no chrono dependency); it must not read the simulator state.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

struct Parts {
    y: i64,
    mo: u32,
    d: u32,
    h: u64,
    mi: u64,
    s: u64,
    ms: u64,
}

fn parts(epoch_ms: u64) -> Parts {
    let secs = epoch_ms / 1000;
    let (y, mo, d) = civil((secs / 86_400) as i64);
    let rem = secs % 86_400;
    Parts {
        y,
        mo,
        d,
        h: rem / 3600,
        mi: rem % 3600 / 60,
        s: rem % 60,
        ms: epoch_ms % 1000,
    }
}

/// `2025-06-03T07:55:15.685+0000`: web apps and Optimize `startTime` (reference 4.3, 4.5).
pub fn webapps_time(epoch_ms: u64) -> String {
    let p = parts(epoch_ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms
    )
}

/// `2024-11-01T10:00:00.000000000Z`: Zeebe `createdAt`/`lastUpdatedAt` (reference 4.4).
pub fn zeebe_time(epoch_ms: u64) -> String {
    let p = parts(epoch_ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}000000Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms
    )
}

/// `2025-06-03T07:55:15.685Z`: Elasticsearch/OpenSearch `start_time`/`end_time`.
pub fn es_time(epoch_ms: u64) -> String {
    let p = parts(epoch_ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms
    )
}

/// `2025-06-03`: the date suffix of `zeebe-record_*` index names.
pub fn date(epoch_ms: u64) -> String {
    let p = parts(epoch_ms);
    format!("{:04}-{:02}-{:02}", p.y, p.mo, p.d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instant() {
        // 2025-06-03T07:55:15.685Z
        let ms = 1_748_937_315_685;
        assert_eq!(webapps_time(ms), "2025-06-03T07:55:15.685+0000");
        assert_eq!(zeebe_time(ms), "2025-06-03T07:55:15.685000000Z");
        assert_eq!(es_time(ms), "2025-06-03T07:55:15.685Z");
        assert_eq!(date(ms), "2025-06-03");
    }
}
