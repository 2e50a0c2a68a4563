//! The simulator's self-signed certificate, made fresh at every start.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::fingerprint::Fingerprint;

pub struct SimCert {
    pub cert: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
    pub pem: String,
    pub fingerprint: Fingerprint,
}

/// A certificate for `localhost`, `127.0.0.1` and the listen host.
pub fn make(host: &str) -> Result<SimCert, String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !names.iter().any(|n| n == host) && !host.is_empty() && host != "0.0.0.0" {
        names.push(host.to_string());
    }
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    let der = ck.cert.der().clone();
    Ok(SimCert {
        fingerprint: Fingerprint::of_der(der.as_ref()),
        pem: ck.cert.pem(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der())),
        cert: der,
    })
}
