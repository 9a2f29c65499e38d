//! Budget periods and their boundaries. Every period is a UTC calendar period: a day starts at
//! 00:00 UTC, a week on Monday 00:00 UTC (ISO weeks), a month on the 1st at 00:00 UTC; `total`
//! never resets.

use time::{Date, OffsetDateTime};

const DAY_MS: i64 = 86_400_000;

/// How long a virtual key's budget lasts before it starts again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BudgetPeriod {
    Day,
    Week,
    Month,
    Total,
}

impl BudgetPeriod {
    /// Every period, in the order of their wire names in [`BudgetPeriod::NAMES`].
    pub const ALL: [BudgetPeriod; 4] =
        [BudgetPeriod::Day, BudgetPeriod::Week, BudgetPeriod::Month, BudgetPeriod::Total];
    /// The wire names, for error messages.
    pub const NAMES: &'static str = "\"day\", \"week\", \"month\" or \"total\"";

    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "day",
            BudgetPeriod::Week => "week",
            BudgetPeriod::Month => "month",
            BudgetPeriod::Total => "total",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(BudgetPeriod::Day),
            "week" => Some(BudgetPeriod::Week),
            "month" => Some(BudgetPeriod::Month),
            "total" => Some(BudgetPeriod::Total),
            _ => None,
        }
    }

    /// The start (ms since the Unix epoch) of the period that contains `now_ms`; `i64::MIN` for
    /// `total`.
    pub fn start_ms(self, now_ms: i64) -> i64 {
        match self {
            BudgetPeriod::Day => day_start(now_ms),
            BudgetPeriod::Week => {
                let day = now_ms.div_euclid(DAY_MS);
                // 1970-01-01 was a Thursday: Monday is 3 days before it.
                let since_monday = (day + 3).rem_euclid(7);
                (day - since_monday) * DAY_MS
            }
            BudgetPeriod::Month => month_start(now_ms, 0),
            BudgetPeriod::Total => i64::MIN,
        }
    }

    /// When the period that contains `now_ms` ends (the next one starts); `None` for `total`.
    pub fn end_ms(self, now_ms: i64) -> Option<i64> {
        match self {
            BudgetPeriod::Day => Some(day_start(now_ms) + DAY_MS),
            BudgetPeriod::Week => Some(self.start_ms(now_ms) + 7 * DAY_MS),
            BudgetPeriod::Month => Some(month_start(now_ms, 1)),
            BudgetPeriod::Total => None,
        }
    }
}

/// 00:00 UTC of the day that contains `ms`.
pub fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// The first of the month containing `ms`, `months_ahead` months later, at 00:00 UTC.
fn month_start(ms: i64, months_ahead: u8) -> i64 {
    let Ok(t) = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return day_start(ms);
    };
    let (mut year, mut month) = (t.year(), t.month());
    for _ in 0..months_ahead {
        if month == time::Month::December {
            year += 1;
        }
        month = month.next();
    }
    match Date::from_calendar_date(year, month, 1) {
        Ok(d) => d.midnight().assume_utc().unix_timestamp() * 1000,
        Err(_) => day_start(ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2025-11-22T08:26:40.123Z, a Saturday.
    const NOW: i64 = 1_763_800_000_123;

    #[test]
    fn periods_start_and_end_on_utc_calendar_boundaries() {
        assert_eq!(crate::clock::rfc3339_ms(BudgetPeriod::Day.start_ms(NOW)), "2025-11-22T00:00:00.000Z");
        assert_eq!(crate::clock::rfc3339_ms(BudgetPeriod::Day.end_ms(NOW).unwrap()), "2025-11-23T00:00:00.000Z");
        assert_eq!(crate::clock::rfc3339_ms(BudgetPeriod::Week.start_ms(NOW)), "2025-11-17T00:00:00.000Z");
        assert_eq!(crate::clock::rfc3339_ms(BudgetPeriod::Week.end_ms(NOW).unwrap()), "2025-11-24T00:00:00.000Z");
        assert_eq!(crate::clock::rfc3339_ms(BudgetPeriod::Month.start_ms(NOW)), "2025-11-01T00:00:00.000Z");
        assert_eq!(crate::clock::rfc3339_ms(BudgetPeriod::Month.end_ms(NOW).unwrap()), "2025-12-01T00:00:00.000Z");
        assert_eq!(BudgetPeriod::Total.start_ms(NOW), i64::MIN);
        assert_eq!(BudgetPeriod::Total.end_ms(NOW), None);
    }

    #[test]
    fn december_rolls_into_the_next_year_and_weeks_start_on_monday() {
        let dec = 1_766_880_000_000; // 2025-12-28T00:00:00Z, a Sunday
        assert_eq!(crate::clock::rfc3339_ms(BudgetPeriod::Month.end_ms(dec).unwrap()), "2026-01-01T00:00:00.000Z");
        assert_eq!(crate::clock::rfc3339_ms(BudgetPeriod::Week.start_ms(dec)), "2025-12-22T00:00:00.000Z");
        let monday = 1_766_361_600_000; // 2025-12-22T00:00:00Z
        assert_eq!(BudgetPeriod::Week.start_ms(monday), monday);
    }

    #[test]
    fn wire_names_round_trip() {
        for p in BudgetPeriod::ALL {
            assert_eq!(BudgetPeriod::parse(p.as_str()), Some(p));
        }
        assert_eq!(BudgetPeriod::parse("year"), None);
    }
}
