//! TLS settings for the server examples (PEM files from `--cert`/`--key`, or a self-signed
//! certificate for localhost and 127.0.0.1 made at start) and for the load tools (a client
//! config trusting a given CA, or, for benchmarks only, any server certificate).

use std::sync::Arc;

use pipebuf_rustls::config::{self, ClientOptions, ServerOptions};
use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};

use crate::cli::Error;

/// The server config from `--cert` and `--key` when both are given, else from a fresh
/// self-signed certificate (names: localhost, 127.0.0.1, ::1). Errors name the flag: one of
/// the two alone is a usage error, a file that cannot be read or used a failure.
pub fn server_config(
    cert: Option<&str>,
    key: Option<&str>,
    options: &ServerOptions,
) -> Result<Arc<ServerConfig>, Error> {
    match (cert, key) {
        (Some(cert), Some(key)) => {
            let (cert_pem, key_pem) = (read_flag_file("cert", cert)?, read_flag_file("key", key)?);
            config::server_config(&cert_pem, &key_pem, options)
                .map_err(|e| Error::failed(format!("--cert {cert} --key {key}: {e}")))
        }
        (None, None) => {
            let (cert, key) = self_signed()?;
            config::server_config(cert.as_bytes(), key.as_bytes(), options)
                .map_err(|e| Error::failed(e.to_string()))
        }
        _ => Err(Error::usage("--cert and --key go together")),
    }
}

/// The contents of the file `path` given to `--flag`; the error names the flag.
fn read_flag_file(flag: &str, path: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::failed(format!("--{flag}: cannot read {path}: {e}")))
}

/// A self-signed certificate and its key, both PEM.
pub fn self_signed() -> Result<(String, String), String> {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot make a self-signed certificate: {e}"))?;
    Ok((made.cert.pem(), made.signing_key.serialize_pem()))
}

/// The client config of the load tools (`echo_load --tls`): trusting the CA certificates in
/// the PEM file `ca` when given (a self-signed server certificate works as its own CA unless
/// it is marked as a CA certificate: webpki refuses a CA certificate as the end entity);
/// when `None`, trusting **any** server certificate through
/// [`BenchmarkOnlyAcceptAnyServerCert`]. Session resumption is off, so every connection
/// makes a full handshake.
pub fn load_client_config(ca: Option<&str>) -> Result<Arc<ClientConfig>, Error> {
    let mut config = match ca {
        Some(ca) => {
            let pem = read_flag_file("ca", ca)?;
            let shared = config::client_config(&pem, &ClientOptions::default())
                .map_err(|e| Error::failed(format!("--ca {ca}: {e}")))?;
            Arc::unwrap_or_clone(shared)
        }
        None => {
            let provider = config::crypto_provider().map_err(|e| Error::failed(e.to_string()))?;
            let verifier = BenchmarkOnlyAcceptAnyServerCert::new(&provider);
            ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::failed(e.to_string()))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// **For benchmarks against our own local servers only; never use it for real traffic.**
///
/// A server certificate verifier that accepts every certificate chain for every name, so a
/// load tool can talk to a server's self-signed certificate made at start without being
/// given that certificate. It still checks the handshake signature with the certificate's
/// key (with the crypto provider's algorithms), so both sides do the same cryptographic work
/// per handshake as with real verification, minus the chain check. Anyone able to intercept
/// the connection can impersonate the server.
#[derive(Debug)]
pub struct BenchmarkOnlyAcceptAnyServerCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl BenchmarkOnlyAcceptAnyServerCert {
    /// A verifier checking handshake signatures with `provider`'s algorithms.
    pub fn new(provider: &CryptoProvider) -> Self {
        BenchmarkOnlyAcceptAnyServerCert {
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for BenchmarkOnlyAcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
