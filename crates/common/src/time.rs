//! Timestamp parsing and formatting without a calendar dependency (proleptic Gregorian, UTC).

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Broken-down fields of a timestamp in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Calendar year (proleptic Gregorian; may be negative or zero).
    pub year: i64,
    /// Month of the year, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour of the day, 0–23 (UTC).
    pub hour: u32,
    /// Minute of the hour, 0–59.
    pub minute: u32,
    /// Second of the minute, 0–59.
    pub second: u32,
    /// Millisecond of the second, 0–999.
    pub milli: u32,
}

impl DateTime {
    /// Splits milliseconds since the epoch (UTC) into calendar fields; works before 1970 too.
    pub fn from_millis(ms: i64) -> DateTime {
        let days = ms.div_euclid(86_400_000);
        let rem = ms.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3_600_000) as u32,
            minute: (rem / 60_000 % 60) as u32,
            second: (rem / 1000 % 60) as u32,
            milli: (rem % 1000) as u32,
        }
    }
    /// Milliseconds since the epoch (UTC); the inverse of `from_millis`. Fields are not range-checked.
    pub fn to_millis(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400_000
            + self.hour as i64 * 3_600_000
            + self.minute as i64 * 60_000
            + self.second as i64 * 1000
            + self.milli as i64
    }
}

/// `YYYY-MM-DD HH:MM:SS.fff`, the form Darwin writes TIMESTAMP(3) in.
pub fn format_timestamp(ms: i64) -> String {
    let mut s = String::with_capacity(23);
    push_timestamp(ms, &mut s);
    s
}

/// Appends `format_timestamp(ms)` to `out` (no allocation: file sinks write one per row).
pub fn push_timestamp(ms: i64, out: &mut String) {
    use std::fmt::Write;
    let t = DateTime::from_millis(ms);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.milli
    );
}

/// Parses a positive duration with a unit, as CLI flags and Flink-style options write them:
/// `250ms`, `1s`, `1.5 s`, `2 min`, `30 minutes`, `1h`. The error is a sentence for the user.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("'{s}' is not a duration such as 200ms, 1s or 1m"))?;
    let secs = match unit.trim().to_ascii_lowercase().as_str() {
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => n / 1000.0,
        "s" | "sec" | "secs" | "second" | "seconds" => n,
        "m" | "min" | "mins" | "minute" | "minutes" => n * 60.0,
        "h" | "hour" | "hours" => n * 3600.0,
        "" => return Err(format!("'{s}' needs a unit: ms, s, m or h (e.g. 200ms, 1s)")),
        u => return Err(format!("unknown unit '{u}' in '{s}'; use ms, s, m or h")),
    };
    if !(secs > 0.0 && secs < 1e9) {
        return Err(format!("'{s}' must be a positive duration"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// Parses `YYYY-MM-DD[ |T]HH:MM:SS[.f{1,9}]` or a bare date. Returns None when malformed.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    // Digits read in place (this runs once per timestamp field of every record read).
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if part.is_empty() {
            return None;
        }
        part.iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(0..4)? as i64, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut t = DateTime { year, month, day, hour: 0, minute: 0, second: 0, milli: 0 };
    if b.len() > 10 {
        if (b[10] != b' ' && b[10] != b'T') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
            return None;
        }
        t.hour = num(11..13)?;
        t.minute = num(14..16)?;
        t.second = num(17..19)?;
        if t.hour > 23 || t.minute > 59 || t.second > 59 {
            return None;
        }
        if b.len() > 19 {
            if b[19] != b'.' || b.len() == 20 || b.len() > 29 {
                return None;
            }
            let frac = &b[20..];
            if !frac.iter().all(u8::is_ascii_digit) {
                return None;
            }
            // Milliseconds: the first three digits, padded with zeros (`.5` is 500 ms).
            t.milli = (0..3).fold(0, |n, i| n * 10 + frac.get(i).map_or(0, |c| u32::from(c - b'0')));
        }
    }
    Some(t.to_millis())
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Formats a timestamp with a Java `SimpleDateFormat`-style pattern, as Flink's DATE_FORMAT does
/// (`yyyy`, `MM`, `dd`, `HH`, `mm`, `ss`, `SSS`; text in single quotes is literal).
pub fn date_format(ms: i64, pattern: &str) -> String {
    let t = DateTime::from_millis(ms);
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let field = match c {
            'y' => Some(if n == 2 { (t.year % 100) as u64 } else { t.year as u64 }),
            'M' => Some(t.month as u64),
            'd' => Some(t.day as u64),
            'H' => Some(t.hour as u64),
            'm' => Some(t.minute as u64),
            's' => Some(t.second as u64),
            'S' => Some(t.milli as u64),
            _ => None,
        };
        match field {
            Some(v) => out.push_str(&format!("{v:0n$}")),
            None => (0..n).for_each(|_| out.push(c)),
        }
        i += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn timestamps_round_trip() {
        for s in ["1970-01-01 00:00:00.000", "2024-02-29 23:59:59.999", "1969-12-31 23:59:59.500"] {
            assert_eq!(format_timestamp(parse_timestamp(s).unwrap()), s);
        }
        assert_eq!(parse_timestamp("2024-01-01 00:00:01"), Some(1_704_067_201_000));
        assert_eq!(parse_timestamp("2024-01-01T00:00:01.5"), Some(1_704_067_201_500));
        assert_eq!(parse_timestamp("2023-02-29 00:00:00"), None);
        assert_eq!(parse_timestamp("garbage"), None);
        // Fractions of 1 to 9 digits are read to the millisecond; a bare date is midnight.
        assert_eq!(parse_timestamp(" 2024-01-01 00:00:01.123456789 "), Some(1_704_067_201_123));
        assert_eq!(parse_timestamp("2024-01-01 00:00:01.05"), Some(1_704_067_201_050));
        assert_eq!(parse_timestamp("2024-01-01"), Some(1_704_067_200_000));
        for bad in [
            "2024-1-01",
            "2024-01-01 00:00:01.",
            "2024-01-01 00:00:0a",
            "2024-01-01 24:00:00",
            "2024-01-01 00:00:01.1234567890",
            "2024-01-01 00:00:01.5x",
            "+024-01-01",
            "2024-01-01 00:00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
    #[test]
    fn date_format_follows_java_patterns() {
        let ms = parse_timestamp("2024-03-05 07:08:09.010").unwrap();
        assert_eq!(date_format(ms, "yyyy-MM-dd HH:mm:ss.SSS"), "2024-03-05 07:08:09.010");
        assert_eq!(date_format(ms, "HH:mm"), "07:08");
        assert_eq!(date_format(ms, "yyyy'T'MM"), "2024T03");
    }
}
