//! The addresses held in a subnet, kept between allocations. Reading every
//! record of a subnet for each allocation made allocations slower as the
//! table grew; the set read once is reused while the database provably did
//! not change under it: no other connection committed (`data_version`),
//! this connection wrote nothing else (`total_changes()`), and the subnet's
//! live records still count and end the same (a covering index answers
//! that without reading rows; it also catches a rolled-back insert).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;

use rusqlite::{Connection, params};

use super::{AllocState, IpamError};

/// Who holds an address, and how.
#[derive(Debug, Clone)]
pub(super) struct Holding {
    pub(super) vmid: Option<u32>,
    pub(super) state: AllocState,
    pub(super) node: String,
}

pub(super) type Taken = HashMap<Ipv4Addr, Vec<Holding>>;

/// What the cached set was read against.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    /// The connection (its address) and path: a cache belongs to one.
    connection: usize,
    path: String,
    cluster: String,
    subnet: String,
    data_version: i64,
    total_changes: i64,
    live_rows: i64,
    last_id: i64,
}

struct Cached {
    stamp: Stamp,
    taken: Taken,
}

/// One subnet at a time: allocations come in bursts on one subnet.
static CACHE: Mutex<Option<Cached>> = Mutex::new(None);

fn stamp(conn: &Connection, cluster: &str, subnet: &str) -> Result<Stamp, IpamError> {
    let data_version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
    let total_changes: i64 = conn.query_row("SELECT total_changes()", [], |r| r.get(0))?;
    let (live_rows, last_id): (i64, i64) = conn
        .prepare_cached(
            "SELECT count(*), coalesce(max(id), 0) FROM ip_allocations
             WHERE cluster = ?1 AND subnet = ?2 AND state IN ('reserved', 'active', 'observed')",
        )?
        .query_row(params![cluster, subnet], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Stamp {
        connection: conn as *const Connection as usize,
        path: conn.path().unwrap_or_default().to_string(),
        cluster: cluster.to_string(),
        subnet: subnet.to_string(),
        data_version,
        total_changes,
        live_rows,
        last_id,
    })
}

fn read(conn: &Connection, cluster: &str, subnet: &str) -> Result<Taken, IpamError> {
    let mut st = conn.prepare_cached(
        "SELECT ip, vmid, state, node FROM ip_allocations
         WHERE cluster = ?1 AND subnet = ?2 AND state IN ('reserved', 'active', 'observed')",
    )?;
    let mut out: Taken = HashMap::new();
    let rows = st.query_map(params![cluster, subnet], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<u32>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (ip, vmid, state, node) = row?;
        if let (Ok(ip), Some(state)) = (ip.parse(), AllocState::parse(&state)) {
            out.entry(ip)
                .or_default()
                .push(Holding { vmid, state, node });
        }
    }
    Ok(out)
}

/// The held set of a subnet, lent out: give it back with `keep` after
/// adding the one record written, or drop it.
pub(super) struct Lent {
    pub(super) taken: Taken,
    stamp: Stamp,
}

/// The addresses held in `subnet`, from the cache when still exact.
pub(super) fn borrow(conn: &Connection, cluster: &str, subnet: &str) -> Result<Lent, IpamError> {
    let now = stamp(conn, cluster, subnet)?;
    let cached = CACHE.lock().unwrap_or_else(|p| p.into_inner()).take();
    let taken = match cached {
        Some(c) if c.stamp == now => c.taken,
        _ => read(conn, cluster, subnet)?,
    };
    Ok(Lent { taken, stamp: now })
}

impl Lent {
    /// Put the set back after this connection inserted exactly one live
    /// record (`id`, holding `ip`) and nothing else.
    pub(super) fn keep(
        mut self,
        conn: &Connection,
        id: i64,
        ip: Ipv4Addr,
        holding: Holding,
    ) -> Result<(), IpamError> {
        self.taken.entry(ip).or_default().push(holding);
        let total_changes: i64 = conn.query_row("SELECT total_changes()", [], |r| r.get(0))?;
        let stamp = Stamp {
            total_changes,
            live_rows: self.stamp.live_rows + 1,
            last_id: id.max(self.stamp.last_id),
            ..self.stamp
        };
        // One insert is one change; anything else and the set is not kept.
        if total_changes == self.stamp.total_changes + 1 {
            *CACHE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
                stamp,
                taken: self.taken,
            });
        }
        Ok(())
    }
}
