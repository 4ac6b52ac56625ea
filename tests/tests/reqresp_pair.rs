//! Client and server components back to back in memory, with the bytes between them moved
//! in random chunks, stepped deterministically (no sockets, no clock).

use std::collections::{BTreeMap, VecDeque};

use pipebuf::reqresp::{
    Body, ClientEvent, MuxClient, MuxEvent, MuxServer, MuxServerEvent, ServerEvent,
};
use pipebuf::{PBufRd, PBufWr, PipeBufPair};
use pipebuf_tests::reqresp_text::*;

/// Moves up to a random number of bytes (and then the stream end) from `from` to `to`.
fn hop(rng: &mut Rng, from: &mut PBufRd<'_>, to: &mut PBufWr<'_>) -> bool {
    let n = rng.below(9).min(from.len()).min(to.room());
    let moved = n > 0;
    if moved {
        to.append(&from.data()[..n]).unwrap();
        from.consume(n).unwrap();
    }
    if from.is_empty() && from.pending_eof().is_some() && !to.is_eof() {
        from.forward(to).unwrap();
        return true;
    }
    moved
}

/// The two halves of a connection: the client's pair and the server's pair, linked.
struct Link {
    client: PipeBufPair,
    server: PipeBufPair,
}

impl Link {
    fn new() -> Self {
        Link {
            client: PipeBufPair::with_limits(64, 256),
            server: PipeBufPair::with_limits(64, 256),
        }
    }

    fn step(&mut self, rng: &mut Rng) -> bool {
        let out = hop(
            rng,
            &mut self.client.lower().rd,
            &mut self.server.upper().wr,
        );
        let back = hop(
            rng,
            &mut self.server.upper().rd,
            &mut self.client.lower().wr,
        );
        out | back
    }
}

fn body_text(i: u32) -> Vec<u8> {
    format!("body-{i}-").repeat(i as usize % 7).into_bytes()
}

#[test]
fn pipelined_client_and_server_agree_under_random_chunking_and_finish_order() {
    for seed in 1..=30u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut client = Client::new(PLAIN, PLAIN, 4).with_body_limit(16);
        let mut server = Server::new(PLAIN, PLAIN, 6, 3).with_body_limit(16);
        let mut link = Link::new();
        const N: u32 = 60;
        let mut next = 0u32;
        // Client application state.
        let mut req_body_left: Option<Vec<u8>> = None;
        let mut answers: Vec<(u32, String, Vec<u8>)> = Vec::new();
        let mut resp_body: Option<(u32, Vec<u8>)> = None;
        // Server application state: requests read (with their bodies) and not finished.
        let mut reading: Option<(u64, String, Vec<u8>)> = None;
        let mut todo: Vec<(u64, String, Vec<u8>)> = Vec::new();
        let mut bodies_out: BTreeMap<u64, VecDeque<u8>> = BTreeMap::new();
        for _round in 0..100_000 {
            let mut active = link.step(&mut rng);
            // Client: submit while it takes requests.
            if next < N && req_body_left.is_none() {
                let body = match next % 3 {
                    0 => Body::None,
                    1 => Body::Length(body_text(next).len() as u64),
                    _ => Body::Chunked,
                };
                let msg = Msg::with_body(&format!("q{next}"), body);
                if client
                    .submit(&mut link.client.upper().wr, msg, next)
                    .is_ok()
                {
                    if body != Body::None {
                        req_body_left = Some(body_text(next));
                    }
                    next += 1;
                    active = true;
                }
            }
            if let (Some(left), Some((_, mut wr))) = (&mut req_body_left, client.request_body()) {
                let n = rng.below(6).min(left.len()).min(wr.room());
                wr.append(&left[..n]).unwrap();
                left.drain(..n);
                if rng.below(3) == 0 {
                    wr.push();
                }
                if left.is_empty() {
                    wr.close();
                    req_body_left = None;
                }
                active = true;
            }
            active |= client
                .process(link.client.upper(), |e| match e {
                    ClientEvent::Response {
                        context,
                        response,
                        body,
                        ..
                    } => {
                        answers.push((context, response.text(), Vec::new()));
                        if body {
                            resp_body = Some((context, Vec::new()));
                        }
                    }
                    ClientEvent::Failed { .. } => panic!("seed {seed}: nothing fails"),
                })
                .unwrap();
            if let (Some((ctx, got)), Some((_, mut rd))) = (&mut resp_body, client.response_body())
            {
                got.extend_from_slice(rd.data());
                active |= (rd.consume_all() > 0) | rd.consume_push();
                if rd.consume_eof().is_some() {
                    let ctx = *ctx;
                    let got = std::mem::take(got);
                    answers.iter_mut().find(|a| a.0 == ctx).unwrap().2 = got;
                    resp_body = None;
                    active = true;
                }
            }
            // Server: read requests and their bodies, answer in random order.
            active |= server
                .process(link.server.lower(), |e| match e {
                    ServerEvent::Request { seq, request, body } => {
                        let item = (seq, request.text(), Vec::new());
                        if body {
                            reading = Some(item);
                        } else {
                            todo.push(item);
                        }
                    }
                    ServerEvent::End(_) => {}
                })
                .unwrap();
            if let (Some(item), Some((_, mut rd))) = (&mut reading, server.request_body()) {
                item.2.extend_from_slice(rd.data());
                active |= (rd.consume_all() > 0) | rd.consume_push();
                if rd.consume_eof().is_some() {
                    todo.push(reading.take().unwrap());
                    active = true;
                }
            }
            if !todo.is_empty() && rng.below(2) == 0 {
                let (seq, text, body) = todo.swap_remove(rng.below(todo.len()));
                let answer = format!("echo {text}");
                let framing = if body.is_empty() {
                    Body::None
                } else if seq % 2 == 0 {
                    Body::Length(body.len() as u64)
                } else {
                    Body::Chunked
                };
                server
                    .finish(seq, Msg::with_body(&answer, framing))
                    .unwrap();
                if framing != Body::None {
                    bodies_out.insert(seq, body.into());
                }
                active = true;
            }
            if let Some((seq, mut wr)) = server.response_body()
                && let Some(left) = bodies_out.get_mut(&seq)
            {
                let n = rng.below(7).min(left.len()).min(wr.room());
                let chunk: Vec<u8> = left.drain(..n).collect();
                wr.append(&chunk).unwrap();
                if left.is_empty() {
                    wr.close();
                    bodies_out.remove(&seq);
                }
                active = true;
            }
            if !active && next == N && answers.len() == N as usize && resp_body.is_none() {
                break;
            }
        }
        assert_eq!(answers.len(), N as usize, "seed {seed}: all answered");
        for (i, (ctx, text, body)) in answers.iter().enumerate() {
            assert_eq!(*ctx, i as u32, "seed {seed}: in order");
            assert_eq!(text, &format!("echo q{i}"), "seed {seed}");
            let want = if i % 3 == 0 {
                Vec::new()
            } else {
                body_text(i as u32)
            };
            assert_eq!(body, &want, "seed {seed}: body of {i}");
        }
        assert_eq!((client.in_flight(), server.in_flight()), (0, 0));
    }
}

