//! A small text codec for `pipebuf::reqresp`, and drivers around it, shared by the
//! request/response integration tests (`tests/reqresp_*.rs`) and the `reqresp_matchers`
//! fuzz body.
//!
//! A head is one line: `[<tag> ]<text>[ #<len> | #*]\n`. ` #<len>` announces a body of
//! `<len>` bytes, ` #*` a chunked body: chunks `<len>\n<bytes>`, separated by `;`, ending
//! with a chunk of length 0 (`5\nhello;0\n`). The separator exercises the `first` flag of
//! [`Decoder::decode_chunk`] and [`Encoder::encode_chunk`].
//!
//! The drivers run a pipelined client or server over a [`PipeBufPair`] (the client on its
//! `upper()` side, the server on its `lower()` side) until it settles, with the events copied
//! out ([`Ev`], [`SEv`]) so that tests can compare them.

use core::fmt;

use pipebuf::reqresp::{
    Body, ChunkHead, ClientEvent, Decoder, Encoded, Encoder, Error, Failure, Head, PipelinedClient,
    PipelinedServer, ServerEvent, Tagging,
};
use pipebuf::{EofKind, PBufWr, PipeBufPair, SettleError, settle};

/// A message to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// The tag written before the text by a [`Text::tagged`] codec (ignored by a plain one).
    pub tag: Option<u32>,
    /// The head's text: no `\n` and no `#`.
    pub text: Vec<u8>,
    /// The body announced after the text.
    pub body: Body,
}

impl Msg {
    /// An untagged message with `text` and no body.
    pub fn new(text: &str) -> Self {
        Msg {
            tag: None,
            text: text.as_bytes().to_vec(),
            body: Body::None,
        }
    }

    /// An untagged message with `text` that announces `body`.
    pub fn with_body(text: &str, body: Body) -> Self {
        Msg {
            body,
            ..Msg::new(text)
        }
    }
}

/// A decoded head, borrowing its text from the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'d> {
    /// The tag, for a [`Text::tagged`] codec.
    pub tag: Option<u32>,
    /// The text, without the tag, the body announcement and the `\n`.
    pub text: &'d [u8],
}

impl Line<'_> {
    /// The text, copied out (lossily as UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.text).into_owned()
    }
}

/// Why bytes are not a valid head or chunk header, or a message cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// A head longer than [`Text::max_line`], or a chunk header over 20 bytes.
    TooLong,
    /// A tag, body length or chunk length that is not a decimal number (that fits).
    BadNumber,
    /// A text with `\n` or `#`, or no `;` between two chunks.
    BadText,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for TextError {}

/// The codec, both [`Decoder`] (of [`Line`]s) and [`Encoder`] (of [`Msg`]s).
#[derive(Debug, Clone, Copy)]
pub struct Text {
    /// Heads start with a decimal tag and a space.
    pub tagged: bool,
    /// The longest head line, without its `\n`.
    pub max_line: usize,
}

/// Untagged heads of up to 256 bytes.
pub const PLAIN: Text = Text {
    tagged: false,
    max_line: 256,
};

/// Tagged heads of up to 256 bytes, for the multiplexed components.
pub const TAGGED: Text = Text {
    tagged: true,
    max_line: 256,
};

fn number(s: &[u8]) -> Result<u64, TextError> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return Err(TextError::BadNumber);
    }
    Ok(s.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

impl Decoder for Text {
    type Item<'d> = Line<'d>;
    type Error = TextError;

    fn decode<'d>(&mut self, data: &'d [u8]) -> Result<Option<Head<Line<'d>>>, TextError> {
        let window = &data[..data.len().min(self.max_line + 1)];
        let Some(end) = window.iter().position(|&b| b == b'\n') else {
            return if window.len() > self.max_line {
                Err(TextError::TooLong)
            } else {
                Ok(None)
            };
        };
        let mut line = &data[..end];
        let mut tag = None;
        if self.tagged {
            let sp = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
            tag = Some(u32::try_from(number(&line[..sp])?).map_err(|_| TextError::BadNumber)?);
            line = line.get(sp + 1..).unwrap_or(b"");
        }
        let mut body = Body::None;
        if let Some(at) = line.windows(2).position(|w| w == b" #") {
            let spec = &line[at + 2..];
            body = if spec == b"*" {
                Body::Chunked
            } else {
                Body::Length(number(spec)?)
            };
            line = &line[..at];
        }
        Ok(Some(Head {
            message: Line { tag, text: line },
            len: end + 1,
            body,
        }))
    }

    fn decode_chunk(&mut self, data: &[u8], first: bool) -> Result<Option<ChunkHead>, TextError> {
        let skip = usize::from(!first);
        if data.len() < skip + 1 {
            return Ok(None);
        }
        if !first && data[0] != b';' {
            return Err(TextError::BadText);
        }
        let rest = &data[skip..];
        match rest.iter().take(21).position(|&b| b == b'\n') {
            None if rest.len() > 20 => Err(TextError::TooLong),
            None => Ok(None),
            Some(nl) => Ok(Some(ChunkHead {
                len: skip + nl + 1,
                data_len: number(&rest[..nl])?,
            })),
        }
    }
}

