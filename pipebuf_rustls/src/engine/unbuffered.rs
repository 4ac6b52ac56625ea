//! The engine on rustls' unbuffered API (`process_tls_records` and its connection states).
//!
//! Per byte received: decrypted in place inside the encrypted PipeBuf, copied into rustls'
//! plaintext queue (rustls 0.23 still does this), copied into the plaintext buffer. Per byte
//! sent: encrypted straight into the encrypted buffer's free space. Handshake records,
//! alerts and close_notify are small and rare: rustls hands each over once and would lose it
//! if it did not fit, so they go through a small queue of our own first.

use std::sync::Arc;

use pipebuf::{PBufRd, PBufWr};
use rustls::client::{ClientConnectionData, UnbufferedClientConnection};
use rustls::pki_types::ServerName;
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncryptError, UnbufferedStatus, WriteTraffic,
};
use rustls::{ClientConfig, CommonState, ServerConfig};

use super::client_hello::{Sni, sni};
use super::sealed_len;

/// The two unbuffered connection types, which share no trait in rustls.
pub(crate) trait Records: std::ops::Deref<Target = CommonStateHolder<Self::Data>> {
    type Data;
    /// Servers read the SNI name from the ClientHello themselves.
    const SERVER: bool;
    fn records<'c, 'i>(&'c mut self, input: &'i mut [u8]) -> UnbufferedStatus<'c, 'i, Self::Data>;
}

type CommonStateHolder<D> = rustls::unbuffered::UnbufferedConnectionCommon<D>;

impl Records for UnbufferedServerConnection {
    type Data = ServerConnectionData;
    const SERVER: bool = true;
    fn records<'c, 'i>(
        &'c mut self,
        input: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, ServerConnectionData> {
        self.process_tls_records(input)
    }
}

impl Records for UnbufferedClientConnection {
    type Data = ClientConnectionData;
    const SERVER: bool = false;
    fn records<'c, 'i>(
        &'c mut self,
        input: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, ClientConnectionData> {
        self.process_tls_records(input)
    }
}

/// What one `process_tls_records` round led to.
enum Step {
    /// Something changed: call again.
    Again,
    /// Nothing more to do until there is more input, output space or plaintext space.
    Idle,
}

/// Room for a close_notify record (24 bytes in TLS 1.3, 31 in TLS 1.2).
const ALERT_ROOM: usize = 64;
/// Most decrypted data held back while sending (rustls' buffered API has the same default
/// limit for received plaintext). Beyond it, sending waits until the application reads.
const HELD_LIMIT: usize = 64 * 1024;

/// A rustls connection driven through its unbuffered API.
pub(crate) struct Unbuffered<C> {
    conn: C,
    /// Encoded handshake, alert and close_notify records waiting for encrypted-buffer space.
    out: Vec<u8>,
    /// Decrypted records taken from rustls while the plaintext buffer was full, only to reach
    /// its write state for sending (up to `HELD_LIMIT`, plus the record that crossed it);
    /// delivered before anything else.
    held: Vec<u8>,
    /// rustls holds decrypted records the plaintext buffer had no room for.
    pending: bool,
    peer_closed: bool,
    /// A key update was asked for and not yet handed to rustls.
    key_update: bool,
    /// rustls failed: its alert is in `out`; it is not called again.
    failed: bool,
    /// The failure left an alert to send (some errors leave none).
    failure_alert: bool,
    /// Servers: the SNI name, `None` until the first record was looked at.
    sni: Option<Sni>,
    /// rustls last stopped in its write state with this much input left: until the input
    /// or its queue changes, another round would only say the same, so flushes skip it.
    settled_at: Option<usize>,
    /// Bytes ever moved into `held`, for tests of when records are set aside.
    #[cfg(test)]
    set_aside: usize,
}

impl<C> std::fmt::Debug for Unbuffered<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unbuffered")
            .field("out", &self.out.len())
            .field("held", &self.held.len())
            .field("pending", &self.pending)
            .field("peer_closed", &self.peer_closed)
            .finish_non_exhaustive()
    }
}

impl Unbuffered<UnbufferedServerConnection> {
    pub(crate) fn server(config: Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        Ok(Self::new(UnbufferedServerConnection::new(config)?))
    }
}

