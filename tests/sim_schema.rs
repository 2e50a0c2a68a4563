//! Every answer the simulator gives, checked against the `returns` of the
//! official 9.1.3 schema for that method and path.

mod common;

use common::schema::Schema;
use common::target::Target;
use serde_json::{Value, json};

/// Problems of `v` against a schema `returns` node; `at` names the place.
fn validate(schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    let ty = schema["type"].as_str().unwrap_or("any");
    let ok = match ty {
        "null" => v.is_null(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        // Proxmox sends booleans as 0/1.
        "boolean" => v.is_boolean() || v.as_u64().is_some_and(|n| n <= 1),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    };
    let optional_null = v.is_null() && schema["optional"].as_u64() == Some(1);
    if !ok && !optional_null {
        out.push(format!("{at}: expected {ty}, got {v}"));
        return;
    }
    if let (Some(allowed), Some(s)) = (schema["enum"].as_array(), v.as_str())
        && !allowed.iter().any(|a| a == s)
    {
        out.push(format!("{at}: '{s}' not in {allowed:?}"));
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            validate(items, item, &format!("{at}[{i}]"), out);
        }
    }
    if let (Some(props), Some(obj)) = (schema["properties"].as_object(), v.as_object()) {
        for (name, p) in props {
            let optional =
                p["optional"].as_u64() == Some(1) || p["optional"].as_bool() == Some(true);
            match obj.get(name) {
                Some(val) => validate(p, val, &format!("{at}.{name}"), out),
                None if !optional => out.push(format!("{at}: required '{name}' missing")),
                None => {}
            }
        }
    }
}

/// (method, schema path template, concrete path, parameters)
type Call = (
    reqwest::Method,
    &'static str,
    String,
    Vec<(&'static str, &'static str)>,
);

async fn get(t: &Target, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Value {
    let tls = proxdeck::pve::tls::client_config(&t.pin()).unwrap();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls.config)
        .build()
        .unwrap();
    let mut req = http
        .request(method.clone(), format!("{}/api2/json{path}", t.url))
        .header(
            "Authorization",
            format!(
                "PVEAPIToken={}={}",
                common::fakepve::TOKEN_ID,
                common::fakepve::TOKEN_SECRET
            ),
        );
    req = if matches!(method, reqwest::Method::GET | reqwest::Method::DELETE) {
        req.query(form)
    } else {
        req.form(form)
    };
    let resp = req.send().await.unwrap();
    assert!(
        resp.status().is_success(),
        "{method} {path}: {}",
        resp.status()
    );
    resp.json::<Value>().await.unwrap()["data"].clone()
}

