//! Quota periods: the calendar year in Asia/Shanghai (UTC+8 all year, no daylight saving).

const SHANGHAI_OFFSET: i64 = 8 * 3600;
const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The year of a day count since 1970-01-01.
fn year_of_days(z: i64) -> i64 {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(m <= 2)
}

/// The Asia/Shanghai calendar year at unix time `t`, and the instant it ends.
pub fn shanghai_year(t: i64) -> (i64, i64) {
    let year = year_of_days((t + SHANGHAI_OFFSET).div_euclid(DAY));
    (
        year,
        days_from_civil(year + 1, 1, 1) * DAY - SHANGHAI_OFFSET,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_year_comes_eight_hours_early() {
        // 2026-12-31T15:59:59Z is 23:59:59 in Shanghai; one second later it is 2027 there.
        let end_2026 = 1_798_732_800; // 2027-01-01T00:00:00+08:00
        assert_eq!(shanghai_year(end_2026 - 1), (2026, end_2026));
        assert_eq!(shanghai_year(end_2026).0, 2027);
        assert_eq!(
            shanghai_year(0),
            (1970, days_from_civil(1971, 1, 1) * DAY - 8 * 3600)
        );
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
