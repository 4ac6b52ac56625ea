//! Events per class over real sockets: an application with a "control" class and a "bulk"
//! class serves control first (`Driver::next_event_in`) and works the bulk backlog off a
//! little each round (`Driver::next_event`), and no event is lost, repeated or reordered.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pipebuf::PBufRdWr;
use pipebuf_mio::{
    Chain, ClassConfig, ClassId, ConnId, Context, Driver, DriverConfig, Event, LeftReason,
};

const TIMEOUT: Duration = Duration::from_secs(30);
const CONTROL_PEERS: usize = 2;
const BULK_PEERS: usize = 3;
const CONTROL_LINES: usize = 100;
const BULK_LINES: usize = 300;
/// Bulk events the application takes per round, after all control events.
const BULK_PER_ROUND: usize = 50;

/// Reports every complete line it reads as one message; closes after the peer's close.
struct Lines;

impl Chain for Lines {
    type Msg = String;
    type Error = pipebuf::Error;

    fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        cx: &mut Context<'_, String>,
    ) -> Result<bool, pipebuf::Error> {
        let data = net.rd.data();
        let Some(end) = data.iter().rposition(|&b| b == b'\n') else {
            if net.rd.consume_eof().is_some() {
                net.wr.close();
                return Ok(true);
            }
            return Ok(false);
        };
        for line in data[..end].split(|&b| b == b'\n') {
            cx.emit(String::from_utf8_lossy(line).into_owned());
        }
        net.rd.consume(end + 1)?;
        Ok(true)
    }
}

/// The line number `seq` of a peer of `class` ("control" or "bulk"); bulk lines are longer.
fn line(class: &str, seq: usize) -> String {
    let filler = if class == "bulk" { 40 } else { 4 };
    format!("{class} {seq} {}", "x".repeat(filler))
}

/// A peer: reads its class from the driver's greeting, reports it, waits for `go`, sends
/// all its lines at once, half-closes, reports that, and waits for the driver's close.
fn peer(stream: TcpStream, report: mpsc::Sender<()>, go: mpsc::Receiver<()>) -> JoinHandle<()> {
    thread::spawn(move || {
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut class = String::new();
        reader.read_line(&mut class).unwrap();
        let class = class.trim_end().to_string();
        let count = match class.as_str() {
            "control" => CONTROL_LINES,
            "bulk" => BULK_LINES,
            other => panic!("unexpected greeting {other:?}"),
        };
        report.send(()).unwrap();
        go.recv_timeout(TIMEOUT).unwrap();
        let all: String = (0..count).map(|seq| line(&class, seq) + "\n").collect();
        let mut writer = &stream;
        writer.write_all(all.as_bytes()).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        report.send(()).unwrap();
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "unexpected bytes after the greeting");
    })
}

/// Accepts one connection within the time limit.
fn accept(listener: &TcpListener, deadline: Instant) -> TcpStream {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                return stream;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection in time");
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// How the application took an event.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Taken {
    /// With `next_event_in(control)`.
    Control,
    /// With `next_event()`.
    Any,
}

