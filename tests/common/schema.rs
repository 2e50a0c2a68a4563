//! The official Proxmox API schema (tests/data/pve-api/schema), indexed by method and path.

use std::collections::HashMap;

use serde_json::Value;

pub struct Schema {
    pub version: &'static str,
    /// (METHOD, path template) → method info.
    methods: HashMap<(String, String), Value>,
}

impl Schema {
    pub fn load(version: &'static str) -> Schema {
        let path = super::repo().join(format!("tests/data/pve-api/schema/pve-api-{version}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let tree: Value = serde_json::from_str(&text).unwrap();
        let mut methods = HashMap::new();
        fn walk(node: &Value, out: &mut HashMap<(String, String), Value>) {
            if let (Some(path), Some(info)) = (node["path"].as_str(), node["info"].as_object()) {
                for (m, i) in info {
                    out.insert((m.clone(), path.to_string()), i.clone());
                }
            }
            if let Some(children) = node["children"].as_array() {
                for c in children {
                    walk(c, out);
                }
            }
        }
        for root in tree.as_array().unwrap() {
            walk(root, &mut methods);
        }
        Schema { version, methods }
    }

    pub fn method(&self, method: &str, path: &str) -> Option<&Value> {
        self.methods.get(&(method.to_string(), path.to_string()))
    }

    /// The declared parameter for `name`, matching indexed names (`net0` → `net[n]`).
    pub fn param<'a>(info: &'a Value, name: &str) -> Option<&'a Value> {
        let props = info["parameters"]["properties"].as_object()?;
        if let Some(p) = props.get(name) {
            return Some(p);
        }
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
        if base.len() < name.len() {
            return props.get(&format!("{base}[n]"));
        }
        None
    }

    pub fn required(info: &Value) -> Vec<String> {
        info["parameters"]["properties"]
            .as_object()
            .map(|props| {
                props
                    .iter()
                    .filter(|(_, p)| {
                        p["optional"].as_u64().unwrap_or(0) == 0
                            && !p["optional"].as_bool().unwrap_or(false)
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}
