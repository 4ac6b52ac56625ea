//! The client side shared by `wss_client` and `load`: `ws://` and `wss://` URLs, the TLS
//! client settings from `--ca`/`--insecure` (or, for `wss_client`, Mozilla's root
//! certificates without either), and the library stack between a connection's socket
//! buffers and its messages: (TLS →) WebSocket client.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use pipebuf::Stack;
use pipebuf_rustls::Tls;
use pipebuf_websocket::handshake::ClientRequest;
use pipebuf_websocket::{WebSocket, WsConfig};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;

use crate::cli::Error;

/// A parsed `ws://` or `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// `wss://`: TLS under the WebSocket.
    pub tls: bool,
    /// The host as written, without brackets around an IPv6 address.
    pub host: String,
    /// The port (default 80 for `ws://`, 443 for `wss://`).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl WsUrl {
    /// Parses `ws://HOST[:PORT][/PATH[?QUERY]]` or the same with `wss://`. A fragment
    /// (`#...`) is dropped; user information (`user@`) is refused.
    pub fn parse(url: &str) -> Result<WsUrl, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("ws://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("wss://") {
            (true, rest)
        } else {
            return Err(format!("{url:?}: the URL must start with ws:// or wss://"));
        };
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let path = match path.strip_prefix('?') {
            Some(_) => format!("/{path}"),
            None if path.is_empty() => "/".to_string(),
            None => path.to_string(),
        };
        if authority.contains('@') {
            return Err(format!(
                "{url:?}: user information in the URL is not supported"
            ));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("{url:?}: unclosed '[' in the host"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("{url:?}: junk after the IPv6 address"))?,
                ),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(format!("{url:?}: no host"));
        }
        if host.contains(':') && !authority.starts_with('[') {
            return Err(format!("{url:?}: write an IPv6 host in brackets"));
        }
        let port = match port {
            None => default_port,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("{url:?}: bad port {p:?}"))?,
        };
        Ok(WsUrl {
            tls,
            host: host.to_string(),
            port,
            path,
        })
    }

    /// The `Host` field of the upgrade request: the host, with the port unless it is the
    /// scheme's default.
    pub fn host_field(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default_port = if self.tls { 443 } else { 80 };
        if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The first address the host resolves to (name lookup blocks).
    pub fn socket_addr(&self) -> Result<SocketAddr, String> {
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", self.host))?
            .next()
            .ok_or_else(|| format!("{} has no address", self.host))
    }

    /// The name the server's certificate is checked against (a DNS name or an IP address).
    pub fn server_name(&self) -> Result<ServerName<'static>, String> {
        ServerName::try_from(self.host.clone())
            .map_err(|e| format!("{:?} is not a valid server name: {e}", self.host))
    }

    /// The upgrade request for this URL.
    pub fn request(&self) -> ClientRequest {
        ClientRequest::new(self.path.clone(), self.host_field())
    }
}

impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "wss" } else { "ws" };
        write!(f, "{scheme}://{}{}", self.host_field(), self.path)
    }
}

/// The TLS client settings for `url` from `--ca PEM` and `--insecure`: `None` for `ws://`;
/// for `wss://` a config trusting the CA in the PEM file, or with `insecure` one that
/// accepts **any** server certificate
/// ([`BenchmarkOnlyAcceptAnyServerCert`](crate::tls::BenchmarkOnlyAcceptAnyServerCert): for
/// tests and benchmarks against one's own servers only). One of the two is required for
/// `wss://`, as `load` has it: it measures one's own servers, whose certificates no public
/// CA signs ([`tls_config_or_public_roots`] trusts the public roots instead, as `wss_client`
/// does). A wrong combination is a usage error; a CA file that cannot be read or used, a
/// failure.
pub fn tls_config(
    url: &WsUrl,
    ca: Option<&str>,
    insecure: bool,
) -> Result<Option<Arc<ClientConfig>>, Error> {
    match (url.tls, ca, insecure) {
        (false, None, false) => Ok(None),
        (false, _, _) => Err(Error::usage("--ca and --insecure are for wss:// URLs")),
        (true, Some(_), true) => Err(Error::usage("--ca and --insecure exclude each other")),
        (true, None, false) => Err(Error::usage(
            "a wss:// URL needs --ca PEM (the CA or self-signed certificate to trust) \
             or --insecure (accept any certificate)",
        )),
        (true, ca, _) => crate::tls::load_client_config(ca).map(Some),
    }
}

