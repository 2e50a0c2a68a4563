//! A request to send: an endpoint, its path parameters and its query/form parameters.

use std::fmt;

use super::endpoints::{Endpoint, Method};

/// A parameter value with its API type (booleans go on the wire as 0/1).
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Str(String),
    Int(i64),
    Bool(bool),
    Num(f64),
}

impl ParamValue {
    pub fn to_wire(&self) -> String {
        match self {
            ParamValue::Str(s) => s.clone(),
            ParamValue::Int(i) => i.to_string(),
            ParamValue::Bool(b) => if *b { "1" } else { "0" }.to_string(),
            ParamValue::Num(n) => n.to_string(),
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_wire())
    }
}

/// A call to make.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    pub endpoint: &'static Endpoint,
    /// Placeholder name → value, in path order.
    pub path_params: Vec<(&'static str, ParamValue)>,
    /// Query (GET/DELETE) or form (POST/PUT) parameters.
    pub params: Vec<(String, ParamValue)>,
}

impl ApiRequest {
    pub fn new(endpoint: &'static Endpoint) -> ApiRequest {
        ApiRequest {
            endpoint,
            path_params: Vec::new(),
            params: Vec::new(),
        }
    }

    pub fn method(&self) -> Method {
        self.endpoint.method()
    }

    /// Fill a path placeholder with text.
    pub fn at(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.path_params.push((name, ParamValue::Str(value.into())));
        self
    }

    /// Fill a path placeholder with an integer (vmid).
    pub fn at_int(mut self, name: &'static str, value: impl Into<i64>) -> Self {
        self.path_params.push((name, ParamValue::Int(value.into())));
        self
    }

    pub fn str(mut self, key: &str, value: impl Into<String>) -> Self {
        self.params
            .push((key.to_string(), ParamValue::Str(value.into())));
        self
    }

    pub fn int(mut self, key: &str, value: impl Into<i64>) -> Self {
        self.params
            .push((key.to_string(), ParamValue::Int(value.into())));
        self
    }

    pub fn bool(mut self, key: &str, value: bool) -> Self {
        self.params.push((key.to_string(), ParamValue::Bool(value)));
        self
    }

    pub fn num(mut self, key: &str, value: f64) -> Self {
        self.params.push((key.to_string(), ParamValue::Num(value)));
        self
    }

    pub fn opt_str(self, key: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.str(key, v),
            None => self,
        }
    }

    pub fn opt_int(self, key: &str, value: Option<impl Into<i64>>) -> Self {
        match value {
            Some(v) => self.int(key, v),
            None => self,
        }
    }

    pub fn opt_bool(self, key: &str, value: Option<bool>) -> Self {
        match value {
            Some(v) => self.bool(key, v),
            None => self,
        }
    }

    /// Path segments after `/api2/json`, placeholders filled in order.
    pub fn segments(&self) -> Vec<String> {
        let mut values = self.path_params.iter();
        self.endpoint
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|seg| {
                if seg.starts_with('{') {
                    values.next().map(|(_, v)| v.to_wire()).unwrap_or_default()
                } else {
                    seg.to_string()
                }
            })
            .collect()
    }

    /// The filled path, for logs (`/nodes/pve1/qemu/100/clone`).
    pub fn path(&self) -> String {
        format!("/{}", self.segments().join("/"))
    }

    /// Parameters as wire text pairs.
    pub fn wire_params(&self) -> Vec<(String, String)> {
        self.params
            .iter()
            .map(|(k, v)| (k.clone(), v.to_wire()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pve::endpoints::QEMU_ROLLBACK;

    #[test]
    fn fills_placeholders_in_order_and_sends_booleans_as_digits() {
        let r = ApiRequest::new(&QEMU_ROLLBACK)
            .at("node", "pve-node-01")
            .at_int("vmid", 101)
            .at("snapname", "before")
            .bool("start", true);
        assert_eq!(
            r.path(),
            "/nodes/pve-node-01/qemu/101/snapshot/before/rollback"
        );
        assert_eq!(
            r.wire_params(),
            vec![("start".to_string(), "1".to_string())]
        );
    }
}
