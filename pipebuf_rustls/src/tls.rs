//! The TLS component: stream-state rules between the encrypted and the plaintext pair.

use std::sync::Arc;

use pipebuf::{EofKind, PBufRdWr};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ServerConfig};

use crate::TlsError;
use crate::engine::{Engine, RustlsApi, max_plaintext};

/// A TLS server or client between an encrypted pair (towards the socket) and a plaintext pair
/// (towards the application).
///
/// Each [`process`](Tls::process) call consumes encrypted input and produces plaintext, and
/// consumes plaintext and produces records, as far as buffer space allows. Stream state
/// crosses faithfully:
///
/// | from | to |
/// |---|---|
/// | plaintext push | encrypted push, once the records are written |
/// | plaintext close | close_notify, then encrypted close once it is written |
/// | plaintext abort | encrypted abort (no close_notify) |
/// | close_notify received | plaintext close, after the data before it |
/// | encrypted close without close_notify (truncation) | plaintext **abort** |
/// | encrypted abort | plaintext abort |
///
/// Plaintext written before the handshake completes waits in its buffer and is sent after.
/// If the application aborts before the handshake completes, the handshake never will: both
/// sides are aborted at once and encrypted input is dropped unread from then on.
/// If the encrypted input ends before the handshake completes, the handshake never will:
/// the plaintext side is aborted (as for any truncation), and so is the encrypted output
/// once what rustls still has to write is out; plaintext offered from then on (a close
/// included) is dropped. On a TLS error the alert is written to the encrypted side in the
/// same call, the plaintext side is aborted, the encrypted side is closed once the alert is
/// out, and the typed error is returned; later calls only drain and discard.
#[derive(Debug)]
pub struct Tls {
    engine: Engine,
    session: Session,
}

/// Where the session stands on our side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Session {
    /// Handshaking or established: plaintext is sent once the handshake completes.
    Open,
    /// Our close_notify is queued: close the encrypted side once rustls has written it.
    Closing,
    /// The encrypted input ended during the handshake, which therefore can never complete:
    /// nothing can be sent any more.
    Stranded,
    /// A TLS error happened: only flush the alert and discard input from now on.
    Failed,
    /// The application aborted during the handshake, which therefore can never complete:
    /// both directions are over at once, and input is dropped unread.
    Aborted,
}

impl Tls {
    /// A server session on the default [`RustlsApi`].
    pub fn server(config: Arc<ServerConfig>) -> Result<Self, TlsError> {
        Self::server_using(config, RustlsApi::default())
    }

    /// A client session for the server `name` (checked against its certificate; also sent
    /// as SNI when it is a DNS name), on the default [`RustlsApi`].
    pub fn client(config: Arc<ClientConfig>, name: ServerName<'static>) -> Result<Self, TlsError> {
        Self::client_using(config, name, RustlsApi::default())
    }

    /// A server session on the given rustls API.
    pub fn server_using(config: Arc<ServerConfig>, api: RustlsApi) -> Result<Self, TlsError> {
        Ok(Self::new(
            Engine::server(config, api).map_err(TlsError::classify)?,
        ))
    }

    /// A client session on the given rustls API.
    pub fn client_using(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
        api: RustlsApi,
    ) -> Result<Self, TlsError> {
        Ok(Self::new(
            Engine::client(config, name, api).map_err(TlsError::classify)?,
        ))
    }

    fn new(engine: Engine) -> Self {
        Tls {
            engine,
            session: Session::Open,
        }
    }

