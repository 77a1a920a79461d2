//! Dates: the store's timestamps and the rules' own dates, both as text that sorts in time
//! order (`2024-03-01` < `2024-03-01T10:00:00Z` < `2024-03-02`).

use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC (RFC 3339); times before 1970 read as 1970.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let t = i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .unwrap_or(jiff::Timestamp::MAX);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A rule's date as `YYYY-MM-DD`: rules write `2024-03-01`, `2024/03/01` (Elastic, old Sigma)
/// or `2024-3-1`, sometimes followed by a time. Anything else is no date.
pub fn normalise_date(s: &str) -> Option<String> {
    let s = s.trim();
    let head = s.split(['T', ' ']).next()?;
    let mut parts = head.split(['-', '/']);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || y.len() != 4
        || !(1..=2).contains(&m.len())
        || !(1..=2).contains(&d.len())
    {
        return None;
    }
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(y) && all_digits(m) && all_digits(d)) {
        return None;
    }
    let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(format!("{y}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // 2000-02-29 12:34:56 UTC, a leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_827_696);
        assert_eq!(timestamp(t), "2000-02-29T12:34:56Z");
        // `date -u -d @1795000000 +%FT%TZ`
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(timestamp(t), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn rule_dates() {
        assert_eq!(normalise_date("2021-11-27").as_deref(), Some("2021-11-27"));
        assert_eq!(normalise_date("2020/02/18").as_deref(), Some("2020-02-18"));
        assert_eq!(normalise_date(" 2020-2-8 ").as_deref(), Some("2020-02-08"));
        assert_eq!(
            normalise_date("2024-05-01T10:00:00Z").as_deref(),
            Some("2024-05-01")
        );
        for bad in [
            "",
            "yesterday",
            "20-01-01",
            "2020-13-01",
            "2020-01-32",
            "2020-01",
            "2020-01-01-01",
            "２０２０-01-01",
        ] {
            assert_eq!(normalise_date(bad), None, "{bad:?}");
        }
    }
}