impl Unbuffered<UnbufferedClientConnection> {
    pub(crate) fn client(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<Self, rustls::Error> {
        Ok(Self::new(UnbufferedClientConnection::new(config, name)?))
    }
}

impl<C: Records> Unbuffered<C> {
    fn new(conn: C) -> Self {
        Unbuffered {
            conn,
            out: Vec::new(),
            held: Vec::new(),
            pending: false,
            peer_closed: false,
            key_update: false,
            failed: false,
            failure_alert: false,
            sni: None,
            settled_at: None,
            #[cfg(test)]
            set_aside: 0,
        }
    }

    /// Heap bytes kept in the engine's own buffers.
    #[cfg(test)]
    pub(crate) fn retained(&self) -> usize {
        self.out.capacity() + self.held.capacity()
    }

    /// Bytes ever set aside into `held`.
    #[cfg(test)]
    pub(crate) fn set_aside(&self) -> usize {
        self.set_aside
    }

    pub(crate) fn common(&self) -> &CommonState {
        &self.conn
    }

    /// The SNI name the client sent, once the handshake succeeded (servers only).
    pub(crate) fn server_name(&self) -> Option<&str> {
        match &self.sni {
            Some(Sni::Name(name)) if !self.conn.is_handshaking() => Some(name),
            _ => None,
        }
    }

    pub(crate) fn plaintext_pending(&self) -> usize {
        self.held.len() + usize::from(self.pending)
    }

    pub(crate) fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    pub(crate) fn wants_write(&self) -> bool {
        !self.out.is_empty() || self.conn.wants_write()
    }

