//! Hostile peers: random frames, in and out of protocol, mixed with random application
//! actions. Neither component may panic, and both must keep their bound.

use alloc::vec::Vec;

use proptest::prelude::*;

use super::{
    FrameEncoder, StreamClient, StreamClientEvent, StreamFrames, StreamServer, StreamServerEvent,
};
use crate::{PipeBuf, PipeBufPair};

/// One step: a frame from the peer (kind 0–3), garbage bytes (4), or an application action
/// (5–9), on a tag of 0–3.
type Step = (u8, u8, u32, bool);

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec((0u8..10, 0u8..4, any::<u32>(), any::<bool>()), 0..120)
}

/// The bytes of a frame step (none for application actions).
fn frame(&(kind, tag, n, flag): &Step) -> Vec<u8> {
    let (tag, mut codec, mut pb) = (u32::from(tag), StreamFrames::new(64), PipeBuf::new());
    let mut wr = pb.wr();
    let _ = match kind {
        0 => codec.encode_head(tag, &b"x".to_vec(), flag, &mut wr),
        1 => {
            let len = (n % 40) as usize;
            let mut h = [0u8; 9];
            let _ = codec.encode_data_header(tag, len, flag, &mut h);
            wr.append(&h).unwrap();
            wr.append(&[7; 40][..len]).unwrap();
            return pb.data().to_vec();
        }
        2 => codec.encode_credit(tag, if flag { u32::MAX } else { n % 100 }, &mut wr),
        3 => codec.encode_reset(tag, n % 9, &mut wr),
        4 => return n.to_be_bytes()[..(n % 4) as usize].to_vec(),
        _ => return Vec::new(),
    };
    pb.data().to_vec()
}

proptest! {
    #[test]
    fn a_hostile_client_never_panics_the_server_nor_breaks_its_bound(steps in steps()) {
        let codec = StreamFrames::new(64);
        let mut s = StreamServer::new(codec, codec, 2).with_body_limits(16, 16).with_max_tags(3);
        let mut net = PipeBufPair::<u8>::new();
        for step in &steps {
            let (kind, tag, n, flag) = *step;
            let tag = u32::from(tag);
            match kind {
                5 => { let _ = s.respond(tag, b"r".to_vec(), flag); }
                6 => { s.cancel(tag); }
                7 => if let Some(mut rd) = s.request_body(tag) {
                    rd.consume_all();
                    rd.consume_eof();
                },
                8 => if let Some(mut wr) = s.response_body(tag) {
                    let _ = wr.append_some(&[1; 20][..(n % 20) as usize]);
                    if flag { wr.close() } else if n % 7 == 0 { wr.abort() }
                },
                9 => if flag { net.upper().wr.close() } else { net.upper().rd.consume_all(); },
                _ => { let _ = net.upper().wr.append(&frame(step)); }
            }
            for _ in 0..4 {
                let r = s.process(net.lower(), |_: StreamServerEvent<&[u8]>| ());
                prop_assert!(s.buffered() <= s.max_buffered());
                if !matches!(r, Ok(true)) {
                    break;
                }
            }
        }
    }

    #[test]
    fn a_hostile_server_never_panics_the_client_nor_breaks_its_bound(steps in steps()) {
        let codec = StreamFrames::new(64);
        let mut c = StreamClient::new(codec, codec, 3, 3).with_body_limits(16, 16);
        let mut net = PipeBufPair::<u8>::new();
        let mut tickets = Vec::new();
        for step in &steps {
            let (kind, _, n, flag) = *step;
            let ticket = tickets.get(n as usize % tickets.len().max(1)).copied();
            match (kind, ticket) {
                (5, _) => if let Ok(t) = c.submit(b"q".to_vec(), flag, ()) { tickets.push(t) },
                (6, Some(t)) => { c.cancel(t); }
                (7, Some(t)) => if let Some(mut rd) = c.response_body(t) {
                    rd.consume_all();
                    rd.consume_eof();
                },
                (8, Some(t)) => if let Some(mut wr) = c.request_body(t) {
                    let _ = wr.append_some(&[1; 20][..(n % 20) as usize]);
                    if flag { wr.close() } else if n % 7 == 0 { wr.abort() }
                },
                (9, _) => if flag { net.lower().wr.abort() } else { net.lower().rd.consume_all(); },
                (0..=4, _) => { let _ = net.lower().wr.append(&frame(step)); }
                _ => {}
            }
            for _ in 0..4 {
                let r = c.process(net.upper(), |_: StreamClientEvent<(), &[u8]>| ());
                prop_assert!(c.buffered() <= c.max_buffered());
                prop_assert!(c.tags_taken() <= 3 && c.in_flight() <= 3);
                if !matches!(r, Ok(true)) {
                    break;
                }
            }
        }
    }
}
