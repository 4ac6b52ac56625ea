//! The engine on rustls' buffered API (`read_tls` / `process_new_packets` / `reader` /
//! `writer` / `write_tls`), with the PipeBuf views as its `Read` and `Write`.
//!
//! Per byte received: copied into rustls' deframing buffer, decrypted there, copied into its
//! plaintext queue, copied into the plaintext buffer. Per byte sent: encrypted into a record
//! rustls allocates, copied into the encrypted buffer.

use std::io::Write;
use std::sync::Arc;

use pipebuf::{PBufRd, PBufWr, ReadStatus};
use rustls::pki_types::ServerName;
use rustls::{
    ClientConfig, ClientConnection, CommonState, Connection, ServerConfig, ServerConnection,
};

/// Length of a TLS record header: type, version, length.
const RECORD_HEADER: usize = 5;

/// A rustls connection driven through its buffered API.
#[derive(Debug)]
pub(crate) struct Buffered {
    conn: Connection,
    /// Decrypted bytes rustls holds for us, as of the last `process_new_packets`.
    plaintext_pending: usize,
    /// The peer's close_notify arrived.
    peer_closed: bool,
    /// During the handshake, bytes of the record rustls has started on that it has not
    /// read yet (records are handed over one at a time then).
    record_left: usize,
}

impl Buffered {
    pub(crate) fn server(config: Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        Ok(Self::new(ServerConnection::new(config)?.into()))
    }

