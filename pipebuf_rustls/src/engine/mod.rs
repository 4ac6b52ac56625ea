//! Every line that drives a rustls connection lives in this module, so that moving to
//! another rustls API (0.24 replaces the unbuffered API with a caller-owned input-buffer
//! trait) touches nothing else. Two engines implement the same few operations: one on
//! rustls' buffered API, one on its unbuffered API; [`RustlsApi`] picks one.

mod buffered;
mod client_hello;
mod unbuffered;

use std::sync::Arc;

use pipebuf::{PBufRd, PBufWr};
use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::UnbufferedServerConnection;
use rustls::{ClientConfig, CommonState, ServerConfig};

use buffered::Buffered;
use unbuffered::Unbuffered;

/// Largest plaintext per TLS record.
const MAX_FRAGMENT: usize = 16 * 1024;
/// Most a TLS record adds to its payload (header, AEAD tag, content type, explicit nonce,
/// padding allowance).
const RECORD_OVERHEAD: usize = 64;

/// The most plaintext whose records surely fit in `room` bytes of encrypted buffer.
pub(crate) fn max_plaintext(room: usize) -> usize {
    let records = room / (MAX_FRAGMENT + RECORD_OVERHEAD) + 1;
    room.saturating_sub(records * RECORD_OVERHEAD)
}

/// The most encrypted bytes the records of `len` plaintext bytes take (so
/// `sealed_len(max_plaintext(room)) <= room`).
fn sealed_len(len: usize) -> usize {
    len + (len / MAX_FRAGMENT + 1) * RECORD_OVERHEAD
}

/// Which rustls API a [`Tls`](crate::Tls) component drives.
///
/// Both behave the same at the component's interface; they differ in copies and in what
/// they can report. See the crate docs for the measurements behind the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RustlsApi {
    /// `ServerConnection` / `ClientConnection` with `read_tls` / `write_tls`: received
    /// records are copied into rustls before decryption, and sent records are built in
    /// memory rustls allocates before they are copied out. Receiving and sending are
    /// independent: rustls holds up to its own limit of received plaintext while the
    /// application does not read, and sending goes on.
    #[default]
    Buffered,
    /// `UnbufferedServerConnection` / `UnbufferedClientConnection`: records are decrypted
    /// inside the encrypted buffer and encrypted straight into its free space. rustls needs
    /// each whole record (and each whole handshake message) inside the encrypted input
    /// buffer, so that buffer's limit must be at least 64 KiB. (rustls 0.23 does not expose
    /// the SNI name on this API; the component reads it from the ClientHello when the hello
    /// is in the first record, as it is from all common clients.)
    ///
    /// rustls 0.23's unbuffered state machine offers the write state only after every
    /// received record has been taken. While the application does not read, the component
    /// takes up to 64 KiB of such records aside so that sending goes on; beyond that,
    /// sending waits until the application reads. Use it where the application always
    /// reads what arrives (echo, WebSocket, streaming), not where it stops reading until
    /// its own output is out (pipelined request/response with large bodies).
    Unbuffered,
}

/// A rustls session on one of the two APIs.
#[derive(Debug)]
pub(crate) enum Engine {
    Buffered(Buffered),
    UnbufferedServer(Unbuffered<UnbufferedServerConnection>),
    UnbufferedClient(Unbuffered<UnbufferedClientConnection>),
}

/// Runs the same expression on whichever engine this is.
macro_rules! each {
    ($engine:expr, $e:ident => $body:expr) => {
        match $engine {
            Engine::Buffered($e) => $body,
            Engine::UnbufferedServer($e) => $body,
            Engine::UnbufferedClient($e) => $body,
        }
    };
}

impl Engine {
    pub(crate) fn server(config: Arc<ServerConfig>, api: RustlsApi) -> Result<Self, rustls::Error> {
        Ok(match api {
            RustlsApi::Buffered => Engine::Buffered(Buffered::server(config)?),
            RustlsApi::Unbuffered => Engine::UnbufferedServer(Unbuffered::server(config)?),
        })
    }

    pub(crate) fn client(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
        api: RustlsApi,
    ) -> Result<Self, rustls::Error> {
        Ok(match api {
            RustlsApi::Buffered => Engine::Buffered(Buffered::client(config, name)?),
            RustlsApi::Unbuffered => Engine::UnbufferedClient(Unbuffered::client(config, name)?),
        })
    }

    pub(crate) fn api(&self) -> RustlsApi {
        match self {
            Engine::Buffered(_) => RustlsApi::Buffered,
            Engine::UnbufferedServer(_) | Engine::UnbufferedClient(_) => RustlsApi::Unbuffered,
        }
    }

    fn common(&self) -> &CommonState {
        each!(self, e => e.common())
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        self.common().is_handshaking()
    }

