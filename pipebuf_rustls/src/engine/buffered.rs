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

/// A rustls connection driven through its buffered API.
#[derive(Debug)]
pub(crate) struct Buffered {
    conn: Connection,
    /// Decrypted bytes rustls holds for us, as of the last `process_new_packets`.
    plaintext_pending: usize,
    /// The peer's close_notify arrived.
    peer_closed: bool,
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
