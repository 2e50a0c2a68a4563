//! Every request proxdeck can build, checked against Proxmox's official API
//! schema for 9.1.3 and 8.4.0: the method and path exist, every parameter is
//! declared, required ones are present, values have the declared type, enums
//! and ranges hold, and `requires` dependencies are met.

mod common;

use common::schema::Schema;
use proxdeck::pve::request::{ApiRequest, ParamValue};
use proxdeck::pve::requests::samples;

fn check(schema: &Schema, req: &ApiRequest) -> Vec<String> {
    let method = req.method().as_str();
    let path = req.endpoint.path();
    let at = format!("{method} {path} ({})", schema.version);
    let Some(info) = schema.method(method, path) else {
        return vec![format!("{at}: no such method and path in the schema")];
    };
    let mut problems = Vec::new();
    let all: Vec<(String, &ParamValue)> = req
        .path_params
        .iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain(req.params.iter().map(|(k, v)| (k.clone(), v)))
        .collect();
    for (name, value) in &all {
        let Some(decl) = Schema::param(info, name) else {
            problems.push(format!("{at}: parameter '{name}' is not declared"));
            continue;
        };
        let ty = decl["type"].as_str().unwrap_or("string");
        let type_ok = matches!(
            (ty, value),
            ("integer", ParamValue::Int(_))
                | ("number", ParamValue::Num(_) | ParamValue::Int(_))
                | ("boolean", ParamValue::Bool(_))
                | ("string", ParamValue::Str(_))
        );
        if !type_ok {
            problems.push(format!(
                "{at}: '{name}' is declared {ty}, sent as {value:?}"
            ));
        }
        if let Some(allowed) = decl["enum"].as_array() {
            let wire = value.to_wire();
            if !allowed.iter().any(|a| a.as_str() == Some(wire.as_str())) {
                problems.push(format!("{at}: '{name}'={wire} is not one of {allowed:?}"));
            }
        }
        if let ParamValue::Int(i) = value {
            if let Some(min) = decl["minimum"].as_i64()
                && *i < min
            {
                problems.push(format!("{at}: '{name}'={i} is below the minimum {min}"));
            }
            if let Some(max) = decl["maximum"].as_i64()
                && *i > max
            {
                problems.push(format!("{at}: '{name}'={i} is above the maximum {max}"));
            }
        }
        if let (ParamValue::Str(s), Some(max)) = (value, decl["maxLength"].as_u64())
            && s.len() as u64 > max
        {
            problems.push(format!("{at}: '{name}' is longer than {max}"));
        }
        if let Some(needs) = decl["requires"].as_str()
            && !all.iter().any(|(k, _)| k == needs)
        {
            problems.push(format!("{at}: '{name}' requires '{needs}'"));
        }
    }
    for req_name in Schema::required(info) {
        if !all.iter().any(|(k, _)| *k == req_name) {
            problems.push(format!("{at}: required parameter '{req_name}' is missing"));
        }
    }
    problems
}

#[test]
fn every_request_matches_the_9_1_3_and_8_4_0_schemas() {
    let samples = samples();
    assert!(samples.len() >= proxdeck::pve::endpoints::ALL.len());
    let mut problems = Vec::new();
    for version in ["9.1.3", "8.4.0"] {
        let schema = Schema::load(version);
        for req in &samples {
            problems.extend(check(&schema, req));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_catches_a_bad_request() {
    // The checker itself must fail on undeclared, missing, mistyped and out-of-enum parameters.
    let schema = Schema::load("9.1.3");
    let mut bad = proxdeck::pve::requests::clone(
        &proxdeck::pve::GuestRef::new("n", proxdeck::pve::GuestKind::Qemu, 100),
        &Default::default(),
    );
    bad.params.retain(|(k, _)| k != "newid");
    bad.params
        .push(("colour".into(), ParamValue::Str("red".into())));
    bad.params
        .push(("full".into(), ParamValue::Str("yes".into())));
    bad.params
        .push(("format".into(), ParamValue::Str("vhdx".into())));
    let problems = check(&schema, &bad).join("\n");
    assert!(problems.contains("'colour' is not declared"), "{problems}");
    assert!(problems.contains("'newid' is missing"), "{problems}");
    assert!(
        problems.contains("'full' is declared boolean"),
        "{problems}"
    );
    assert!(
        problems.contains("'format'=vhdx is not one of"),
        "{problems}"
    );
}
