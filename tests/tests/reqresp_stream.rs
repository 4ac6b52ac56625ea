//! Multiplexed streaming bodies end to end: a `StreamClient` and a `StreamServer` in memory,
//! joined by a link that can cut the byte stream anywhere, with applications on both sides
//! that read at chosen speeds (or not at all).

use std::collections::{BTreeMap, BTreeSet};

use pipebuf::reqresp::stream::{
    Frame, FrameDecoder, FrameEncoder, StreamClient, StreamClientEvent, StreamFailure, StreamFault,
    StreamFrames, StreamServer, StreamServerEvent, WireError, code,
};
use pipebuf::reqresp::{Error, Failure, Ticket};
use pipebuf::{EofKind, PBufRd, PBufState, PBufWr, PipeBuf, PipeBufPair};
use pipebuf_tests::pattern;
use proptest::prelude::*;

type Client = StreamClient<StreamFrames, StreamFrames, String>;
type Server = StreamServer<StreamFrames, StreamFrames>;
type E = Error<WireError, WireError>;

/// What the server's application sends back for request body bytes: each byte plus one,
/// so that a response can never be mistaken for its request.
fn answer(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| b.wrapping_add(1)).collect()
}

/// The server application's state for one stream: an echo that reads the request body,
/// transforms it and writes it into the response body as it goes.
#[derive(Debug)]
struct Echo {
    name: String,
    /// Read from the request body, not yet written into the response body.
    pending: Vec<u8>,
    /// How the request body ended, once its EOF is consumed.
    ended: Option<EofKind>,
}

/// A client and a server over a link, with their applications.
struct Harness {
    client: Client,
    server: Server,
    /// The client's side of the link: the client uses `upper()`.
    cw: PipeBufPair,
    /// The server's side of the link: the server uses `lower()`.
    sw: PipeBufPair,
    /// The most bytes the link moves per direction and pass (cuts the stream anywhere).
    chunk: usize,
    /// The most bytes an application reads per body and pass.
    read: usize,
    rng: u64,
    // The client's application.
    uploads: BTreeMap<Ticket, (Vec<u8>, usize)>,
    downloads: BTreeMap<Ticket, Vec<u8>>,
    download_ends: BTreeMap<Ticket, EofKind>,
    client_stalled: BTreeSet<Ticket>,
    client_events: Vec<String>,
    // The server's application.
    streams: BTreeMap<u32, Echo>,
    server_stalled: BTreeSet<String>,
    server_events: Vec<String>,
    /// The most body bytes each side held at once.
    peak: (usize, usize),
    /// The tags of the data frames that crossed the link towards the server, in order.
    data_tags: Vec<u32>,
}

impl Harness {
    /// Body buffers of `limit` bytes each way on both sides, frames of at most `frame`
    /// payload bytes, up to 8 streams.
    fn new(limit: usize, frame: usize) -> Harness {
        let frames = StreamFrames::new(frame);
        Harness {
            client: StreamClient::new(frames, frames, 1000, 8).with_body_limits(limit, limit),
            server: StreamServer::new(frames, frames, 8).with_body_limits(limit, limit),
            cw: PipeBufPair::new(),
            sw: PipeBufPair::new(),
            chunk: usize::MAX,
            read: usize::MAX,
            rng: 0x9e37_79b9_7f4a_7c15,
            uploads: BTreeMap::new(),
            downloads: BTreeMap::new(),
            download_ends: BTreeMap::new(),
            client_stalled: BTreeSet::new(),
            client_events: Vec::new(),
            streams: BTreeMap::new(),
            server_stalled: BTreeSet::new(),
            server_events: Vec::new(),
            peak: (0, 0),
            data_tags: Vec::new(),
        }
    }

    /// A number in `1..=max`, from the harness's own generator (xorshift).
    fn roll(&mut self, max: usize) -> usize {
        if max == usize::MAX {
            return max;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % max.max(1) as u64) as usize + 1
    }

    fn submit(&mut self, name: &str, body: &[u8]) -> Ticket {
        let ticket = self
            .client
            .submit(name.as_bytes().to_vec(), true, name.to_string())
            .unwrap();
        self.uploads.insert(ticket, (body.to_vec(), 0));
        ticket
    }

