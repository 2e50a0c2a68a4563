//! Property tests: any sequence of allocate / assign / activate / release /
//! reconcile keeps addresses and MACs unique and inside the rules.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use proxdeck::config::Config;
use proxdeck::inventory::{GuestInfo, Inventory, Nic};
use proxdeck::ipam::alloc::Ipam;
use proxdeck::ipam::{IpamError, LiveAddresses, MacWanted, ReserveRequest};
use proxdeck::macaddr::MacAddr;
use proxdeck::pve::GuestKind;
use proxdeck::pve::propstring::IpSetting;
use proxdeck::store::{Store, StoreError};

const NAMING: &str = r#"
naming_pattern: "pve-{type}-{seq:02d}"
nodes:
  - name: node-01
  - name: node-02
ip_ranges:
  node-01:
    subnet: "10.1.0.0/28"
    gateway: "10.1.0.1"
    vm_range_start: "10.1.0.2"
    vm_range_end: "10.1.0.6"
    lxc_range_start: "10.1.0.7"
    lxc_range_end: "10.1.0.13"
    reserved: ["10.1.0.4"]
  node-02:
    subnet: "10.2.0.0/28"
    vm_range_start: "10.2.0.2"
    lxc_range_start: "10.2.0.8"
"#;

fn config() -> Config {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("naming-conventions.yml"), NAMING).unwrap();
    std::fs::write(
        dir.path().join("action-policies.yml"),
        "approval_required: []\n",
    )
    .unwrap();
    Config::load(dir.path()).unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    Reserve {
        node: u8,
        lxc: bool,
        vmid: Option<u32>,
        exact: Option<u8>,
        mac: Option<u8>,
    },
    Assign {
        node: u8,
        lxc: bool,
        vmid: u32,
        host: u8,
    },
    Activate {
        pick: usize,
        vmid: u32,
    },
    Release {
        pick: usize,
    },
    ReleaseAction {
        action: u8,
    },
    Reconcile {
        guests: Vec<(u32, u8, u8, u8)>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0u8..2,
            any::<bool>(),
            proptest::option::of(100u32..110),
            proptest::option::of(0u8..16),
            proptest::option::of(0u8..4)
        )
            .prop_map(|(node, lxc, vmid, exact, mac)| Op::Reserve {
                node,
                lxc,
                vmid,
                exact,
                mac
            }),
        (0u8..2, any::<bool>(), 100u32..110, 0u8..16).prop_map(|(node, lxc, vmid, host)| {
            Op::Assign {
                node,
                lxc,
                vmid,
                host,
            }
        }),
        (any::<usize>(), 100u32..110).prop_map(|(pick, vmid)| Op::Activate { pick, vmid }),
        any::<usize>().prop_map(|pick| Op::Release { pick }),
        (0u8..3).prop_map(|action| Op::ReleaseAction { action }),
        proptest::collection::vec((100u32..110, 0u8..2, 0u8..20, 0u8..4), 0..6)
            .prop_map(|guests| Op::Reconcile { guests }),
    ]
}

fn node(n: u8) -> &'static str {
    if n == 0 { "node-01" } else { "node-02" }
}

fn kind(lxc: bool) -> GuestKind {
    if lxc { GuestKind::Lxc } else { GuestKind::Qemu }
}

/// A live inventory with guests at arbitrary (even conflicting) addresses.
fn inventory(guests: &[(u32, u8, u8, u8)]) -> Inventory {
    let mut inv = Inventory::default();
    for (vmid, n, host, mac) in guests {
        let net: u8 = if *n == 0 { 1 } else { 2 };
        inv.guests.push(GuestInfo {
            vmid: *vmid,
            name: format!("g{vmid}"),
            node: format!("pve-{}", node(*n)),
            kind: GuestKind::Lxc,
            status: "running".into(),
            template: false,
            tags: vec![],
            lock: None,
            cpu: None,
            maxcpu: None,
            mem: None,
            maxmem: None,
            uptime: None,
            hostname: None,
            nics: vec![Nic {
                key: "net0".into(),
                mac: Some(MacAddr([2, 0, 0, 0xEE, 0, *mac])),
                ip: Some(IpSetting::Static(
                    format!("10.{net}.0.{host}/28").parse().unwrap(),
                )),
                gw: None,
                bridge: None,
            }],
            storages: vec![],
            media: Vec::new(),
            config_known: true,
        });
    }
    inv
}

