//! The shared body of `tls_server` and `tls_client`: a TLS component fed arbitrary bytes on
//! its encrypted side, once as one piece and once cut at points the input chooses, on the
//! rustls API the input picks, with an application that may write and close plaintext.
//!
//! Checked in each run: arbitrary bytes never complete a handshake or yield plaintext;
//! `process` reports at most one error, after which the plaintext side has been aborted
//! (unless it had ended before) and the encrypted side ends once the alert is out; a peer's
//! abort reaches the application as an abort; the chain settles within a bounded number of
//! calls; the application's abort tears down both directions before any input is read.
//! Across the two runs: the same error and the same ends of both streams.

use std::sync::{Arc, OnceLock};

use pipebuf::{EofKind, PipeBufPair};
use pipebuf_rustls::rustls::pki_types::ServerName;
use pipebuf_rustls::rustls::{ClientConfig, ServerConfig};
use pipebuf_rustls::{RustlsApi, Tls, config};

use super::input::{Input, pieces};
use super::wire::{Wire, check_ends_after_error, first_error, settle};

/// Most fuzzed bytes used per input.
const MAX_DATA: usize = 16 * 1024;

/// The server and client configs of the fuzz bodies: one CA and one leaf for localhost,
/// made once (key generation is slow).
pub(crate) fn configs() -> &'static (Arc<ServerConfig>, Arc<ClientConfig>) {
    static CONFIGS: OnceLock<(Arc<ServerConfig>, Arc<ClientConfig>)> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let pki = crate::make_pki("pipebuf fuzz CA");
        let server = config::server_config(
            pki.cert_pem.as_bytes(),
            pki.key_pem.as_bytes(),
            &Default::default(),
        )
        .expect("server config");
        let client = config::client_config(pki.ca_pem.as_bytes(), &Default::default())
            .expect("client config");
        (server, client)
    })
}

/// A component of the role and API asked for.
pub(crate) fn make(server: bool, api: RustlsApi) -> Tls {
    let (server_config, client_config) = configs();
    if server {
        Tls::server_using(Arc::clone(server_config), api).expect("a server session")
    } else {
        let name = ServerName::try_from("localhost").expect("a server name");
        Tls::client_using(Arc::clone(client_config), name, api).expect("a client session")
    }
}

/// What one run saw.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// The error `process` reported, as its variant and rustls error.
    error: Option<String>,
    /// How the plaintext stream to the application ended.
    plain_end: Option<EofKind>,
    /// How the encrypted stream to the peer ended.
    crypt_end: Option<EofKind>,
}

struct Run {
    tls: Tls,
    wire: Wire,
    plain: PipeBufPair,
    outcome: Outcome,
    end_before_error: Option<Option<EofKind>>,
}

impl Run {
    fn new(server: bool, api: RustlsApi, send: Option<Option<EofKind>>) -> Run {
        let mut run = Run {
            tls: make(server, api),
            wire: Wire::new(),
            plain: PipeBufPair::new(),
            outcome: Outcome {
                error: None,
                plain_end: None,
                crypt_end: None,
            },
            end_before_error: None,
        };
        if let Some(end) = send {
            let mut app = run.plain.upper();
            app.wr.append(b"early plaintext").expect("room");
            app.wr.push();
            match end {
                Some(EofKind::Close) => app.wr.close(),
                Some(EofKind::Abort) => app.wr.abort(),
                None => (),
            }
        }
        run
    }

    fn settle(&mut self, budget: usize) {
        settle(budget, || {
            let active = first_error(
                self.tls
                    .process(self.wire.upper(), self.plain.lower())
                    .map_err(|e| format!("{e:?}")),
                &mut self.outcome.error,
                &mut self.end_before_error,
                self.outcome.plain_end,
            );
            // The application reads; the peer takes what is written.
            let mut app = self.plain.upper();
            let app_before = app.rd.tripwire();
            assert!(
                app.rd.is_empty(),
                "plaintext from arbitrary bytes: {:?}",
                app.rd.data()
            );
            app.rd.consume_push();
            if let Some(kind) = app.rd.consume_eof() {
                self.outcome.plain_end = Some(kind);
            }
            let app_active = app_before != app.rd.tripwire();
            let peer_active = self.wire.take();
            (active || app_active || peer_active, true)
        });
    }

    fn feed(&mut self, piece: &[u8]) {
        self.wire.feed(piece);
        self.settle(4 * piece.len() + 64);
    }

    fn finish(mut self, end: Option<EofKind>) -> Outcome {
        self.wire.end(end);
        self.settle(256);
        self.outcome.crypt_end = self.wire.ended;
        assert!(
            self.tls.is_handshaking(),
            "arbitrary bytes completed a handshake"
        );
        check_ends_after_error(
            &self.outcome.error,
            self.end_before_error,
            self.outcome.plain_end,
            self.outcome.crypt_end,
        );
        if end == Some(EofKind::Abort) {
            assert_eq!(
                self.outcome.plain_end,
                Some(EofKind::Abort),
                "the peer's abort did not reach the application"
            );
        }
        self.outcome
    }
}

/// Runs one input against a server (`server`) or a client.
pub(crate) fn run(data: &[u8], server: bool) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let api = if flags & 1 == 1 {
        RustlsApi::Unbuffered
    } else {
        RustlsApi::Buffered
    };
    let end = [None, Some(EofKind::Close), Some(EofKind::Abort)][usize::from(flags / 2 % 3)];
    let send = [
        None,
        Some(None),
        Some(Some(EofKind::Close)),
        Some(Some(EofKind::Abort)),
    ][usize::from(flags / 6 % 4)];
    let choice_count = input.below(16);
    let choices = input.take(choice_count);
    let stream = input.rest();
    let stream = &stream[..stream.len().min(MAX_DATA)];

    let mut whole = Run::new(server, api, send);
    whole.feed(stream);
    let whole = whole.finish(end);

    let mut split = Run::new(server, api, send);
    for piece in pieces(stream, &mut Input::new(choices)) {
        split.feed(piece);
    }
    let split = split.finish(end);
    if send == Some(Some(EofKind::Abort)) {
        // The application aborted before any input came: nothing the peer sends counts.
        let torn_down = Outcome {
            error: None,
            plain_end: Some(EofKind::Abort),
            crypt_end: Some(EofKind::Abort),
        };
        assert_eq!(
            whole, torn_down,
            "the application's abort did not tear down"
        );
    }
    assert_eq!(whole, split, "one piece and many pieces differ");
}
