//! The framing helpers of `pipebuf::framing` (`Lines`, `LengthPrefixed`) and the RESP2 codec
//! of the examples (`pipebuf_examples::resp`) on arbitrary bytes; the first byte picks the
//! codec and its limits.
//!
//! Decoders are run over the input as one piece and as pieces arriving in a `PipeBuf` (cut
//! where the input says), decoding after each piece and consuming exactly each record's
//! length: both must give the same records and the same error. Every record spans at least
//! one byte and no more than is there, decodes the same from its own bytes alone, and is
//! "need more" when cut short; a line or length-prefixed record re-encodes to exactly the
//! bytes it came from. Encoders: a RESP command built from the input encodes to the length
//! it announces and decodes back as the array of its arguments.

use pipebuf::PipeBuf;
use pipebuf::framing::{LengthPrefix, LengthPrefixed, Lines};
use pipebuf::reqresp::{Encoded, Encoder};
use pipebuf_examples::resp::{Command, CommandEncoder, Limits, Reply, ReplyDecoder};

use super::input::{Input, pieces};

/// Most bytes decoded per input.
const MAX_DATA: usize = 16 * 1024;

/// Runs one input; panics if an invariant breaks.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let codec = input.byte();
    let choice_count = input.below(16);
    let choices = input.take(choice_count);
    match codec % 4 {
        0 => {
            let lines = Lines::new(input.byte(), input.below(80));
            let decode = |d: &[u8]| {
                lines
                    .decode(d)
                    .map(|r| r.map(|r| (r.body.to_vec(), r.frame_len)))
            };
            let records = compare(input.rest(), choices, decode);
            for (body, bytes) in records {
                let mut pb = PipeBuf::<u8>::new();
                lines
                    .encode(&mut pb.wr(), &body)
                    .expect("a decoded line re-encodes");
                assert_eq!(pb.data(), &bytes[..], "a line re-encodes differently");
            }
        }
        1 => {
            let prefix = [
                LengthPrefix::U16Be,
                LengthPrefix::U16Le,
                LengthPrefix::U32Be,
                LengthPrefix::U32Le,
            ][usize::from(codec / 4 % 4)];
            let framing = LengthPrefixed::new(prefix, input.below(300));
            let decode = |d: &[u8]| {
                framing
                    .decode(d)
                    .map(|r| r.map(|r| (r.body.to_vec(), r.frame_len)))
            };
            let records = compare(input.rest(), choices, decode);
            for (body, bytes) in records {
                let mut pb = PipeBuf::<u8>::new();
                framing
                    .encode(&mut pb.wr(), &body)
                    .expect("a decoded record re-encodes");
                assert_eq!(pb.data(), &bytes[..], "a record re-encodes differently");
            }
        }
        2 => {
            let decoder = ReplyDecoder::new(limits(codec / 4));
            let decode = |d: &[u8]| {
                decoder
                    .decode_reply(d)
                    .map(|r| r.map(|(reply, n)| (format!("{reply:?}"), n)))
            };
            compare(input.rest(), choices, decode);
        }
        _ => command_round_trip(input),
    }
}

/// Small or default RESP limits.
fn limits(bits: u8) -> Limits {
    if bits.is_multiple_of(2) {
        Limits::default()
    } else {
        Limits {
            max_line: 1 + usize::from(bits / 2 % 16),
            max_bulk: usize::from(bits / 32),
            max_array: 1 + usize::from(bits / 2 % 4),
            max_depth: usize::from(bits / 8 % 4),
        }
    }
}

/// Decodes `data` whole and in pieces; checks each record; returns each record's value and
/// bytes.
fn compare<T, E>(
    data: &[u8],
    choices: &[u8],
    decode: impl Fn(&[u8]) -> Result<Option<(T, usize)>, E>,
) -> Vec<(T, Vec<u8>)>
where
    T: PartialEq + std::fmt::Debug,
    E: PartialEq + std::fmt::Debug,
{
    let data = &data[..data.len().min(MAX_DATA)];
    // Whole.
    let mut whole = Vec::new();
    let mut whole_error = None;
    let mut at = 0;
    loop {
        match decode(&data[at..]) {
            Ok(Some((value, len))) => {
                let rest = &data[at..];
                assert!(len > 0, "a record of no bytes");
                assert!(
                    len <= rest.len(),
                    "a record of {len} in {} bytes",
                    rest.len()
                );
                match decode(&rest[..len]) {
                    Ok(Some((again, n))) => {
                        assert_eq!(
                            (&again, n),
                            (&value, len),
                            "the record alone decodes differently"
                        )
                    }
                    other => panic!(
                        "the record alone does not decode: {:?}",
                        other.map(|o| o.map(|(_, n)| n))
                    ),
                }
                let cut = len * usize::from(choices.first().copied().unwrap_or(0)) / 256;
                assert!(
                    matches!(decode(&rest[..cut]), Ok(None)),
                    "a record cut at {cut} of {len} is not \"need more\""
                );
                whole.push((value, rest[..len].to_vec()));
                at += len;
            }
            Ok(None) => break,
            Err(e) => {
                whole_error = Some(e);
                break;
            }
        }
    }
    // In pieces, through a buffer.
    let mut split = Vec::new();
    let mut split_error = None;
    let mut pb = PipeBuf::<u8>::with_limits(64, MAX_DATA);
    'pieces: for piece in pieces(data, &mut Input::new(choices)) {
        pb.wr()
            .append(piece)
            .expect("the buffer holds the whole input");
        let mut rd = pb.rd();
        loop {
            match decode(rd.data()) {
                Ok(Some((value, len))) => {
                    split.push((value, rd.data()[..len].to_vec()));
                    rd.consume(len).expect("consume a record");
                }
                Ok(None) => break,
                Err(e) => {
                    split_error = Some(e);
                    break 'pieces;
                }
            }
        }
    }
    assert_eq!(whole, split, "records differ between one piece and many");
    assert_eq!(
        whole_error, split_error,
        "errors differ between one piece and many"
    );
    whole
}

fn command_round_trip(mut input: Input<'_>) {
    let mut args = Vec::new();
    for _ in 0..input.below(6) {
        let n = input.below(40);
        args.push(input.take(n).to_vec());
    }
    let command = Command::new(&args);
    let mut pb = PipeBuf::<u8>::with_limits(64, 64 + input.below(512));
    match CommandEncoder.encode(&command, &mut pb.wr()) {
        Ok(Encoded::Written(_)) => (),
        Ok(Encoded::Full) => panic!("an empty buffer refused a command that fits its limit"),
        Err(_) => {
            assert!(pb.is_empty(), "a refused command left bytes");
            return;
        }
    }
    assert_eq!(pb.len(), command.encoded_len(), "encoded length");
    let decoder = ReplyDecoder::new(Limits {
        max_line: 64,
        max_bulk: 1024,
        max_array: 16,
        max_depth: 1,
    });
    match decoder.decode_reply(pb.data()) {
        Ok(Some((Reply::Array(Some(items)), len))) => {
            assert_eq!(len, pb.len(), "the command decodes to another length");
            let got: Vec<Option<&[u8]>> = items
                .iter()
                .map(|item| match item {
                    Reply::Bulk(Some(bytes)) => Some(*bytes),
                    _ => None,
                })
                .collect();
            let want: Vec<Option<&[u8]>> = args.iter().map(|a| Some(&a[..])).collect();
            assert_eq!(got, want, "the command decodes to other arguments");
        }
        other => panic!("our own command does not decode: {other:?}"),
    }
}
