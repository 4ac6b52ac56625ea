//! Stacks in memory, stepped as a pair with no sockets and no clock: a WSS client and server,
//! each `Tls ⇄ a user's byte counter ⇄ WebSocket`, exchanging messages, failing, and closing.
//! The counter slots in exactly like the shipped layers.

use pipebuf::{EofKind, Layer, PBufRdWr, PipeBufPair, Stack, StackError, Time};
use pipebuf_rustls::{Tls, config};
use pipebuf_websocket::handshake::ClientRequest;
use pipebuf_websocket::message::{MessageAssembler, MessageKind};
use pipebuf_websocket::{Messages, WebSocket, WsConfig, WsError, accept_all};

/// A user's layer: counts the bytes that pass each way and changes nothing.
#[derive(Debug, Default)]
struct ByteCounter {
    up: usize,
    down: usize,
}

impl Layer for ByteCounter {
    type Error = pipebuf::Error;

    fn process(
        &mut self,
        _: Time,
        mut lower: PBufRdWr<'_>,
        mut upper: PBufRdWr<'_>,
    ) -> Result<bool, pipebuf::Error> {
        let (up_before, down_before) = (lower.rd.len(), upper.rd.len());
        let moved = pipebuf::pass_through(lower.reborrow(), upper.reborrow());
        self.up += up_before - lower.rd.len();
        self.down += down_before - upper.rd.len();
        Ok(moved)
    }
}

type WssStack = Stack<Tls, Stack<ByteCounter, WebSocket>>;

/// One side: its stack, the application's message pair above it, and its assembler.
struct Side {
    stack: WssStack,
    app: PipeBufPair,
    assembler: MessageAssembler,
    errors: Vec<StackError<pipebuf_rustls::TlsError, StackError<pipebuf::Error, WsError>>>,
}

impl Side {
    fn new(tls: Tls, ws: WebSocket) -> Side {
        Side {
            stack: Stack::new(tls, Stack::new(ByteCounter::default(), ws)),
            app: PipeBufPair::new(),
            assembler: MessageAssembler::new(),
            errors: Vec::new(),
        }
    }

    fn step(&mut self, net: PBufRdWr<'_>) -> bool {
        match self.stack.process(Time::ZERO, net, self.app.lower()) {
            Ok(active) => active,
            Err(e) => {
                self.errors.push(e);
                true
            }
        }
    }

    fn messages(&mut self) -> Messages<'_> {
        Messages::new(self.app.upper(), &mut self.assembler)
    }

    fn ws(&self) -> &WebSocket {
        self.stack.upper().upper()
    }

    fn counter(&self) -> &ByteCounter {
        self.stack.upper().lower()
    }
}

/// A WSS client and server over one in-memory wire; the server refuses messages over
/// `server_max` bytes.
fn pair(server_max: usize) -> (Side, Side, PipeBufPair) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
    let server_tls = config::server_config(cert.as_bytes(), key.as_bytes(), &Default::default())
        .expect("server config");
    let client_tls =
        config::client_config(cert.as_bytes(), &Default::default()).expect("client config");
    let server = Side::new(
        Tls::server(server_tls).expect("server session"),
        WebSocket::server(
            WsConfig {
                max_message: server_max,
                ..WsConfig::default()
            },
            accept_all(),
        ),
    );
    let client = Side::new(
        Tls::client(client_tls, "localhost".try_into().expect("name")).expect("client session"),
        WebSocket::client(WsConfig::default(), ClientRequest::new("/", "localhost")),
    );
    (client, server, PipeBufPair::new())
}

/// Steps both sides until neither does anything.
fn settle(client: &mut Side, server: &mut Side, wire: &mut PipeBufPair) {
    pipebuf::settle(10_000, || -> Result<bool, ()> {
        let c = client.step(wire.upper());
        let s = server.step(wire.lower());
        Ok(c | s)
    })
    .expect("the pair settles");
}

#[test]
fn messages_cross_a_wss_stack_with_a_user_layer_between_tls_and_websocket() {
    let (mut client, mut server, mut wire) = pair(1 << 20);
    client
        .messages()
        .send_text("hello through three layers")
        .unwrap();
    client.messages().send_binary(&[7; 3000]).unwrap();
    settle(&mut client, &mut server, &mut wire);

    let mut got = Vec::new();
    let mut app = server.messages();
    while let Some(message) = app.incoming.next().unwrap() {
        got.push((message.kind(), message.data().to_vec()));
    }
    assert_eq!(
        got,
        [
            (MessageKind::Text, b"hello through three layers".to_vec()),
            (MessageKind::Binary, vec![7; 3000])
        ]
    );
    // The counter saw the handshake and both frames go up on the server, the 101 go down.
    let counted = server.counter();
    assert!(counted.up > 3000 + 26, "{counted:?}");
    assert!(counted.down > 0, "{counted:?}");
    assert!(client.errors.is_empty() && server.errors.is_empty());
}

#[test]
fn a_close_with_code_and_reason_ends_both_stacks_cleanly() {
    let (mut client, mut server, mut wire) = pair(1 << 20);
    client.messages().close(4001, "bye now").unwrap();
    settle(&mut client, &mut server, &mut wire);
    assert_eq!(server.ws().peer_close(), Some(Some((4001, "bye now"))));
    assert_eq!(server.messages().incoming.end(), Some(EofKind::Close));
    // The server application answers by closing too; the handshake completes both ways.
    server.messages().close(1000, "").unwrap();
    settle(&mut client, &mut server, &mut wire);
    assert_eq!(client.ws().peer_close(), Some(Some((4001, ""))));
    assert_eq!(client.messages().incoming.end(), Some(EofKind::Close));
    // Each TLS sent close_notify and closed its encrypted side.
    assert_eq!(wire.up.state().eof_kind(), Some(EofKind::Close));
    assert_eq!(wire.down.state().eof_kind(), Some(EofKind::Close));
    assert!(client.errors.is_empty() && server.errors.is_empty());
}

#[test]
fn an_oversized_message_gets_1009_through_tls_before_the_error_returns() {
    let (mut client, mut server, mut wire) = pair(1000);
    settle(&mut client, &mut server, &mut wire);
    client.messages().send_text(&"x".repeat(5000)).unwrap();
    // Step the client alone so the frame waits on the wire, then the server once.
    while client.step(wire.upper()) {}
    server.step(wire.lower());
    match server.errors.as_slice() {
        [StackError::Upper(StackError::Upper(e))] => assert_eq!(e.close_code(), Some(1009)),
        other => panic!("expected the WebSocket's error, got {other:?}"),
    }
    // In that same call the close frame went through the counter and TLS onto the wire.
    assert!(!wire.up.is_empty(), "nothing reached the socket side");
    settle(&mut client, &mut server, &mut wire);
    assert_eq!(client.ws().peer_close(), Some(Some((1009, ""))));
    assert_eq!(server.errors.len(), 1, "later calls only deliver");
    assert!(server.stack.has_failed());
}
