//! Short renderings of sizes, ages, durations and bars for tables.

pub use crate::units::bytes;

/// `42s`, `5m`, `3h`, `2d`, `6w`: the largest unit that fits.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        86_400..1_209_600 => format!("{}d", s / 86_400),
        _ => format!("{}w", s / 604_800),
    }
}

/// `1:05`, `12:00`, `1:02:03`: a duration as a clock.
pub fn clock(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A bar of `width` cells filled to `frac` (0..=1), eighths for the edge.
pub fn bar(frac: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let f = if frac.is_finite() {
        frac.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (f * width as f64 * 8.0).round() as usize;
    let full = eighths / 8;
    let mut s: String = "█".repeat(full.min(width));
    if full < width {
        let part = eighths % 8;
        if part > 0 {
            s.push(PARTS[part]);
        }
        let used = s.chars().count();
        s.push_str(&"·".repeat(width - used));
    }
    s
}

/// Seconds left at this pace, from elapsed time and percent done.
pub fn eta(elapsed: i64, percent: f64) -> Option<i64> {
    if !(1.0..100.0).contains(&percent) || elapsed <= 0 {
        return None;
    }
    Some(((elapsed as f64) * (100.0 - percent) / percent).round() as i64)
}

/// Shorten to `max` characters with an ellipsis.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renderings() {
        assert_eq!(bytes(0), "0B");
        assert_eq!(bytes(1536), "1.5K");
        assert_eq!(bytes(1_478_492_160), "1.4G");
        assert_eq!(bytes(200 * 1024 * 1024 * 1024), "200G");
        assert_eq!(age(59), "59s");
        assert_eq!(age(3 * 86_400 + 5), "3d");
        assert_eq!(age(-5), "0s");
        assert_eq!(clock(65), "1:05");
        assert_eq!(clock(3723), "1:02:03");
        assert_eq!(bar(0.5, 4), "██··");
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.0, 3), "···");
        assert_eq!(bar(f64::NAN, 2), "··");
        assert_eq!(bar(0.1, 4).chars().count(), 4);
        assert_eq!(eta(30, 50.0), Some(30));
        assert_eq!(eta(30, 0.0), None);
        assert_eq!(clip("pve-database-01", 8), "pve-dat…");
    }
}