#[tokio::test]
async fn every_simulator_answer_matches_the_schema_returns() {
    let schema = Schema::load("9.1.3");
    let t = Target::sim().await;
    use reqwest::Method as M;
    let upid = get(
        &t,
        M::POST,
        "/nodes/pve-node-01/vzdump",
        &[("vmid", "103"), ("storage", "local")],
    )
    .await;
    let upid = upid.as_str().unwrap().to_string();
    let backup = get(
        &t,
        M::GET,
        "/nodes/pve-node-01/storage/local/content",
        &[("content", "backup")],
    )
    .await;
    let volid = backup[0]["volid"].as_str().unwrap().to_string();
    // (method, template, concrete path, params)
    let calls: Vec<Call> = vec![
        (M::GET, "/version", "/version".into(), vec![]),
        (
            M::GET,
            "/cluster/resources",
            "/cluster/resources".into(),
            vec![],
        ),
        (M::GET, "/cluster/status", "/cluster/status".into(), vec![]),
        (M::GET, "/cluster/tasks", "/cluster/tasks".into(), vec![]),
        (M::GET, "/nodes", "/nodes".into(), vec![]),
        (
            M::GET,
            "/nodes/{node}/status",
            "/nodes/pve-node-01/status".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/network",
            "/nodes/pve-node-01/network".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/storage",
            "/nodes/pve-node-01/storage".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/storage/{storage}/content",
            "/nodes/pve-node-01/storage/local/content".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/storage/{storage}/content",
            "/nodes/pve-node-01/storage/local-lvm/content".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/qemu",
            "/nodes/pve-node-01/qemu".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/lxc",
            "/nodes/pve-node-01/lxc".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/qemu/{vmid}/status/current",
            "/nodes/pve-node-01/qemu/102/status/current".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/lxc/{vmid}/status/current",
            "/nodes/pve-node-01/lxc/103/status/current".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/qemu/{vmid}/config",
            "/nodes/pve-node-01/qemu/101/config".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/lxc/{vmid}/config",
            "/nodes/pve-node-01/lxc/103/config".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/qemu/{vmid}/snapshot",
            "/nodes/pve-node-01/qemu/102/snapshot".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/lxc/{vmid}/snapshot",
            "/nodes/pve-node-02/lxc/105/snapshot".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/tasks",
            "/nodes/pve-node-01/tasks".into(),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/tasks/{upid}/status",
            format!("/nodes/pve-node-01/tasks/{upid}/status"),
            vec![],
        ),
        (
            M::GET,
            "/nodes/{node}/tasks/{upid}/log",
            format!("/nodes/pve-node-01/tasks/{upid}/log"),
            vec![],
        ),
        (
            M::PUT,
            "/nodes/{node}/lxc/{vmid}/config",
            "/nodes/pve-node-02/lxc/105/config".into(),
            vec![("description", "x")],
        ),
        (
            M::PUT,
            "/nodes/{node}/qemu/{vmid}/config",
            "/nodes/pve-node-01/qemu/102/config".into(),
            vec![("description", "x")],
        ),
        (
            M::POST,
            "/nodes/{node}/qemu/{vmid}/clone",
            "/nodes/pve-node-01/qemu/101/clone".into(),
            vec![("newid", "300")],
        ),
        (
            M::POST,
            "/nodes/{node}/lxc/{vmid}/snapshot",
            "/nodes/pve-node-02/lxc/105/snapshot".into(),
            vec![("snapname", "shape")],
        ),
        (
            M::POST,
            "/nodes/{node}/lxc/{vmid}/status/stop",
            "/nodes/pve-node-01/lxc/103/status/stop".into(),
            vec![],
        ),
        (
            M::POST,
            "/nodes/{node}/lxc/{vmid}/template",
            "/nodes/pve-node-01/lxc/103/template".into(),
            vec![],
        ),
        (
            M::PUT,
            "/nodes/{node}/storage/{storage}/content/{volume}",
            format!("/nodes/pve-node-01/storage/local/content/{volid}"),
            vec![("notes", "n")],
        ),
        (
            M::DELETE,
            "/nodes/{node}/storage/{storage}/content/{volume}",
            format!("/nodes/pve-node-01/storage/local/content/{volid}"),
            vec![],
        ),
    ];
    let mut problems = Vec::new();
    for (method, template, path, params) in &calls {
        let info = schema
            .method(method.as_str(), template)
            .unwrap_or_else(|| panic!("{method} {template} not in the schema"));
        let data = get(&t, method.clone(), path, params).await;
        validate(
            &info["returns"],
            &data,
            &format!("{method} {path}"),
            &mut problems,
        );
    }
    // The documented quirk: nextid is an integer in the schema but a string on the wire.
    let next = get(&t, M::GET, "/cluster/nextid", &[]).await;
    assert!(
        next.is_string(),
        "nextid answers a string as Proxmox does: {next}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The checker itself fails on a wrong shape.
    let mut bad = Vec::new();
    validate(
        &schema.method("GET", "/version").unwrap()["returns"],
        &json!({"version": 9}),
        "x",
        &mut bad,
    );
    assert!(bad.len() >= 2, "{bad:?}");
}
