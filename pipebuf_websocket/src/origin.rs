//! Which web pages may open a WebSocket: an allow-list for the `Origin` field.
//!
//! A browser lets any page open a WebSocket to any server, and sends along the user's
//! cookies for that server; what it adds is the page's origin in the `Origin` field
//! (RFC 6455 §10.2, RFC 6454). A server that trusts its cookies must therefore refuse the
//! origins that are not its own, or any site its users visit can talk to it in their name
//! (cross-site WebSocket hijacking). [`OriginPolicy`] is that check, as an accept callback
//! for [`WebSocket::server`](crate::WebSocket::server):
//!
//! - exact origins: `https://chat.example:8443`; scheme and host compared without regard to
//!   case, a default port (80 for `http`/`ws`, 443 for `https`/`wss`) equal to no port;
//! - the same host: the origin's host and port equal the request's `Host` field, i.e. the
//!   page was served by the host the WebSocket connects to;
//! - a request without `Origin` (a program, not a browser: browsers always send it) is
//!   accepted or refused as [`WithoutOrigin`] says; there is no default, since both are
//!   right for some servers;
//! - `Origin: null` (sandboxed frames, `file:` and `data:` pages: anyone can make one) and
//!   an origin that does not parse never match.
//!
//! Refused requests get `403 Forbidden`.
//!
//! ```
//! use pipebuf_websocket::origin::{OriginPolicy, WithoutOrigin};
//! use pipebuf_websocket::{WebSocket, WsConfig};
//!
//! let policy = OriginPolicy::new(WithoutOrigin::Accept)
//!     .allow_same_host()
//!     .allow("https://chat.example:8443")
//!     .unwrap();
//! let server = WebSocket::server(WsConfig::default(), policy.into_accept_fn());
//! # drop(server);
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::handshake::{Decision, UpgradeRequest};
use crate::websocket::{AcceptFn, accept_all};

/// The status a refused origin gets.
const FORBIDDEN: u16 = 403;

/// What an [`OriginPolicy`] does with a request that has no `Origin` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithoutOrigin {
    /// Accept it: the server also serves programs (command-line clients, other servers),
    /// which send no `Origin`. Browsers always send one, so this opens nothing to web pages.
    Accept,
    /// Refuse it with 403: only browsers on the allowed origins may connect.
    Refuse,
}

/// An allow-list of origins for upgrade requests; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    /// The exact origins allowed, as given.
    exact: Vec<Allowed>,
    /// Whether an origin on the request's own host and port is allowed.
    same_host: bool,
    without_origin: WithoutOrigin,
}

