//! `proxdeck inventory`: nodes and guests of the cluster, with addresses from configs.

use serde_json::json;

use super::context::{CliError, connect, load_config, runtime};
use super::{Cli, table};
use crate::inventory::{Inventory, RefreshOptions};

pub fn run(cli: &Cli, json_out: bool, node: Option<&str>) -> Result<(), CliError> {
    let config = load_config(cli)?;
    let (_, client) = connect(cli, &config)?;
    let rt = runtime()?;
    let options = RefreshOptions {
        only_node: node.map(str::to_string),
        read_tasks: false,
        ..RefreshOptions::default()
    };
    let (mut inv, _) = rt.block_on(Inventory::refresh(&client, None, &options))?;
    if let Some(n) = node {
        if inv.node(n).is_none() {
            return Err(CliError(format!("no node named '{n}' in the cluster")));
        }
        inv.guests.retain(|g| g.node == n);
        inv.nodes.retain(|x| x.name == n);
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&to_json(&inv))?);
    } else {
        print!("{}", to_text(&inv));
    }
    Ok(())
}

fn to_json(inv: &Inventory) -> serde_json::Value {
    json!({
        "nodes": inv.nodes,
        "guests": inv.guests.iter().map(|g| json!({
            "vmid": g.vmid,
            "name": g.name,
            "node": g.node,
            "type": g.kind,
            "status": g.status,
            "template": g.template,
            "tags": g.tags,
            "hostname": g.hostname,
            "ips": g.nics.iter().filter_map(|n| n.ip.map(|i| i.to_string())).collect::<Vec<_>>(),
            "macs": g.nics.iter().filter_map(|n| n.mac.map(|m| m.to_string())).collect::<Vec<_>>(),
            "nics": g.nics,
        })).collect::<Vec<_>>(),
    })
}

fn to_text(inv: &Inventory) -> String {
    let nodes: Vec<Vec<String>> = inv
        .nodes
        .iter()
        .map(|n| {
            vec![
                n.name.clone(),
                n.status.clone(),
                n.cpu
                    .map(|c| format!("{:.0}%", c * 100.0))
                    .unwrap_or_default(),
                match (n.mem, n.maxmem) {
                    (Some(m), Some(x)) if x > 0 => format!("{:.0}%", m as f64 * 100.0 / x as f64),
                    _ => String::new(),
                },
            ]
        })
        .collect();
    let guests: Vec<Vec<String>> = inv
        .guests
        .iter()
        .map(|g| {
            vec![
                g.vmid.to_string(),
                g.name.clone(),
                g.node.clone(),
                g.kind.to_string(),
                g.status.clone(),
                if g.template { "yes" } else { "" }.to_string(),
                g.nics
                    .iter()
                    .filter_map(|n| n.ip.map(|i| i.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
                g.nics
                    .iter()
                    .filter_map(|n| n.mac.map(|m| m.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
            ]
        })
        .collect();
    format!(
        "{}\n\n{}\n",
        table::render(&["NODE", "STATUS", "CPU", "MEM"], &nodes),
        table::render(
            &[
                "VMID", "NAME", "NODE", "TYPE", "STATUS", "TEMPLATE", "IP", "MAC"
            ],
            &guests
        )
    )
}