/// [`tls_config`], except that a `wss://` URL without `--ca` or `--insecure` trusts the
/// root certificates of Mozilla's CA program (compiled in from webpki-roots; the operating
/// system's store is not read): what a client of servers on the public internet wants. A
/// server whose certificate chains to none of them fails the TLS handshake
/// (`UnknownIssuer`).
pub fn tls_config_or_public_roots(
    url: &WsUrl,
    ca: Option<&str>,
    insecure: bool,
) -> Result<Option<Arc<ClientConfig>>, Error> {
    if url.tls && ca.is_none() && !insecure {
        let options = pipebuf_rustls::config::ClientOptions::default();
        return pipebuf_rustls::config::client_config_with_webpki_roots(&options)
            .map(Some)
            .map_err(|e| Error::failed(format!("the public root certificates: {e}")));
    }
    tls_config(url, ca, insecure)
}

/// The layers of a client connection above the socket: TLS for `wss://` (`None` for
/// `ws://`, which passes bytes through), then the WebSocket client.
pub type WsClientStack = Stack<Option<Tls>, WebSocket>;

/// The client stack for `url`; with `tls`, a TLS session (checked against `url`'s host)
/// under the WebSocket.
pub fn client_stack(
    url: &WsUrl,
    tls: Option<Arc<ClientConfig>>,
    config: WsConfig,
) -> Result<WsClientStack, String> {
    let tls = match tls {
        Some(config) => {
            Some(Tls::client(config, url.server_name()?).map_err(|e| format!("TLS session: {e}"))?)
        }
        None => None,
    };
    Ok(Stack::new(tls, WebSocket::client(config, url.request())))
}

/// The WebSocket settings of the clients: messages up to `max_message` bytes (at least the
/// default 16 MiB), a 10 s close timeout.
pub fn client_config(max_message: usize) -> WsConfig {
    WsConfig {
        max_message: max_message.max(WsConfig::default().max_message),
        close_timeout: Duration::from_secs(10),
        ..WsConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> WsUrl {
        WsUrl::parse(s).unwrap()
    }

    #[test]
    fn urls_give_scheme_host_port_and_path() {
        let u = url("ws://127.0.0.1:9001/");
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.path.as_str()),
            (false, "127.0.0.1", 9001, "/")
        );
        assert_eq!(u.host_field(), "127.0.0.1:9001");
        let u = url("wss://example.com");
        assert_eq!((u.tls, u.port, u.path.as_str()), (true, 443, "/"));
        assert_eq!(u.host_field(), "example.com");
        let u = url("wss://[::1]:8443/chat?room=a#frag");
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 8443, "/chat?room=a")
        );
        assert_eq!(u.host_field(), "[::1]:8443");
        assert_eq!(url("ws://h?x=1").path, "/?x=1");
        assert_eq!(url("ws://h:80/a").to_string(), "ws://h/a");
    }

    #[test]
    fn bad_urls_are_errors_not_panics() {
        for bad in [
            "",
            "http://x/",
            "ws://",
            "ws://:80/",
            "ws://h:0/",
            "ws://h:99999/",
            "ws://h:x/",
            "ws://[::1/",
            "ws://[::1]x/",
            "ws://::1/",
            "ws://u@h/",
            "wss://[]/",
            "ws://é:",
        ] {
            assert!(WsUrl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn wss_needs_exactly_one_of_ca_and_insecure() {
        assert!(tls_config(&url("ws://h/"), None, false).unwrap().is_none());
        assert!(tls_config(&url("ws://h/"), None, true).is_err());
        assert!(tls_config(&url("wss://h/"), None, false).is_err());
        assert!(tls_config(&url("wss://h/"), Some("x.pem"), true).is_err());
        assert!(tls_config(&url("wss://h/"), None, true).unwrap().is_some());
        assert!(tls_config(&url("wss://h/"), Some("/nonexistent.pem"), false).is_err());
    }

    #[test]
    fn wss_without_ca_or_insecure_can_trust_the_public_roots_instead() {
        let public = |u: &str, ca, insecure| tls_config_or_public_roots(&url(u), ca, insecure);
        assert!(public("wss://h/", None, false).unwrap().is_some());
        // Everything else as tls_config has it.
        assert!(public("ws://h/", None, false).unwrap().is_none());
        assert!(public("ws://h/", None, true).is_err());
        assert!(public("wss://h/", Some("x.pem"), true).is_err());
        assert!(public("wss://h/", None, true).unwrap().is_some());
    }
}