    /// Runs the session as far as the buffers allow; returns whether anything observable
    /// happened.
    ///
    /// `crypt` is the encrypted pair seen from above (`rd`: records from the peer, `wr`:
    /// records to the peer: [`PipeBufPair::upper`](pipebuf::PipeBufPair::upper));
    /// `plain` is the plaintext pair seen from below (`rd`: application data to send, `wr`:
    /// data for the application: [`PipeBufPair::lower`](pipebuf::PipeBufPair::lower)).
    pub fn process(
        &mut self,
        mut crypt: PBufRdWr<'_>,
        mut plain: PBufRdWr<'_>,
    ) -> Result<bool, TlsError> {
        let before = [
            crypt.rd.tripwire(),
            crypt.wr.tripwire(),
            plain.rd.tripwire(),
            plain.wr.tripwire(),
        ];
        if self.session == Session::Open
            && self.engine.is_handshaking()
            && plain.rd.pending_eof() == Some(EofKind::Abort)
        {
            // Checked before any input is read, so that what the peer sent meanwhile (a
            // record that would fail, say) cannot change the outcome with where reads were cut.
            self.session = Session::Aborted;
            if !crypt.wr.is_eof() {
                crypt.wr.abort();
            }
            if !plain.wr.is_eof() {
                plain.wr.abort();
            }
        }
        let was_handshaking = self.engine.is_handshaking();
        if self.session == Session::Aborted {
            crypt.rd.discard();
            plain.rd.discard();
        } else if self.session == Session::Failed {
            self.discard(&mut crypt, &mut plain);
        } else if let Err(e) = self.run(&mut crypt, &mut plain) {
            self.session = Session::Failed;
            // The alert rustls queued goes out now, in this call.
            let out_before = crypt.wr.tripwire();
            self.engine.flush(&mut crypt.rd, &mut crypt.wr);
            // (Output alone does not tell: a handshake flight encoded before the failure may
            // have gone out just now.)
            let alert_written = self
                .engine
                .failure_alert()
                .unwrap_or_else(|| crypt.wr.tripwire() != out_before || self.engine.wants_write());
            if !alert_written && !matches!(e, rustls::Error::AlertReceived(_)) {
                // Some errors leave rustls with no alert to send: then an abort, not a clean
                // close, is what tells the peer the session broke.
                crypt.wr.abort();
            }
            self.discard(&mut crypt, &mut plain);
            if !plain.wr.is_eof() {
                plain.wr.abort();
            }
            log_at!(debug, "TLS failed: {e}");
            return Err(TlsError::classify(e));
        }
        if was_handshaking && !self.engine.is_handshaking() {
            self.log_handshake();
        }
        let after = [
            crypt.rd.tripwire(),
            crypt.wr.tripwire(),
            plain.rd.tripwire(),
            plain.wr.tripwire(),
        ];
        Ok(before != after)
    }

    fn run(
        &mut self,
        crypt: &mut PBufRdWr<'_>,
        plain: &mut PBufRdWr<'_>,
    ) -> Result<(), rustls::Error> {
        self.receive(crypt, plain)?;
        self.send(crypt, plain);
        Ok(())
    }

    fn receive(
        &mut self,
        crypt: &mut PBufRdWr<'_>,
        plain: &mut PBufRdWr<'_>,
    ) -> Result<(), rustls::Error> {
        self.engine.receive(&mut crypt.rd, &mut plain.wr)?;
        if self.engine.peer_closed() && self.engine.plaintext_pending() == 0 && !plain.wr.is_eof() {
            plain.wr.close();
        }
        // Nothing after close_notify counts (RFC 8446 §6.1); at the end of the stream (or after
        // an abort) input the engine left, an incomplete record, can never complete. Drop it so
        // that the end of stream behind it is reached.
        let input_over = match crypt.rd.pending_eof() {
            Some(EofKind::Abort) => true,
            Some(EofKind::Close) => self.engine.plaintext_pending() == 0,
            None => false,
        };
        let peer_closed = self.engine.peer_closed();
        if peer_closed || (input_over && !crypt.rd.is_empty()) {
            if !peer_closed && self.engine.abandon_input() && !crypt.wr.is_eof() {
                // This engine cannot go on without the input it had started on.
                crypt.wr.abort();
            }
            crypt.rd.consume_all();
            crypt.rd.consume_push();
        }
        // A push crosses once everything before it has been decrypted and handed on.
        if crypt.rd.is_empty()
            && self.engine.plaintext_pending() == 0
            && crypt.rd.consume_push()
            && !plain.wr.is_eof()
        {
            plain.wr.push();
        }
        // Handshake flights and alerts answer what was just received.
        self.engine.flush(&mut crypt.rd, &mut crypt.wr);
        if crypt.rd.has_pending_eof() {
            if self.engine.is_handshaking() {
                self.session = Session::Stranded;
            }
            let kind = crypt.rd.consume_eof();
            let clean = kind == Some(EofKind::Close) && self.engine.peer_closed();
            if !clean && !plain.wr.is_eof() {
                // A FIN without close_notify is a truncation attack or a crashed peer.
                plain.wr.abort();
            }
        } else if crypt.rd.pending_eof() == Some(EofKind::Abort) && !plain.wr.is_eof() {
            plain.wr.abort();
        }
        Ok(())
    }