impl Encoder for Text {
    type Item = Msg;
    type Error = TextError;

    fn encode(&mut self, msg: &Msg, wr: &mut PBufWr<'_>) -> Result<Encoded, TextError> {
        if msg.text.iter().any(|&b| b == b'\n' || b == b'#') {
            return Err(TextError::BadText);
        }
        let mut line = Vec::new();
        if let (true, Some(tag)) = (self.tagged, msg.tag) {
            line.extend_from_slice(format!("{tag} ").as_bytes());
        }
        line.extend_from_slice(&msg.text);
        match msg.body {
            Body::None => {}
            Body::Length(n) => line.extend_from_slice(format!(" #{n}").as_bytes()),
            Body::Chunked => line.extend_from_slice(b" #*"),
        }
        line.push(b'\n');
        if line.len() > self.max_line + 1 {
            return Err(TextError::TooLong);
        }
        if wr.append(&line).is_err() {
            return Ok(Encoded::Full);
        }
        Ok(Encoded::Written(msg.body))
    }

    fn max_chunk_header(&self) -> usize {
        22
    }

    fn encode_chunk(
        &mut self,
        len: usize,
        first: bool,
        out: &mut [u8],
    ) -> Result<usize, TextError> {
        let head = format!("{}{len}\n", if first { "" } else { ";" });
        out[..head.len()].copy_from_slice(head.as_bytes());
        Ok(head.len())
    }
}

/// Tags live in the `tag` field of [`Msg`] and [`Line`]; a line without one reads as tag
/// `u32::MAX`.
#[derive(Debug, Clone, Copy)]
pub struct TagField;

impl Tagging<Text, Text> for TagField {
    fn set_tag(&mut self, message: &mut Msg, tag: u32) {
        message.tag = Some(tag);
    }

    fn tag_of(&self, message: &Line<'_>) -> u32 {
        message.tag.unwrap_or(u32::MAX)
    }
}

/// A pipelined client over the text codec, with a `u32` context per request.
pub type Client = PipelinedClient<Text, Text, u32>;

/// A pipelined server over the text codec.
pub type Server = PipelinedServer<Text, Text>;

/// What [`drive`] and [`drive_server`] fail with.
pub type DriveError = SettleError<Error<TextError, TextError>>;

/// A client event with the response copied out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    /// A response: ticket, context, text, and whether a body follows.
    Resp(u64, u32, String, bool),
    /// A request that gets no response: ticket, context, why.
    Failed(u64, u32, Failure),
}

/// Copies a client event out into an [`Ev`].
pub fn ev(e: ClientEvent<u32, Line<'_>>) -> Ev {
    match e {
        ClientEvent::Response {
            ticket,
            context,
            response,
            body,
        } => Ev::Resp(ticket.get(), context, response.text(), body),
        ClientEvent::Failed {
            ticket,
            context,
            failure,
        } => Ev::Failed(ticket.get(), context, failure),
    }
}

/// Runs the client against the wire (`wire.upper()` is the client's side) until it settles,
/// appending its events; returns the number of passes.
pub fn drive(
    client: &mut Client,
    wire: &mut PipeBufPair,
    events: &mut Vec<Ev>,
) -> Result<usize, DriveError> {
    settle(1000, || {
        client.process(wire.upper(), |e| events.push(ev(e)))
    })
}

/// A server event with the request copied out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SEv {
    /// A request: sequence number, text, and whether a body follows.
    Req(u64, String, bool),
    /// The incoming side ended.
    End(EofKind),
}

/// Copies a server event out into an [`SEv`].
pub fn sev(e: ServerEvent<Line<'_>>) -> SEv {
    match e {
        ServerEvent::Request { seq, request, body } => SEv::Req(seq, request.text(), body),
        ServerEvent::End(kind) => SEv::End(kind),
    }
}

/// Runs the server against the wire (`wire.lower()` is the server's side) until it settles,
/// appending its events; returns the number of passes.
pub fn drive_server(
    server: &mut Server,
    wire: &mut PipeBufPair,
    events: &mut Vec<SEv>,
) -> Result<usize, DriveError> {
    settle(1000, || {
        server.process(wire.lower(), |e| events.push(sev(e)))
    })
}

/// What the upper side (a client) wrote, drained.
pub fn sent(wire: &mut PipeBufPair) -> String {
    let mut rd = wire.lower().rd;
    let s = String::from_utf8_lossy(rd.data()).into_owned();
    rd.consume_all();
    s
}

/// What the lower side (a server) wrote, drained.
pub fn answered(wire: &mut PipeBufPair) -> String {
    let mut rd = wire.upper().rd;
    let s = String::from_utf8_lossy(rd.data()).into_owned();
    rd.consume_all();
    s
}

/// The lower side (the peer of a client) writes `bytes`; panics if the buffer refuses them.
pub fn reply(wire: &mut PipeBufPair, bytes: &str) {
    wire.lower()
        .wr
        .append(bytes.as_bytes())
        .expect("the client's incoming buffer takes the reply");
}

/// A tiny deterministic generator for chunk sizes and orders (xorshift); the seed must not
/// be 0.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number below `n` (0 for `n` 0 or 1).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}