/// An allowed origin, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allowed {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl OriginPolicy {
    /// A policy that allows no origin yet; requests without `Origin` fare as `without_origin`
    /// says.
    pub fn new(without_origin: WithoutOrigin) -> Self {
        OriginPolicy {
            exact: Vec::new(),
            same_host: false,
            without_origin,
        }
    }

    /// Also allows `origin`, written as a browser sends it: `scheme://host[:port]`, such as
    /// `https://chat.example:8443` or `http://[::1]:8080`.
    ///
    /// # Errors
    ///
    /// [`OriginError`] for anything else: a path (even `/`), user information, a bad port,
    /// or `null`, which any page can send and so cannot be allowed.
    pub fn allow(mut self, origin: &str) -> Result<Self, OriginError> {
        let parts = Parts::parse(origin)?;
        self.exact.push(Allowed {
            scheme: parts.scheme.to_ascii_lowercase(),
            host: parts.host.to_ascii_lowercase(),
            port: parts.port,
        });
        Ok(self)
    }

    /// Also allows every origin whose host and port are those of the request's `Host` field:
    /// the page came from the server the WebSocket connects to. The scheme is not compared
    /// (the WebSocket cannot know whether TLS runs below it); a `Host` without a port means
    /// the default port of the origin's scheme.
    ///
    /// This trusts the `Host` field, which a browser sets from the name the page used. A page
    /// on a hostile name that resolves to this server (DNS rebinding) passes; over TLS the
    /// browser refuses such a connection, because the certificate does not carry that name,
    /// but over plain `ws://` list the exact origins instead.
    pub fn allow_same_host(mut self) -> Self {
        self.same_host = true;
        self
    }

    /// The exact origins allowed, normalized (lower case, no default port), e.g. for a log
    /// line.
    pub fn exact_origins(&self) -> Vec<String> {
        self.exact.iter().map(ToString::to_string).collect()
    }

    /// Whether `request` may open a WebSocket.
    pub fn allows(&self, request: &UpgradeRequest) -> bool {
        let Some(origin) = request.origin() else {
            return self.without_origin == WithoutOrigin::Accept;
        };
        // `null` and any origin we cannot read fail here and match nothing.
        let Ok(parts) = Parts::parse(origin) else {
            return false;
        };
        self.exact.iter().any(|allowed| parts.is(allowed))
            || (self.same_host && parts.on_host(request.host()))
    }

    /// The decision for `request`: [`Decision::Accept`] with no subprotocol, or
    /// [`Decision::Reject`] with 403.
    pub fn decide(&self, request: &UpgradeRequest) -> Decision {
        if self.allows(request) {
            Decision::Accept { subprotocol: None }
        } else {
            Decision::Reject(FORBIDDEN)
        }
    }

    /// An accept callback that refuses the requests this policy does not allow with 403 and
    /// accepts the others with no subprotocol.
    pub fn into_accept_fn(self) -> AcceptFn {
        self.guard(accept_all())
    }

    /// An accept callback that refuses the requests this policy does not allow with 403 and
    /// hands the others to `accept` (to choose a subprotocol, check a path or a cookie).
    pub fn guard(self, mut accept: AcceptFn) -> AcceptFn {
        alloc::boxed::Box::new(move |request| {
            if self.allows(request) {
                accept(request)
            } else {
                Decision::Reject(FORBIDDEN)
            }
        })
    }
}

