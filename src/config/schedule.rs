//! When batches run: a cron expression in the 5-field Unix form or the cron crate's 6- or
//! 7-field form (seconds first, optional year), in UTC or local time.

use std::str::FromStr;

use chrono::{DateTime, Local, Utc};

/// The time zone the cron fields are read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    Utc,
    Local,
}

/// A parsed cron schedule.
#[derive(Clone, Debug)]
pub struct Cron {
    /// As the user wrote it.
    pub text: String,
    schedule: cron::Schedule,
    pub zone: Zone,
}

impl Cron {
    /// Parse `text`. A 5-field Unix line (`min hour dom month dow`) gets `0 ` prepended, since
    /// the cron crate wants seconds first. Unix counts Sunday as 0 in the day-of-week field;
    /// the cron crate counts 1 = Sunday, so 5-field lines with numeric weekdays are shifted
    /// by one to keep their Unix meaning. Names (`Mon-Fri`) are the same in both.
    pub fn parse(text: &str, zone: Zone) -> Result<Self, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let full = match fields.len() {
            5 => {
                let dow = unix_weekdays(fields[4])?;
                format!(
                    "0 {} {} {} {} {}",
                    fields[0], fields[1], fields[2], fields[3], dow
                )
            }
            6 | 7 => fields.join(" "),
            n => {
                return Err(format!(
                    "expected a cron expression of 5 fields (min hour day month weekday, as in crontab) or 6-7 \
                     fields (sec min hour day month weekday [year]). Got {n} field(s): {text:?}"
                ));
            }
        };
        let schedule = cron::Schedule::from_str(&full).map_err(|e| {
            // The cron crate's message spans lines (the expression, a caret, the reason).
            let why: Vec<String> = e
                .to_string()
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect();
            format!("invalid cron expression {text:?}: {}", why.join("; "))
        })?;
        if schedule.after(&Utc::now()).next().is_none() {
            return Err(format!("the cron expression {text:?} never fires again"));
        }
        Ok(Self {
            text: text.to_string(),
            schedule,
            zone,
        })
    }

    /// The first fire time strictly after `t`. Computed anew after every wake, so a clock
    /// jump or a long batch never makes the daemon fire a backlog of missed times.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.zone {
            Zone::Utc => self.schedule.after(&t).next(),
            Zone::Local => self
                .schedule
                .after(&t.with_timezone(&Local))
                .next()
                .map(|d| d.with_timezone(&Utc)),
        }
    }
}

/// Map a Unix day-of-week field (0 or 7 = Sunday … 6 = Saturday) to the cron crate's
/// (1 = Sunday … 7 = Saturday). Names, `*` and `?` pass through.
fn unix_weekdays(field: &str) -> Result<String, String> {
    let shift = |s: &str| -> Result<String, String> {
        match s.parse::<u32>() {
            Ok(n @ 0..=7) => Ok(((n % 7) + 1).to_string()),
            Ok(n) => Err(format!(
                "weekday {n} is out of range 0-7 (0 and 7 are Sunday)"
            )),
            Err(_) => Ok(s.to_string()),
        }
    };
    let mut out = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        let mapped = match range.split_once('-') {
            Some((a, b)) => format!("{}-{}", shift(a)?, shift(b)?),
            None => shift(range)?,
        };
        out.push(match step {
            Some(s) => format!("{mapped}/{s}"),
            None => mapped,
        });
    }
    Ok(out.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn five_field_unix_lines_fire_on_the_minute() {
        let c = Cron::parse("30 22 * * *", Zone::Utc).unwrap();
        assert_eq!(
            c.next_after(at(2026, 12, 1, 9, 0)),
            Some(at(2026, 12, 1, 22, 30))
        );
        assert_eq!(
            c.next_after(at(2026, 12, 1, 22, 30)),
            Some(at(2026, 12, 2, 22, 30))
        );
    }

    #[test]
    fn unix_weekday_numbers_keep_their_meaning() {
        // 2026-12-01 is a Tuesday. Unix `1-5` is Monday to Friday; `0` is Sunday.
        let weekdays = Cron::parse("0 22 * * 1-5", Zone::Utc).unwrap();
        assert_eq!(
            weekdays.next_after(at(2026, 12, 4, 23, 0)),
            Some(at(2026, 12, 7, 22, 0))
        );
        let sunday = Cron::parse("0 3 * * 0", Zone::Utc).unwrap();
        assert_eq!(
            sunday.next_after(at(2026, 12, 1, 0, 0)),
            Some(at(2026, 12, 6, 3, 0))
        );
        let names = Cron::parse("0 22 * * Mon-Fri", Zone::Utc).unwrap();
        assert_eq!(
            names.next_after(at(2026, 12, 4, 23, 0)),
            Some(at(2026, 12, 7, 22, 0))
        );
    }

    #[test]
    fn six_and_seven_field_forms_are_the_cron_crates() {
        let every5s = Cron::parse("*/5 * * * * *", Zone::Utc).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 2).unwrap();
        assert_eq!(
            every5s.next_after(t),
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 5).unwrap())
        );
        assert!(Cron::parse("0 0 22 * * * 2099", Zone::Utc).is_ok());
    }

    #[test]
    fn bad_expressions_say_what_was_expected() {
        let e = Cron::parse("every night", Zone::Utc).unwrap_err();
        assert!(e.contains("5 fields"), "{e}");
        let e = Cron::parse("0 25 * * *", Zone::Utc).unwrap_err();
        assert!(e.contains("invalid cron expression"), "{e}");
        let e = Cron::parse("0 0 * * 9", Zone::Utc).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        assert!(
            Cron::parse("0 0 0 1 1 * 2001", Zone::Utc)
                .unwrap_err()
                .contains("never fires")
        );
    }
}
