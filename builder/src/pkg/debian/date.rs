//! The one date format Release files use: `Sat, 28 Nov 2026 00:53:02 UTC`.

/// Seconds since the Unix epoch, or `None` when the text is not such a date
/// in UTC (Debian's archive always writes UTC).
pub fn parse_rfc2822(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.split_once(", ").map_or(text, |(_, rest)| rest);
    let mut parts = text.split_whitespace();
    let day: i64 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if !matches!(parts.next(), Some("UTC" | "GMT" | "+0000" | "Z")) {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar
/// (Howard Hinnant's well-known algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_rfc2822;

    #[test]
    fn release_dates_become_unix_seconds() {
        assert_eq!(parse_rfc2822("Thu, 01 Jan 1970 00:00:00 UTC"), Some(0));
        assert_eq!(
            parse_rfc2822("Sat, 28 Nov 2026 00:53:02 UTC"),
            Some(1_795_827_182)
        );
        assert_eq!(
            parse_rfc2822("29 Feb 2024 12:00:00 UTC"),
            Some(1_709_208_000)
        );
    }

    #[test]
    fn other_zones_and_garbage_are_not_dates() {
        assert_eq!(parse_rfc2822("Sat, 28 Nov 2026 00:53:02 +0100"), None);
        assert_eq!(parse_rfc2822("tomorrow"), None);
        assert_eq!(parse_rfc2822("Sat, 28 Foo 2026 00:53:02 UTC"), None);
    }
}
