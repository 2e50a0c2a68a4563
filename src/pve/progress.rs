//! Progress percentages from Proxmox task logs.

/// The percentage a task log line reports, if it reports one:
/// clone / move-disk / storage migration `transferred 1.0 GiB of 8.0 GiB (12.50%)`,
/// vzdump `INFO:  42% (1.6 GiB of 3.8 GiB) in 3s, ...`,
/// restore `progress 42% (read 343605248 bytes, duration 1 sec)`.
pub fn parse_progress(line: &str) -> Option<f64> {
    let line = line.trim();
    if line.contains("transferred ") && line.contains(" of ") {
        let end = line.find("%)")?;
        let start = line[..end].rfind('(')? + 1;
        return percent(&line[start..end]);
    }
    if let Some(rest) = line.strip_prefix("INFO:") {
        return leading_percent(rest.trim_start());
    }
    if let Some(rest) = line.strip_prefix("progress ") {
        return leading_percent(rest);
    }
    None
}

fn leading_percent(s: &str) -> Option<f64> {
    let end = s.find('%')?;
    let num = &s[..end];
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    percent(num)
}

fn percent(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    (0.0..=100.0).contains(&v).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::parse_progress;

    #[test]
    fn reads_the_formats_proxmox_logs() {
        assert_eq!(
            parse_progress("transferred 1.0 GiB of 8.0 GiB (12.50%)"),
            Some(12.5)
        );
        assert_eq!(
            parse_progress("drive-scsi0: transferred 1.2 GiB of 32.0 GiB (3.75%) in 2s"),
            Some(3.75)
        );
        assert_eq!(
            parse_progress(
                "INFO:  42% (1.6 GiB of 3.8 GiB) in 3s, read: 535.4 MiB/s, write: 120.2 MiB/s"
            ),
            Some(42.0)
        );
        assert_eq!(
            parse_progress("INFO: 100% (3.8 GiB of 3.8 GiB) in 9s"),
            Some(100.0)
        );
        assert_eq!(
            parse_progress("progress 7% (read 343605248 bytes, duration 1 sec)"),
            Some(7.0)
        );
        assert_eq!(
            parse_progress("INFO: Starting Backup of VM 100 (lxc)"),
            None
        );
        assert_eq!(parse_progress("TASK OK"), None);
        assert_eq!(parse_progress("INFO: 250% nonsense"), None);
    }
}
