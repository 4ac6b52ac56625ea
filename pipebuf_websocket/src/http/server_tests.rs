//! The server's rules, one test each, driven through in-memory pairs with explicit time.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use pipebuf::{EofKind, PipeBufPair, Time};

use super::*;
use crate::http::Upgrading;
use crate::http::records::{Incoming, read_request, write_body, write_end, write_response_head};

/// A server between an in-memory peer and, in records mode, an echo application.
struct Conn {
    server: HttpServer,
    net: PipeBufPair,
    app: PipeBufPair,
    now: Time,
    /// Records mode: the application echoes each body back (else answers with the path).
    echo: bool,
    /// Request heads the echo application saw.
    seen: Vec<RequestHead>,
}

impl Conn {
    fn records(config: HttpConfig) -> Conn {
        Conn {
            server: HttpServer::new(config),
            net: PipeBufPair::new(),
            app: PipeBufPair::new(),
            now: Time::ZERO,
            echo: true,
            seen: Vec::new(),
        }
    }

    fn handler(config: HttpConfig) -> Conn {
        let server = HttpServer::with_handler(
            config,
            Box::new(|request| match request.path() {
                "/404" => Response::text(404, "missing\n"),
                path => Response::text(200, alloc::format!("path {path}\n")),
            }),
        );
        Conn {
            server,
            echo: false,
            ..Conn::records(config)
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.net.lower().wr.append(bytes).unwrap();
    }

    /// Runs server and application until nothing moves.
    fn run(&mut self) -> Result<(), HttpError> {
        for _ in 0..10_000 {
            let s = self
                .server
                .process(self.now, self.net.upper(), self.app.lower())?;
            let a = self.echo && self.echo_step();
            if !s && !a {
                return Ok(());
            }
        }
        panic!("never settles");
    }

    /// The echo application: a response head per request (chunked), each body record
    /// echoed, an end record at the end.
    fn echo_step(&mut self) -> bool {
        let mut app = self.app.upper();
        let mut active = false;
        loop {
            let Ok(Some((incoming, len))) = read_request(&app.rd) else {
                return active;
            };
            match incoming {
                Incoming::Request(head) => {
                    if write_response_head(&mut app.wr, 200, &[("X-Echo", "1")], None).is_err() {
                        return active;
                    }
                    self.seen.push(head);
                }
                Incoming::Body(data) => {
                    if app.wr.room() < data.len() + 5 {
                        return active;
                    }
                    let n = write_body(&mut app.wr, data).unwrap();
                    assert_eq!(n, data.len());
                }
                Incoming::End => {
                    if write_end(&mut app.wr).is_err() {
                        return active;
                    }
                }
            }
            app.rd.consume(len).unwrap();
            active = true;
        }
    }

    /// Everything the server sent so far, consumed.
    fn received(&mut self) -> String {
        let mut peer = self.net.lower();
        let text = String::from_utf8_lossy(peer.rd.data()).into_owned();
        peer.rd.consume_all();
        text
    }

    /// The end of the server's byte output, if it came.
    fn output_end(&mut self) -> Option<EofKind> {
        let mut peer = self.net.lower();
        peer.rd.consume_all();
        peer.rd.consume_push();
        peer.rd.consume_eof()
    }
}

/// The bodies of the chunked responses in `text`, decoded, in order.
fn chunked_bodies(text: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for response in text.split("HTTP/1.1 ").skip(1) {
        let Some((_, mut rest)) = response.split_once("\r\n\r\n") else {
            continue;
        };
        let mut body = String::new();
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size, 16).unwrap();
            if n == 0 {
                break;
            }
            body.push_str(&after[..n]);
            rest = &after[n + 2..];
        }
        bodies.push(body);
    }
    bodies
}