/// Why a string given to [`OriginPolicy::allow`] is no origin.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginError {
    /// `null`: the origin of sandboxed frames and `file:`/`data:` pages, which any page can
    /// take on; allowing it would allow everyone.
    Null,
    /// Not `scheme://host[:port]`: this says what is wrong.
    Malformed(&'static str),
}

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginError::Null => {
                f.write_str("the origin `null` cannot be allowed: any page can send it")
            }
            OriginError::Malformed(what) => {
                write!(f, "not an origin (scheme://host[:port]): {what}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for OriginError {}

/// An origin's parts as written (compared without regard to case), the port filled in
/// with the scheme's default when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
}

impl<'a> Parts<'a> {
    fn parse(origin: &'a str) -> Result<Self, OriginError> {
        if origin == "null" {
            return Err(OriginError::Null);
        }
        let (scheme, authority) = origin
            .split_once("://")
            .ok_or(OriginError::Malformed("no `://` after a scheme"))?;
        if !is_scheme(scheme) {
            return Err(OriginError::Malformed(
                "the scheme is not letters, digits, +-.",
            ));
        }
        if authority.contains(['/', '?', '#']) {
            return Err(OriginError::Malformed(
                "an origin has no path, query or fragment",
            ));
        }
        if authority.contains('@') {
            return Err(OriginError::Malformed("an origin has no user information"));
        }
        let (host, port) = split_host_port(authority).ok_or(OriginError::Malformed(
            "the host is empty or the port is not a number from 1 to 65535",
        ))?;
        Ok(Parts {
            scheme,
            host,
            port: port.or_else(|| default_port(scheme)),
        })
    }

    /// Whether these are the parts of `allowed`.
    fn is(&self, allowed: &Allowed) -> bool {
        self.scheme.eq_ignore_ascii_case(&allowed.scheme)
            && self.host.eq_ignore_ascii_case(&allowed.host)
            && self.port == allowed.port
    }

    /// Whether this origin's host and port are those of the `Host` field `host`.
    fn on_host(&self, host: &str) -> bool {
        match split_host_port(host) {
            Some((name, port)) => {
                name.eq_ignore_ascii_case(self.host)
                    && port.or_else(|| default_port(self.scheme)) == self.port
            }
            None => false,
        }
    }
}

/// `host[:port]` or `[v6][:port]` split into host and port. An IPv6 host keeps its brackets
/// (`[::1]` in an origin is then compared with `[::1]` in `Host`). `None` for an empty host
/// or one with spaces or control characters, or a port that is not 1 to 65535; an empty
/// port after the colon counts as none (RFC 3986 allows it).
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')? + 1;
        let (host, rest) = authority.split_at(end);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host == "[]" || !host.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse::<u16>().ok().filter(|&p| p != 0)?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// RFC 3986: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// The port a scheme means when an origin names none.
fn default_port(scheme: &str) -> Option<u16> {
    ["http", "ws"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s))
        .then_some(80)
        .or_else(|| {
            ["https", "wss"]
                .iter()
                .any(|s| scheme.eq_ignore_ascii_case(s))
                .then_some(443)
        })
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            Some(port) if Some(port) != default_port(&self.scheme) => write!(f, ":{port}"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{HandshakeLimits, RequestStatus, parse_request};
    use alloc::format;

    /// An upgrade request with `Host: host` and, if given, `Origin: origin`.
    fn request(host: &str, origin: Option<&str>) -> UpgradeRequest {
        let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
        let head = format!(
            "GET /chat HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n{origin}\r\n"
        );
        match parse_request(head.as_bytes(), &HandshakeLimits::default()) {
            Ok(RequestStatus::Complete(request, _)) => request,
            other => panic!("{head:?} does not parse: {other:?}"),
        }
    }

    fn exact(origin: &str) -> OriginPolicy {
        OriginPolicy::new(WithoutOrigin::Refuse)
            .allow(origin)
            .unwrap_or_else(|e| panic!("{origin}: {e}"))
    }

    fn same_host() -> OriginPolicy {
        OriginPolicy::new(WithoutOrigin::Refuse).allow_same_host()
    }

    #[test]
    fn an_exact_origin_is_allowed_and_any_other_refused_with_403() {
        let policy = exact("https://chat.example:8443");
        let ours = request("chat.example:8443", Some("https://chat.example:8443"));
        assert!(policy.allows(&ours));
        assert_eq!(policy.decide(&ours), Decision::Accept { subprotocol: None });
        for other in [
            "https://evil.example:8443",
            "http://chat.example:8443",
            "https://chat.example:8444",
            "https://chat.example",
            "https://sub.chat.example:8443",
            "https://chat.example.evil:8443",
        ] {
            let theirs = request("chat.example:8443", Some(other));
            assert!(!policy.allows(&theirs), "{other}");
            assert_eq!(policy.decide(&theirs), Decision::Reject(403), "{other}");
        }
    }

    #[test]
    fn scheme_and_host_are_compared_without_regard_to_case() {
        let policy = exact("HTTPS://Chat.Example:8443");
        for origin in ["https://chat.example:8443", "hTTps://CHAT.example:8443"] {
            assert!(policy.allows(&request("x", Some(origin))), "{origin}");
        }
        assert_eq!(policy.exact_origins(), ["https://chat.example:8443"]);
    }

    #[test]
    fn a_default_port_equals_no_port() {
        for (allowed, sent) in [
            ("https://chat.example", "https://chat.example:443"),
            ("https://chat.example:443", "https://chat.example"),
            ("http://chat.example:80", "http://chat.example"),
            ("wss://chat.example", "wss://chat.example:443"),
        ] {
            assert!(
                exact(allowed).allows(&request("x", Some(sent))),
                "{allowed} vs {sent}"
            );
        }
        assert!(
            !exact("http://chat.example").allows(&request("x", Some("http://chat.example:443")))
        );
        assert_eq!(exact("https://a:443").exact_origins(), ["https://a"]);
        // A scheme without a default port needs the same port, or none on both sides.
        assert!(exact("app://a").allows(&request("x", Some("app://a"))));
        assert!(!exact("app://a").allows(&request("x", Some("app://a:80"))));
    }

    #[test]
    fn the_same_host_means_the_host_fields_name_and_port() {
        let policy = same_host();
        for (host, origin) in [
            ("127.0.0.1:8443", "https://127.0.0.1:8443"),
            ("Chat.Example:8443", "https://chat.example:8443"),
            ("chat.example", "https://chat.example"),
            ("chat.example", "https://chat.example:443"),
            ("chat.example:443", "https://chat.example"),
            ("[::1]:8443", "https://[::1]:8443"),
            // The scheme is not compared: the WebSocket cannot know whether TLS is below.
            ("chat.example:8443", "http://chat.example:8443"),
        ] {
            assert!(
                policy.allows(&request(host, Some(origin))),
                "{host} {origin}"
            );
        }
        for (host, origin) in [
            ("127.0.0.1:8443", "https://localhost:8443"),
            ("127.0.0.1:8443", "https://127.0.0.1:8444"),
            ("127.0.0.1:8443", "https://127.0.0.1"),
            ("chat.example", "https://chat.example:8443"),
            ("chat.example", "http://evil.example"),
            ("[::1]:8443", "https://[::2]:8443"),
        ] {
            assert!(
                !policy.allows(&request(host, Some(origin))),
                "{host} {origin}"
            );
        }
    }

    #[test]
    fn same_host_and_exact_origins_combine() {
        let policy = same_host().allow("https://app.example").unwrap();
        assert!(policy.allows(&request("api.example:8443", Some("https://app.example"))));
        assert!(policy.allows(&request(
            "api.example:8443",
            Some("https://api.example:8443")
        )));
        assert!(!policy.allows(&request("api.example:8443", Some("https://evil.example"))));
    }

    #[test]
    fn a_request_without_origin_is_accepted_or_refused_as_configured() {
        let no_origin = request("chat.example", None);
        let accept = OriginPolicy::new(WithoutOrigin::Accept).allow_same_host();
        assert!(accept.allows(&no_origin));
        let refuse = OriginPolicy::new(WithoutOrigin::Refuse).allow_same_host();
        assert!(!refuse.allows(&no_origin));
        assert_eq!(refuse.decide(&no_origin), Decision::Reject(403));
    }

    #[test]
    fn the_null_origin_matches_nothing_and_cannot_be_allowed() {
        let everything = OriginPolicy::new(WithoutOrigin::Accept)
            .allow_same_host()
            .allow("https://chat.example")
            .unwrap();
        assert!(!everything.allows(&request("chat.example", Some("null"))));
        assert_eq!(
            OriginPolicy::new(WithoutOrigin::Accept).allow("null"),
            Err(OriginError::Null)
        );
    }

    #[test]
    fn an_origin_that_does_not_parse_matches_nothing() {
        let policy = OriginPolicy::new(WithoutOrigin::Accept).allow_same_host();
        for origin in [
            "chat.example",
            "https://",
            "https://chat.example:0",
            "https://chat.example:65536",
            "https://chat.example:x",
            "https://chat.example/",
            "https://u@chat.example",
            "https://[::1",
            "1https://chat.example",
            // (An empty `Origin` never gets here: the request is refused with 400.)
        ] {
            assert!(
                !policy.allows(&request("chat.example", Some(origin))),
                "{origin:?}"
            );
        }
    }

    #[test]
    fn allowing_something_that_is_no_origin_says_what_is_wrong() {
        for bad in [
            "chat.example",
            "https://chat.example/",
            "https://chat.example/chat",
            "https://u@chat.example",
            "https://chat.example:99999",
            "https://",
            "://chat.example",
        ] {
            let error = OriginPolicy::new(WithoutOrigin::Accept)
                .allow(bad)
                .expect_err(bad);
            assert!(matches!(error, OriginError::Malformed(_)), "{bad}");
            assert!(error.to_string().starts_with("not an origin"), "{bad}");
        }
    }

    #[test]
    fn a_guard_hands_allowed_requests_to_the_next_callback_only() {
        let mut accept = same_host().guard(alloc::boxed::Box::new(|request| Decision::Accept {
            subprotocol: request.pick_subprotocol(&["chat"]).map(String::from),
        }));
        assert_eq!(
            accept(&request("a:1", Some("https://a:1"))),
            Decision::Accept { subprotocol: None }
        );
        assert_eq!(
            accept(&request("a:1", Some("https://b:1"))),
            Decision::Reject(403)
        );
        let mut plain = same_host().into_accept_fn();
        assert_eq!(plain(&request("a:1", None)), Decision::Reject(403));
    }
}