    /// One pass of everything; returns whether anything happened.
    fn pass(&mut self) -> Result<bool, E> {
        let mut active = self.client_app();
        let events = &mut self.client_events;
        let downloads = &mut self.downloads;
        active |= self.client.process(self.cw.upper(), |ev| {
            events.push(match ev {
                StreamClientEvent::Response {
                    ticket, context, ..
                } => {
                    downloads.insert(ticket, Vec::new());
                    format!("response {context}")
                }
                StreamClientEvent::Failed {
                    ticket, failure, ..
                } => format!("failed {} {failure:?}", ticket.get()),
                StreamClientEvent::StreamError { ticket, fault, .. } => {
                    format!("fault {} {fault:?}", ticket.get())
                }
            })
        })?;
        active |= self.link();
        self.record_data_frames();
        let mut requests = Vec::new();
        let events = &mut self.server_events;
        active |= self.server.process(self.sw.lower(), |ev| match ev {
            StreamServerEvent::Request { tag, request, body } => {
                let name = String::from_utf8_lossy(request).into_owned();
                events.push(format!("request {name}"));
                requests.push((tag, name, body));
            }
            StreamServerEvent::Reset { tag, code } => events.push(format!("reset {tag} {code}")),
            StreamServerEvent::StreamError { tag, fault } => {
                events.push(format!("fault {tag} {fault:?}"))
            }
            StreamServerEvent::End(kind) => events.push(format!("end {kind:?}")),
        })?;
        for (tag, name, body) in requests {
            self.server
                .respond(tag, format!("re {name}").into_bytes(), true)
                .unwrap();
            let ended = (!body).then_some(EofKind::Close);
            let pending = Vec::new();
            self.streams.insert(
                tag,
                Echo {
                    name,
                    pending,
                    ended,
                },
            );
        }
        active |= self.server_app();
        active |= self.link();
        let held = (self.client.buffered(), self.server.buffered());
        assert!(
            held.0 <= self.client.max_buffered() && held.1 <= self.server.max_buffered(),
            "bound broken: {held:?}"
        );
        self.peak = (self.peak.0.max(held.0), self.peak.1.max(held.1));
        Ok(active)
    }

    /// Runs passes until nothing happens (at most `max`); returns how many.
    fn run(&mut self, max: usize) -> Result<usize, E> {
        for n in 1..=max {
            if !self.pass()? {
                return Ok(n);
            }
        }
        panic!("no rest after {max} passes");
    }

    /// The client's application: writes the uploads, reads the downloads.
    fn client_app(&mut self) -> bool {
        let mut active = false;
        for (&ticket, (data, at)) in &mut self.uploads {
            if let Some(mut wr) = self.client.request_body(ticket) {
                active |= write_some(&mut wr, data, at);
            }
        }
        let tickets: Vec<Ticket> = self.downloads.keys().copied().collect();
        for ticket in tickets {
            if self.client_stalled.contains(&ticket) {
                continue;
            }
            let max = self.roll(self.read);
            if let Some(rd) = self.client.response_body(ticket) {
                let got = self.downloads.entry(ticket).or_default();
                if let Some(kind) = read_some(rd, got, max, &mut active) {
                    self.download_ends.insert(ticket, kind);
                }
            }
        }
        active
    }

    /// The server's application: echoes request bodies into response bodies.
    fn server_app(&mut self) -> bool {
        let mut active = false;
        let tags: Vec<u32> = self.streams.keys().copied().collect();
        for tag in tags {
            let max = self.roll(self.read);
            let echo = self.streams.get_mut(&tag).unwrap();
            if self.server_stalled.contains(&echo.name) {
                continue;
            }
            // Read only while the echo keeps up: the application buffers 4 KiB at most.
            if echo.pending.len() < 4096
                && let Some(rd) = self.server.request_body(tag)
            {
                let mut got = Vec::new();
                let max = max.min(4096 - echo.pending.len());
                echo.ended = read_some(rd, &mut got, max, &mut active).or(echo.ended);
                echo.pending.extend(answer(&got));
            }
            let Some(mut wr) = self.server.response_body(tag) else {
                continue;
            };
            let n = wr.append_some(&echo.pending).unwrap();
            echo.pending.drain(..n);
            active |= n > 0;
            match echo.ended {
                Some(EofKind::Close) if echo.pending.is_empty() => wr.close(),
                Some(EofKind::Abort) => wr.abort(),
                _ => continue,
            }
            active = true;
            self.streams.remove(&tag);
        }
        active
    }

