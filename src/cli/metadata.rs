//! `proxdeck metadata GUEST`: what proxdeck knows about a guest.

use super::Cli;
use super::context::{CliError, runtime};
use super::engine_ctx::{engine, guest, inventory};

pub fn run(cli: &Cli, which: &str, json_out: bool) -> Result<(), CliError> {
    let engine = engine(cli, None)?;
    let rt = runtime()?;
    let md = rt.block_on(async {
        let inv = inventory(&engine).await?;
        let vmid = guest(&inv, which)?.vmid;
        engine.metadata(vmid).await?.ok_or_else(|| {
            CliError(format!(
                "no metadata for guest {vmid} in cluster {}",
                engine.cluster()
            ))
        })
    })?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&md)?);
    } else {
        println!("resource_id        {}", md.resource_id);
        println!("resource_name      {}", md.resource_name);
        println!("node_name          {}", md.node_name);
        println!(
            "origin_node        {}",
            md.origin_node.as_deref().unwrap_or("-")
        );
        println!(
            "origin_template_id {}",
            md.origin_template_id
                .map(|v| v.to_string())
                .unwrap_or("-".into())
        );
        println!("is_template        {}", md.is_template);
        println!("is_replica         {}", md.is_replica);
        println!("replicated_nodes   {}", md.replicated_nodes.join(", "));
        println!(
            "ip                 {}",
            md.network_config.ip.as_deref().unwrap_or("-")
        );
        println!(
            "mac                {}",
            md.network_config.mac.as_deref().unwrap_or("-")
        );
        println!(
            "hostname           {}",
            md.network_config.hostname.as_deref().unwrap_or("-")
        );
        match (md.naming_compliant, md.naming_issue.as_deref()) {
            (Some(true), _) => println!("naming             compliant"),
            (_, Some(issue)) => println!("naming             {issue}"),
            _ => {}
        }
    }
    Ok(())
}
