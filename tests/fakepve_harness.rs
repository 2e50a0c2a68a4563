//! The fakepve harness itself: it starts, answers over verified TLS, and fails
//! loudly (with the install hint) when fakepve is missing.

mod common;

use std::sync::Arc;

use common::fakepve::{self, FakePve, Options};

fn client_trusting(certfile: &std::path::Path) -> reqwest::Client {
    let pem = std::fs::read(certfile).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

#[tokio::test]
async fn fakepve_answers_version_and_resources_over_verified_tls() {
    let fake = FakePve::seed();
    let client = client_trusting(&fake.certfile);
    let auth = format!(
        "PVEAPIToken={}={}",
        fakepve::TOKEN_ID,
        fakepve::TOKEN_SECRET
    );

    let version: serde_json::Value = client
        .get(format!("{}/version", fake.api()))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let v = version["data"]["version"].as_str().unwrap();
    assert!(v.starts_with('9'), "fakepve fakes PVE 9, got {v}");

    let resources: serde_json::Value = client
        .get(format!("{}/cluster/resources", fake.api()))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = resources["data"].as_array().unwrap();
    let mut guests: Vec<(u64, String)> = items
        .iter()
        .filter(|r| r["type"] == "qemu" || r["type"] == "lxc")
        .map(|r| {
            (
                r["vmid"].as_u64().unwrap(),
                r["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    guests.sort();
    assert_eq!(
        guests,
        vec![
            (101, "pve-db-01".into()),
            (102, "pve-av-01".into()),
            (103, "pve-test-01".into()),
            (105, "pve-web-01".into()),
            (350, "pve-app-03".into()),
        ]
    );
    let mut nodes: Vec<&str> = items
        .iter()
        .filter(|r| r["type"] == "node")
        .map(|r| r["node"].as_str().unwrap())
        .collect();
    nodes.sort();
    for n in ["pve-node-01", "pve-node-02", "pve-node-03"] {
        assert!(nodes.contains(&n), "{n} missing from {nodes:?}");
    }
}

#[tokio::test]
async fn an_unknown_token_is_refused() {
    let fake = FakePve::seed();
    let client = client_trusting(&fake.certfile);
    let resp = client
        .get(format!("{}/version", fake.api()))
        .header("Authorization", "PVEAPIToken=root@pam!proxdeck=wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[test]
fn missing_fakepve_fails_with_the_install_hint() {
    // `python3 -S` imports nothing from site-packages, so fakepve is absent for sure.
    let mut options = Options::new(&common::support("seed-guests.json"));
    options.python = vec!["python3".into(), "-S".into()];
    let err = FakePve::try_start(&options).err().expect("start must fail");
    assert!(
        err.contains("pip install 'fakepve[crypto]==0.5.0'"),
        "{err}"
    );
    assert!(err.contains("No module named"), "{err}");
}
