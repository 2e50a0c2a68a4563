//! `proxdeck ip next|assign|list|reconcile`.

use std::net::Ipv4Addr;

use clap::Subcommand;
use serde_json::json;

use super::Cli;
use super::context::CliError;
use super::identity::{IdentityContext, actor, parse_kind};
use super::table;
use crate::inventory::Inventory;
use crate::ipam::alloc::Ipam;
use crate::ipam::{AllocState, MacWanted, ReserveRequest};
use crate::macaddr::MacAddr;
use crate::pve::GuestKind;

#[derive(Debug, Subcommand)]
pub enum IpCommand {
    /// The next free address for a guest type on a node: {"ip": ..., "gateway": ...}
    Next {
        #[arg(long)]
        node: String,
        #[arg(long = "type", value_parser = parse_kind)]
        kind: GuestKind,
        /// Also reserve it (and a MAC) until released
        #[arg(long)]
        reserve: bool,
    },
    /// Record a static address (and MAC, hostname) for an existing guest
    Assign {
        #[arg(long)]
        resource: u32,
        #[arg(long = "type", value_parser = parse_kind)]
        kind: GuestKind,
        #[arg(long)]
        node: String,
        #[arg(long)]
        ip: Ipv4Addr,
        /// A MAC, or leave it out for one by the configured scheme
        #[arg(long)]
        mac: Option<MacAddr>,
        #[arg(long)]
        hostname: Option<String>,
    },
    /// Addresses held (reserved, active, observed)
    List {
        #[arg(long)]
        node: Option<String>,
        /// Include released records
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Import the addresses live guests use and report conflicts (exit 1 when any)
    Reconcile {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cli: &Cli, cmd: &IpCommand) -> Result<std::process::ExitCode, CliError> {
    let ctx = IdentityContext::open(cli)?;
    let ipam = Ipam::new(&ctx.cluster, &ctx.config.naming);
    match cmd {
        IpCommand::Next {
            node,
            kind,
            reserve,
        } => {
            let live = ctx.live();
            if *reserve {
                let by = actor();
                let mut req = ReserveRequest::new(node, *kind, &by);
                req.state = AllocState::Reserved;
                let a = ctx.store.write(|tx| ipam.reserve(tx, &req, &live))?;
                let gw = crate::ipam::ranges::subnet_of(&ctx.config.naming, node)?
                    .1
                    .gateway;
                println!(
                    "{}",
                    json!({"ip": a.ip, "gateway": gw, "mac": a.mac, "reservation_id": a.id})
                );
            } else {
                let (ip, gw) = ctx.store.read(|c| ipam.next_ip(c, node, *kind, &live))?;
                println!("{}", json!({"ip": ip, "gateway": gw}));
            }
        }
        IpCommand::Assign {
            resource,
            kind,
            node,
            ip,
            mac,
            hostname,
        } => {
            let live = ctx.live();
            let by = actor();
            let a = ctx.store.write(|tx| {
                let mut req = ReserveRequest::new(node, *kind, &by);
                req.vmid = Some(*resource);
                req.ip = Some(*ip);
                req.hostname = hostname.as_deref();
                req.name = hostname.as_deref();
                req.mac = mac.map(MacWanted::Given).unwrap_or(MacWanted::Auto);
                req.state = AllocState::Active;
                ipam.reserve(tx, &req, &live)
            })?;
            println!("{}", serde_json::to_string_pretty(&a)?);
        }
        IpCommand::List { node, all, json } => {
            let rows = ctx.store.read(|c| ipam.list(c, node.as_deref(), *all))?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let body: Vec<Vec<String>> = rows
                    .iter()
                    .map(|a| {
                        vec![
                            a.node.clone(),
                            a.ip.to_string(),
                            a.kind.to_string(),
                            a.state.to_string(),
                            a.vmid.map(|v| v.to_string()).unwrap_or_default(),
                            a.resource_name.clone().unwrap_or_default(),
                            a.mac.map(|m| m.to_string()).unwrap_or_default(),
                            a.hostname.clone().unwrap_or_default(),
                            crate::timefmt::format_local(a.allocated_at, "%Y-%m-%d %H:%M"),
                        ]
                    })
                    .collect();
                println!(
                    "{}",
                    table::render(
                        &[
                            "NODE", "IP", "TYPE", "STATE", "VMID", "NAME", "MAC", "HOSTNAME",
                            "SINCE"
                        ],
                        &body
                    )
                );
            }
        }
        IpCommand::Reconcile { json } => {
            let Some(inv) = ctx.inventory()? else {
                return Err(CliError(
                    "no cluster configured: nothing to reconcile with".into(),
                ));
            };
            let report = reconcile(&ctx, &ipam, &inv)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "checked {} guests: {} address(es) imported, {} observed record(s) released, {} conflict(s)",
                    report.guests_checked,
                    report.imported.len(),
                    report.released.len(),
                    report.conflicts.len()
                );
                for a in &report.imported {
                    println!("  imported  {} {} ({})", a.node, a.ip, a.holder());
                }
                for c in &report.conflicts {
                    println!("  CONFLICT  {c}");
                }
            }
            if !report.conflicts.is_empty() {
                return Ok(std::process::ExitCode::FAILURE);
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Reconcile and bring metadata up to date in one transaction.
pub fn reconcile(
    ctx: &IdentityContext,
    ipam: &Ipam,
    inv: &Inventory,
) -> Result<crate::ipam::reconcile::ReconcileReport, CliError> {
    let conv = crate::naming::Convention::new(&ctx.config.naming);
    let report = ctx.store.write(|tx| {
        crate::metadata::sync(tx, &ctx.cluster, &conv, inv)?;
        ipam.reconcile(tx, inv)
    })?;
    Ok(report)
}