    /// Moves bytes across the link, at most `chunk` each way, with the EOFs.
    fn link(&mut self) -> bool {
        let (up, down) = (self.roll(self.chunk), self.roll(self.chunk));
        let sent = carry(&mut self.cw.lower().rd, &mut self.sw.upper().wr, up);
        let back = carry(&mut self.sw.upper().rd, &mut self.cw.lower().wr, down);
        sent | back
    }

    /// Notes the tags of the data frames about to reach the server. The server takes
    /// every whole frame in each `process`, so each frame is seen here once.
    fn record_data_frames(&mut self) {
        let mut codec = StreamFrames::new(usize::MAX);
        let data = self.sw.down.data();
        let mut at = 0;
        while let Ok(Some((frame, len))) = codec.decode(&data[at..]) {
            if let Frame::Data { tag, data, .. } = frame
                && !data.is_empty()
            {
                self.data_tags.push(tag);
            }
            at += len;
        }
    }

    /// The body the client got for `ticket`, and how it ended.
    fn download(&self, ticket: Ticket) -> (&[u8], Option<EofKind>) {
        let data = self.downloads.get(&ticket).map_or(&[][..], |d| &d[..]);
        (data, self.download_ends.get(&ticket).copied())
    }
}

/// Writes as much of `data[*at..]` as fits; closes once all is written.
fn write_some(wr: &mut PBufWr<'_>, data: &[u8], at: &mut usize) -> bool {
    if wr.is_eof() {
        return false;
    }
    let n = wr.append_some(&data[*at..]).unwrap();
    *at += n;
    if *at == data.len() {
        wr.close();
        return true;
    }
    n > 0
}

/// Reads up to `max` bytes into `got`, then the EOF if reached.
fn read_some(
    mut rd: PBufRd<'_>,
    got: &mut Vec<u8>,
    max: usize,
    active: &mut bool,
) -> Option<EofKind> {
    let n = rd.len().min(max);
    got.extend_from_slice(&rd.data()[..n]);
    rd.consume(n).unwrap();
    *active |= n > 0;
    let kind = rd.consume_eof();
    *active |= kind.is_some();
    kind
}

/// Moves up to `max` bytes (and then the EOF) from `rd` to `wr`.
fn carry(rd: &mut PBufRd<'_>, wr: &mut PBufWr<'_>, max: usize) -> bool {
    if wr.is_eof() {
        return rd.discard();
    }
    let n = rd.len().min(max);
    let n = wr.append_some(&rd.data()[..n]).unwrap();
    rd.consume(n).unwrap();
    let mut moved = n > 0;
    if rd.is_empty() {
        match rd.consume_eof() {
            Some(EofKind::Close) => wr.close(),
            Some(EofKind::Abort) => wr.abort(),
            None => return moved,
        }
        moved = true;
    }
    moved
}

#[test]
fn two_large_bodies_interleave_both_ways_and_arrive_intact() {
    let mut h = Harness::new(4096, 1024);
    let (a_body, b_body) = (pattern(300_000, 1), pattern(200_000, 2));
    let a = h.submit("a", &a_body);
    let b = h.submit("b", &b_body);
    h.run(10_000).unwrap();
    assert_eq!(h.download(a), (&answer(&a_body)[..], Some(EofKind::Close)));
    assert_eq!(h.download(b), (&answer(&b_body)[..], Some(EofKind::Close)));
    assert_eq!(h.client_events, ["response a", "response b"]);
    assert_eq!(h.server_events, ["request a", "request b"]);
    // Interleaved: while both bodies flow, the data frames alternate between them.
    let switches = h.data_tags.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        switches > 100,
        "only {switches} switches between the bodies"
    );
    assert_eq!((h.client.in_flight(), h.server.open_streams()), (0, 0));
    assert_eq!((h.client.buffered(), h.server.buffered()), (0, 0));
}

