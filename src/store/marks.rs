//! Reading a table's change mark (see migration 0007): what a reader
//! compares to know whether what it derived from the table still holds.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

/// The current mark of `table` (`ip_allocations`, `resource_metadata`).
pub fn mark(conn: &Connection, table: &str) -> Result<Vec<u8>, StoreError> {
    let m: Option<Vec<u8>> = conn
        .prepare_cached("SELECT mark FROM change_marks WHERE name = ?1")?
        .query_row(params![table], |r| r.get(0))
        .optional()?;
    Ok(m.unwrap_or_default())
}
