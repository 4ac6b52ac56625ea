//! Test helpers: frames written and read as short strings, so that a test states what is
//! on the wire in one line.
//!
//! `H0+:GET` head of stream 0 with a body; `H0:GET` without. `D0:abc` data; `D0:abc$` the
//! body's last data frame. `C0:100` credit. `R0:8` reset with code 8.

use alloc::string::String;
use alloc::vec::Vec;

use super::{Frame, FrameDecoder, FrameEncoder, StreamFrames};
use crate::{PBufRd, PipeBuf};

/// The encoded bytes of the frames described, separated by spaces.
pub(super) fn wire(frames: &str) -> Vec<u8> {
    let mut codec = StreamFrames::default();
    let mut pb = PipeBuf::<u8>::new();
    for f in frames.split_whitespace() {
        let (kind, rest) = f.split_at(1);
        let (tag, arg) = rest.split_once(':').unwrap();
        let body = tag.ends_with('+');
        let tag: u32 = tag.trim_end_matches('+').parse().unwrap();
        match kind {
            "H" => {
                codec
                    .encode_head(tag, &arg.as_bytes().to_vec(), body, &mut pb.wr())
                    .unwrap();
            }
            "D" => {
                let end = arg.ends_with('$');
                let data = arg.trim_end_matches('$').as_bytes();
                let mut h = [0u8; 9];
                codec
                    .encode_data_header(tag, data.len(), end, &mut h)
                    .unwrap();
                pb.wr().append(&h).unwrap();
                pb.wr().append(data).unwrap();
            }
            "C" => {
                codec
                    .encode_credit(tag, arg.parse().unwrap(), &mut pb.wr())
                    .unwrap();
            }
            "R" => {
                codec
                    .encode_reset(tag, arg.parse().unwrap(), &mut pb.wr())
                    .unwrap();
            }
            _ => panic!("no frame kind {kind}"),
        }
    }
    pb.data().to_vec()
}

/// Takes every whole frame from `rd` and describes them, separated by spaces.
pub(super) fn frames(rd: &mut PBufRd<'_>) -> String {
    let mut codec = StreamFrames::default();
    let mut out = Vec::new();
    while let Some((frame, len)) = codec.decode(rd.data()).unwrap() {
        out.push(describe(&frame));
        rd.consume(len).unwrap();
    }
    out.join(" ")
}

fn describe(frame: &Frame<'_, &[u8]>) -> String {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match *frame {
        Frame::Head { tag, message, body } => {
            format!("H{tag}{}:{}", if body { "+" } else { "" }, text(message))
        }
        Frame::Data { tag, data, end } => {
            format!("D{tag}:{}{}", text(data), if end { "$" } else { "" })
        }
        Frame::Credit { tag, bytes } => format!("C{tag}:{bytes}"),
        Frame::Reset { tag, code } => format!("R{tag}:{code}"),
    }
}

/// Reads all of `rd` (and its EOF), as text.
pub(super) fn read_all(rd: Option<PBufRd<'_>>) -> String {
    let Some(mut rd) = rd else {
        return "-".into();
    };
    let mut s = String::from_utf8_lossy(rd.data()).into_owned();
    rd.consume_all();
    match rd.consume_eof() {
        Some(crate::EofKind::Close) => s.push('$'),
        Some(crate::EofKind::Abort) => s.push('!'),
        None => {}
    }
    s
}