    pub(crate) fn client(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<Self, rustls::Error> {
        Ok(Self::new(ClientConnection::new(config, name)?.into()))
    }

    fn new(conn: Connection) -> Self {
        Buffered {
            conn,
            plaintext_pending: 0,
            peer_closed: false,
            record_left: 0,
        }
    }

    pub(crate) fn common(&self) -> &CommonState {
        &self.conn
    }

    pub(crate) fn server_name(&self) -> Option<&str> {
        match &self.conn {
            Connection::Server(s) => s.server_name(),
            Connection::Client(_) => None,
        }
    }

    pub(crate) fn plaintext_pending(&self) -> usize {
        self.plaintext_pending
    }

    pub(crate) fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    pub(crate) fn receive(
        &mut self,
        rd: &mut PBufRd<'_>,
        wr: &mut PBufWr<'_>,
    ) -> Result<(), rustls::Error> {
        loop {
            self.drain_plaintext(wr);
            if !self.read_records(rd)? {
                return Ok(());
            }
        }
    }

    /// Moves encrypted bytes from `rd` into rustls and processes them. Returns whether any
    /// input was taken.
    fn read_records(&mut self, rd: &mut PBufRd<'_>) -> Result<bool, rustls::Error> {
        // At the end of the input, what rustls does not take now is dropped: give it all.
        let ending = rd.pending_eof().is_some();
        if rd.is_empty() || !(self.conn.wants_read() || ending) {
            return Ok(false);
        }
        // Only "no data" or rustls' own buffer being full can fail here: both mean 0.
        let n = if self.conn.is_handshaking() && !ending {
            // One record at a time: rustls then answers each flight before it reads on (it
            // stops reading while a handshake flight waits), so a failure in a later record
            // never comes in the same call as the flight before it, and whether the failure
            // left an alert shows from the output (some failures leave none).
            let data = rd.data();
            let want = match (self.record_left, data.get(3..5)) {
                (0, Some(&[hi, lo])) => RECORD_HEADER + usize::from(u16::from_be_bytes([hi, lo])),
                // Wait for a whole header (five bytes always fit).
                (0, _) => return Ok(false),
                (left, _) => left,
            };
            let mut one = &data[..want.min(data.len())];
            let n = self.conn.read_tls(&mut one).unwrap_or_default();
            let _ = rd.consume(n);
            self.record_left = want - n;
            n
        } else {
            let n = self.conn.read_tls(rd).unwrap_or_default();
            // Record boundaries are rustls' business again.
            self.record_left = 0;
            n
        };
        let state = self.conn.process_new_packets()?;
        self.plaintext_pending = state.plaintext_bytes_to_read();
        self.peer_closed |= state.peer_has_closed();
        Ok(n > 0)
    }

    /// Moves decrypted data into `wr` as far as it fits.
    fn drain_plaintext(&mut self, wr: &mut PBufWr<'_>) {
        while self.plaintext_pending > 0 {
            match wr.read_from(&mut self.conn.reader(), self.plaintext_pending) {
                Ok(ReadStatus::Read(n) | ReadStatus::Partial(n)) => {
                    self.plaintext_pending = self.plaintext_pending.saturating_sub(n);
                }
                // Full, or (not expected with bytes pending) nothing or the end from rustls.
                _ => break,
            }
        }
    }

    pub(crate) fn send_plaintext(
        &mut self,
        data: &[u8],
        rd: &mut PBufRd<'_>,
        wr: &mut PBufWr<'_>,
    ) -> usize {
        let n = self.conn.writer().write(data).unwrap_or(0);
        self.flush(rd, wr);
        n
    }

    pub(crate) fn flush(&mut self, _: &mut PBufRd<'_>, wr: &mut PBufWr<'_>) {
        while self.conn.wants_write() && wr.room() > 0 {
            match self.conn.write_tls(wr) {
                Ok(n) if n > 0 => (),
                _ => break,
            }
        }
    }

    pub(crate) fn send_close_notify(&mut self, _: &mut PBufRd<'_>) {
        self.conn.send_close_notify();
    }

    pub(crate) fn refresh_traffic_keys(&mut self) -> Result<(), rustls::Error> {
        self.conn.refresh_traffic_keys()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pipebuf::{EofKind, PipeBufPair};

    use crate::{RustlsApi, Tls, TlsError, config};

    #[test]
    fn a_failure_without_an_alert_right_after_the_hello_aborts_after_the_flight() {
        // Found by the tls_server fuzz target: a TLS 1.2 ClientHello and, in the next record,
        // a handshake message announcing 16 MiB (a failure rustls sends no alert for), all
        // waiting at the first call. rustls answered the hello and failed in the same call,
        // and its flight going out passed for the alert: the encrypted side was closed
        // cleanly instead of aborted.
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        let server_config =
            config::server_config(cert_pem.as_bytes(), key_pem.as_bytes(), &Default::default())
                .unwrap();
        let client_config =
            rustls::ClientConfig::builder_with_provider(config::crypto_provider().unwrap())
                .with_protocol_versions(&[&rustls::version::TLS12])
                .unwrap()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
        let mut client =
            Tls::client(Arc::new(client_config), "localhost".try_into().unwrap()).unwrap();
        let (mut wire, mut plain) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
        client.process(wire.upper(), plain.lower()).unwrap();
        let mut hello = wire.lower().rd.data().to_vec();
        // A ClientKeyExchange of 16 MiB.
        hello.extend_from_slice(&[22, 3, 3, 0, 4, 16, 0xff, 0xff, 0xff]);
        for api in [RustlsApi::Buffered, RustlsApi::Unbuffered] {
            let mut server = Tls::server_using(Arc::clone(&server_config), api).unwrap();
            let (mut wire, mut plain) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
            wire.lower().wr.append(&hello).unwrap();
            let mut failed = false;
            for _ in 0..4 {
                if let Err(e) = server.process(wire.upper(), plain.lower()) {
                    assert!(
                        matches!(e, TlsError::ProtocolViolation(_)),
                        "{api:?}: {e:?}"
                    );
                    failed = true;
                }
            }
            assert!(failed, "{api:?}: no error");
            let mut peer = wire.lower();
            assert!(
                peer.rd.data().starts_with(&[22, 3, 3]),
                "{api:?}: the server's flight"
            );
            peer.rd.consume_all();
            assert_eq!(peer.rd.consume_eof(), Some(EofKind::Abort), "{api:?}");
        }
    }
}
