//! TLS for the API client: system roots, a CA file, a certificate fingerprint
//! pin, or (only when asked for explicitly) no verification.
//!
//! Proxmox nodes usually serve a certificate from the cluster's own CA, so the
//! usual choices are the CA file or a pin of the exact certificate, as the
//! Proxmox web UI shows it. A pin mismatch remembers the presented fingerprint
//! so the error can show both.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::error::PveError;
use crate::config::TlsConfig;
use crate::fingerprint::Fingerprint;

/// The crypto provider used everywhere (ring: small, fast to build).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration plus, for pins, the verifier to ask what was presented.
pub struct TlsSetup {
    pub config: rustls::ClientConfig,
    pub pin: Option<Arc<PinVerifier>>,
}

/// Build the client TLS configuration for a cluster.
pub fn client_config(tls: &TlsConfig) -> Result<TlsSetup, PveError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(format!("TLS setup: {e}")))?;
    match tls {
        TlsConfig::System => {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            Ok(TlsSetup {
                config: builder.with_root_certificates(roots).with_no_client_auth(),
                pin: None,
            })
        }
        TlsConfig::CaFile(path) => {
            let roots = roots_from_file(path)?;
            Ok(TlsSetup {
                config: builder.with_root_certificates(roots).with_no_client_auth(),
                pin: None,
            })
        }
        TlsConfig::Fingerprint(fp) => {
            let pin = Arc::new(PinVerifier {
                expected: *fp,
                presented: Mutex::new(None),
                algorithms: provider.signature_verification_algorithms,
            });
            Ok(TlsSetup {
                config: builder
                    .dangerous()
                    .with_custom_certificate_verifier(pin.clone())
                    .with_no_client_auth(),
                pin: Some(pin),
            })
        }
        TlsConfig::Insecure => {
            tracing::warn!("TLS certificate verification is OFF for this cluster (insecure: true)");
            Ok(TlsSetup {
                config: builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(NoVerification {
                        algorithms: provider.signature_verification_algorithms,
                    }))
                    .with_no_client_auth(),
                pin: None,
            })
        }
    }
}

fn setup(message: String) -> PveError {
    PveError::Setup { message }
}

/// Trusted roots from a PEM file.
pub fn roots_from_file(path: &Path) -> Result<rustls::RootCertStore, PveError> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path)
        .map_err(|e| setup(format!("cannot read CA file {}: {e}", path.display())))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| setup(format!("CA file {}: {e}", path.display())))?;
        roots
            .add(cert)
            .map_err(|e| setup(format!("CA file {}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(setup(format!(
            "CA file {} holds no certificate",
            path.display()
        )));
    }
    Ok(roots)
}

/// Accepts exactly one certificate, by its SHA-256 fingerprint. The handshake
/// signatures are still checked, so the server must hold that certificate's key.
#[derive(Debug)]
pub struct PinVerifier {
    pub expected: Fingerprint,
    presented: Mutex<Option<Fingerprint>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinVerifier {
    /// The fingerprint of the last certificate refused, if any.
    pub fn last_mismatch(&self) -> Option<Fingerprint> {
        *self.presented.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = Fingerprint::of_der(end_entity.as_ref());
        if got == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            *self.presented.lock().unwrap_or_else(|p| p.into_inner()) = Some(got);
            Err(rustls::Error::General(format!(
                "certificate fingerprint mismatch: expected {}, presented {got}",
                self.expected
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `insecure: true`: any certificate (signatures still checked against it).
#[derive(Debug)]
struct NoVerification {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