#[test]
fn a_request_body_the_server_does_not_read_stalls_only_its_stream_within_the_bound() {
    let mut h = Harness::new(4096, 1024);
    h.server_stalled.insert("slow".into());
    let (slow_body, fast_body) = (pattern(100_000, 3), pattern(100_000, 4));
    let slow = h.submit("slow", &slow_body);
    let fast = h.submit("fast", &fast_body);
    h.run(10_000).unwrap();
    assert_eq!(
        h.download(fast),
        (&answer(&fast_body)[..], Some(EofKind::Close))
    );
    assert_eq!(h.download(slow), (&[][..], None));
    // The stalled stream holds a full request body buffer on the server and a full
    // upload buffer on the client, nothing more; the connection itself is idle.
    assert_eq!(h.server.buffered(), 4096);
    assert_eq!(h.client.buffered(), 4096);
    assert!(
        h.cw.down.is_empty() && h.sw.down.is_empty(),
        "no bytes stuck on the wire"
    );
    assert!(h.peak.0 <= h.client.max_buffered() && h.peak.1 <= h.server.max_buffered());
    // Reading again lets it finish.
    h.server_stalled.clear();
    h.run(10_000).unwrap();
    assert_eq!(
        h.download(slow),
        (&answer(&slow_body)[..], Some(EofKind::Close))
    );
}

#[test]
fn a_response_body_the_client_does_not_read_stalls_only_its_stream_within_the_bound() {
    let mut h = Harness::new(4096, 1024);
    let (slow_body, fast_body) = (pattern(50_000, 5), pattern(50_000, 6));
    let slow = h.submit("slow", &slow_body);
    h.client_stalled.insert(slow);
    let fast = h.submit("fast", &fast_body);
    h.run(10_000).unwrap();
    assert_eq!(
        h.download(fast),
        (&answer(&fast_body)[..], Some(EofKind::Close))
    );
    assert_eq!(h.download(slow).1, None);
    // The client's response buffer is full, the server's response buffer is full, and
    // the server's echo stopped reading the request: every buffer at its limit, no more.
    assert!(h.client.buffered() <= 2 * 4096, "{}", h.client.buffered());
    assert!(h.server.buffered() <= 2 * 4096, "{}", h.server.buffered());
    assert!(h.peak.0 <= h.client.max_buffered() && h.peak.1 <= h.server.max_buffered());
    h.client_stalled.clear();
    h.run(10_000).unwrap();
    assert_eq!(
        h.download(slow),
        (&answer(&slow_body)[..], Some(EofKind::Close))
    );
}

#[test]
fn cancelling_one_stream_mid_body_lets_the_others_complete() {
    let mut h = Harness::new(2048, 512);
    let bodies: Vec<Vec<u8>> = (0..3).map(|i| pattern(60_000, 10 + i)).collect();
    let tickets: Vec<Ticket> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| h.submit(&format!("s{i}"), b))
        .collect();
    for _ in 0..20 {
        h.pass().unwrap();
    }
    assert!(h.downloads.get(&tickets[1]).is_some_and(|d| !d.is_empty()));
    assert_eq!(
        h.client.cancel(tickets[1]),
        None,
        "the response went out already"
    );
    h.uploads.remove(&tickets[1]);
    h.run(10_000).unwrap();
    for i in [0, 2] {
        assert_eq!(
            h.download(tickets[i]),
            (&answer(&bodies[i])[..], Some(EofKind::Close))
        );
    }
    assert!(h.client.response_body(tickets[1]).is_none());
    assert_eq!(
        h.client_events,
        ["response s0", "response s1", "response s2"]
    );
    assert!(
        h.server_events
            .contains(&format!("reset 1 {}", code::CANCEL))
    );
    assert_eq!((h.client.tags_taken(), h.server.open_streams()), (0, 0));
}

#[test]
fn a_server_cancelling_one_stream_mid_body_lets_the_others_complete() {
    let mut h = Harness::new(2048, 512);
    let (a_body, b_body) = (pattern(60_000, 20), pattern(60_000, 21));
    let a = h.submit("a", &a_body);
    let b = h.submit("b", &b_body);
    for _ in 0..20 {
        h.pass().unwrap();
    }
    assert!(h.server.cancel(0));
    h.streams.remove(&0);
    h.run(10_000).unwrap();
    assert_eq!(h.download(b), (&answer(&b_body)[..], Some(EofKind::Close)));
    let (got, end) = h.download(a);
    assert_eq!(end, Some(EofKind::Abort), "its response body was cut");
    assert!(answer(&a_body).starts_with(got));
    assert!(
        h.client_events
            .contains(&format!("failed 0 Reset({})", code::CANCEL))
    );
    assert_eq!((h.client.tags_taken(), h.server.open_streams()), (0, 0));
}

