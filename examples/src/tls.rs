//! TLS settings for the server examples: PEM files from `--cert`/`--key`, or a self-signed
//! certificate for localhost and 127.0.0.1 made at start.

use std::path::Path;
use std::sync::Arc;

use pipebuf_rustls::config::{self, ServerOptions};
use rustls::ServerConfig;

/// The server config from `--cert` and `--key` when both are given, else from a fresh
/// self-signed certificate (names: localhost, 127.0.0.1, ::1).
pub fn server_config(
    cert: Option<&str>,
    key: Option<&str>,
    options: &ServerOptions,
) -> Result<Arc<ServerConfig>, String> {
    match (cert, key) {
        (Some(cert), Some(key)) => {
            config::server_config_from_files(Path::new(cert), Path::new(key), options)
                .map_err(|e| e.to_string())
        }
        (None, None) => {
            let (cert, key) = self_signed()?;
            config::server_config(cert.as_bytes(), key.as_bytes(), options)
                .map_err(|e| e.to_string())
        }
        _ => Err("--cert and --key go together".into()),
    }
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
