//! Events per class: which class an event is recorded under, and how `next_event` and
//! `next_event_in` share the queue. Connections are outgoing ones to a listener on
//! 127.0.0.1; most tests need no poll, since joining, moving and leaving record their events
//! at once.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use pipebuf::PBufRdWr;

use super::*;

/// Reports every chunk it reads as one message.
struct Report;

impl Chain for Report {
    type Msg = Vec<u8>;
    type Error = pipebuf::Error;

    fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        cx: &mut Context<'_, Vec<u8>>,
    ) -> Result<bool, pipebuf::Error> {
        if net.rd.is_empty() {
            return Ok(false);
        }
        cx.emit(net.rd.data().to_vec());
        net.rd.consume_all();
        Ok(true)
    }
}

/// A driver with two classes besides the default one, and a listener to connect to.
struct Setup {
    driver: Driver<Report>,
    a: ClassId,
    b: ClassId,
    listener: TcpListener,
    addr: SocketAddr,
}

fn setup() -> Setup {
    let mut driver = Driver::new(DriverConfig::default(), Box::new(|_| None)).unwrap();
    let a = driver.add_class(ClassConfig::default()).unwrap();
    let b = driver.add_class(ClassConfig::default()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    Setup {
        driver,
        a,
        b,
        listener,
        addr,
    }
}

impl Setup {
    fn connect(&mut self, class: ClassId) -> ConnId {
        self.driver.connect_tcp(self.addr, Report, class).unwrap()
    }
}

/// What an event says, without the parts tests do not compare.
#[derive(Debug, PartialEq)]
enum Seen {
    Joined(ConnId, ClassId),
    Moved(ConnId, ClassId, ClassId),
    Message(ConnId, Vec<u8>),
    Left(ConnId, ClassId),
}

fn seen(event: Option<Event<Vec<u8>>>) -> Option<Seen> {
    Some(match event? {
        Event::Joined { id, class, .. } => Seen::Joined(id, class),
        Event::Moved { id, from, to } => Seen::Moved(id, from, to),
        Event::Message { id, msg } => Seen::Message(id, msg),
        Event::Left { id, class, .. } => Seen::Left(id, class),
    })
}

fn drain_in(driver: &mut Driver<Report>, class: ClassId) -> Vec<Seen> {
    std::iter::from_fn(|| seen(driver.next_event_in(class))).collect()
}

fn drain(driver: &mut Driver<Report>) -> Vec<Seen> {
    std::iter::from_fn(|| seen(driver.next_event())).collect()
}

#[test]
fn events_of_one_class_come_out_without_disturbing_the_others() {
    let mut s = setup();
    let (a1, b1, a2, b2) = (
        s.connect(s.a),
        s.connect(s.b),
        s.connect(s.a),
        s.connect(s.b),
    );
    assert_eq!(
        drain_in(&mut s.driver, s.b),
        [Seen::Joined(b1, s.b), Seen::Joined(b2, s.b)]
    );
    assert_eq!(s.driver.pending_events_in(s.b), 0);
    assert_eq!(
        drain(&mut s.driver),
        [Seen::Joined(a1, s.a), Seen::Joined(a2, s.a)]
    );
}

#[test]
fn next_event_hands_out_the_oldest_across_classes() {
    let mut s = setup();
    let b1 = s.connect(s.b);
    let d1 = s.connect(ClassId::DEFAULT);
    let a1 = s.connect(s.a);
    s.driver.abort(b1);
    assert_eq!(
        drain(&mut s.driver),
        [
            Seen::Joined(b1, s.b),
            Seen::Joined(d1, ClassId::DEFAULT),
            Seen::Joined(a1, s.a),
            Seen::Left(b1, s.b),
        ]
    );
}

#[test]
fn an_event_is_handed_out_once_whichever_way_it_is_taken() {
    let mut s = setup();
    let (a1, b1, a2) = (s.connect(s.a), s.connect(s.b), s.connect(s.a));
    assert_eq!(s.driver.pending_events(), 3);
    assert_eq!(
        seen(s.driver.next_event_in(s.a)),
        Some(Seen::Joined(a1, s.a))
    );
    assert_eq!(s.driver.pending_events(), 2);
    assert_eq!(seen(s.driver.next_event()), Some(Seen::Joined(b1, s.b)));
    assert_eq!(s.driver.next_event_in(s.b).map(|_| ()), None);
    assert_eq!(seen(s.driver.next_event()), Some(Seen::Joined(a2, s.a)));
    assert_eq!(s.driver.pending_events(), 0);
    assert!(s.driver.next_event().is_none());
}

#[test]
fn a_moved_event_is_recorded_under_the_destination_class() {
    let mut s = setup();
    let id = s.connect(s.a);
    assert!(s.driver.move_to(id, s.b));
    assert_eq!(s.driver.pending_events_in(s.a), 1);
    assert_eq!(s.driver.pending_events_in(s.b), 1);
    assert_eq!(drain_in(&mut s.driver, s.b), [Seen::Moved(id, s.a, s.b)]);
    assert_eq!(drain_in(&mut s.driver, s.a), [Seen::Joined(id, s.a)]);
}

#[test]
fn a_removed_class_keeps_its_pending_events() {
    let mut s = setup();
    let closed = s.connect(s.a);
    let moved = s.connect(s.b);
    assert!(s.driver.remove_class(s.a, Disposition::Close));
    assert!(
        s.driver
            .remove_class(s.b, Disposition::MoveTo(ClassId::DEFAULT))
    );
    // Closing records the `Left` under the removed class; moving records the `Moved` under
    // the class that takes the connection.
    assert_eq!(s.driver.pending_events_in(s.a), 2);
    assert_eq!(
        drain_in(&mut s.driver, s.a),
        [Seen::Joined(closed, s.a), Seen::Left(closed, s.a)]
    );
    assert_eq!(
        drain_in(&mut s.driver, ClassId::DEFAULT),
        [Seen::Moved(moved, s.b, ClassId::DEFAULT)]
    );
    assert_eq!(drain(&mut s.driver), [Seen::Joined(moved, s.b)]);
}

#[test]
fn a_removed_class_s_events_still_come_out_of_next_event_in_order() {
    let mut s = setup();
    let a1 = s.connect(s.a);
    let d1 = s.connect(ClassId::DEFAULT);
    assert!(s.driver.remove_class(s.a, Disposition::Close));
    assert_eq!(
        drain(&mut s.driver),
        [
            Seen::Joined(a1, s.a),
            Seen::Joined(d1, ClassId::DEFAULT),
            Seen::Left(a1, s.a),
        ]
    );
}

#[test]
fn a_class_that_never_existed_has_no_events() {
    let mut s = setup();
    s.connect(s.a);
    let never = ClassId(999);
    assert_eq!(s.driver.pending_events_in(never), 0);
    assert!(s.driver.next_event_in(never).is_none());
    assert_eq!(s.driver.pending_events(), 1);
}

#[test]
fn a_message_is_recorded_under_the_class_its_connection_was_in_when_emitted() {
    let mut s = setup();
    let id = s.connect(s.a);
    let (mut peer, _) = s.listener.accept().unwrap();
    let poll_until_message = |driver: &mut Driver<Report>, class: ClassId| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while driver.pending_events_in(class) < 2 {
            assert!(Instant::now() < deadline, "no message in time");
            driver.poll(Some(Duration::from_millis(100))).unwrap();
        }
    };
    peer.write_all(b"one").unwrap();
    poll_until_message(&mut s.driver, s.a);
    assert!(s.driver.move_to(id, s.b));
    peer.write_all(b"two").unwrap();
    poll_until_message(&mut s.driver, s.b);
    assert_eq!(
        drain_in(&mut s.driver, s.b),
        [
            Seen::Moved(id, s.a, s.b),
            Seen::Message(id, b"two".to_vec())
        ]
    );
    assert_eq!(
        drain_in(&mut s.driver, s.a),
        [Seen::Joined(id, s.a), Seen::Message(id, b"one".to_vec())]
    );
    // The messages are counted as before, per driver and per class.
    assert_eq!(s.driver.stats().messages, 2);
    assert_eq!(s.driver.class_stats(s.a).unwrap().messages, 1);
}

#[test]
fn next_event_by_priority_takes_higher_classes_first_and_arrival_order_within_one() {
    let mut s = setup();
    let high = s
        .driver
        .add_class(ClassConfig {
            priority: 5,
            ..ClassConfig::default()
        })
        .unwrap();
    let gone = s.connect(s.b);
    let a1 = s.connect(s.a);
    let h1 = s.connect(high);
    let d1 = s.connect(ClassId::DEFAULT);
    let h2 = s.connect(high);
    assert!(s.driver.remove_class(s.b, Disposition::Close));
    let order: Vec<_> = std::iter::from_fn(|| seen(s.driver.next_event_by_priority())).collect();
    assert_eq!(
        order,
        [
            Seen::Joined(h1, high),
            Seen::Joined(h2, high),
            Seen::Joined(a1, s.a),
            Seen::Joined(d1, ClassId::DEFAULT),
            Seen::Joined(gone, s.b),
            Seen::Left(gone, s.b),
        ]
    );
}