    /// One `process_tls_records` round over the input in `rd`, which then loses what rustls
    /// is done with. Decrypted records go to `plain` as far as they fit (into `held` when
    /// there is no `plain`); in the write state, `write` runs.
    fn step(
        &mut self,
        rd: &mut PBufRd<'_>,
        mut plain: Option<&mut PBufWr<'_>>,
        write: &mut dyn FnMut(WriteTraffic<'_, C::Data>),
    ) -> Result<Step, rustls::Error> {
        self.settled_at = None;
        let UnbufferedStatus { mut discard, state } = self.conn.records(rd.data_mut());
        let step = match state {
            Err(e) => Err(e),
            Ok(ConnectionState::ReadTraffic(mut traffic)) => {
                // Records go to the plaintext buffer, or aside into `held` while sending
                // needs rustls past this state; what does not fit stays in rustls.
                self.pending = false;
                let mut step = Ok(Step::Again);
                while let Some(len) = traffic.peek_len() {
                    let fits = match &plain {
                        Some(wr) => wr.room() >= len.get(),
                        None => self.held.len() < HELD_LIMIT,
                    };
                    if !fits {
                        self.pending = true;
                        step = Ok(Step::Idle);
                        break;
                    }
                    let record = match traffic.next_record() {
                        Some(Ok(record)) => record,
                        Some(Err(e)) => {
                            step = Err(e);
                            break;
                        }
                        None => break,
                    };
                    discard += record.discard;
                    match &mut plain {
                        Some(wr) => {
                            let _ = wr.append(record.payload);
                        }
                        None => {
                            self.held.extend_from_slice(record.payload);
                            #[cfg(test)]
                            {
                                self.set_aside += record.payload.len();
                            }
                        }
                    }
                }
                step
            }
            Ok(ConnectionState::ReadEarlyData(_)) => {
                // Only a server config with `max_early_data_size` set gets here.
                Err(rustls::Error::General(
                    "0-RTT early data is not supported by this component".into(),
                ))
            }
            Ok(ConnectionState::PeerClosed) => {
                self.peer_closed = true;
                Ok(Step::Again)
            }
            Ok(ConnectionState::EncodeTlsData(mut encode)) => {
                let start = self.out.len();
                let needed = match encode.encode(&mut []) {
                    Err(EncodeError::InsufficientSize(e)) => e.required_size,
                    _ => 0,
                };
                self.out.resize(start + needed, 0);
                let written = encode.encode(&mut self.out[start..]).unwrap_or(0);
                self.out.truncate(start + written);
                Ok(Step::Again)
            }
            Ok(ConnectionState::TransmitTlsData(transmit)) => {
                // The records are in `out`, which is written before any application data.
                transmit.done();
                Ok(Step::Again)
            }
            Ok(ConnectionState::WriteTraffic(traffic)) => {
                write(traffic);
                // The caller records the input length after its discard.
                self.settled_at = Some(usize::MAX);
                Ok(Step::Idle)
            }
            Ok(_) => Ok(Step::Idle),
        };
        let _ = rd.consume(discard);
        step
    }

    /// Runs rustls until it is idle, collecting what it wants to send and running `write` in
    /// its write state. Decrypted records go to `plain` as far as they fit; without it (when
    /// sending needs rustls past its read state) they are set aside into `held`. rustls must
    /// always see the input from where it left off (it joins handshake fragments in place),
    /// so `rd` is passed even when no input is wanted. After a failure, does nothing.
    fn run(
        &mut self,
        rd: &mut PBufRd<'_>,
        mut plain: Option<&mut PBufWr<'_>>,
        write: &mut dyn FnMut(WriteTraffic<'_, C::Data>),
    ) -> Result<(), rustls::Error> {
        if self.failed {
            return Ok(());
        }
        loop {
            match self.step(rd, plain.as_deref_mut(), &mut *write) {
                Ok(Step::Again) => (),
                Ok(Step::Idle) => {
                    self.note_settled(rd);
                    return Ok(());
                }
                Err(e) => {
                    // Records encoded before the failure (a handshake flight) may still be
                    // in `out`: only what the failure adds is its alert.
                    let queued = self.out.len();
                    self.fail(rd);
                    self.failure_alert = self.out.len() > queued || self.conn.wants_write();
                    return Err(e);
                }
            }
        }
    }

    /// rustls may have started on the input being dropped (joining handshake fragments in
    /// place): calling it again without that input would break its bookkeeping, so it is not
    /// called again. Returns true: nothing more can be sent.
    pub(crate) fn abandon_input(&mut self) -> bool {
        self.failed = true;
        true
    }

    /// If the last round ended in the write state, remembers the input it left.
    fn note_settled(&mut self, rd: &PBufRd<'_>) {
        if self.settled_at.is_some() {
            self.settled_at = Some(rd.len());
        }
    }

    /// Whether a round without a write would change nothing (see `settled_at`).
    fn is_settled(&self, rd: &PBufRd<'_>) -> bool {
        self.settled_at == Some(rd.len()) && !self.conn.wants_write() && !self.key_update
    }

    /// Whether the last failure left an alert to send.
    pub(crate) fn failure_alert(&self) -> bool {
        self.failure_alert
    }

    /// After an error: collect the alert rustls queued, then never call rustls again.
    fn fail(&mut self, rd: &mut PBufRd<'_>) {
        self.failed = true;
        // Each round hands over one queued record; once none is queued, another round would
        // process the bad input again.
        for _ in 0..8 {
            if !self.conn.wants_write() {
                break;
            }
            if !matches!(self.step(rd, None, &mut |_| ()), Ok(Step::Again)) {
                break;
            }
        }
    }

    pub(crate) fn receive(
        &mut self,
        rd: &mut PBufRd<'_>,
        wr: &mut PBufWr<'_>,
    ) -> Result<(), rustls::Error> {
        if self.failed {
            return Ok(());
        }
        if C::SERVER && matches!(self.sni, None | Some(Sni::NeedMore)) {
            self.sni = Some(sni(rd.data()));
        }
        if !self.held.is_empty() {
            hand_over(&mut self.held, wr);
            if !self.held.is_empty() {
                return Ok(());
            }
        }
        self.run(rd, Some(wr), &mut |_| ())
    }

    pub(crate) fn send_plaintext(
        &mut self,
        data: &[u8],
        rd: &mut PBufRd<'_>,
        wr: &mut PBufWr<'_>,
    ) -> usize {
        self.flush(rd, wr);
        if self.wants_write() {
            return 0;
        }
        let mut sent = 0;
        let mut write = |mut traffic: WriteTraffic<'_, C::Data>| {
            let mut want = sealed_len(data.len());
            for _ in 0..2 {
                if want > wr.room() {
                    return;
                }
                let Ok(space) = wr.space(want) else {
                    return;
                };
                match traffic.encrypt(data, space) {
                    Ok(n) => {
                        let _ = wr.commit(n);
                        sent = data.len();
                        return;
                    }
                    // Our estimate was short: once more with what rustls asks for.
                    Err(EncryptError::InsufficientSize(e)) => want = e.required_size,
                    Err(_) => return,
                }
            }
        };
        let _ = self.run(rd, None, &mut write);
        // `want` is an upper bound, and a failed encryption commits nothing: what is left of
        // the reservation must not keep the idle buffer from being released.
        wr.unreserve();
        sent
    }

    pub(crate) fn flush(&mut self, rd: &mut PBufRd<'_>, wr: &mut PBufWr<'_>) {
        if self.key_update {
            let mut done = false;
            let mut write = |traffic: WriteTraffic<'_, C::Data>| {
                done = true;
                let _ = traffic.refresh_traffic_keys();
            };
            let _ = self.run(rd, None, &mut write);
            self.key_update = !done;
        }
        // With records waiting for plaintext room and nothing to send, a round would only
        // set them aside: a copy and memory per stalled connection for nothing. `receive`
        // takes them once the application reads.
        let stalled = self.pending && !self.conn.wants_write();
        if !stalled && !self.is_settled(rd) {
            let _ = self.run(rd, None, &mut |_| ());
        }
        if !self.out.is_empty() {
            hand_over(&mut self.out, wr);
        }
    }

