//! The addresses held in a subnet, kept between allocations. Reading every
//! record of a subnet for each allocation made allocations slower as the
//! table grew; the set read once is reused while the table's change mark
//! (migration 0007: renewed by every change from any process, taken back by
//! a rollback, never repeated) is the one it was read or last updated with.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
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

/// The held addresses of a subnet, with what lets a walk for the lowest
/// free one skip the held run at the start of a range.
#[derive(Debug, Default)]
pub(super) struct Taken {
    held: HashMap<Ipv4Addr, Vec<Holding>>,
    /// Guests holding something here (their own records may give way).
    vmids: HashSet<u32>,
    /// Per range start: an address below which every address of the range
    /// is held. Holdings are only added while the set is kept, so it stays
    /// true; a fresh read starts without it.
    held_below: Cell<Option<(Ipv4Addr, Ipv4Addr)>>,
}

impl Taken {
    pub(super) fn get(&self, ip: &Ipv4Addr) -> Option<&Vec<Holding>> {
        self.held.get(ip)
    }

    fn add(&mut self, ip: Ipv4Addr, h: Holding) {
        if let Some(v) = h.vmid {
            self.vmids.insert(v);
        }
        self.held.entry(ip).or_default().push(h);
    }

    /// Whether a guest's records are among the holdings.
    pub(super) fn holds_for(&self, vmid: u32) -> bool {
        self.vmids.contains(&vmid)
    }

    /// Where a walk of the range starting at `start` may begin.
    pub(super) fn walk_from(&self, start: Ipv4Addr) -> Ipv4Addr {
        match self.held_below.get() {
            Some((s, below)) if s == start => below,
            _ => start,
        }
    }

    /// Every address from `start` up to `below` is held.
    pub(super) fn all_held(&self, start: Ipv4Addr, below: Ipv4Addr) {
        self.held_below.set(Some((start, below)));
    }
}

/// What the cached set was read against.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    /// The database file: a cache belongs to one.
    path: String,
    cluster: String,
    subnet: String,
    mark: Vec<u8>,
}

struct Cached {
    stamp: Stamp,
    taken: Taken,
}

/// One subnet at a time: allocations come in bursts on one subnet.
static CACHE: Mutex<Option<Cached>> = Mutex::new(None);

fn stamp(conn: &Connection, cluster: &str, subnet: &str) -> Result<Stamp, IpamError> {
    Ok(Stamp {
        path: conn.path().unwrap_or_default().to_string(),
        cluster: cluster.to_string(),
        subnet: subnet.to_string(),
        mark: crate::store::marks::mark(conn, "ip_allocations")?,
    })
}

fn read(conn: &Connection, cluster: &str, subnet: &str) -> Result<Taken, IpamError> {
    let mut st = conn.prepare_cached(
        "SELECT ip, vmid, state, node FROM ip_allocations
         WHERE cluster = ?1 AND subnet = ?2 AND state IN ('reserved', 'active', 'observed')",
    )?;
    let mut out = Taken::default();
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
            out.add(ip, Holding { vmid, state, node });
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
    /// record (holding `ip`) and nothing else since it was lent.
    pub(super) fn keep(
        mut self,
        conn: &Connection,
        ip: Ipv4Addr,
        holding: Holding,
    ) -> Result<(), IpamError> {
        self.taken.add(ip, holding);
        let stamp = Stamp {
            mark: crate::store::marks::mark(conn, "ip_allocations")?,
            ..self.stamp
        };
        *CACHE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
            stamp,
            taken: self.taken,
        });
        Ok(())
    }
}