    fn send(&mut self, crypt: &mut PBufRdWr<'_>, plain: &mut PBufRdWr<'_>) {
        if crypt.wr.is_eof() {
            // The encrypted side ended (abort, or close after close_notify): nothing more can
            // be sent; drop what the application still offers.
            plain.rd.discard();
            return;
        }
        if self.session == Session::Stranded {
            // No keys will ever exist to send what the application offers, and no input
            // will ever come: end the session once rustls' last words (an alert) are out.
            plain.rd.discard();
            self.engine.flush(&mut crypt.rd, &mut crypt.wr);
            if !self.engine.wants_write() {
                crypt.wr.abort();
            }
            return;
        }
        if plain.rd.pending_eof() == Some(EofKind::Abort) {
            // Established: only this direction ends, as the table says.
            plain.rd.discard();
            crypt.wr.abort();
            return;
        }
        if !self.engine.is_handshaking() && self.session == Session::Open {
            while !plain.rd.is_empty() {
                // Records rustls still holds go first; only then is the room known.
                self.engine.flush(&mut crypt.rd, &mut crypt.wr);
                if self.engine.wants_write() {
                    break;
                }
                // Only plaintext whose records will fit the encrypted buffer is taken.
                let fits = max_plaintext(crypt.wr.room());
                if fits == 0 {
                    break;
                }
                let take = fits.min(plain.rd.len());
                let n = self.engine.send_plaintext(
                    &plain.rd.data()[..take],
                    &mut crypt.rd,
                    &mut crypt.wr,
                );
                if n == 0 {
                    break;
                }
                let _ = plain.rd.consume(n);
            }
            if plain.rd.is_empty() {
                if plain.rd.has_pending_eof() {
                    plain.rd.consume_push();
                    plain.rd.consume_eof();
                    self.engine.send_close_notify(&mut crypt.rd);
                    self.session = Session::Closing;
                } else if !self.engine.wants_write() && plain.rd.consume_push() {
                    crypt.wr.push();
                }
            }
        }
        self.engine.flush(&mut crypt.rd, &mut crypt.wr);
        if self.session == Session::Closing && !self.engine.wants_write() {
            crypt.wr.push();
            crypt.wr.close();
        }
    }

    /// After an error: keep flushing the alert, then close; swallow everything else so the
    /// chain can finish.
    fn discard(&mut self, crypt: &mut PBufRdWr<'_>, plain: &mut PBufRdWr<'_>) {
        crypt.rd.discard();
        plain.rd.discard();
        if !crypt.wr.is_eof() {
            self.engine.flush(&mut crypt.rd, &mut crypt.wr);
            if !self.engine.wants_write() {
                crypt.wr.push();
                crypt.wr.close();
            }
        }
    }

    /// Records what the completed handshake agreed.
    fn log_handshake(&self) {
        log_at!(
            debug,
            "TLS handshake complete: {:?}, {:?}, ALPN {:?}, SNI {:?}",
            self.engine.protocol_version(),
            self.engine.cipher_suite().map(|s| s.suite()),
            self.engine
                .alpn_protocol()
                .map(|p| core::str::from_utf8(p).unwrap_or("(not UTF-8)")),
            self.engine.server_name(),
        );
    }

    /// Whether the handshake is still in progress.
    pub fn is_handshaking(&self) -> bool {
        self.engine.is_handshaking()
    }

    /// The negotiated ALPN protocol.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.engine.alpn_protocol()
    }

    /// The SNI name the client sent (server side only).
    pub fn server_name(&self) -> Option<&str> {
        self.engine.server_name()
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.engine.protocol_version()
    }

    /// The negotiated cipher suite.
    pub fn cipher_suite(&self) -> Option<rustls::SupportedCipherSuite> {
        self.engine.cipher_suite()
    }

    /// The peer's certificate chain, once received.
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.engine.peer_certificates()
    }

    /// The rustls API this session drives.
    pub fn api(&self) -> RustlsApi {
        self.engine.api()
    }

    /// Sends a TLS 1.3 key update (new traffic keys in both directions). Call
    /// [`process`](Tls::process) afterwards so that it is written. Fails before the
    /// handshake completes and on TLS 1.2.
    pub fn refresh_traffic_keys(&mut self) -> Result<(), TlsError> {
        self.engine
            .refresh_traffic_keys()
            .map_err(TlsError::classify)
    }
}

/// TLS in a [`pipebuf::Stack`]: `lower` is the encrypted pair, `upper` the plaintext pair.
/// TLS has no timers of its own (the handshake deadline belongs to the driver or the layer
/// above), so `now` is not used.
impl pipebuf::Layer for Tls {
    type Error = TlsError;

