//! Model-based property test of the pipelined client's matcher.
//!
//! Random sequences of submit, cancel, peer responses (expected and unsolicited), delivery
//! of the response bytes in random chunks and end of stream are applied to a real
//! [`PipelinedClient`](pipebuf::reqresp::PipelinedClient) and to a deliberately simple model:
//! a `VecDeque` of the tickets whose responses are expected, in order, each marked cancelled
//! or not. After every operation the client's events must be exactly the model's: each
//! completed response line pops the front of the queue (reported unless cancelled; with the
//! queue empty it is a desync error), and the end of stream fails every remaining
//! uncancelled ticket once, with the right reason. The client's in-flight count must equal
//! the model's queue length throughout: no state grows behind the model's back.

use std::collections::VecDeque;

use pipebuf::reqresp::{Error, Failure, Refusal, Ticket};
use pipebuf::{PipeBufPair, SettleError};
use pipebuf_tests::reqresp_text::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Submit,
    /// Cancel the n-th ticket ever handed out (modulo their number).
    Cancel(usize),
    /// The peer answers its oldest unanswered request.
    Respond,
    /// The peer sends a response nobody asked for.
    Spurious,
    /// Up to this many of the peer's bytes reach the client.
    Deliver(usize),
    /// The peer ends the stream after the bytes delivered so far (true: abort).
    Eof(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Submit),
        2 => (0usize..64).prop_map(Op::Cancel),
        3 => Just(Op::Respond),
        1 => Just(Op::Spurious),
        4 => (1usize..12).prop_map(Op::Deliver),
        1 => any::<bool>().prop_map(Op::Eof),
    ]
}

struct Slot {
    ticket: Ticket,
    ctx: u32,
    cancelled: bool,
}

fn check(max_in_flight: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut client = Client::new(PLAIN, PLAIN, max_in_flight);
    let mut wire = PipeBufPair::new();
    let mut model: VecDeque<Slot> = VecDeque::new();
    let mut tickets: Vec<(Ticket, u32)> = Vec::new();
    // The peer: requests it has read and not answered, bytes it has not delivered yet.
    let mut unanswered: VecDeque<String> = VecDeque::new();
    let mut peer_out: VecDeque<u8> = VecDeque::new();
    let mut ended = false;
    // The response line the client has part of.
    let mut line = Vec::new();
    for op in ops {
        let mut expected = Vec::new();
        let mut expect_desync = false;
        match op {
            Op::Submit => {
                let ctx = tickets.len() as u32;
                let result = client.submit(&mut wire.upper().wr, Msg::new(&format!("q{ctx}")), ctx);
                if ended {
                    prop_assert_eq!(result.unwrap_err().reason, Refusal::Closed);
                } else if model.len() >= max_in_flight {
                    let refused = result.unwrap_err();
                    prop_assert_eq!(refused.reason, Refusal::Full);
                    prop_assert_eq!(refused.context, ctx);
                } else {
                    let ticket = result.unwrap();
                    prop_assert_eq!(ticket.get(), tickets.len() as u64);
                    tickets.push((ticket, ctx));
                    model.push_back(Slot {
                        ticket,
                        ctx,
                        cancelled: false,
                    });
                }
            }
            Op::Cancel(n) => {
                if let Some(&(ticket, ctx)) = tickets.get(n % tickets.len().max(1)) {
                    let want = match model.iter_mut().find(|s| s.ticket == ticket) {
                        Some(s) if !s.cancelled => {
                            s.cancelled = true;
                            Some(ctx)
                        }
                        _ => None,
                    };
                    prop_assert_eq!(client.cancel(ticket), want);
                }
            }
            Op::Respond | Op::Spurious => {
                let mut rd = wire.lower().rd;
                for line in String::from_utf8_lossy(rd.data()).lines() {
                    unanswered.push_back(line.replacen('q', "r", 1));
                }
                rd.consume_all();
                let answer = match op {
                    Op::Respond => unanswered.pop_front(),
                    _ => Some("unsolicited".to_string()),
                };
                if let Some(answer) = answer {
                    peer_out.extend(answer.bytes().chain([b'\n']));
                }
            }
            Op::Deliver(n) if !ended => {
                let chunk: Vec<u8> = peer_out.drain(..n.min(peer_out.len())).collect();
                let mut lines = Vec::new();
                for &b in &chunk {
                    if b == b'\n' {
                        lines.push(String::from_utf8(std::mem::take(&mut line)).unwrap());
                    } else {
                        line.push(b);
                    }
                }
                for text in lines {
                    // In a pipeline a response is whatever comes next: the front takes it.
                    match model.pop_front() {
                        None => expect_desync = true,
                        Some(s) if s.cancelled => {}
                        Some(s) => expected.push(Ev::Resp(s.ticket.get(), s.ctx, text, false)),
                    }
                    if expect_desync {
                        break;
                    }
                }
                wire.lower().wr.append(&chunk).unwrap();
            }
            Op::Eof(abort) if !ended => {
                let failure = if abort {
                    wire.lower().wr.abort();
                    Failure::Aborted
                } else {
                    wire.lower().wr.close();
                    Failure::Closed
                };
                for s in model.drain(..) {
                    if !s.cancelled {
                        expected.push(Ev::Failed(s.ticket.get(), s.ctx, failure));
                    }
                }
                ended = true;
            }
            Op::Deliver(_) | Op::Eof(_) => {}
        }
        let mut events = Vec::new();
        let result = drive(&mut client, &mut wire, &mut events);
        if expect_desync {
            // Events before the desync are still reported, then the error.
            prop_assert_eq!(result, Err(SettleError::Component(Error::Desynchronized)));
            // Then every uncancelled ticket the model still holds fails once, as broken
            // (none in a pipeline: a response is unsolicited only when nothing is pending).
            for s in model.drain(..) {
                if !s.cancelled {
                    expected.push(Ev::Failed(s.ticket.get(), s.ctx, Failure::Broken));
                }
            }
            prop_assert_eq!(events, expected);
            prop_assert_eq!(client.in_flight(), 0);
            prop_assert!(client.is_finished());
            return Ok(());
        }
        prop_assert!(result.is_ok(), "{:?}", result);
        prop_assert_eq!(events, expected);
        prop_assert_eq!(client.in_flight(), model.len());
        prop_assert_eq!(client.is_finished(), ended);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pipelined_client_matches_the_model(max in 1usize..6, ops in prop::collection::vec(op(), 1..80)) {
        check(max, ops)?;
    }
}
