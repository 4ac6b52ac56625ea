//! A small text codec for the request/response tests, shared by the unit tests (through
//! `#[path]`) and the integration tests.
//!
//! A head is one line: `[<tag> ]<text>[ #<len> | #*]\n`. ` #<len>` announces a body of
//! `<len>` bytes, ` #*` a chunked body: chunks `<len>\n<bytes>`, separated by `;`, ending
//! with a chunk of length 0 (`5\nhello;0\n`). The separator exercises the `first` flag.

#![allow(dead_code, unreachable_pub)]

use core::fmt;

use pipebuf::PBufWr;
use pipebuf::reqresp::{Body, ChunkHead, Decoder, Encoded, Encoder, Head, Tagging};

/// A message to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub tag: Option<u32>,
    pub text: Vec<u8>,
    pub body: Body,
}

impl Msg {
    pub fn new(text: &str) -> Self {
        Msg {
            tag: None,
            text: text.as_bytes().to_vec(),
            body: Body::None,
        }
    }

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
    pub tag: Option<u32>,
    pub text: &'d [u8],
}

impl Line<'_> {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.text).into_owned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    TooLong,
    BadNumber,
    BadText,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for TextError {}

/// The codec; `tagged` heads start with a decimal tag and a space.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub tagged: bool,
    pub max_line: usize,
}

pub const PLAIN: Text = Text {
    tagged: false,
    max_line: 256,
};
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

/// Tags live in the `tag` field of `Msg` and `Line`.
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

// ---------------------------------------------------------------------------------------------
// Drivers

use pipebuf::reqresp::{
    ClientEvent, Error, Failure, PipelinedClient, PipelinedServer, ServerEvent,
};
use pipebuf::{EofKind, PipeBufPair, SettleError, settle};

pub type Client = PipelinedClient<Text, Text, u32>;
pub type Server = PipelinedServer<Text, Text>;

/// A client event with the response copied out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    /// ticket, context, text, body follows
    Resp(u64, u32, String, bool),
    Failed(u64, u32, Failure),
}

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

/// Runs the client against the wire (`wire.upper()` is the client's side) until it settles.
pub fn drive(
    client: &mut Client,
    wire: &mut PipeBufPair,
    events: &mut Vec<Ev>,
) -> Result<usize, SettleError<Error<TextError, TextError>>> {
    settle(1000, || {
        client.process(wire.upper(), |e| events.push(ev(e)))
    })
}

/// A server event with the request copied out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SEv {
    /// seq, text, body follows
    Req(u64, String, bool),
    End(EofKind),
}

pub fn sev(e: ServerEvent<Line<'_>>) -> SEv {
    match e {
        ServerEvent::Request { seq, request, body } => SEv::Req(seq, request.text(), body),
        ServerEvent::End(kind) => SEv::End(kind),
    }
}

/// Runs the server against the wire (`wire.lower()` is the server's side) until it settles.
pub fn drive_server(
    server: &mut Server,
    wire: &mut PipeBufPair,
    events: &mut Vec<SEv>,
) -> Result<usize, SettleError<Error<TextError, TextError>>> {
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

/// The lower side (the peer of a client) writes `bytes`.
pub fn reply(wire: &mut PipeBufPair, bytes: &str) {
    wire.lower().wr.append(bytes.as_bytes()).unwrap();
}

/// A tiny deterministic generator for chunk sizes and orders (xorshift).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}
