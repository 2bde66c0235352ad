//! Times as the command line takes them: Unix seconds, an RFC 3339 time, or a calendar date
//! (midnight China Standard Time, the start of the day the issuing office means).

use super::output::CST;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Unix seconds from `1798732800`, `2027-01-01T00:00:00+08:00` or `2027-01-01`.
pub(crate) fn unix_seconds(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    date(text).map(|d| {
        PrimitiveDateTime::new(d, Time::MIDNIGHT)
            .assume_offset(CST)
            .unix_timestamp()
    })
}

/// `YYYY-MM-DD`, a real day.
fn date(text: &str) -> Result<Date, String> {
    let why = || {
        format!(
            "{text:?} is not a time: give Unix seconds, an RFC 3339 time \
             (2027-01-01T09:00:00+08:00) or a date (2027-01-01, from 00:00 +08:00)"
        )
    };
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(why());
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
        return Err(why());
    }
    let (y, m, d) = (
        y.parse::<i32>().map_err(|_| why())?,
        m.parse::<u8>().map_err(|_| why())?,
        d.parse::<u8>().map_err(|_| why())?,
    );
    let month = Month::try_from(m).map_err(|_| why())?;
    Date::from_calendar_date(y, month, d).map_err(|_| why())
}

#[cfg(test)]
mod tests {
    use super::unix_seconds;

    #[test]
    fn every_form_names_the_same_moment() {
        // 2027-01-01 00:00 in Beijing is 2026-12-31 16:00 UTC.
        for text in [
            "1798732800",
            "2027-01-01",
            "2027-01-01T00:00:00+08:00",
            "2026-12-31T16:00:00Z",
            " 2027-01-01 ",
        ] {
            assert_eq!(unix_seconds(text), Ok(1_798_732_800), "{text}");
        }
        assert_eq!(unix_seconds("-1"), Ok(-1));
        assert_eq!(
            unix_seconds("2027-01-01T09:30:15.5+08:00"),
            Ok(1_798_767_015)
        );
    }

    #[test]
    fn what_is_not_a_time_is_named() {
        for text in [
            "",
            "tomorrow",
            "2027-02-30",
            "2027-13-01",
            "2027-1-1",
            "27-01-01",
            "2027-01-01T25:00:00+08:00",
            "2027-01-01 09:00",
            "+2027-01-01",
        ] {
            let e = unix_seconds(text).expect_err(text);
            assert!(e.contains("is not a time"), "{text}: {e}");
        }
    }
}
