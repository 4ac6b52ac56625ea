//! The multiplexed server: tagged requests, answered in any order, each response written as
//! soon as it is finished.

use alloc::collections::{BTreeMap, VecDeque};

use super::{Body, Decoder, Encoded, Encoder, Error, FinishError, Head, Tagging};
use crate::{EofKind, PBufRdWr};

/// What a [`MuxServer`] reports from [`process`](MuxServer::process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MuxServerEvent<R> {
    /// A request with its tag; answer it with [`finish`](MuxServer::finish).
    Request {
        /// The tag the peer gave the request.
        tag: u32,
        /// The decoded request.
        request: R,
    },
    /// The incoming side ended. After a close the server still writes the responses to the
    /// requests already reported, then closes its outgoing side; after an abort it aborts
    /// its outgoing side and drops them.
    End(EofKind),
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    Open,
    Draining,
    Ended,
    Broken,
}

/// A multiplexed request/response server: requests carry tags, the application answers
/// them in any order, and each response goes out (tagged by the caller's [`Tagging`]) as
/// soon as it is finished and fits.
///
/// - **Input**: [`process`](MuxServer::process) decodes requests and reports them as
///   [`MuxServerEvent::Request`]; a request whose tag is still open is
///   [`Error::DuplicateTag`].
/// - **Output**: [`finish`](MuxServer::finish) takes the response for a tag; `process`
///   writes finished responses in the order they were finished.
///
/// **Backpressure.** At most `max_in_flight` requests are open (reported, response not
/// written); beyond that the server decodes nothing more and leaves the incoming bytes
/// unread. Bodies are not supported here ([`Error::UnexpectedBody`]).
#[derive(Debug)]
pub struct MuxServer<E: Encoder, D, T> {
    encoder: E,
    decoder: D,
    tagging: T,
    max_in_flight: usize,
    /// Open tags; `true` once finished.
    open: BTreeMap<u32, bool>,
    finished: VecDeque<(u32, E::Item)>,
    conn: Conn,
}

impl<E: Encoder, D: Decoder, T: Tagging<E, D>> MuxServer<E, D, T> {
    /// A server with at most `max_in_flight` requests open (at least 1).
    pub fn new(encoder: E, decoder: D, tagging: T, max_in_flight: usize) -> Self {
        MuxServer {
            encoder,
            decoder,
            tagging,
            max_in_flight: max_in_flight.max(1),
            open: BTreeMap::new(),
            finished: VecDeque::new(),
            conn: Conn::Open,
        }
    }

    /// Requests reported whose response has not been written yet.
    pub fn in_flight(&self) -> usize {
        self.open.len()
    }

    /// Whether nothing more will be sent.
    pub fn is_finished(&self) -> bool {
        matches!(self.conn, Conn::Ended | Conn::Broken)
    }

    /// Hands over the response to the request tagged `tag`; `process` tags and writes it.
    /// Fails for a tag not open ([`FinishError::Unknown`]), one already finished
    /// ([`FinishError::AlreadyFinished`]) and once nothing more will be sent.
    pub fn finish(&mut self, tag: u32, mut response: E::Item) -> Result<(), FinishError> {
        if self.is_finished() {
            return Err(FinishError::Closed);
        }
        match self.open.get_mut(&tag) {
            None => Err(FinishError::Unknown(u64::from(tag))),
            Some(true) => Err(FinishError::AlreadyFinished(u64::from(tag))),
            Some(done) => {
                *done = true;
                self.tagging.set_tag(&mut response, tag);
                self.finished.push_back((tag, response));
                Ok(())
            }
        }
    }

    /// Writes finished responses, decodes requests and handles the end of the incoming
    /// stream, reporting to `on_event`. Returns whether anything happened.
    pub fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        mut on_event: impl FnMut(MuxServerEvent<D::Item<'_>>),
    ) -> Result<bool, Error<D::Error, E::Error>> {
        if self.conn == Conn::Broken {
            return Ok(net.rd.discard());
        }
        let before = (net.rd.tripwire(), net.wr.tripwire());
        let mut events = false;
        if let Err(e) = self.run(&mut net, &mut on_event, &mut events) {
            net.wr.abort();
            self.open.clear();
            self.finished.clear();
            self.conn = Conn::Broken;
            return Err(e);
        }
        Ok(events || before != (net.rd.tripwire(), net.wr.tripwire()))
    }

    fn run(
        &mut self,
        net: &mut PBufRdWr<'_>,
        on_event: &mut impl FnMut(MuxServerEvent<D::Item<'_>>),
        events: &mut bool,
    ) -> Result<(), Error<D::Error, E::Error>> {
        if matches!(self.conn, Conn::Open | Conn::Draining) {
            while let Some((tag, response)) = self.finished.front() {
                match self.encoder.encode(response, &mut net.wr) {
                    Err(e) => return Err(Error::Encode(e)),
                    Ok(Encoded::Full) => break,
                    Ok(Encoded::Written(Body::None)) => {}
                    Ok(Encoded::Written(_)) => return Err(Error::UnexpectedBody),
                }
                self.open.remove(tag);
                self.finished.pop_front();
            }
        }
        if self.conn == Conn::Open {
            let mut held = false;
            loop {
                if self.open.len() >= self.max_in_flight {
                    held = true;
                    break;
                }
                let Some(Head { message, len, body }) =
                    self.decoder.decode(net.rd.data()).map_err(Error::Decode)?
                else {
                    break;
                };
                if body != Body::None {
                    return Err(Error::UnexpectedBody);
                }
                let tag = self.tagging.tag_of(&message);
                if self.open.contains_key(&tag) {
                    return Err(Error::DuplicateTag(tag));
                }
                self.open.insert(tag, false);
                on_event(MuxServerEvent::Request {
                    tag,
                    request: message,
                });
                *events = true;
                net.rd.consume(len)?;
            }
            if let Some(kind) = net.rd.pending_eof()
                && (!held || net.rd.is_empty())
            {
                net.rd.consume_all();
                net.rd.consume_eof();
                on_event(MuxServerEvent::End(kind));
                *events = true;
                match kind {
                    EofKind::Close => self.conn = Conn::Draining,
                    EofKind::Abort => {
                        net.wr.abort();
                        self.open.clear();
                        self.finished.clear();
                        self.conn = Conn::Ended;
                    }
                }
            }
        }
        if self.conn == Conn::Draining && self.open.is_empty() {
            net.wr.close();
            self.conn = Conn::Ended;
        }
        Ok(())
    }
}