    /// Decrypted bytes (or, unbuffered, at least this many) not yet handed to the
    /// application.
    pub(crate) fn plaintext_pending(&self) -> usize {
        each!(self, e => e.plaintext_pending())
    }

    /// Whether the peer's close_notify has arrived.
    pub(crate) fn peer_closed(&self) -> bool {
        each!(self, e => e.peer_closed())
    }

    /// Whether records wait to be written to the encrypted side.
    pub(crate) fn wants_write(&self) -> bool {
        each!(self, e => e.wants_write())
    }

    /// Decrypts records from `rd` into `wr` as far as `wr` has room. Handshake records
    /// this produces wait for [`flush`](Engine::flush).
    pub(crate) fn receive(
        &mut self,
        rd: &mut PBufRd<'_>,
        wr: &mut PBufWr<'_>,
    ) -> Result<(), rustls::Error> {
        each!(self, e => e.receive(rd, wr))
    }

    /// Encrypts all of `data` into `wr` and returns its length, or takes nothing (0) when
    /// it does not fit or the session cannot send yet.
    /// (`rd` is the encrypted input: the unbuffered API must see it on every call.)
    pub(crate) fn send_plaintext(
        &mut self,
        data: &[u8],
        rd: &mut PBufRd<'_>,
        wr: &mut PBufWr<'_>,
    ) -> usize {
        each!(self, e => e.send_plaintext(data, rd, wr))
    }

    /// Writes pending records into `wr` as far as they fit; the rest waits.
    pub(crate) fn flush(&mut self, rd: &mut PBufRd<'_>, wr: &mut PBufWr<'_>) {
        each!(self, e => e.flush(rd, wr))
    }

    /// The component drops input the engine has not taken (the stream ended or broke).
    /// Returns whether the engine can no longer run (and so no longer send) without it.
    pub(crate) fn abandon_input(&mut self) -> bool {
        match self {
            // Whatever rustls took is in its own buffer.
            Engine::Buffered(_) => false,
            Engine::UnbufferedServer(e) => e.abandon_input(),
            Engine::UnbufferedClient(e) => e.abandon_input(),
        }
    }

    /// After [`receive`](Engine::receive) failed: whether the failure left an alert to send
    /// (some errors leave none). `None` when the engine cannot tell: the buffered API does
    /// not say what rustls queued, only that something waits.
    pub(crate) fn failure_alert(&self) -> Option<bool> {
        match self {
            Engine::Buffered(_) => None,
            Engine::UnbufferedServer(e) => Some(e.failure_alert()),
            Engine::UnbufferedClient(e) => Some(e.failure_alert()),
        }
    }

    pub(crate) fn send_close_notify(&mut self, rd: &mut PBufRd<'_>) {
        each!(self, e => e.send_close_notify(rd))
    }

    pub(crate) fn refresh_traffic_keys(&mut self) -> Result<(), rustls::Error> {
        each!(self, e => e.refresh_traffic_keys())
    }

    /// Decrypted bytes the unbuffered engine ever set aside to reach rustls' write state.
    /// Heap bytes kept in the engine's own buffers (rustls' internal ones not counted).
    #[cfg(test)]
    pub(crate) fn retained(&self) -> usize {
        match self {
            Engine::Buffered(_) => 0,
            Engine::UnbufferedServer(e) => e.retained(),
            Engine::UnbufferedClient(e) => e.retained(),
        }
    }

    #[cfg(test)]
    pub(crate) fn set_aside(&self) -> usize {
        match self {
            Engine::Buffered(_) => 0,
            Engine::UnbufferedServer(e) => e.set_aside(),
            Engine::UnbufferedClient(e) => e.set_aside(),
        }
    }

    pub(crate) fn alpn_protocol(&self) -> Option<&[u8]> {
        self.common().alpn_protocol()
    }

    pub(crate) fn server_name(&self) -> Option<&str> {
        match self {
            Engine::Buffered(e) => e.server_name(),
            Engine::UnbufferedServer(e) => e.server_name(),
            Engine::UnbufferedClient(_) => None,
        }
    }

    pub(crate) fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.common().protocol_version()
    }

    pub(crate) fn cipher_suite(&self) -> Option<rustls::SupportedCipherSuite> {
        self.common().negotiated_cipher_suite()
    }

    pub(crate) fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.common().peer_certificates()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plaintext_taken_for_a_room_seals_into_it() {
        let edges = [
            0,
            1,
            63,
            64,
            65,
            MAX_FRAGMENT,
            MAX_FRAGMENT + RECORD_OVERHEAD,
        ];
        for k in 0..5 {
            for edge in edges {
                for delta in [0, 1, 2] {
                    let room = (k * (MAX_FRAGMENT + RECORD_OVERHEAD) + edge).saturating_sub(delta);
                    let fits = max_plaintext(room);
                    assert!(sealed_len(fits) <= room || fits == 0, "room {room}: {fits}");
                }
            }
        }
    }
}
