//! `embed_fixed`: a pipebuf chain on fixed, caller-provided storage, as a bare-metal network
//! stack would run it: a line upper-casing TCP server whose buffers are arrays set aside at
//! start, polled in one loop, with no allocation after start.
//!
//! ```text
//! cargo run -p pipebuf_examples --bin embed_fixed -- --addr 127.0.0.1:7010
//! printf 'hello\nworld\n' | nc -N 127.0.0.1 7010      # HELLO, WORLD
//! cargo run -p pipebuf_examples --bin embed_fixed -- --demo
//! ```
//!
//! **Server** (default): [`SLOTS`] connection slots, each two `PipeBuf`s over `[u8; BUF]`
//! arrays (socket → input → [`Upper`] → output → socket) and a non-blocking `std` socket.
//! One loop polls the listener and every slot: read into the input's free space
//! (`read_from`), run the component until it settles (`pipebuf::settle`), write from the
//! output's data (`write_to`), pass the end of stream on (FIN after the peer's FIN; a peer's
//! reset aborts). When a round finds nothing to do it sleeps a millisecond, as a bare-metal
//! loop would wait for its next interrupt. With every slot busy, further connections wait in
//! the listen backlog. A line longer than [`MAX_LINE`] gets `ERROR line too long` and the
//! connection is closed.
//!
//! Backpressure without loss: when a client sends faster than it reads, its output buffer
//! fills, [`Upper`] leaves the next line in the input (a fixed output refuses the line, the
//! line is not lost), the input fills, reading stops, and the kernel's flow control slows
//! the client down. Everything still comes back, in order.
//!
//! **No allocation after start, by construction.** All buffers are arrays inside the slot
//! table, made before the `listening on` line. The loop only calls the buffers (which never
//! allocate on fixed storage: `PipeBuf<u8, [u8; N]>` has no heap at all), the framing
//! decoder (borrows from the buffer), and `std::net` calls that are thin system calls
//! (`accept`, `read`, `write`, `shutdown`; their errors are OS error codes, not heap
//! values). Counting allocations with a `#[global_allocator]` wrapper would show it
//! directly, but a `GlobalAlloc` impl needs `unsafe`, which this workspace forbids.
//!
//! **Demo** (`--demo`): runs the same component in-process on 32-byte arrays and prints each
//! step: the output fills, a line is refused and stays in the input, the input fills and
//! refuses bytes, then the output is drained and every line comes out, nothing lost.
//!
//! Flags: see `embed_fixed --help` ([`CLI`]). The server prints `listening on HOST:PORT` and exits with status 0 on SIGINT/SIGTERM
//! (open connections are dropped).

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pipebuf::framing::Lines;
use pipebuf::{EofKind, PBufRd, PBufWr, PipeBuf, ReadStatus, WriteStatus, settle};
use pipebuf_examples::cli::flags::listen_addr;
use pipebuf_examples::cli::{Args, Error, Flag, Program};
use pipebuf_examples::stop_on_signals;

/// Connection slots: the most connections served at once.
pub const SLOTS: usize = 8;
/// Bytes of each fixed buffer (one input and one output per slot).
pub const BUF: usize = 256;
/// Longest line accepted, without its newline.
pub const MAX_LINE: usize = 200;

/// The answer to a line longer than [`MAX_LINE`].
const TOO_LONG: &[u8] = b"ERROR line too long\n";

/// The component: upper-cases each input line into the output. Sans-IO; never allocates.
#[derive(Debug)]
pub struct Upper {
    lines: Lines,
}

impl Upper {
    fn new() -> Self {
        Upper {
            lines: Lines::new(b'\n', MAX_LINE),
        }
    }

