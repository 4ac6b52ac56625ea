//! What a server's accept callback decides reaches the peer through the `WebSocket`
//! component: extra header fields on the `101` ([`Decision::AcceptWith`]), a `500` for a
//! header the handshake refuses, and the [`OriginPolicy`]'s `403` for a foreign page while
//! its own page and a program without `Origin` get in.

mod common;

use common::*;
use pipebuf::EofKind;
use pipebuf_websocket::handshake::Decision;
use pipebuf_websocket::origin::{OriginPolicy, WithoutOrigin};
use pipebuf_websocket::{AcceptFn, WebSocket, WsConfig, WsError};

/// A server deciding with `accept`, fed `request`: the response head it wrote, its errors.
fn answer(accept: AcceptFn, request: &[u8]) -> (String, Vec<WsError>) {
    let mut ep = Endpoint::new(WebSocket::server(WsConfig::default(), accept), false);
    ep.feed(request);
    ep.settle();
    let response = String::from_utf8(ep.take_output()).expect("an ASCII response head");
    (response, ep.errors)
}

#[test]
fn extra_headers_of_an_acceptance_follow_the_handshake_fields_of_the_101() {
    let accept: AcceptFn = Box::new(|_| Decision::AcceptWith {
        subprotocol: None,
        headers: vec![
            ("Set-Cookie".into(), "session=1; Secure; HttpOnly".into()),
            ("X-Served-By".into(), "test".into()),
        ],
    });
    let (response, errors) = answer(accept, &request());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(status_of(response.as_bytes()), Some(101), "{response}");
    assert!(
        response.ends_with(&format!(
            "Sec-WebSocket-Accept: {ACCEPT}\r\n\
             Set-Cookie: session=1; Secure; HttpOnly\r\nX-Served-By: test\r\n\r\n"
        )),
        "{response}"
    );
}

#[test]
fn an_extra_header_the_handshake_refuses_is_answered_with_500() {
    for (name, value) in [("Sec-WebSocket-Accept", "forged"), ("X-A", "1\r\nX-B: 2")] {
        let accept: AcceptFn = Box::new(move |_| Decision::AcceptWith {
            subprotocol: None,
            headers: vec![(name.into(), value.into())],
        });
        let (response, errors) = answer(accept, &request());
        assert_eq!(
            status_of(response.as_bytes()),
            Some(500),
            "{name}: {response}"
        );
        assert!(!response.contains(value), "{name}: {response}");
        assert_eq!(errors, vec![WsError::Refused(500)], "{name}");
    }
}

#[test]
fn the_origin_policy_refuses_a_foreign_page_with_403_and_opens_for_its_own() {
    let policy = OriginPolicy::new(WithoutOrigin::Accept)
        .allow_same_host()
        .allow("https://app.example")
        .expect("an origin");
    // `request_with` sends `Host: localhost`.
    for (origin, status) in [
        ("Origin: https://evil.example\r\n", 403),
        ("Origin: null\r\n", 403),
        ("Origin: https://localhost:8443\r\n", 403),
        ("Origin: https://localhost\r\n", 101),
        ("Origin: https://APP.example:443\r\n", 101),
        ("", 101),
    ] {
        let mut ep = Endpoint::new(
            WebSocket::server(WsConfig::default(), policy.clone().into_accept_fn()),
            false,
        );
        ep.feed(&request_with(KEY, origin));
        ep.settle();
        let response = ep.take_output();
        assert_eq!(status_of(&response), Some(status), "{origin:?}");
        if status == 403 {
            assert_eq!(ep.errors, vec![WsError::Refused(403)], "{origin:?}");
            // Refused: the connection ends and the application never sees a message stream.
            assert_eq!(ep.net_out_eof(), Some(EofKind::Close), "{origin:?}");
            assert_eq!(ep.app_in_eof(), Some(EofKind::Abort), "{origin:?}");
        } else {
            assert!(ep.ws.is_open(), "{origin:?}: {:?}", ep.errors);
        }
    }
}

#[test]
fn a_policy_that_refuses_requests_without_origin_answers_them_403() {
    let policy = OriginPolicy::new(WithoutOrigin::Refuse).allow_same_host();
    let (response, errors) = answer(policy.into_accept_fn(), &request());
    assert_eq!(status_of(response.as_bytes()), Some(403), "{response}");
    assert_eq!(errors, vec![WsError::Refused(403)]);
}
