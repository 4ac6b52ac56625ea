//! Every line that drives a rustls connection lives here, so that moving to another rustls
//! API (0.24 replaces the unbuffered API with a caller-owned input-buffer trait) touches one
//! file. This engine uses rustls' buffered API (`read_tls` / `process_new_packets` /
//! `reader` / `writer` / `write_tls`) with the PipeBuf views as its `Read` and `Write`.

use std::io::{Read, Write};
use std::sync::Arc;

use pipebuf::{PBufRd, PBufWr};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};

use crate::TlsError;

/// A rustls connection with the few operations the component needs.
#[derive(Debug)]
pub(crate) struct Engine {
    conn: Connection,
    /// Decrypted bytes rustls holds for us, as of the last `process_new_packets`.
    plaintext_pending: usize,
    /// The peer's close_notify arrived.
    peer_closed: bool,
}

/// What [`Engine::drain_plaintext`] found.
pub(crate) enum Drained {
    /// Everything rustls had is in the buffer (or it is full).
    More,
    /// The peer closed cleanly and all its data has been delivered.
    PeerClosed,
}

impl Engine {
    pub(crate) fn server(config: Arc<ServerConfig>) -> Result<Self, TlsError> {
        let conn = ServerConnection::new(config).map_err(TlsError::classify)?;
        Ok(Self::new(conn.into()))
    }

    pub(crate) fn client(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<Self, TlsError> {
        let conn = ClientConnection::new(config, name).map_err(TlsError::classify)?;
        Ok(Self::new(conn.into()))
    }

    fn new(conn: Connection) -> Self {
        Engine {
            conn,
            plaintext_pending: 0,
            peer_closed: false,
        }
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Decrypted bytes not yet handed to the application.
    pub(crate) fn plaintext_pending(&self) -> usize {
        self.plaintext_pending
    }

    /// Whether the peer's close_notify has arrived.
    pub(crate) fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Moves encrypted bytes from `rd` into rustls and processes them. Returns whether any
    /// input was taken.
    pub(crate) fn receive(&mut self, rd: &mut PBufRd<'_>) -> Result<bool, rustls::Error> {
        if rd.is_empty() || !self.conn.wants_read() {
            return Ok(false);
        }
        // Only "no data" or rustls' own buffer being full can fail here: both mean 0.
        let n = self.conn.read_tls(rd).unwrap_or_default();
        let state = self.conn.process_new_packets()?;
        self.plaintext_pending = state.plaintext_bytes_to_read();
        self.peer_closed |= state.peer_has_closed();
        Ok(n > 0)
    }

    /// Moves decrypted data into `wr` as far as it fits.
    pub(crate) fn drain_plaintext(&mut self, wr: &mut PBufWr<'_>) -> Drained {
        while self.plaintext_pending > 0 {
            let Ok(space) = wr.space_upto(self.plaintext_pending) else {
                break;
            };
            if space.is_empty() {
                break;
            }
            match self.conn.reader().read(space) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = wr.commit(n);
                    self.plaintext_pending = self.plaintext_pending.saturating_sub(n);
                }
            }
        }
        if self.plaintext_pending == 0 && self.peer_closed {
            Drained::PeerClosed
        } else {
            Drained::More
        }
    }

    /// Encrypts up to `data.len()` bytes of application data; returns how many were taken.
    pub(crate) fn send_plaintext(&mut self, data: &[u8]) -> usize {
        self.conn.writer().write(data).unwrap_or(0)
    }

    /// Writes pending TLS records into `wr` as far as they fit; the rest stays in rustls.
    pub(crate) fn flush(&mut self, wr: &mut PBufWr<'_>) {
        while self.conn.wants_write() && wr.room() > 0 {
            match self.conn.write_tls(wr) {
                Ok(n) if n > 0 => (),
                _ => break,
            }
        }
    }

    pub(crate) fn send_close_notify(&mut self) {
        self.conn.send_close_notify();
    }

    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(crate) fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    pub(crate) fn server_name(&self) -> Option<&str> {
        match &self.conn {
            Connection::Server(s) => s.server_name(),
            Connection::Client(_) => None,
        }
    }

    pub(crate) fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.conn.protocol_version()
    }

    pub(crate) fn cipher_suite(&self) -> Option<rustls::SupportedCipherSuite> {
        self.conn.negotiated_cipher_suite()
    }

    pub(crate) fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.conn.peer_certificates()
    }
}