const GET: &[u8] = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn the_connection_stays_open_for_a_second_request() {
    let mut c = Conn::handler(HttpConfig::default());
    c.send(GET);
    c.run().unwrap();
    let first = c.received();
    assert_eq!(
        first,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 8\r\n\r\npath /a\n"
    );
    c.send(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    c.run().unwrap();
    assert!(c.received().ends_with("\r\n\r\npath /b\n"));
    assert_eq!(c.output_end(), None);
}

#[test]
fn heads_of_any_size_follow_each_other_with_or_without_a_release_between() {
    for records in [false, true] {
        let mut c = if records {
            Conn::records(HttpConfig::default())
        } else {
            Conn::handler(HttpConfig::default())
        };
        let long = alloc::format!("/{}", "x".repeat(300));
        for (i, path) in ["/a", long.as_str(), "/b", "/c", long.as_str()]
            .into_iter()
            .enumerate()
        {
            if i % 2 == 1 {
                // What a driver does to a connection that has been quiet for a while.
                Layer::release(&mut c.server);
            }
            c.send(
                alloc::format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-{i}: {i}\r\n\r\n").as_bytes(),
            );
            c.run().unwrap();
            let text = c.received();
            if records {
                assert_eq!(c.seen.last().map(|h| h.target()), Some(path), "{i}");
                assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
            } else {
                assert!(
                    text.ends_with(&alloc::format!("\r\n\r\npath {path}\n")),
                    "{text}"
                );
            }
        }
        assert_eq!(c.output_end(), None);
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut c = Conn::handler(HttpConfig::default());
    c.send(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /404 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
    c.run().unwrap();
    let text = c.received();
    let statuses: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &text[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["200", "404", "200"]);
    let one = text.find("path /1").unwrap();
    let three = text.find("path /3").unwrap();
    assert!(one < text.find("missing").unwrap() && text.find("missing").unwrap() < three);
}

#[test]
fn connection_close_is_honoured_after_the_response() {
    let mut c = Conn::handler(HttpConfig::default());
    c.send(b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    c.run().unwrap();
    let text = c.received();
    assert!(text.contains("Connection: close\r\n"), "{text}");
    assert!(!text.contains("path /b"), "{text}");
    assert_eq!(c.output_end(), Some(EofKind::Close));
}

#[test]
fn http10_closes_unless_keep_alive_is_asked_for() {
    let mut c = Conn::handler(HttpConfig::default());
    c.send(b"GET /a HTTP/1.0\r\n\r\n");
    c.run().unwrap();
    assert!(c.received().contains("Connection: close\r\n"));
    assert_eq!(c.output_end(), Some(EofKind::Close));
    let mut c = Conn::handler(HttpConfig::default());
    c.send(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    c.run().unwrap();
    assert!(c.received().contains("Connection: keep-alive\r\n"));
    assert_eq!(c.output_end(), None);
}

#[test]
fn a_head_request_gets_the_length_but_no_body() {
    let mut c = Conn::handler(HttpConfig::default());
    c.send(b"HEAD /abc HTTP/1.1\r\nHost: x\r\n\r\n");
    c.run().unwrap();
    let text = c.received();
    assert!(text.contains("Content-Length: 10\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "{text}");
}

#[test]
fn a_content_length_body_streams_through_records_split_at_every_byte() {
    let request = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello worldGET /next HTTP/1.1\r\nHost: x\r\n\r\n";
    for cut in 1..request.len() {
        let mut c = Conn::records(HttpConfig::default());
        c.send(&request[..cut]);
        c.run().unwrap();
        c.send(&request[cut..]);
        c.run().unwrap();
        let text = c.received();
        assert_eq!(
            chunked_bodies(&text),
            ["hello world", ""],
            "cut {cut}: {text}"
        );
        assert_eq!(c.seen.len(), 2);
        assert_eq!(c.seen[1].path(), "/next");
    }
}

#[test]
fn a_chunked_body_streams_through_records_split_at_every_byte() {
    let request = b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
        5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: t\r\n\r\nGET /n HTTP/1.1\r\nHost: x\r\n\r\n";
    for piece in 1..=request.len() {
        let mut c = Conn::records(HttpConfig::default());
        for part in request.chunks(piece) {
            c.send(part);
            c.run().unwrap();
        }
        let text = c.received();
        assert_eq!(
            chunked_bodies(&text),
            ["hello world", ""],
            "piece {piece}: {text}"
        );
        assert!(text.contains("Transfer-Encoding: chunked\r\n"));
    }
}

#[test]
fn a_large_body_streams_through_small_buffers_without_being_held_whole() {
    let mut c = Conn::records(HttpConfig::default());
    c.app = PipeBufPair::with_limits(64, 256);
    let body: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut request = alloc::format!(
        "PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let mut out = String::new();
    for part in request.chunks(4096) {
        c.send(part);
        c.run().unwrap();
        out.push_str(&c.received());
    }
    assert_eq!(chunked_bodies(&out)[0].as_bytes(), &body[..]);
}

#[test]
fn expect_100_continue_gets_continue_before_the_body_is_sent() {
    let mut c = Conn::records(HttpConfig::default());
    c.send(b"PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    c.run().unwrap();
    assert!(
        c.received()
            .starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    );
    c.send(b"abc");
    c.run().unwrap();
    assert_eq!(
        chunked_bodies(&alloc::format!("HTTP/1.1 x\r\n\r\n{}", c.received())),
        ["abc"]
    );
}

#[test]
fn expect_100_continue_with_a_body_over_the_limit_gets_413_and_no_continue() {
    let config = HttpConfig {
        max_body: 10,
        ..HttpConfig::default()
    };
    let mut c = Conn::records(config);
    c.send(b"PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(c.run(), Err(HttpError::Refused(Refusal::BodyTooLarge)));
    let text = c.received();
    assert!(text.starts_with("HTTP/1.1 413 "), "{text}");
    assert_eq!(c.output_end(), Some(EofKind::Close));
}

/// Sends `request` to a fresh handler server; the refusal, the answer and the output's end.
fn refused(config: HttpConfig, request: &[u8]) -> (HttpError, String, Option<EofKind>) {
    let mut c = Conn::handler(config);
    c.send(request);
    let error = c.run().unwrap_err();
    // Nothing after the refusal is read or answered.
    c.send(GET);
    c.run().unwrap();
    let text = c.received();
    (error, text, c.output_end())
}

#[test]
fn an_oversized_head_gets_431_and_the_connection_closed() {
    let mut request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    request.resize(10_000, b'a');
    let (error, text, end) = refused(HttpConfig::default(), &request);
    assert_eq!(error, HttpError::Refused(Refusal::HeadTooLarge));
    assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
    assert!(text.contains("Connection: close\r\n"));
    assert_eq!(end, Some(EofKind::Close));
}

#[test]
fn a_head_record_larger_than_the_application_buffer_gets_431_instead_of_waiting_for_ever() {
    let mut c = Conn::records(HttpConfig::default());
    c.app = PipeBufPair::with_limits(64, 64);
    // 66 bytes of head: a 71-byte record, which a 64-byte buffer can never take.
    c.send(b"GET /0 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nX-Pad: abcdefghij\r\n\r\n");
    assert_eq!(c.run(), Err(HttpError::Refused(Refusal::HeadTooLarge)));
    assert!(c.received().starts_with("HTTP/1.1 431 "));
    assert_eq!(c.output_end(), Some(EofKind::Close));
    // A head whose record fits still waits for room, then goes through.
    let mut c = Conn::records(HttpConfig::default());
    c.app = PipeBufPair::with_limits(64, 64);
    c.send(GET);
    c.run().unwrap();
    assert_eq!(c.seen.len(), 1);
}

#[test]
fn a_head_held_for_the_application_runs_no_idle_timeout_and_goes_through_once_it_reads() {
    let config = HttpConfig {
        idle_timeout: Some(Duration::from_secs(5)),
        ..HttpConfig::default()
    };
    let mut c = Conn::records(config);
    c.echo = false;
    // The application's record buffer is full: the complete head waits in the input.
    let mut app = PipeBufPair::with_limits(64, 64);
    app.lower().wr.append(&[0u8; 64]).unwrap();
    c.app = app;
    c.send(GET);
    c.run().unwrap();
    assert_eq!(
        c.server.next_deadline(),
        None,
        "the peer is not the one waited for"
    );
    c.now = Time::from_millis(60_000);
    c.run().unwrap();
    assert_eq!(c.received(), "", "no 408: the peer did nothing wrong");
    assert_eq!(c.output_end(), None);
    // The application reads what filled its buffer: the head goes through.
    c.app.upper().rd.consume_all();
    c.echo = true;
    c.run().unwrap();
    assert_eq!(c.seen.len(), 1);
}

#[test]
fn too_many_header_fields_get_431() {
    let mut request = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..70 {
        request.extend_from_slice(alloc::format!("X-{i}: y\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    let (error, text, _) = refused(HttpConfig::default(), &request);
    assert_eq!(error, HttpError::Refused(Refusal::TooManyHeaders));
    assert!(text.starts_with("HTTP/1.1 431 "));
}

#[test]
fn a_chunked_body_growing_past_the_limit_gets_413() {
    let config = HttpConfig {
        max_body: 8,
        ..HttpConfig::default()
    };
    let request = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\n";
    let mut c = Conn::records(config);
    c.send(request);
    assert_eq!(c.run(), Err(HttpError::Refused(Refusal::BodyTooLarge)));
    // The echo application had begun its response: a 413 cannot follow it, so it is cut.
    let end = c.output_end();
    assert!(end == Some(EofKind::Abort) || end == Some(EofKind::Close));
    let (error, text, end) = refused(config, request);
    assert_eq!(error, HttpError::Refused(Refusal::BodyTooLarge));
    // The handler answered at once, so the 413 cannot follow: the connection is cut.
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    assert_eq!(end, Some(EofKind::Abort));
}

#[test]
fn smuggling_shapes_get_400_and_what_follows_is_never_answered() {
    for request in [
        &b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nContent-Length: 40\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\nContent-Length: 3\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let mut c = Conn::records(HttpConfig::default());
        c.send(request);
        let error = c.run().unwrap_err();
        let text = c.received();
        assert!(matches!(error, HttpError::Refused(r) if r.status() == 400), "{error:?}");
        assert!(!text.contains("smuggled"), "{text}");
        assert!(c.seen.iter().all(|h| h.path() != "/smuggled"));
        let end = c.output_end();
        assert!(end.is_some(), "{text}");
        if text.starts_with("HTTP/1.1 400 ") {
            assert_eq!(end, Some(EofKind::Close));
        }
    }
}

#[test]
fn a_closing_connection_does_not_read_a_body_nothing_needs_however_its_bytes_arrive() {
    // A handler's answer does not wait for the body, and nothing follows it: whether the bad
    // chunk came in the same call as the head or later, the answer goes out whole and the
    // connection closes cleanly.
    let request = b"POST /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
        Transfer-Encoding: chunked\r\n\r\nzz\r\n";
    for cut in [request.len(), request.len() - 4] {
        let mut c = Conn::handler(HttpConfig::default());
        c.send(&request[..cut]);
        c.run().unwrap();
        c.send(&request[cut..]);
        c.run().unwrap();
        assert!(c.received().ends_with("\r\n\r\npath /a\n"), "cut {cut}");
        assert_eq!(c.output_end(), Some(EofKind::Close), "cut {cut}");
        let mut app = c.app.upper();
        app.rd.consume_all();
        assert_eq!(app.rd.consume_eof(), Some(EofKind::Close), "cut {cut}");
    }
    // Records mode: the body goes to the application until its answer is complete, and
    // after that, on a closing connection, no more of it is read.
    let mut c = Conn::records(HttpConfig::default());
    c.echo = false;
    c.send(b"POST /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 9\r\n\r\nabc");
    c.run().unwrap();
    let mut app = c.app.upper();
    app.rd.consume_all();
    write_response_head(&mut app.wr, 204, &[], Some(0)).unwrap();
    write_end(&mut app.wr).unwrap();
    c.send(b"def");
    c.run().unwrap();
    assert!(c.received().starts_with("HTTP/1.1 204 "));
    assert_eq!(c.output_end(), Some(EofKind::Close));
}

#[test]
fn a_bad_chunk_size_before_any_response_gets_400() {
    let mut c = Conn::records(HttpConfig::default());
    c.echo = false;
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n");
    assert_eq!(c.run(), Err(HttpError::Refused(Refusal::BadChunk)));
    assert!(c.received().starts_with("HTTP/1.1 400 Bad Request\r\n"));
    assert_eq!(c.output_end(), Some(EofKind::Close));
    // The application learns that the request broke off.
    let mut app = c.app.upper();
    app.rd.consume_all();
    assert_eq!(app.rd.consume_eof(), Some(EofKind::Abort));
}

#[test]
fn an_idle_connection_is_closed_after_the_timeout() {
    let config = HttpConfig {
        idle_timeout: Some(Duration::from_secs(5)),
        ..HttpConfig::default()
    };
    let mut c = Conn::handler(config);
    c.send(GET);
    c.run().unwrap();
    c.received();
    assert_eq!(c.server.next_deadline(), Some(Time::from_millis(5000)));
    c.now = Time::from_millis(4999);
    c.run().unwrap();
    assert_eq!(c.output_end(), None);
    c.now = Time::from_millis(5000);
    c.run().unwrap();
    assert_eq!(c.output_end(), Some(EofKind::Close));
    assert_eq!(c.server.next_deadline(), None);
}

#[test]
fn a_head_left_unfinished_past_the_timeout_gets_408() {
    let config = HttpConfig {
        idle_timeout: Some(Duration::from_secs(5)),
        ..HttpConfig::default()
    };
    let mut c = Conn::handler(config);
    c.send(b"GET / HTTP/1.1\r\nHo");
    c.run().unwrap();
    c.now = Time::from_millis(6000);
    assert_eq!(c.run(), Err(HttpError::Refused(Refusal::Timeout)));
    assert!(c.received().starts_with("HTTP/1.1 408 "));
}

#[test]
fn the_peer_ending_between_requests_closes_both_streams() {
    let mut c = Conn::records(HttpConfig::default());
    c.send(GET);
    c.net.lower().wr.close();
    c.run().unwrap();
    assert_eq!(chunked_bodies(&c.received()), [""]);
    assert_eq!(c.output_end(), Some(EofKind::Close));
    let mut app = c.app.upper();
    app.rd.consume_all();
    assert_eq!(app.rd.consume_eof(), Some(EofKind::Close));
}

#[test]
fn the_peer_breaking_off_inside_a_body_aborts_the_record_stream() {
    let mut c = Conn::records(HttpConfig::default());
    c.echo = false;
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    c.net.lower().wr.close();
    c.run().unwrap();
    let mut app = c.app.upper();
    app.rd.consume_all();
    assert_eq!(app.rd.consume_eof(), Some(EofKind::Abort));
}

#[test]
fn the_peer_breaking_off_inside_a_head_aborts_both_streams() {
    for records in [false, true] {
        let mut c = if records {
            Conn::records(HttpConfig::default())
        } else {
            Conn::handler(HttpConfig::default())
        };
        c.send(b"GET / HTTP/1.1\r\nHo");
        c.run().unwrap();
        c.net.lower().wr.close();
        c.run().unwrap();
        assert_eq!(c.received(), "");
        assert_eq!(c.output_end(), Some(EofKind::Abort), "records {records}");
        let mut app = c.app.upper();
        app.rd.consume_all();
        assert_eq!(
            app.rd.consume_eof(),
            Some(EofKind::Abort),
            "records {records}"
        );
    }
}

#[test]
fn a_response_longer_than_its_content_length_aborts_the_connection() {
    let mut c = Conn::records(HttpConfig::default());
    c.echo = false;
    c.send(GET);
    c.run().unwrap();
    let mut app = c.app.upper();
    app.rd.consume_all();
    write_response_head(&mut app.wr, 200, &[], Some(2)).unwrap();
    write_body(&mut app.wr, b"abc").unwrap();
    assert_eq!(c.run(), Err(HttpError::ResponseLength));
    assert_eq!(c.output_end(), Some(EofKind::Abort));
}

#[test]
fn a_response_with_a_known_length_goes_unchunked() {
    let mut c = Conn::records(HttpConfig::default());
    c.echo = false;
    c.send(GET);
    c.run().unwrap();
    let mut app = c.app.upper();
    app.rd.consume_all();
    write_response_head(&mut app.wr, 200, &[("Content-Type", "text/plain")], Some(3)).unwrap();
    write_body(&mut app.wr, b"abc").unwrap();
    write_end(&mut app.wr).unwrap();
    c.run().unwrap();
    assert_eq!(
        c.received(),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc"
    );
}

#[test]
fn the_application_closing_ends_the_connection_after_its_response() {
    let mut c = Conn::records(HttpConfig::default());
    c.echo = false;
    // Two requests pipelined; the application answers the first and leaves.
    c.send(GET);
    c.send(GET);
    c.run().unwrap();
    let mut app = c.app.upper();
    app.rd.consume_all();
    write_response_head(&mut app.wr, 200, &[], Some(2)).unwrap();
    write_body(&mut app.wr, b"ok").unwrap();
    write_end(&mut app.wr).unwrap();
    app.wr.close();
    c.run().unwrap();
    assert_eq!(
        c.received(),
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    );
    assert_eq!(c.output_end(), Some(EofKind::Close));
}

#[test]
fn the_application_leaving_without_an_answer_aborts_the_connection() {
    let mut c = Conn::records(HttpConfig::default());
    c.echo = false;
    c.send(GET);
    c.run().unwrap();
    c.app.upper().wr.close();
    c.run().unwrap();
    assert_eq!(c.received(), "");
    assert_eq!(c.output_end(), Some(EofKind::Abort));
}

#[test]
fn a_websocket_upgrade_is_left_unread_when_asked_to_stop_there() {
    let config = HttpConfig {
        stop_at_websocket_upgrade: true,
        ..HttpConfig::default()
    };
    let mut c = Conn::handler(config);
    let upgrade = b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x80";
    let mut input = GET.to_vec();
    input.extend_from_slice(upgrade);
    c.send(&input);
    c.run().unwrap();
    assert!(c.server.upgrade_pending());
    assert!(c.received().ends_with("path /a\n"));
    assert_eq!(c.net.upper().rd.data(), upgrade);
    // Without the setting the upgrade is a request like any other.
    let mut c = Conn::handler(HttpConfig::default());
    c.send(&upgrade[..upgrade.len() - 2]);
    c.run().unwrap();
    assert!(c.received().ends_with("path /chat\n"));
}

#[cfg(feature = "std")]
#[test]
fn a_reader_body_streams_as_the_peer_takes_it() {
    let data: Vec<u8> = (0..50_000u32).map(|i| i as u8).collect();
    let copy = data.clone();
    let mut server = HttpServer::with_handler(
        HttpConfig::default(),
        Box::new(move |_| {
            Response::new(200).body(Body::Reader {
                len: copy.len() as u64,
                source: Box::new(std::io::Cursor::new(copy.clone())),
            })
        }),
    );
    let mut net = PipeBufPair::<u8>::with_limits(1024, 4096);
    let mut app = PipeBufPair::<u8>::new();
    net.lower().wr.append(GET).unwrap();
    let mut got = Vec::new();
    for _ in 0..1000 {
        server
            .process(Time::ZERO, net.upper(), app.lower())
            .unwrap();
        let mut peer = net.lower();
        got.extend_from_slice(peer.rd.data());
        peer.rd.consume_all();
    }
    let at = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(&got[at..], &data[..]);
}

#[cfg(feature = "std")]
#[test]
fn a_reader_that_ends_early_aborts_the_connection() {
    let mut c = Conn::records(HttpConfig::default());
    c.server = HttpServer::with_handler(
        HttpConfig::default(),
        Box::new(|_| {
            Response::new(200).body(Body::Reader {
                len: 10,
                source: Box::new(&b"short"[..]),
            })
        }),
    );
    c.echo = false;
    c.send(GET);
    assert_eq!(c.run(), Err(HttpError::BodySource));
    assert_eq!(c.output_end(), Some(EofKind::Abort));
}

#[test]
fn after_an_upgrade_the_websocket_reads_the_same_bytes() {
    use crate::message::{MessageAssembler, MessageKind};
    use crate::{WebSocket, WsConfig, accept_all};
    let config = HttpConfig {
        stop_at_websocket_upgrade: true,
        ..HttpConfig::default()
    };
    let http = HttpServer::with_handler(config, Box::new(|_| Response::text(200, "page")));
    let mut layer = Upgrading::new(http, WebSocket::server(WsConfig::default(), accept_all()));
    let (mut net, mut app) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
    // A page request, the upgrade and a masked text frame "hi", all in one write.
    let mut input = GET.to_vec();
    input.extend_from_slice(
        b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    input.extend_from_slice(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
    net.lower().wr.append(&input).unwrap();
    pipebuf::settle(100, || layer.process(Time::ZERO, net.upper(), app.lower())).unwrap();
    let text = String::from_utf8_lossy(net.lower().rd.data()).into_owned();
    let page = text.find("page").unwrap();
    let switching = text.find("HTTP/1.1 101 ").unwrap();
    assert!(page < switching, "{text}");
    assert!(layer.upgraded().is_some_and(|ws| ws.is_open()));
    let mut assembler = MessageAssembler::new();
    assert_eq!(
        assembler.next_message(&mut app.upper().rd).unwrap(),
        Some((MessageKind::Text, &b"hi"[..]))
    );
}

#[test]
fn a_connection_that_never_upgrades_closes_the_upper_stream_cleanly() {
    use crate::{WebSocket, WsConfig, accept_all};
    let http = HttpServer::with_handler(HttpConfig::default(), Box::new(|_| Response::new(204)));
    let mut layer = Upgrading::new(http, WebSocket::server(WsConfig::default(), accept_all()));
    let (mut net, mut app) = (PipeBufPair::<u8>::new(), PipeBufPair::<u8>::new());
    net.lower().wr.append(GET).unwrap();
    net.lower().wr.close();
    pipebuf::settle(100, || layer.process(Time::ZERO, net.upper(), app.lower())).unwrap();
    let mut upper = app.upper();
    assert_eq!(upper.rd.consume_eof(), Some(EofKind::Close));
    let text = String::from_utf8_lossy(net.lower().rd.data()).into_owned();
    assert!(
        text.starts_with("HTTP/1.1 204 No Content\r\n\r\n")
            || text.starts_with("HTTP/1.1 204 No Content\r\n"),
        "{text}"
    );
    assert!(!text.contains("Content-Length"), "{text}");
}

proptest::proptest! {
    #[test]
    fn hostile_bytes_never_panic_or_spin(
        input in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
        cut in 0usize..600,
    ) {
        for records in [false, true] {
            let mut c = if records {
                Conn::records(HttpConfig::default())
            } else {
                Conn::handler(HttpConfig::default())
            };
            let cut = cut.min(input.len());
            c.send(&input[..cut]);
            let _ = c.run();
            c.send(&input[cut..]);
            let _ = c.run();
        }
    }

    #[test]
    fn damaged_pipelined_requests_never_panic(at in 0usize..200, byte: u8) {
        let mut input = b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nxy".to_vec();
        if let Some(b) = input.get_mut(at) {
            *b = byte;
        }
        let mut c = Conn::records(HttpConfig::default());
        c.send(&input);
        let _ = c.run();
    }
}