/// The rules no sequence of operations may break.
fn check_invariants(store: &Store, cfg: &Config) {
    type Live = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<u32>,
        String,
    );
    let rows: Vec<Live> = store
        .read(|c| {
            let mut st = c.prepare("SELECT node, subnet, ip, guest_type, mac, vmid, state FROM ip_allocations WHERE state IN ('reserved', 'active')")?;
            let r = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>(r)
        })
        .unwrap();
    // Live records are unique per state; across states only one guest's
    // records may share an address or MAC (a re-address in progress).
    let mut ips = std::collections::HashMap::new();
    let mut macs = std::collections::HashMap::new();
    for (node, subnet, ip, kind, mac, vmid, state) in &rows {
        let owner = (*vmid, state.clone());
        if let Some((other, other_state)) = ips.insert((subnet.clone(), ip.clone()), owner.clone())
        {
            assert!(
                other_state != *state && other.is_some() && other == *vmid,
                "duplicate live address {ip} in {subnet}"
            );
        }
        if let Some(m) = mac
            && let Some((other, other_state)) = macs.insert(m.clone(), owner.clone())
        {
            assert!(
                other_state != *state && other.is_some() && other == *vmid,
                "duplicate live MAC {m}"
            );
        }
        let sub = &cfg.naming.subnets[node];
        let ip: Ipv4Addr = ip.parse().unwrap();
        assert_ne!(ip, sub.gateway, "the gateway was handed out");
        assert!(
            !sub.reserved.contains(&ip),
            "a reserved address was handed out"
        );
        let range = if kind == "lxc" {
            sub.lxc_range
        } else {
            sub.vm_range
        };
        assert!(
            range.contains(ip),
            "{ip} is outside the {kind} range {range}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn addresses_and_macs_stay_unique_and_in_range(ops in proptest::collection::vec(op(), 1..40)) {
        let cfg = config();
        let ipam = Ipam::new("lab", &cfg.naming);
        let store = Store::open_in_memory().unwrap();
        let mut live = LiveAddresses::default();
        for op in ops {
            let result: Result<(), IpamError> = store.write(|tx| {
                let ids: Vec<i64> = {
                    let mut st = tx.prepare("SELECT id FROM ip_allocations ORDER BY id")?;
                    st.query_map([], |r| r.get(0))?.collect::<Result<Vec<_>, _>>()?
                };
                match &op {
                    Op::Reserve { node: n, lxc, vmid, exact, mac } => {
                        let action = format!("a{}", vmid.unwrap_or(0) % 3);
                        let mut req = ReserveRequest::new(node(*n), kind(*lxc), "prop");
                        req.vmid = *vmid;
                        req.action_id = Some(&action);
                        req.ip = exact.map(|h| Ipv4Addr::new(10, n + 1, 0, h));
                        req.mac = mac.map(|m| MacWanted::Given(MacAddr([2, 0, 0, 0xEE, 0, m]))).unwrap_or(MacWanted::Auto);
                        ipam.reserve(tx, &req, &live).map(|_| ())
                    }
                    Op::Assign { node: n, lxc, vmid, host } => ipam
                        .assign(tx, *vmid, node(*n), kind(*lxc), Ipv4Addr::new(10, n + 1, 0, *host), None, None, None, "prop", &live)
                        .map(|_| ()),
                    Op::Activate { pick, vmid } if !ids.is_empty() => ipam.activate(tx, ids[pick % ids.len()], *vmid),
                    Op::Release { pick } if !ids.is_empty() => ipam.release(tx, ids[pick % ids.len()]),
                    Op::ReleaseAction { action } => ipam.release_for_action(tx, &format!("a{action}")).map(|_| ()),
                    Op::Reconcile { guests } => {
                        let inv = inventory(guests);
                        live = LiveAddresses::from_inventory(&inv);
                        ipam.reconcile(tx, &inv).map(|_| ())
                    }
                    _ => Ok(()),
                }
            });
            // Refusals are fine; the database having to stop a duplicate is not.
            if let Err(IpamError::Store(e)) = &result {
                prop_assert!(false, "the database refused what the engine allowed: {e} after {op:?}");
            }
            check_invariants(&store, &cfg);
        }
    }
}

/// The allocator keeps a subnet's held set between allocations; a
/// reservation whose transaction rolls back must not stay in it.
#[test]
fn a_rolled_back_reservation_gives_its_address_back() {
    let cfg = config();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let ipam = Ipam::new("c", &cfg.naming);
    let live = LiveAddresses::default();
    let req = ReserveRequest::new("node-01", GuestKind::Lxc, "test");
    let first = store.write(|tx| ipam.reserve(tx, &req, &live)).unwrap();
    let mut lost = None;
    let failed: Result<(), IpamError> = store.write(|tx| {
        lost = Some(ipam.reserve(tx, &req, &live)?.ip);
        Err(IpamError::Store(StoreError::Worker(
            "a later step failed".into(),
        )))
    });
    assert!(failed.is_err());
    let lost = lost.unwrap();
    assert_ne!(lost, first.ip);
    let again = store.write(|tx| ipam.reserve(tx, &req, &live)).unwrap();
    assert_eq!(again.ip, lost, "the rolled-back address is free again");
    // Another connection's reservation is seen too.
    let other = Store::open(&dir.path().join("t.db")).unwrap();
    let theirs = other.write(|tx| ipam.reserve(tx, &req, &live)).unwrap();
    let mine = store.write(|tx| ipam.reserve(tx, &req, &live)).unwrap();
    assert_ne!(mine.ip, theirs.ip);
    assert!(u32::from(mine.ip) > u32::from(theirs.ip));
}
