//! UTC calendar periods (day, ISO week starting Monday, month) over event
//! times in microseconds, and RFC 3339 formatting of those times.

use chrono::{DateTime, Datelike, Months, NaiveDate, SecondsFormat, Utc};

pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The UTC day number (days since 1970-01-01) of an instant.
pub fn day_of(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_DAY)
}

/// Year, month (1-12) and day (1-31) of a day number (the proleptic
/// Gregorian calendar, by integer arithmetic: no table, no allocation).
pub fn civil_from_days(day: i64) -> (i64, i64, i64) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The day number of a calendar date (inverse of `civil_from_days`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Day, Period::Week, Period::Month];

    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            _ => None,
        }
    }

    /// Start of the period containing `micros`. Days and weeks are plain
    /// arithmetic on UTC days (1970-01-01 was a Thursday); months use the
    /// calendar.
    pub fn start_of(self, micros: i64) -> i64 {
        let day = micros.div_euclid(MICROS_PER_DAY);
        match self {
            Period::Day => day * MICROS_PER_DAY,
            Period::Week => (day - (day + 3).rem_euclid(7)) * MICROS_PER_DAY,
            Period::Month => {
                let date = date_of(micros);
                micros_of(date.with_day(1).unwrap_or(date))
            }
        }
    }

    /// The number of the period containing a day: consecutive periods have
    /// consecutive numbers (days since the epoch, weeks since the epoch's
    /// Monday, months since year 0).
    pub fn index_of_day(self, day: i64) -> i64 {
        match self {
            Period::Day => day,
            Period::Week => (day + 3).div_euclid(7),
            Period::Month => {
                let (y, m, _) = civil_from_days(day);
                y * 12 + m - 1
            }
        }
    }

    /// The first day of period number `index`.
    pub fn first_day(self, index: i64) -> i64 {
        match self {
            Period::Day => index,
            Period::Week => index * 7 - 3,
            Period::Month => days_from_civil(index.div_euclid(12), index.rem_euclid(12) + 1, 1),
        }
    }

    /// Start (microseconds) of period number `index`, saturated.
    pub fn start_of_index(self, index: i64) -> i64 {
        self.first_day(index).saturating_mul(MICROS_PER_DAY)
    }

    /// Start of the period after the one starting at `start`.
    pub fn next(self, start: i64) -> i64 {
        match self {
            Period::Day => start.saturating_add(MICROS_PER_DAY),
            Period::Week => start.saturating_add(7 * MICROS_PER_DAY),
            Period::Month => date_of(start)
                .checked_add_months(Months::new(1))
                .map(micros_of)
                .unwrap_or(i64::MAX),
        }
    }

    /// The starts of the periods containing some instant of `[from, to]`
    /// (the reference tests' naive engine walks periods this way).
    #[cfg(test)]
    pub fn starts_between(self, from: i64, to: i64) -> Vec<i64> {
        let mut starts = Vec::new();
        let mut start = self.start_of(from);
        while start <= to {
            starts.push(start);
            start = self.next(start);
        }
        starts
    }
}

fn date_of(micros: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .date_naive()
}

fn micros_of(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_micros())
        .unwrap_or(i64::MIN)
}

/// RFC 3339 UTC, with as many fractional digits as needed (none, 3 or 6).
pub fn rfc3339(micros: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
    let format = if micros % 1_000_000 == 0 {
        SecondsFormat::Secs
    } else if micros % 1000 == 0 {
        SecondsFormat::Millis
    } else {
        SecondsFormat::Micros
    };
    t.to_rfc3339_opts(format, true)
}

/// Parses an RFC 3339 instant into microseconds (sub-microsecond digits are
/// truncated).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn periods_start_at_utc_midnight_monday_and_the_first_of_the_month() {
        let t = at("2026-11-25T13:00:00+05:00"); // a Wednesday, 08:00 UTC
        assert_eq!(rfc3339(Period::Day.start_of(t)), "2026-11-25T00:00:00Z");
        assert_eq!(rfc3339(Period::Week.start_of(t)), "2026-11-23T00:00:00Z");
        assert_eq!(rfc3339(Period::Month.start_of(t)), "2026-11-01T00:00:00Z");
        let sunday = at("2026-11-29T23:59:59.999999Z");
        assert_eq!(
            rfc3339(Period::Week.start_of(sunday)),
            "2026-11-23T00:00:00Z"
        );
        assert_eq!(
            rfc3339(Period::Month.next(at("2026-12-01T00:00:00Z"))),
            "2027-01-01T00:00:00Z"
        );
        let before_epoch = at("1969-12-31T12:00:00Z");
        assert_eq!(
            rfc3339(Period::Day.start_of(before_epoch)),
            "1969-12-31T00:00:00Z"
        );
    }

    #[test]
    fn arithmetic_weeks_and_days_match_the_calendar() {
        use chrono::Days;
        let mut t = at("1965-01-01T00:00:00Z");
        while t < at("2035-01-01T00:00:00Z") {
            let date = date_of(t);
            let monday = date - Days::new(u64::from(date.weekday().num_days_from_monday()));
            assert_eq!(
                Period::Week.start_of(t),
                micros_of(monday),
                "{}",
                rfc3339(t)
            );
            assert_eq!(Period::Day.start_of(t), micros_of(date));
            t += 3 * MICROS_PER_DAY + 7_777_777_777;
        }
    }

    #[test]
    fn period_numbers_and_civil_dates_match_the_calendar() {
        let mut t = at("1000-01-01T00:00:00Z");
        while t < at("2400-03-01T00:00:00Z") {
            let day = day_of(t);
            let date = date_of(t);
            assert_eq!(
                civil_from_days(day),
                (
                    i64::from(date.year()),
                    i64::from(date.month()),
                    i64::from(date.day())
                )
            );
            assert_eq!(
                days_from_civil(date.year().into(), date.month().into(), date.day().into()),
                day
            );
            for p in Period::ALL {
                let index = p.index_of_day(day);
                assert_eq!(
                    p.start_of_index(index),
                    p.start_of(t),
                    "{p:?} {}",
                    rfc3339(t)
                );
                assert_eq!(p.start_of_index(index + 1), p.next(p.start_of(t)));
            }
            t += 17 * MICROS_PER_DAY + 3_333_333_333;
        }
    }

    #[test]
    fn periods_between_cover_both_ends() {
        let starts =
            Period::Week.starts_between(at("2026-11-22T10:00:00Z"), at("2026-11-30T00:00:00Z"));
        let shown: Vec<String> = starts.into_iter().map(rfc3339).collect();
        assert_eq!(
            shown,
            [
                "2026-11-16T00:00:00Z",
                "2026-11-23T00:00:00Z",
                "2026-11-30T00:00:00Z"
            ]
        );
    }

    #[test]
    fn formatting_keeps_the_precision_it_needs() {
        assert_eq!(
            rfc3339(at("2026-01-01T00:00:01.5Z")),
            "2026-01-01T00:00:01.500Z"
        );
        assert_eq!(
            rfc3339(at("2026-01-01T00:00:01.000001Z")),
            "2026-01-01T00:00:01.000001Z"
        );
    }
}
