//! Clock times as access logs write them, to seconds since the Unix epoch (UTC), and
//! back for the summary: nginx's `$time_local` (`29/Nov/2026:12:31:38 +0000`, which is
//! also gunicorn's `%(t)s` inside square brackets) and `$time_iso8601`
//! (`2026-11-29T12:31:38+00:00`). Both are whole seconds (semantics:
//! log-nginx-time-local, log-gunicorn-end-time).

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard
/// Hinnant's days_from_civil).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day counted from 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// A fixed number of ASCII digits.
fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Seconds since the epoch of a date and a time of day in a zone `offset` seconds
/// east of UTC; None for a date or time that does not exist.
fn epoch(y: u32, m: u32, d: u32, hms: (u32, u32, u32), offset: i64) -> Option<f64> {
    let (h, mi, s) = hms;
    // 60 seconds: a leap second as strftime may print it.
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), m, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset;
    Some(secs as f64)
}

/// `12:31:38` as hours, minutes and seconds.
fn time_of_day(s: &str) -> Option<(u32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    Some((digits(&s[0..2])?, digits(&s[3..5])?, digits(&s[6..8])?))
}

/// A zone offset `+0600`, `-0130`, `+06:00` or `Z`, in seconds east of UTC.
fn offset(s: &str) -> Option<i64> {
    if s == "Z" {
        return Some(0);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hhmm = s[1..].replace(':', "");
    if hhmm.len() != 4 {
        return None;
    }
    let h = i64::from(digits(&hhmm[0..2])?);
    let m = i64::from(digits(&hhmm[2..4])?);
    Some(sign * (h * 3600 + m * 60))
}

/// nginx's `$time_local`, `29/Nov/2026:12:31:38 +0000`, or gunicorn's `%(t)s`, the same
/// in square brackets.
pub(super) fn parse_local(s: &str) -> Option<f64> {
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    let (date_time, zone) = s.split_once(' ')?;
    let (date, tod) = date_time.split_at_checked(12)?;
    let mut parts = date.splitn(3, '/');
    let d = digits(parts.next()?)?;
    let month = parts.next()?;
    let m = MONTHS.iter().position(|x| *x == month)? as u32 + 1;
    let y = digits(parts.next()?.strip_suffix(':')?)?;
    epoch(y, m, d, time_of_day(tod)?, offset(zone)?)
}

/// nginx's `$time_iso8601`, `2026-11-29T12:31:38+00:00` (also with `Z`).
pub(super) fn parse_iso(s: &str) -> Option<f64> {
    let (date, rest) = s.split_once('T')?;
    let (tod, zone) = rest.split_at_checked(8)?;
    let mut parts = date.splitn(3, '-');
    let y = digits(parts.next()?)?;
    let m = digits(parts.next()?)?;
    let d = digits(parts.next()?)?;
    epoch(y, m, d, time_of_day(tod)?, offset(zone)?)
}

/// Seconds since the epoch as a UTC time for people: `2026-11-29 12:31:38.229 UTC`
/// (milliseconds shown when there are any).
pub(super) fn utc_text(t: f64) -> String {
    let ms = (t * 1000.0).round() as i64;
    let (secs, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let tod = secs.rem_euclid(86_400);
    let clock = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    );
    if frac == 0 {
        format!("{clock} UTC")
    } else {
        format!("{clock}.{frac:03} UTC")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_and_gunicorn_times_are_seconds_since_the_epoch_in_utc() {
        // The measured request i=8 (semantics: log-nginx-time-local): msec 1795955498.435.
        assert_eq!(
            parse_local("29/Nov/2026:12:31:38 +0000"),
            Some(1795955498.0)
        );
        assert_eq!(
            parse_local("[29/Nov/2026:12:31:38 +0000]"),
            Some(1795955498.0)
        );
        assert_eq!(
            parse_local("29/Nov/2026:18:31:38 +0600"),
            Some(1795955498.0)
        );
        assert_eq!(parse_iso("2026-11-29T12:31:38+00:00"), Some(1795955498.0));
        assert_eq!(parse_iso("2026-11-29T07:01:38-05:30"), Some(1795955498.0));
        assert_eq!(parse_iso("2026-11-29T12:31:38Z"), Some(1795955498.0));
        assert_eq!(parse_local("01/Jan/1970:00:00:00 +0000"), Some(0.0));
        assert_eq!(parse_iso("2000-02-29T00:00:00+00:00"), Some(951782400.0));
    }

    #[test]
    fn malformed_times_are_not_times() {
        for bad in [
            "29/Nov/2026:12:31:38",
            "29/Foo/2026:12:31:38 +0000",
            "29/Nov/2026:25:31:38 +0000",
            "29/Nov/2026 12:31:38 +0000",
            "2026-11-29 12:31:38+00:00",
            "2026-13-29T12:31:38+00:00",
            "2026-11-29T12:31:38+0",
            "",
        ] {
            assert_eq!(parse_local(bad).or_else(|| parse_iso(bad)), None, "{bad}");
        }
    }

    #[test]
    fn utc_text_shows_milliseconds_only_when_there_are_some() {
        assert_eq!(utc_text(1795955498.435), "2026-11-29 12:31:38.435 UTC");
        assert_eq!(utc_text(1795955498.0), "2026-11-29 12:31:38 UTC");
        assert_eq!(utc_text(951782400.0), "2000-02-29 00:00:00 UTC");
    }
}