    fn process(
        &mut self,
        _now: pipebuf::Time,
        crypt: PBufRdWr<'_>,
        plain: PBufRdWr<'_>,
    ) -> Result<bool, TlsError> {
        Tls::process(self, crypt, plain)
    }
}

#[cfg(test)]
mod tests {
    use pipebuf::PipeBufPair;

    use super::*;
    use crate::config;

    /// A client and a server on `api`, the wire between them and each one's plaintext pair.
    struct Pair {
        client: Tls,
        server: Tls,
        wire: PipeBufPair,
        client_plain: PipeBufPair,
        server_plain: PipeBufPair,
    }

    impl Pair {
        fn new(api: RustlsApi) -> Pair {
            let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
            let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
            let server =
                config::server_config(cert_pem.as_bytes(), key_pem.as_bytes(), &Default::default())
                    .unwrap();
            let client = config::client_config(cert_pem.as_bytes(), &Default::default()).unwrap();
            Pair {
                client: Tls::client_using(client, "localhost".try_into().unwrap(), api).unwrap(),
                server: Tls::server_using(server, api).unwrap(),
                wire: PipeBufPair::new(),
                client_plain: PipeBufPair::new(),
                server_plain: PipeBufPair::new(),
            }
        }

        /// Runs both sides until neither does anything; the client application writes what
        /// is left of `send` as far as its buffer takes it.
        fn settle(&mut self, send: &mut &[u8]) {
            for _ in 0..100_000 {
                let n = self.client_plain.upper().wr.append_some(send).unwrap();
                *send = &send[n..];
                let c = self
                    .client
                    .process(self.wire.upper(), self.client_plain.lower())
                    .unwrap();
                let s = self
                    .server
                    .process(self.wire.lower(), self.server_plain.lower())
                    .unwrap();
                if n == 0 && !c && !s {
                    return;
                }
            }
            panic!("the pair did not settle");
        }
    }

    /// The first flight of a client on `api`: its ClientHello record(s).
    fn client_hello(api: RustlsApi) -> Vec<u8> {
        let mut pair = Pair::new(api);
        pair.client
            .process(pair.wire.upper(), pair.client_plain.lower())
            .unwrap();
        pair.wire.lower().rd.data().to_vec()
    }

    /// Regression: a peer that left during the handshake (a FIN, no close_notify) used to
    /// leave the encrypted output open for ever: the application's close waited for a
    /// handshake that could no longer complete, so a server held the connection (and its
    /// socket) until the process ended.
    #[test]
    fn a_peer_that_leaves_during_the_handshake_gets_the_encrypted_output_aborted() {
        for api in [RustlsApi::Buffered, RustlsApi::Unbuffered] {
            let hello = client_hello(api);
            for sent in [0, hello.len() / 2, hello.len()] {
                let mut server = Pair::new(api).server;
                let (mut crypt, mut plain) = (PipeBufPair::new(), PipeBufPair::new());
                crypt.lower().wr.append(&hello[..sent]).unwrap();
                crypt.lower().wr.close();
                while server.process(crypt.upper(), plain.lower()).unwrap() {}
                assert!(server.is_handshaking());
                assert_eq!(
                    plain.up.state().eof_kind(),
                    Some(EofKind::Abort),
                    "{api:?}, {sent} bytes: the truncation reaches the application"
                );
                // The application answers the end as applications do: it closes.
                plain.upper().rd.consume_eof();
                plain.upper().wr.close();
                while server.process(crypt.upper(), plain.lower()).unwrap() {}
                assert_eq!(
                    crypt.down.state().eof_kind(),
                    Some(EofKind::Abort),
                    "{api:?}, {sent} bytes of the ClientHello, then the end: the encrypted \
                     output must end"
                );
            }
        }
    }

