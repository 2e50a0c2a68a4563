//! `proxdeck ip next|assign|list|reconcile`.

use std::net::Ipv4Addr;

use clap::Subcommand;

use super::Cli;
use super::context::{CliError, runtime};
use super::engine_ctx::{engine, inventory, node_inventory};
use super::table;
use crate::engine::identity::{AddressRequest, ReleaseWhat};
use crate::engine::{Actor, Via};
use crate::ipam::LiveAddresses;
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
        /// The guest, by name or VMID
        #[arg(long)]
        resource: String,
        /// Checked against the guest's (optional)
        #[arg(long = "type", value_parser = parse_kind)]
        kind: Option<GuestKind>,
        /// Checked against the guest's node (optional)
        #[arg(long)]
        node: Option<String>,
        #[arg(long)]
        ip: Ipv4Addr,
        /// A MAC, or leave it out for one by the configured scheme
        #[arg(long)]
        mac: Option<MacAddr>,
        #[arg(long)]
        hostname: Option<String>,
    },
    /// Give back an address record (IP), or every record of a guest that is
    /// gone (its name or VMID); the records stay, released, for history
    Release {
        /// An address, or a deleted guest's VMID
        what: String,
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

/// `qemu`/`vm` or `lxc`/`ct`.
pub fn parse_kind(s: &str) -> Result<GuestKind, String> {
    GuestKind::parse(&s.to_ascii_lowercase())
        .ok_or_else(|| format!("'{s}' is not a guest type (qemu, vm, lxc, ct)"))
}

pub fn run(cli: &Cli, cmd: &IpCommand) -> Result<std::process::ExitCode, CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    rt.block_on(async {
        let inv = match cmd {
            // One node's question: that node's guests, the rest from the records.
            IpCommand::Next { node, .. } => node_inventory(&engine, node).await?,
            IpCommand::List { .. } => crate::inventory::Inventory::default(),
            _ => inventory(&engine).await?,
        };
        let live = LiveAddresses::from_inventory(&inv);
        let by = Actor::local(Via::Cli).label();
        match cmd {
            IpCommand::Next {
                node,
                kind,
                reserve,
            } => {
                let next = engine.next_ip(node, *kind, *reserve, &by, &live).await?;
                println!("{}", serde_json::to_string(&next)?);
            }
            IpCommand::Assign {
                resource,
                kind,
                node,
                ip,
                mac,
                hostname,
            } => {
                let a = engine
                    .assign_address(
                        AddressRequest {
                            guest: resource.clone(),
                            kind: *kind,
                            node: node.clone(),
                            ip: *ip,
                            mac: *mac,
                            hostname: hostname.clone(),
                            by,
                        },
                        &inv,
                    )
                    .await?;
                println!("{}", serde_json::to_string_pretty(&a)?);
            }
            IpCommand::Release { what } => {
                let target = match (what.parse::<Ipv4Addr>(), what.parse::<u32>()) {
                    (Ok(ip), _) => ReleaseWhat::Address(ip),
                    (_, Ok(vmid)) => ReleaseWhat::Guest(vmid),
                    _ => {
                        return Err(CliError(format!(
                            "'{what}' is neither an address nor a VMID"
                        )));
                    }
                };
                for a in engine.release_addresses(target, &inv, &by).await? {
                    println!(
                        "released {} on {} ({})",
                        a.ip,
                        a.node,
                        a.holder()
                    );
                }
            }
            IpCommand::List { node, all, json } => {
                let rows = engine.addresses(node.as_deref(), *all).await?;
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
                let report = engine.reconcile_addresses(&inv).await?;
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
    })
}