    /// Moves whole lines from `input` to `output`, upper-cased. A line that does not fit in
    /// the output stays in the input (backpressure). At the input's close a last line
    /// without newline goes out as is (upper-cased), then the output closes; an abort is
    /// passed on. A line over [`MAX_LINE`] gets [`TOO_LONG`] and ends the output. Returns
    /// whether anything moved.
    pub fn process(&mut self, mut input: PBufRd<'_>, mut output: PBufWr<'_>) -> bool {
        if output.is_eof() {
            // Our side has ended: drop what still comes.
            return input.discard();
        }
        let before = (input.tripwire(), output.tripwire());
        loop {
            match self.lines.decode(input.data()) {
                Ok(Some(rec)) => {
                    let (body, frame_len) = (rec.body, rec.frame_len);
                    let Ok(space) = output.space(body.len() + 1) else {
                        break; // output full: the line stays where it is
                    };
                    for (out, b) in space.iter_mut().zip(body) {
                        *out = b.to_ascii_uppercase();
                    }
                    space[body.len()] = b'\n';
                    let _ = output.commit(body.len() + 1);
                    let _ = input.consume(frame_len);
                }
                Ok(None) => break,
                Err(_) => {
                    input.discard();
                    let _ = output.append_some(TOO_LONG);
                    output.close();
                    return true;
                }
            }
        }
        if input.pending_eof().is_some() && !input.is_empty() {
            // The last line has no newline: send it as it is, once it fits.
            let tail = input.data();
            if let Ok(space) = output.space(tail.len()) {
                for (out, b) in space.iter_mut().zip(tail) {
                    *out = b.to_ascii_uppercase();
                }
                let n = tail.len();
                let _ = output.commit(n);
                input.consume_all();
            }
        }
        if input.is_empty() {
            // Passes the push and the end of stream on. Cannot fail: the output has not
            // ended (checked at the top, and only the too-long branch, which returns, ends
            // it).
            let _ = input.forward(&mut output);
        }
        before != (input.tripwire(), output.tripwire())
    }
}

/// One connection slot: a socket (when in use), two fixed buffers and the component.
#[derive(Debug)]
struct Slot {
    stream: Option<TcpStream>,
    input: PipeBuf<u8, [u8; BUF]>,
    output: PipeBuf<u8, [u8; BUF]>,
    upper: Upper,
}

impl Slot {
    fn new() -> Self {
        Slot {
            stream: None,
            input: PipeBuf::with_storage([0; BUF]),
            output: PipeBuf::with_storage([0; BUF]),
            upper: Upper::new(),
        }
    }

    /// Takes a new connection into this free slot.
    fn open(&mut self, stream: TcpStream) -> io::Result<()> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        self.input.reset();
        self.output.reset();
        self.upper = Upper::new();
        self.stream = Some(stream);
        Ok(())
    }

    /// One round of I/O and processing; returns whether anything happened. Frees the slot
    /// when the connection is over.
    fn poll(&mut self) -> bool {
        let Some(stream) = &mut self.stream else {
            return false;
        };
        let mut active = false;
        let mut gone = false;
        // Socket → input.
        if self.input.state().eof_kind().is_none() {
            match self.input.wr().read_from(stream, BUF) {
                Ok(ReadStatus::Read(_) | ReadStatus::Partial(_)) => active = true,
                Ok(ReadStatus::EndOfStream) => {
                    self.input.wr().close();
                    active = true;
                }
                Ok(ReadStatus::WouldBlock | ReadStatus::Full) => (),
                Err(_) => {
                    self.input.wr().abort();
                    active = true;
                }
            }
        }
        // The component, until it settles (it always does: each pass that reports
        // activity moved bytes between two bounded buffers).
        let (input, output, upper) = (&mut self.input, &mut self.output, &mut self.upper);
        if let Ok(passes) = settle(4 * BUF, || {
            Ok::<bool, ()>(upper.process(input.rd(), output.wr()))
        }) {
            active |= passes > 1;
        }
        // Output → socket, then its end of stream.
        loop {
            match self.output.rd().write_to(stream) {
                Ok(WriteStatus::Wrote(_)) => active = true,
                Ok(WriteStatus::WouldBlock | WriteStatus::Empty) => break,
                Err(_) => {
                    gone = true;
                    break;
                }
            }
        }
        if self.output.is_empty() {
            self.output.rd().consume_push();
            match self.output.rd().consume_eof() {
                Some(EofKind::Close) => {
                    let _ = stream.shutdown(Shutdown::Write);
                    active = true;
                }
                Some(EofKind::Abort) => gone = true,
                None => (),
            }
        }
        let finished = self.output.rd().is_done() && self.input.state().eof_kind().is_some();
        if gone || finished {
            if gone {
                let _ = stream.shutdown(Shutdown::Both);
            }
            self.stream = None;
            active = true;
        }
        active
    }
}