#[test]
fn requests_beyond_the_servers_streams_are_refused_and_complete_when_sent_again() {
    let mut h = Harness::new(2048, 512);
    let frames = StreamFrames::new(512);
    h.server = Server::new(frames, frames, 2).with_body_limits(2048, 2048);
    let bodies: Vec<Vec<u8>> = (0..5).map(|i| pattern(10_000, 50 + i)).collect();
    let (mut todo, mut done) = ((0..5).collect::<Vec<usize>>(), BTreeMap::new());
    for _round in 0..5 {
        let sent: Vec<(usize, Ticket)> = todo
            .iter()
            .map(|&i| (i, h.submit(&format!("s{i}"), &bodies[i])))
            .collect();
        h.run(10_000).unwrap();
        todo.clear();
        for (i, t) in sent {
            if h.download(t).1 == Some(EofKind::Close) {
                done.insert(i, t);
            } else {
                todo.push(i);
            }
        }
    }
    assert!(todo.is_empty(), "still refused: {todo:?}");
    for (i, t) in done {
        assert_eq!(h.download(t).0, &answer(&bodies[i])[..]);
    }
    let refused = format!("Reset({})", code::REFUSED);
    let refusals = h.client_events.iter().filter(|e| e.ends_with(&refused));
    assert_eq!(
        refusals.count(),
        3 + 1,
        "3 refused at first, then 1 of those again"
    );
    assert!(
        h.server_events.iter().all(|e| e.starts_with("request")),
        "refusals are silent"
    );
    assert_eq!((h.client.tags_taken(), h.server.open_streams()), (0, 0));
}