    pub(crate) fn send_close_notify(&mut self, rd: &mut PBufRd<'_>) {
        let mut record = [0u8; ALERT_ROOM];
        let mut written = 0;
        let mut write = |mut traffic: WriteTraffic<'_, C::Data>| {
            // If it did not fit, rustls keeps it queued and hands it over as an encode state.
            written = traffic.queue_close_notify(&mut record).unwrap_or(0);
        };
        let _ = self.run(rd, None, &mut write);
        self.out.extend_from_slice(&record[..written]);
        let _ = self.run(rd, None, &mut |_| ());
    }

    /// Queues a key update; rustls gets it at the next run (it needs the input buffer).
    pub(crate) fn refresh_traffic_keys(&mut self) -> Result<(), rustls::Error> {
        if self.conn.is_handshaking() {
            return Err(rustls::Error::HandshakeNotComplete);
        }
        if self.conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
            return Err(rustls::Error::General("key update needs TLS 1.3".into()));
        }
        self.key_update = true;
        Ok(())
    }
}

/// Moves as much of `pending` into `wr` as fits. Once all of it is out its memory is freed:
/// these hold a handshake flight or records set aside while stalled, which an idle
/// connection should not keep paying for.
fn hand_over(pending: &mut Vec<u8>, wr: &mut PBufWr<'_>) {
    let n = wr.append_some(pending).unwrap_or(0);
    if n == pending.len() {
        *pending = Vec::new();
    } else {
        pending.drain(..n);
    }
}

#[cfg(test)]
mod tests {
    use pipebuf::{EofKind, PipeBufPair};

    use crate::{RustlsApi, Tls, TlsError, config};

    /// A client on `api` trusting a fresh self-signed certificate for localhost.
    fn client(api: RustlsApi) -> Tls {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let config =
            config::client_config(cert.cert.pem().as_bytes(), &Default::default()).unwrap();
        Tls::client_using(config, "localhost".try_into().unwrap(), api).unwrap()
    }

    #[test]
    fn a_failure_without_an_alert_aborts_even_when_the_hello_goes_out_in_the_same_call() {
        // Found by the tls_client fuzz target: a handshake message announcing 16 MiB fails
        // with no alert from rustls. When it is already waiting at the first call, the
        // client's hello is written in that same call, which once passed for the alert: the
        // encrypted side was closed cleanly instead of aborted.
        for api in [RustlsApi::Unbuffered, RustlsApi::Buffered] {
            let mut tls = client(api);
            let (mut wire, mut plain) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
            wire.lower()
                .wr
                .append(&[22, 3, 3, 0, 4, 2, 0xff, 0xff, 0xff])
                .unwrap();
            let mut failed = false;
            for _ in 0..4 {
                match tls.process(wire.upper(), plain.lower()) {
                    Ok(_) => (),
                    Err(e) => {
                        assert!(matches!(e, TlsError::ProtocolViolation(_)), "{e:?}");
                        failed = true;
                    }
                }
            }
            assert!(failed, "{api:?}: no error");
            let mut peer = wire.lower();
            assert!(
                peer.rd.data().starts_with(&[22, 3, 1]),
                "{api:?}: the hello"
            );
            peer.rd.consume_all();
            assert_eq!(peer.rd.consume_eof(), Some(EofKind::Abort), "{api:?}");
            assert_eq!(
                plain.upper().rd.consume_eof(),
                Some(EofKind::Abort),
                "{api:?}"
            );
        }
    }
}