#[test]
fn mux_client_and_server_agree_under_random_chunking_and_finish_order() {
    for seed in 1..=30u64 {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let mut client: MuxClient<Text, Text, TagField, u32> =
            MuxClient::new(TAGGED, TAGGED, TagField, 5, 4);
        let mut server = MuxServer::new(TAGGED, TAGGED, TagField, 3);
        let mut link = Link::new();
        const N: u32 = 80;
        let (mut next, mut answers, mut todo) = (0u32, Vec::new(), Vec::new());
        let mut done = false;
        for _round in 0..100_000 {
            let mut active = link.step(&mut rng);
            if next < N
                && client
                    .submit(
                        &mut link.client.upper().wr,
                        Msg::new(&format!("q{next}")),
                        next,
                        None,
                    )
                    .is_ok()
            {
                next += 1;
                active = true;
            }
            active |= client
                .process(link.client.upper(), |e| match e {
                    MuxEvent::Response {
                        context, response, ..
                    } => answers.push((context, response.text())),
                    other => panic!(
                        "seed {seed}: unexpected {}",
                        matches!(other, MuxEvent::Late { .. })
                    ),
                })
                .unwrap();
            active |= server
                .process(link.server.lower(), |e| {
                    if let MuxServerEvent::Request { tag, request } = e {
                        todo.push((tag, request.text()));
                    }
                })
                .unwrap();
            if !todo.is_empty() && rng.below(3) == 0 {
                let (tag, text) = todo.swap_remove(rng.below(todo.len()));
                server
                    .finish(tag, Msg::new(&format!("echo {text}")))
                    .unwrap();
                active = true;
            }
            if !active && answers.len() == N as usize {
                done = true;
                break;
            }
        }
        assert!(done, "seed {seed}: settled with every answer");
        answers.sort();
        for (i, (ctx, text)) in answers.iter().enumerate() {
            assert_eq!(
                (*ctx, text.as_str()),
                (i as u32, format!("echo q{i}").as_str())
            );
        }
        assert_eq!((client.tags_taken(), server.in_flight()), (0, 0));
    }
}