/// The encoded bytes of `frames`.
fn encode(frames: &[Frame<'_, &str>]) -> Vec<u8> {
    let mut codec = StreamFrames::default();
    let mut pb = PipeBuf::<u8>::new();
    for frame in frames {
        let mut wr = pb.wr();
        match *frame {
            Frame::Head { tag, message, body } => {
                codec.encode_head(tag, &message.as_bytes().to_vec(), body, &mut wr)
            }
            Frame::Data { tag, data, end } => {
                let mut h = [0u8; 9];
                let n = codec
                    .encode_data_header(tag, data.len(), end, &mut h)
                    .unwrap();
                wr.append(&h[..n]).unwrap();
                wr.append(data).unwrap();
                continue;
            }
            Frame::Credit { tag, bytes } => codec.encode_credit(tag, bytes, &mut wr),
            Frame::Reset { tag, code } => codec.encode_reset(tag, code, &mut wr),
        }
        .unwrap();
    }
    pb.data().to_vec()
}

/// Takes every whole frame from `rd`, as the debug form of each.
fn decode(rd: &mut PBufRd<'_>) -> Vec<String> {
    let mut codec = StreamFrames::default();
    let mut out = Vec::new();
    while let Some((frame, len)) = codec.decode(rd.data()).unwrap() {
        out.push(match frame {
            Frame::Data { tag, data, end } => format!("Data {tag} {} {end}", data.len()),
            other => format!("{other:?}"),
        });
        rd.consume(len).unwrap();
    }
    out
}

fn head(tag: u32, body: bool) -> Frame<'static, &'static str> {
    Frame::Head {
        tag,
        message: "q",
        body,
    }
}

fn data(tag: u32, data: &'static [u8], end: bool) -> Frame<'static, &'static str> {
    Frame::Data { tag, data, end }
}

/// Runs the server against frames written by hand; returns its events.
fn serve(
    s: &mut Server,
    net: &mut PipeBufPair,
    frames: &[Frame<'_, &str>],
) -> Result<Vec<String>, E> {
    net.upper().wr.append(&encode(frames)).unwrap();
    let mut events = Vec::new();
    while s.process(net.lower(), |ev| events.push(format!("{ev:?}")))? {}
    Ok(events)
}

#[test]
fn a_client_exceeding_its_credit_gets_that_stream_reset_and_the_connection_goes_on() {
    let mut s =
        Server::new(StreamFrames::default(), StreamFrames::default(), 8).with_body_limits(16, 16);
    let mut net = PipeBufPair::new();
    serve(&mut s, &mut net, &[head(0, true), head(1, true)]).unwrap();
    assert_eq!(
        decode(&mut net.upper().rd),
        [
            "Credit { tag: 0, bytes: 16 }",
            "Credit { tag: 1, bytes: 16 }"
        ]
    );
    let events = serve(
        &mut s,
        &mut net,
        &[data(0, &[0; 17], false), data(1, b"fine", true)],
    )
    .unwrap();
    assert_eq!(
        events,
        [format!(
            "StreamError {{ tag: 0, fault: {:?} }}",
            StreamFault::CreditExceeded {
                credit: 16,
                got: 17
            }
        )]
    );
    assert_eq!(decode(&mut net.upper().rd), ["Reset { tag: 0, code: 3 }"]);
    // Stream 1 goes on: its request body arrived, its response goes out.
    let mut rd = s.request_body(1).unwrap();
    assert_eq!(rd.data(), b"fine");
    rd.consume_all();
    assert_eq!(rd.consume_eof(), Some(EofKind::Close));
    s.respond(1, b"ok".to_vec(), false).unwrap();
    serve(&mut s, &mut net, &[Frame::Reset { tag: 0, code: 3 }]).unwrap();
    assert_eq!(
        decode(&mut net.upper().rd),
        ["Head { tag: 1, message: [111, 107], body: false }"]
    );
}

#[test]
fn a_server_exceeding_its_credit_gets_that_stream_reset_and_the_connection_goes_on() {
    let frames = StreamFrames::default();
    let mut c: Client = StreamClient::new(frames, frames, 9, 8).with_body_limits(16, 16);
    let mut net = PipeBufPair::new();
    let a = c.submit(b"a".to_vec(), false, "a".into()).unwrap();
    let b = c.submit(b"b".to_vec(), false, "b".into()).unwrap();
    let mut events = Vec::new();
    fn feed(
        c: &mut Client,
        net: &mut PipeBufPair,
        events: &mut Vec<String>,
        frames: &[Frame<'_, &str>],
    ) -> Vec<String> {
        net.lower().wr.append(&encode(frames)).unwrap();
        while c
            .process(net.upper(), |ev| events.push(format!("{ev:?}")))
            .unwrap()
        {}
        decode(&mut net.lower().rd)
    }
    assert_eq!(
        feed(&mut c, &mut net, &mut events, &[]).len(),
        2,
        "the two heads"
    );
    assert_eq!(
        feed(
            &mut c,
            &mut net,
            &mut events,
            &[head(0, true), head(1, true)]
        ),
        [
            "Credit { tag: 0, bytes: 16 }",
            "Credit { tag: 1, bytes: 16 }"
        ]
    );
    let frames = [data(0, &[0; 17], false), data(1, b"fine", true)];
    assert_eq!(
        feed(&mut c, &mut net, &mut events, &frames),
        ["Reset { tag: 0, code: 3 }"]
    );
    assert!(events[2].starts_with("StreamError"), "{events:?}");
    let mut rd = c.response_body(a).unwrap();
    assert_eq!(rd.consume_eof(), Some(EofKind::Abort), "cut, nothing taken");
    let mut rd = c.response_body(b).unwrap();
    assert_eq!(rd.data(), b"fine");
    rd.consume_all();
    assert_eq!(rd.consume_eof(), Some(EofKind::Close));
    feed(
        &mut c,
        &mut net,
        &mut events,
        &[Frame::Reset { tag: 0, code: 3 }],
    );
    assert_eq!((c.in_flight(), c.tags_taken()), (0, 0));
}

#[test]
fn a_duplicate_head_for_an_open_tag_is_a_connection_error() {
    let mut s = Server::new(StreamFrames::default(), StreamFrames::default(), 8);
    let mut net = PipeBufPair::new();
    serve(&mut s, &mut net, &[head(3, true)]).unwrap();
    assert_eq!(
        serve(&mut s, &mut net, &[head(3, false)]),
        Err(Error::DuplicateTag(3))
    );
    assert_eq!(net.up.state(), PBufState::Aborting);
    assert_eq!(
        s.request_body(3).map(|rd| rd.state()),
        Some(PBufState::Aborting)
    );
}

#[test]
fn data_for_an_unknown_tag_is_a_connection_error() {
    let mut s = Server::new(StreamFrames::default(), StreamFrames::default(), 8);
    let mut net = PipeBufPair::new();
    assert_eq!(
        serve(&mut s, &mut net, &[data(9, b"who?", false)]),
        Err(Error::Desynchronized)
    );
    assert_eq!(net.up.state(), PBufState::Aborting);
}

#[test]
fn a_connection_aborted_mid_body_aborts_every_open_body_once() {
    let mut h = Harness::new(2048, 512);
    let (a_body, b_body) = (pattern(50_000, 30), pattern(50_000, 31));
    let a = h.submit("a", &a_body);
    let b = h.submit("b", &b_body);
    for _ in 0..15 {
        h.pass().unwrap();
    }
    h.server_stalled.insert("a".into());
    h.server_stalled.insert("b".into());
    // The link breaks both ways.
    h.cw.lower().wr.abort();
    h.sw.upper().wr.abort();
    h.run(1000).unwrap();
    for t in [a, b] {
        assert_eq!(h.download(t).1, Some(EofKind::Abort));
    }
    assert_eq!(
        h.client_events,
        [
            "response a",
            "response b",
            "failed 0 Connection(Aborted)",
            "failed 1 Connection(Aborted)"
        ]
    );
    assert_eq!(h.server_events, ["request a", "request b", "end Abort"]);
    for tag in [0, 1] {
        let rd = h.server.request_body(tag).unwrap();
        assert_eq!(rd.state(), PBufState::Aborting, "request body {tag}");
    }
    assert!(h.client.is_finished() && h.server.is_finished());
}

#[test]
fn a_connection_closed_mid_body_aborts_the_bodies_it_cut_and_fails_their_streams() {
    let mut h = Harness::new(2048, 512);
    let body = pattern(50_000, 40);
    let a = h.submit("a", &body);
    for _ in 0..15 {
        h.pass().unwrap();
    }
    // The server's side closes (a peer that stops sending, cleanly, too early).
    h.sw.upper().wr.close();
    h.cw.lower().wr.close();
    h.run(1000).unwrap();
    assert_eq!(h.download(a).1, Some(EofKind::Abort));
    assert!(h.client_events.contains(&format!(
        "failed 0 {:?}",
        StreamFailure::Connection(Failure::Closed)
    )));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the sizes, wherever the link cuts the byte stream and however slowly the
    /// applications read, every body arrives byte-exact and nothing gets stuck.
    #[test]
    fn every_body_arrives_byte_exact_whatever_the_cuts_and_read_speeds(
        sizes in prop::collection::vec(0usize..20_000, 1..6),
        limit in prop_oneof![1usize..64, 64usize..3000],
        // At least 8: the heads ("re s5") must fit in a frame.
        frame in prop_oneof![8usize..32, 32usize..700],
        chunk in prop_oneof![1usize..32, 32usize..2000],
        read in prop_oneof![1usize..32, 32usize..3000],
        seed in any::<u64>(),
    ) {
        let mut h = Harness::new(limit, frame);
        h.chunk = chunk;
        h.read = read;
        h.rng = seed | 1;
        let bodies: Vec<Vec<u8>> =
            sizes.iter().enumerate().map(|(i, &n)| pattern(n, i as u8)).collect();
        let tickets: Vec<Ticket> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| h.submit(&format!("s{i}"), b))
            .collect();
        h.run(2_000_000).unwrap();
        for (t, body) in tickets.iter().zip(&bodies) {
            let expected = answer(body);
            prop_assert_eq!(h.download(*t), (&expected[..], Some(EofKind::Close)));
        }
        prop_assert_eq!((h.client.in_flight(), h.client.tags_taken()), (0, 0));
        prop_assert_eq!(h.server.open_streams(), 0);
        prop_assert!(h.peak.0 <= h.client.max_buffered());
        prop_assert!(h.peak.1 <= h.server.max_buffered());
    }
}
