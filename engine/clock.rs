//! clock: wall-clock formatting and reading of RFC 3339 in UTC (the form `rfc3339` writes)
//! without a date crate. Owns nothing else.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2026-11-25T10:42:26.123Z` for a duration since the Unix epoch.
pub fn rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

/// The current time as RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default(),
    )
}

/// Reads back what [`rfc3339`] writes (`YYYY-MM-DDTHH:MM:SS[.fff]Z`) as time since the Unix
/// epoch; `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<Duration> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(str::parse::<u64>);
    let (h, min, sec) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    let millis = match frac.len() {
        0 => 0,
        1..=9 => {
            frac.get(..frac.len().min(3))?.parse::<u64>().ok()?
                * 10u64.pow(3 - frac.len().min(3) as u32)
        }
        _ => return None,
    };
    let days = u64::try_from(days_from_civil(y, m, day)).ok()?;
    Some(Duration::from_millis(
        ((days * 86_400 + h * 3600 + min * 60 + sec) * 1000) + millis,
    ))
}

// Howard Hinnant's civil-to-days algorithm (the inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(Duration::from_secs(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(Duration::from_millis(1_748_937_221_500)),
            "2025-06-03T07:53:41.500Z"
        );
    }

    #[test]
    fn reads_back_what_it_writes() {
        for ms in [0, 1_748_937_221_500, 951_782_400_000, 4_107_542_399_999] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_rfc3339(&rfc3339(d)), Some(d), "{}", rfc3339(d));
        }
        assert_eq!(
            parse_rfc3339("2025-06-03T07:53:41Z"),
            Some(Duration::from_secs(1_748_937_221))
        );
        for bad in [
            "",
            "2025-06-03",
            "2025-13-03T00:00:00Z",
            "2025-06-03T07:53:41+02:00",
            "x-y-zTa:b:cZ",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
