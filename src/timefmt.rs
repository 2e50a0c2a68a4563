//! Local-time formatting of Unix timestamps (Proxmox names backups and logs in
//! the node's local time).

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

/// A Unix time in the system's time zone (UTC if it is out of range).
pub fn local(unix: i64) -> ZonedDateTime {
    Timestamp::from_second(unix)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(TimeZone::system())
}

/// strftime of a Unix time in local time.
pub fn format_local(unix: i64, fmt: &str) -> String {
    local(unix).strftime(fmt).to_string()
}

/// strftime of now in local time.
pub fn now_local(fmt: &str) -> String {
    format_local(crate::store::now(), fmt)
}