fn serve(addr: SocketAddr) -> Result<(), String> {
    // Everything the loop uses is made here, before the listening line.
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("listener: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("local address: {e}"))?;
    let stop = stop_on_signals(|| ()).map_err(|e| format!("signals: {e}"))?;
    let mut slots: [Slot; SLOTS] = std::array::from_fn(|_| Slot::new());
    println!("listening on {bound}");
    let _ = io::stdout().flush();

    // From here on: no allocation.
    while !stop.load(Ordering::SeqCst) {
        let mut active = false;
        if let Some(slot) = slots.iter_mut().find(|s| s.stream.is_none()) {
            match listener.accept() {
                Ok((stream, _)) => {
                    // A socket that cannot be set up is dropped (closed) at once.
                    let _ = slot.open(stream);
                    active = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => (),
                // Aborted handshakes, out of descriptors: try again next round.
                Err(_) => (),
            }
        }
        for slot in &mut slots {
            active |= slot.poll();
        }
        if !active {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    Ok(())
}

/// Shows in-process that a full fixed output refuses a line without losing it; returns
/// whether every line came back upper-cased, in order. (The demo's own bookkeeping uses a
/// `Vec`; the buffers are fixed.)
fn demo() -> bool {
    const LINES: [&[u8]; 6] = [
        b"one two\n",
        b"three four\n",
        b"five six\n",
        b"seven eight\n",
        b"nine ten\n",
        b"eleven twelve\n",
    ];
    let sent: Vec<u8> = LINES.concat();
    let mut input = PipeBuf::with_storage([0u8; 32]);
    let mut output = PipeBuf::with_storage([0u8; 32]);
    let mut upper = Upper::new();
    let mut offset = 0;
    println!("buffers: input and output of 32 bytes each");
    println!("the consumer of the output is stalled:");
    for line in LINES {
        let taken = input.wr().append_some(line).unwrap_or(0);
        offset += taken;
        while upper.process(input.rd(), output.wr()) {}
        println!(
            "  offered {:?}: the input took {taken} of {} bytes",
            String::from_utf8_lossy(line),
            line.len()
        );
        if taken < line.len() {
            println!(
                "  input full: the sender keeps the other {} bytes",
                line.len() - taken
            );
            break;
        }
    }
    println!(
        "  output ({} of 32 bytes): {:?}",
        output.len(),
        String::from_utf8_lossy(output.data())
    );
    println!(
        "  input ({} of 32 bytes, refused by the full output, not lost): {:?}",
        input.len(),
        String::from_utf8_lossy(input.data())
    );
    println!("the consumer reads:");
    let mut received = Vec::new();
    for _ in 0..100 {
        received.extend_from_slice(output.data());
        let read = output.rd().consume_all();
        let taken = input.wr().append_some(&sent[offset..]).unwrap_or(0);
        offset += taken;
        while upper.process(input.rd(), output.wr()) {}
        println!("  read {read} bytes; the input took {taken} more");
        if offset == sent.len() && input.is_empty() && output.is_empty() {
            break;
        }
    }
    let ok = received == sent.to_ascii_uppercase();
    println!(
        "sent {} bytes, received {}: every line upper-cased, in order: {ok}",
        sent.len(),
        received.len()
    );
    ok
}

/// The command line.
static CLI: Program = Program {
    name: "embed_fixed",
    about: "a pipebuf chain on fixed, caller-provided storage, as a bare-metal network stack \
            would run it: a line upper-casing TCP server whose buffers are arrays set aside at \
            start, polled in one loop, with no allocation after start. Prints `listening on \
            HOST:PORT` on stdout; exits 0 on SIGINT/SIGTERM. With --demo it runs the same \
            component in-process on 32-byte arrays instead and prints each step of its \
            backpressure.",
    operand: None,
    flags: &[
        listen_addr("127.0.0.1:7010"),
        Flag::switch(
            "demo",
            "Run the in-process backpressure demo instead of the server.",
        ),
    ],
    examples: &[
        "embed_fixed --addr 127.0.0.1:7010",
        "printf 'hello\\nworld\\n' | nc -N 127.0.0.1 7010",
        "embed_fixed --demo",
    ],
};

fn run(args: &Args<'_>) -> Result<(), Error> {
    if args.is_set("demo") {
        return match demo() {
            true => Ok(()),
            false => Err(Error::failed("the demo lost or changed data")),
        };
    }
    Ok(serve(args.get("addr")?)?)
}

fn main() -> ExitCode {
    CLI.main(run)
}
