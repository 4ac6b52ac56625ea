//! Typed errors: what failed in a TLS session, and what failed while building a config.

use std::fmt;
use std::path::PathBuf;

/// Why a TLS session failed. The rustls error is inside every variant.
///
/// When `process()` returns one of these, the alert (if rustls produced one) has already been
/// written to the encrypted side and the plaintext side has been aborted.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The peers could not agree on a protocol version, cipher suite, ALPN protocol or other
    /// parameter.
    Handshake(rustls::Error),
    /// A certificate was missing, expired, for another name, untrusted or otherwise invalid.
    BadCertificate(rustls::Error),
    /// The peer broke the protocol: malformed or unexpected messages, bad record lengths.
    ProtocolViolation(rustls::Error),
    /// A record failed authentication: corrupted or forged data.
    Decrypt(rustls::Error),
    /// The peer sent a fatal alert.
    AlertReceived(rustls::Error),
    /// Any other rustls error.
    Other(rustls::Error),
}

impl TlsError {
    /// Sorts a rustls error into the variant a caller can act on.
    pub fn classify(e: rustls::Error) -> Self {
        use rustls::Error as E;
        match e {
            E::InvalidCertificate(_) | E::NoCertificatesPresented | E::UnsupportedNameType => {
                TlsError::BadCertificate(e)
            }
            E::DecryptError => TlsError::Decrypt(e),
            E::InvalidMessage(_)
            | E::InappropriateMessage { .. }
            | E::InappropriateHandshakeMessage { .. }
            | E::PeerMisbehaved(_) => TlsError::ProtocolViolation(e),
            E::PeerIncompatible(_) | E::NoApplicationProtocol | E::HandshakeNotComplete => {
                TlsError::Handshake(e)
            }
            E::AlertReceived(_) => TlsError::AlertReceived(e),
            _ => TlsError::Other(e),
        }
    }

    /// The rustls error behind this one.
    pub fn rustls_error(&self) -> &rustls::Error {
        match self {
            TlsError::Handshake(e)
            | TlsError::BadCertificate(e)
            | TlsError::ProtocolViolation(e)
            | TlsError::Decrypt(e)
            | TlsError::AlertReceived(e)
            | TlsError::Other(e) => e,
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every message names TLS: in a stack's error or a log line it says which layer failed.
        let kind = match self {
            TlsError::Handshake(_) => "TLS handshake failed",
            TlsError::BadCertificate(_) => "TLS bad certificate",
            TlsError::ProtocolViolation(_) => "TLS protocol violation",
            TlsError::Decrypt(_) => "TLS decrypt error",
            TlsError::AlertReceived(_) => "TLS fatal alert received",
            TlsError::Other(_) => "TLS error",
        };
        write!(f, "{kind}: {}", self.rustls_error())
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.rustls_error())
    }
}

/// Why a TLS config could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// PEM data was malformed or held the wrong kind of item.
    Pem {
        /// What was being loaded ("certificate chain", "private key", "CA bundle").
        what: &'static str,
        /// The parser's complaint.
        source: rustls_pki_types::pem::Error,
    },
    /// The certificate PEM held no certificate.
    NoCertificates,
    /// rustls refused the config, e.g. a private key that does not match the certificate.
    Rustls(rustls::Error),
    /// No crypto provider: enable the `ring` or `aws-lc-rs` feature, or install a
    /// process-wide default provider.
    NoCryptoProvider,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ConfigError::Pem { what, source } => write!(f, "bad PEM in {what}: {source}"),
            ConfigError::NoCertificates => f.write_str("no certificate found in the PEM data"),
            ConfigError::Rustls(e) => write!(f, "rustls refused the config: {e}"),
            ConfigError::NoCryptoProvider => f.write_str(
                "no crypto provider: enable the ring or aws-lc-rs feature of pipebuf_rustls",
            ),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { source, .. } => Some(source),
            ConfigError::Pem { source, .. } => Some(source),
            ConfigError::Rustls(e) => Some(e),
            _ => None,
        }
    }
}
