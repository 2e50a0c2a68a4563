//! Local-time formatting of Unix timestamps (Proxmox names backups and logs in
//! the node's local time).

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

/// A Unix time in the system's time zone (UTC if it is out of range).
pub fn local(unix: i64) -> ZonedDateTime {
    in_zone(unix, &TimeZone::system())
}

/// A Unix time in `tz` (the epoch if it is out of range). Code that must
/// not depend on where proxdeck runs (a node's prune periods, the
/// console's clock under test) passes its zone here.
pub fn in_zone(unix: i64, tz: &TimeZone) -> ZonedDateTime {
    Timestamp::from_second(unix)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(tz.clone())
}

/// strftime of a Unix time in `tz`.
pub fn format_in(unix: i64, fmt: &str, tz: &TimeZone) -> String {
    in_zone(unix, tz).strftime(fmt).to_string()
}

/// strftime of a Unix time in local time.
pub fn format_local(unix: i64, fmt: &str) -> String {
    local(unix).strftime(fmt).to_string()
}

/// strftime of now in local time.
pub fn now_local(fmt: &str) -> String {
    format_local(crate::store::now(), fmt)
}
