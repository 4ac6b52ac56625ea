//! Building rustls configs from PEM files or bytes, with errors that say what is wrong.
//!
//! A client trusts the CAs it is given ([`client_config`]), or, with the `webpki-roots`
//! feature, Mozilla's root certificates as the webpki-roots crate compiles them in
//! (`client_config_with_webpki_roots`): what a client of servers on the public internet
//! wants.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::ConfigError;

/// The crypto provider: the process-wide default if one is installed, else the one this
/// crate's feature selects (`ring` first).
pub fn crypto_provider() -> Result<Arc<CryptoProvider>, ConfigError> {
    if let Some(p) = CryptoProvider::get_default() {
        return Ok(Arc::clone(p));
    }
    #[cfg(feature = "ring")]
    return Ok(Arc::new(rustls::crypto::ring::default_provider()));
    #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
    return Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    #[allow(unreachable_code)]
    Err(ConfigError::NoCryptoProvider)
}

fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses every certificate in PEM data (other PEM items are skipped); fails if none.
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    certs(pem, "certificate chain")
}

/// [`certs_from_pem`], with `what` naming the data in a [`ConfigError::Pem`].
fn certs(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ConfigError::Pem { what, source })?;
    if certs.is_empty() {
        return Err(ConfigError::NoCertificates);
    }
    Ok(certs)
}

/// The trust anchors in a PEM CA bundle.
fn roots_from_pem(pem: &[u8]) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in certs(pem, "CA bundle")? {
        roots.add(cert).map_err(ConfigError::Rustls)?;
    }
    Ok(roots)
}

/// Parses the first private key (PKCS#8, PKCS#1 or SEC1) in PEM data.
pub fn key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, ConfigError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|source| ConfigError::Pem {
        what: "private key",
        source,
    })
}

/// Options for [`server_config`].
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// ALPN protocols to offer, most preferred first (e.g. `b"http/1.1"`).
    pub alpn: Vec<Vec<u8>>,
    /// Require client certificates issued by these CAs (PEM). `None`: no client auth.
    pub client_ca_pem: Option<Vec<u8>>,
}

/// A server config from a PEM certificate chain and private key.
///
/// Fails with a [`ConfigError`] naming the problem: bad PEM, no certificate, or a key that
/// does not match the certificate.
pub fn server_config(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    options: &ServerOptions,
) -> Result<Arc<ServerConfig>, ConfigError> {
    let certs = certs_from_pem(cert_chain_pem)?;
    let key = key_from_pem(key_pem)?;
    let provider = crypto_provider()?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(ConfigError::Rustls)?;
    let builder = match &options.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let roots = Arc::new(roots_from_pem(pem)?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| ConfigError::Rustls(rustls::Error::General(e.to_string())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(ConfigError::Rustls)?;
    config.alpn_protocols = options.alpn.clone();
    Ok(Arc::new(config))
}

/// [`server_config`] from PEM files.
pub fn server_config_from_files(
    cert_chain: &Path,
    key: &Path,
    options: &ServerOptions,
) -> Result<Arc<ServerConfig>, ConfigError> {
    server_config(&read(cert_chain)?, &read(key)?, options)
}

/// Options for [`client_config`].
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// ALPN protocols to offer, most preferred first.
    pub alpn: Vec<Vec<u8>>,
    /// A client certificate chain and key (PEM) for servers that ask for one.
    pub client_cert_pem: Option<(Vec<u8>, Vec<u8>)>,
}

/// A client config trusting the CA certificates in `ca_pem`.
pub fn client_config(
    ca_pem: &[u8],
    options: &ClientOptions,
) -> Result<Arc<ClientConfig>, ConfigError> {
    client_config_trusting(roots_from_pem(ca_pem)?, options)
}

/// A client config trusting the root certificates of Mozilla's CA program, as the
/// webpki-roots crate carries them (feature `webpki-roots`): for servers on the public
/// internet, with certificates from a public CA.
///
/// The roots are compiled in: the operating system's store is not read, so a CA the system
/// adds (a company's own) is not trusted, and the list is as current as the webpki-roots
/// version built. A server whose certificate chains to none of them fails the handshake
/// with [`rustls::CertificateError::UnknownIssuer`].
///
/// ```
/// use pipebuf_rustls::config::{self, ClientOptions};
///
/// let config = config::client_config_with_webpki_roots(&ClientOptions::default()).unwrap();
/// assert!(config.alpn_protocols.is_empty());
/// ```
#[cfg(feature = "webpki-roots")]
pub fn client_config_with_webpki_roots(
    options: &ClientOptions,
) -> Result<Arc<ClientConfig>, ConfigError> {
    client_config_trusting(webpki_root_store(), options)
}

/// Mozilla's root certificates, from webpki-roots.
#[cfg(feature = "webpki-roots")]
fn webpki_root_store() -> RootCertStore {
    webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect()
}

/// A client config trusting `roots`, with `options`.
fn client_config_trusting(
    roots: RootCertStore,
    options: &ClientOptions,
) -> Result<Arc<ClientConfig>, ConfigError> {
    let builder = ClientConfig::builder_with_provider(crypto_provider()?)
        .with_safe_default_protocol_versions()
        .map_err(ConfigError::Rustls)?
        .with_root_certificates(roots);
    let mut config = match &options.client_cert_pem {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder
            .with_client_auth_cert(certs_from_pem(chain)?, key_from_pem(key)?)
            .map_err(ConfigError::Rustls)?,
    };
    config.alpn_protocols = options.alpn.clone();
    Ok(Arc::new(config))
}

/// [`client_config`] with the CA bundle read from a PEM file.
pub fn client_config_from_file(
    ca: &Path,
    options: &ClientOptions,
) -> Result<Arc<ClientConfig>, ConfigError> {
    client_config(&read(ca)?, options)
}

#[cfg(all(test, feature = "webpki-roots"))]
mod tests {
    use super::*;

    #[test]
    fn the_webpki_root_store_holds_the_public_roots() {
        // Mozilla's program has well over a hundred roots; a handful would mean the wrong
        // list (or an empty one, which would trust nobody).
        let roots = webpki_root_store();
        assert!(roots.len() > 100, "{} roots", roots.len());
    }

    #[test]
    fn a_client_config_with_the_webpki_roots_builds_with_the_options_given() {
        let options = ClientOptions {
            alpn: vec![b"http/1.1".to_vec()],
            client_cert_pem: None,
        };
        let config = client_config_with_webpki_roots(&options).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }
}