#[test]
fn control_events_come_first_while_the_bulk_backlog_stays_in_order_and_complete() {
    let deadline = Instant::now() + TIMEOUT;
    let mut driver: Driver<Lines> =
        Driver::new(DriverConfig::default(), Box::new(|_| None)).unwrap();
    let control = driver
        .add_class(ClassConfig {
            priority: 10,
            ..ClassConfig::default()
        })
        .unwrap();
    let bulk = driver
        .add_class(ClassConfig {
            priority: 0,
            read_budget: 64 * 1024,
        })
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();

    // Bulk connections first, so their events are the oldest.
    let mut class_of: HashMap<ConnId, ClassId> = HashMap::new();
    let (report_tx, reports) = mpsc::channel();
    let mut go = Vec::new();
    let mut peers = Vec::new();
    let classes = [
        (bulk, "bulk\n", BULK_PEERS),
        (control, "control\n", CONTROL_PEERS),
    ];
    for (class, greeting, n) in classes {
        for _ in 0..n {
            let id = driver.connect_tcp(addr, Lines, class).unwrap();
            assert_eq!(
                driver.send(id, greeting.as_bytes()),
                pipebuf_mio::SendResult::Sent
            );
            class_of.insert(id, class);
            let (go_tx, go_rx) = mpsc::channel();
            go.push(go_tx);
            peers.push(peer(accept(&listener, deadline), report_tx.clone(), go_rx));
        }
    }
    let total = CONTROL_PEERS + BULK_PEERS;
    // The greetings go out; the peers wait until all of them are greeted.
    let mut ready = 0;
    while ready < total {
        assert!(Instant::now() < deadline, "greetings not delivered in time");
        driver.poll(Some(Duration::from_millis(50))).unwrap();
        ready += reports.try_iter().count();
    }
    assert_eq!(driver.pending_events_in(bulk), BULK_PEERS);
    assert_eq!(driver.pending_events_in(control), CONTROL_PEERS);
    for tx in go {
        tx.send(()).unwrap();
    }
    // Every peer's lines and end wait in the kernel: the first poll finds them all, so
    // control and bulk events are pending together.
    for _ in 0..total {
        reports.recv_timeout(TIMEOUT).unwrap();
    }

    // The application: every round, all control events first, then a few of the rest.
    let mut log: Vec<(Taken, Event<String>)> = Vec::new();
    let mut rounds_with_both = 0;
    let mut left = 0;
    while left < total || driver.pending_events() > 0 {
        assert!(Instant::now() < deadline, "not done in time: {left} left");
        let wait = if driver.pending_events() > 0 { 0 } else { 50 };
        driver.poll(Some(Duration::from_millis(wait))).unwrap();
        if driver.pending_events_in(control) > 0 && driver.pending_events_in(bulk) > 0 {
            rounds_with_both += 1;
        }
        while let Some(event) = driver.next_event_in(control) {
            log.push((Taken::Control, event));
        }
        for _ in 0..BULK_PER_ROUND {
            let Some(event) = driver.next_event() else {
                break;
            };
            log.push((Taken::Any, event));
        }
        left = log
            .iter()
            .filter(|(_, e)| matches!(e, Event::Left { .. }))
            .count();
    }
    for peer in peers {
        peer.join().unwrap();
    }

    // Which way each event came out: control ones only through `next_event_in`, and
    // `next_event` never hands out one of them again.
    let id_of = |event: &Event<String>| match event {
        Event::Joined { id, .. }
        | Event::Moved { id, .. }
        | Event::Message { id, .. }
        | Event::Left { id, .. } => *id,
    };
    for (taken, event) in &log {
        let class = class_of[&id_of(event)];
        let expected = if class == control {
            Taken::Control
        } else {
            Taken::Any
        };
        assert_eq!(*taken, expected, "{event:?} of class {class:?}");
    }
    assert!(
        rounds_with_both > 0,
        "no round had events of both classes waiting"
    );
    // Control was served ahead of the bulk backlog: all of it before the last bulk event.
    let last_control = log.iter().rposition(|(t, _)| *t == Taken::Control).unwrap();
    let last_bulk = log.iter().rposition(|(t, _)| *t == Taken::Any).unwrap();
    assert!(last_control < last_bulk, "control waited for bulk");

    // Nothing lost, repeated or reordered: per connection, `Joined`, every line in order,
    // `Left` (closed cleanly), each under the class it was made in.
    let mut per_conn: HashMap<ConnId, Vec<&Event<String>>> = HashMap::new();
    for (_, event) in &log {
        per_conn.entry(id_of(event)).or_default().push(event);
    }
    assert_eq!(per_conn.len(), total);
    for (id, events) in per_conn {
        let class = class_of[&id];
        let (name, lines) = if class == control {
            ("control", CONTROL_LINES)
        } else {
            ("bulk", BULK_LINES)
        };
        assert_eq!(events.len(), lines + 2, "{id}: {} events", events.len());
        assert!(
            matches!(events[0], Event::Joined { class: c, .. } if *c == class),
            "{id}: {:?}",
            events[0]
        );
        for (seq, event) in events[1..=lines].iter().enumerate() {
            match event {
                Event::Message { msg, .. } => assert_eq!(*msg, line(name, seq), "{id}"),
                other => panic!("{id}: line {seq} expected, got {other:?}"),
            }
        }
        assert!(
            matches!(
                events[lines + 1],
                Event::Left { class: c, reason: LeftReason::Closed, .. } if *c == class
            ),
            "{id}: {:?}",
            events[lines + 1]
        );
    }
    let stats = driver.stats();
    assert_eq!(
        stats.messages as usize,
        CONTROL_PEERS * CONTROL_LINES + BULK_PEERS * BULK_LINES
    );
    assert_eq!(driver.pending_events(), 0);
    assert_eq!(driver.connection_count(), 0);
}
