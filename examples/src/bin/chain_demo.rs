//! `chain_demo`: stdin → [line numbering component] → stdout, through PipeBufs.
//!
//! Shows the parts every pipebuf program has: buffers owned by the driver, a sans-IO
//! component that reads one buffer and writes the next in place, transfers between buffers
//! and `std::io` with `read_from` / `write_to`, and `settle` as the activity loop.
//!
//! ```text
//! printf 'hello\nworld\n' | cargo run -p pipebuf_examples --bin chain_demo
//! ```

use std::io::{self, Write};
use std::process::ExitCode;

use pipebuf::framing::{FrameError, Lines};
use pipebuf::{PBufRd, PBufWr, PipeBuf, ReadStatus, settle};
use pipebuf_examples::cli::{Args, Error, Program};

/// The command line: no flags, only `--help`.
static CLI: Program = Program {
    name: "chain_demo",
    about: "stdin → [line numbering component] → stdout, through PipeBufs: copies stdin to \
            stdout with each line numbered (`hello` becomes `1: hello`). Shows the parts \
            every pipebuf program has: buffers owned by the driver, a sans-IO component, \
            transfers with read_from/write_to, and settle as the activity loop.",
    operand: None,
    flags: &[],
    examples: &["printf 'hello\\nworld\\n' | chain_demo"],
};

/// Longest input line accepted; a longer one fails the stream instead of growing a buffer.
const MAX_LINE: usize = 4096;

/// Numbers each input line: `hello` becomes `1: hello`.
struct LineNumberer {
    lines: Lines,
    next: u64,
}

impl LineNumberer {
    fn new() -> Self {
        LineNumberer {
            lines: Lines::new(b'\n', MAX_LINE),
            next: 1,
        }
    }

    /// Consumes whole lines from `input`, writes numbered lines to `output`; passes push and
    /// EOF on once the input is drained. A last line without a newline is numbered at close.
    fn process(&mut self, mut input: PBufRd, mut output: PBufWr) -> Result<bool, FrameError> {
        let before = (input.tripwire(), output.tripwire());
        while let Some(rec) = self.lines.decode(input.data())? {
            let consumed = rec.frame_len;
            if !self.emit(&mut output, rec.body)? {
                break; // output full: the line stays in the input (backpressure)
            }
            input.consume(consumed)?;
        }
        if input.is_closed() && !input.is_empty() && input.len() <= MAX_LINE {
            let tail = input.data();
            if self.emit(&mut output, tail)? {
                input.consume_all();
            }
        }
        if input.is_empty() {
            // With no data left, this passes the push and the end of stream on.
            input.forward(&mut output)?;
        }
        Ok(before != (input.tripwire(), output.tripwire()))
    }

    /// Writes one numbered line, or nothing if it does not fit.
    fn emit(&mut self, output: &mut PBufWr, body: &[u8]) -> Result<bool, FrameError> {
        let label = format!("{}: ", self.next);
        let len = label.len() + body.len() + 1;
        let space = match output.space(len) {
            Ok(space) => space,
            Err(pipebuf::Error::NoSpace { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let (head, rest) = space.split_at_mut(label.len());
        head.copy_from_slice(label.as_bytes());
        rest[..body.len()].copy_from_slice(body);
        rest[body.len()] = b'\n';
        output.commit(len)?;
        self.next += 1;
        Ok(true)
    }
}

fn copy_numbered() -> Result<(), Box<dyn std::error::Error>> {
    let mut input = PipeBuf::<u8>::with_limits(4096, 64 * 1024);
    let mut output = PipeBuf::<u8>::with_limits(4096, 64 * 1024);
    let mut numberer = LineNumberer::new();
    let (mut stdin, stdout) = (io::stdin().lock(), io::stdout());
    let mut stdout = stdout.lock();
    loop {
        if input.state().eof_kind().is_none() {
            match input.wr().read_from(&mut stdin, 16 * 1024)? {
                ReadStatus::EndOfStream => input.wr().close(),
                ReadStatus::Read(_)
                | ReadStatus::Partial(_)
                | ReadStatus::WouldBlock
                | ReadStatus::Full => (),
            }
        }
        settle(64, || numberer.process(input.rd(), output.wr()))?;
        while !output.is_empty() {
            output.rd().write_to(&mut stdout)?;
        }
        let mut out = output.rd();
        if out.consume_eof().is_some() {
            stdout.flush()?;
            return Ok(());
        }
        if out.consume_push() {
            stdout.flush()?;
        }
    }
}

fn run(_: &Args<'_>) -> Result<(), Error> {
    copy_numbered().map_err(|e| Error::failed(e.to_string()))
}

fn main() -> ExitCode {
    CLI.main(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_close_passes_through() {
        let (mut input, mut output) = (PipeBuf::<u8>::new(), PipeBuf::<u8>::new());
        input.wr().append(b"a\nb\nlast").unwrap();
        input.wr().close();
        let mut numberer = LineNumberer::new();
        settle(8, || numberer.process(input.rd(), output.wr())).unwrap();
        assert_eq!(output.data(), b"1: a\n2: b\n3: last\n");
        assert_eq!(output.state(), pipebuf::PBufState::Closing);
    }

    #[test]
    fn full_output_keeps_the_line_in_the_input() {
        let mut input = PipeBuf::<u8>::new();
        let mut output = PipeBuf::with_storage([0u8; 8]);
        input.wr().append(b"abcdef\n").unwrap();
        let mut numberer = LineNumberer::new();
        assert!(!numberer.process(input.rd(), output.wr()).unwrap());
        assert_eq!(input.data(), b"abcdef\n");
        assert!(output.is_empty());
    }
}