    /// Regression (fuzzing, `tls_server`): an application abort during the handshake used to
    /// leave the input being read, so whether a later bad record failed the session depended
    /// on how the bytes had been cut (a flight the aborted output could not take stalled
    /// rustls' reading).
    #[test]
    fn an_abort_during_the_handshake_ends_both_sides_before_any_input_is_read() {
        for api in [RustlsApi::Buffered, RustlsApi::Unbuffered] {
            let hello = client_hello(api);
            for sent in [0, hello.len() / 2, hello.len()] {
                let mut server = Pair::new(api).server;
                let (mut crypt, mut plain) = (PipeBufPair::new(), PipeBufPair::new());
                plain.upper().wr.abort();
                crypt.lower().wr.append(&hello[..sent]).unwrap();
                // Garbage after the hello would fail the session if it were read.
                crypt
                    .lower()
                    .wr
                    .append(&[0x16, 3, 3, 0, 2, 0xff, 0xff])
                    .unwrap();
                while server.process(crypt.upper(), plain.lower()).unwrap() {}
                assert_eq!(
                    crypt.down.state().eof_kind(),
                    Some(EofKind::Abort),
                    "{api:?}"
                );
                assert_eq!(plain.up.state().eof_kind(), Some(EofKind::Abort), "{api:?}");
                assert!(
                    crypt.lower().rd.is_empty(),
                    "{api:?}, {sent} bytes: nothing written"
                );
                assert!(crypt.upper().rd.is_empty(), "{api:?}: input dropped");
                // More input later changes nothing and fails nothing.
                crypt.lower().wr.append(&hello).unwrap();
                assert!(server.process(crypt.upper(), plain.lower()).unwrap());
                assert!(!server.process(crypt.upper(), plain.lower()).unwrap());
            }
        }
    }

    #[test]
    fn unbuffered_engines_keep_no_buffer_once_the_handshake_flight_and_stalled_records_are_out() {
        let mut pair = Pair::new(RustlsApi::Unbuffered);
        let data = vec![7u8; 300 * 1024];
        let mut send = &data[..];
        // The server application does not read at first and then does: whatever the engines
        // set aside on the way (the handshake flights, records held while stalled) is freed
        // once handed over, as an idle connection should not pay for it.
        pair.settle(&mut send);
        let mut received = 0;
        for _ in 0..10_000 {
            let mut app = pair.server_plain.upper();
            received += app.rd.len();
            app.rd.consume_all();
            if received == data.len() {
                break;
            }
            pair.settle(&mut send);
        }
        assert_eq!(received, data.len());
        assert!(!pair.server.is_handshaking() && !pair.client.is_handshaking());
        assert_eq!(pair.server.engine.retained(), 0, "server");
        assert_eq!(pair.client.engine.retained(), 0, "client");
    }

    #[test]
    fn every_buffer_of_an_idle_session_can_be_released_on_either_api() {
        for api in [RustlsApi::Buffered, RustlsApi::Unbuffered] {
            let mut pair = Pair::new(api);
            let data = [7u8; 100];
            let mut send = &data[..];
            pair.settle(&mut send);
            pair.server_plain.upper().rd.consume_all();
            pair.settle(&mut send);
            // Nothing waits anywhere: the driver's release must free every buffer (a
            // reservation left over from sealing a record used to pin the encrypted one).
            for (name, buf) in [
                ("wire up", &mut pair.wire.up),
                ("wire down", &mut pair.wire.down),
                ("client plain up", &mut pair.client_plain.up),
                ("client plain down", &mut pair.client_plain.down),
                ("server plain up", &mut pair.server_plain.up),
                ("server plain down", &mut pair.server_plain.down),
            ] {
                assert!(buf.is_empty(), "{api:?} {name}: {buf:?}");
                buf.release();
                assert_eq!(buf.capacity(), 0, "{api:?} {name}: {buf:?}");
            }
        }
    }

    #[test]
    fn unbuffered_receiving_sets_nothing_aside_while_the_application_sends_nothing() {
        let mut pair = Pair::new(RustlsApi::Unbuffered);
        let data: Vec<u8> = (0..1 << 20)
            .map(|i: u32| i.wrapping_mul(2_654_435_761) as u8)
            .collect();
        let mut send = &data[..];
        // The server application neither reads nor sends: its plaintext buffer fills up and
        // the rest waits in rustls and in the encrypted buffer.
        pair.settle(&mut send);
        assert!(!send.is_empty(), "no backpressure reached the client");
        assert_eq!(
            pair.server.engine.set_aside(),
            0,
            "records set aside though nothing is sent"
        );
        // Reading resumes: everything arrives, still without being set aside.
        let mut received = Vec::new();
        for _ in 0..10_000 {
            let mut app = pair.server_plain.upper();
            received.extend_from_slice(app.rd.data());
            app.rd.consume_all();
            if received.len() == data.len() {
                break;
            }
            pair.settle(&mut send);
        }
        assert!(received == data, "data differs");
        assert_eq!(pair.server.engine.set_aside(), 0);
    }
}
