//! The application's side of a WebSocket in one value: whole messages in, messages and
//! control requests out.

use pipebuf::{EofKind, PBufRd, PBufRdWr, PBufWr};

use crate::message::{
    ChunkError, Compression, MessageAssembler, MessageKind, MessageRef, write_chunk_with,
    write_close, write_message, write_ping,
};

/// The application's view of a [`WebSocket`](crate::WebSocket)'s message pair (its upper
/// side): read whole messages, send text, binary, ping and close with one call each.
///
/// The two halves are public fields so that a message just read can be answered while it is
/// still borrowed (`incoming` reads, `outgoing` writes). For messages too large to hold,
/// stream their chunk records with [`message::read_chunk`](crate::message::read_chunk) and
/// [`message::write_chunk_some`](crate::message::write_chunk_some) on [`Incoming::rd`] and
/// [`Outgoing::wr`].
///
/// ```
/// # #[cfg(feature = "std")] {
/// use pipebuf::{PipeBufPair, Time};
/// use pipebuf_websocket::handshake::ClientRequest;
/// use pipebuf_websocket::message::{MessageAssembler, MessageKind};
/// use pipebuf_websocket::{Messages, WebSocket, WsConfig, accept_all};
///
/// let mut server = WebSocket::server(WsConfig::default(), accept_all());
/// let mut client = WebSocket::client(WsConfig::default(), ClientRequest::new("/", "localhost"));
/// let (mut wire, mut client_msgs, mut server_msgs) =
///     (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
/// let (mut client_asm, mut server_asm) = (MessageAssembler::new(), MessageAssembler::new());
///
/// let mut app = Messages::new(client_msgs.upper(), &mut client_asm);
/// app.send_text("hello").unwrap();
/// app.close(4000, "done").unwrap();
/// pipebuf::settle(100, || -> Result<bool, pipebuf_websocket::WsError> {
///     let c = client.process(Time::ZERO, wire.upper(), client_msgs.lower())?;
///     let s = server.process(Time::ZERO, wire.lower(), server_msgs.lower())?;
///     Ok(c | s)
/// })
/// .unwrap();
///
/// let mut app = Messages::new(server_msgs.upper(), &mut server_asm);
/// let message = app.incoming.next().unwrap().unwrap();
/// assert_eq!((message.kind(), message.data()), (MessageKind::Text, &b"hello"[..]));
/// drop(message);
/// assert_eq!(app.incoming.end(), Some(pipebuf::EofKind::Close));
/// assert_eq!(server.peer_close(), Some(Some((4000, "done"))));
/// # }
/// ```
#[derive(Debug)]
pub struct Messages<'a> {
    /// What the peer sent.
    pub incoming: Incoming<'a>,
    /// What goes to the peer.
    pub outgoing: Outgoing<'a>,
}

/// The receiving half of [`Messages`].
#[derive(Debug)]
pub struct Incoming<'a> {
    rd: PBufRd<'a>,
    assembler: &'a mut MessageAssembler,
}

/// The sending half of [`Messages`].
#[derive(Debug)]
pub struct Outgoing<'a> {
    wr: PBufWr<'a>,
}

impl<'a> Messages<'a> {
    /// The application's side of the message pair (`PipeBufPair::upper`), with the assembler
    /// that keeps a message split over several records between calls (the application
    /// keeps it for the connection's life).
    pub fn new(io: PBufRdWr<'a>, assembler: &'a mut MessageAssembler) -> Self {
        Messages {
            incoming: Incoming {
                rd: io.rd,
                assembler,
            },
            outgoing: Outgoing { wr: io.wr },
        }
    }

    /// The next whole message; see [`Incoming::next`].
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<MessageRef<'_>>, ChunkError> {
        self.incoming.next()
    }

    /// Sends a text message; see [`Outgoing::send`].
    pub fn send_text(&mut self, text: &str) -> Result<(), ChunkError> {
        self.outgoing.send(MessageKind::Text, text.as_bytes())
    }

    /// Sends a binary message; see [`Outgoing::send`].
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), ChunkError> {
        self.outgoing.send(MessageKind::Binary, data)
    }

    /// Sends a ping; see [`Outgoing::ping`].
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), ChunkError> {
        self.outgoing.ping(payload)
    }

    /// Starts the close handshake; see [`Outgoing::close`].
    pub fn close(&mut self, code: u16, reason: &str) -> Result<(), ChunkError> {
        self.outgoing.close(code, reason)
    }
}

impl<'a> Incoming<'a> {
    /// The next whole message, read in place when it came as one record (the usual case for
    /// small messages) and assembled otherwise; `Ok(None)` until one is complete. Dropping
    /// the returned message consumes it. The WebSocket's `max_message` bounds what is held.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<MessageRef<'_>>, ChunkError> {
        self.assembler.next_message_ref(&mut self.rd)
    }

    /// Once every message was read: how the peer ended — [`EofKind::Close`] after its close
    /// frame, [`EofKind::Abort`] when the connection broke — consumed here, so reported
    /// once. `None` while messages may still come.
    pub fn end(&mut self) -> Option<EofKind> {
        if !self.rd.is_empty() || !self.rd.has_pending_eof() {
            return None;
        }
        self.rd.consume_push();
        self.rd.consume_eof()
    }

    /// The raw chunk records, to stream large messages.
    pub fn rd(&mut self) -> &mut PBufRd<'a> {
        &mut self.rd
    }
}

impl<'a> Outgoing<'a> {
    /// Sends a whole message of `kind`, all or nothing: [`ChunkError::Full`] when it does not
    /// fit now (try again once the WebSocket took what is queued, or stream it in chunks),
    /// [`ChunkError::Ended`] after [`close`](Outgoing::close).
    pub fn send(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), ChunkError> {
        write_message(&mut self.wr, kind, data)
    }

    /// [`send`](Outgoing::send) that says whether the message may be compressed
    /// (permessage-deflate): [`Compression::Never`] sends it as it is, for data that is
    /// already compressed or too small to gain.
    pub fn send_with(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        compression: Compression,
    ) -> Result<(), ChunkError> {
        write_chunk_with(&mut self.wr, kind, true, data, compression)
    }

    /// Sends a ping (payload cut to 125 bytes) in order with the messages around it.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), ChunkError> {
        write_ping(&mut self.wr, payload)
    }

    /// Starts the close handshake once what was sent before is out: the close frame carries
    /// `code` (1000 for a normal close, 1001 going away, 4000–4999 your own) and `reason` (cut
    /// to 123 bytes). Nothing can be sent after it; the WebSocket ends the connection once
    /// the peer answers (or after its close timeout). Closing again is a no-op.
    pub fn close(&mut self, code: u16, reason: &str) -> Result<(), ChunkError> {
        if self.wr.is_eof() {
            return Ok(());
        }
        write_close(&mut self.wr, code, reason)?;
        self.wr.push();
        self.wr.close();
        Ok(())
    }

    /// Whether the outgoing side has ended (closed, or aborted).
    pub fn is_closed(&self) -> bool {
        self.wr.is_eof()
    }

    /// The raw chunk records, to stream large messages.
    pub fn wr(&mut self) -> &mut PBufWr<'a> {
        &mut self.wr
    }
}
