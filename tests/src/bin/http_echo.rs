//! `http_echo`: plain-TCP HTTP/1.1 server for the process tests of `pipebuf_websocket::http`
//! in records mode. `POST`/`PUT /echo` streams the request body back chunked as it arrives;
//! any other request gets `path TARGET` with a `Content-Length`. Bodies over 64 KiB get 413,
//! heads over 8 KiB 431. Prints `listening on HOST:PORT`; stops on SIGINT/SIGTERM.
//!
//! ```text
//! http_echo [--addr HOST:PORT]    (default 127.0.0.1:0)
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use pipebuf::PBufRdWr;
use pipebuf_mio::{BoxError, Chain, Context, Endpoint, Server};
use pipebuf_websocket::http::records::{
    Incoming, RECORD_HEADER_LEN, read_request, write_body, write_end, write_response_head,
};
use pipebuf_websocket::http::{HttpConfig, HttpServer};

/// The application: answers each request as it comes, streaming echoes.
#[derive(Debug, Default)]
struct EchoApp {
    /// The current request's body goes back (else it is dropped).
    echoing: bool,
}

impl Chain for EchoApp {
    type Msg = ();
    type Error = BoxError;

    fn process(&mut self, mut io: PBufRdWr<'_>, _: &mut Context<'_, ()>) -> Result<bool, BoxError> {
        let mut active = false;
        while let Some((incoming, len)) = read_request(&io.rd)? {
            // A record is consumed only once its answer fits: the output's room is the
            // backpressure that slows the request body down.
            let fits = match &incoming {
                Incoming::Request(head) => {
                    self.echoing = head.path() == "/echo"
                        && (head.method() == "POST" || head.method() == "PUT");
                    if self.echoing {
                        write_response_head(
                            &mut io.wr,
                            200,
                            &[("Content-Type", "application/octet-stream")],
                            None,
                        )
                        .is_ok()
                    } else {
                        let text = format!("path {}\n", head.target());
                        let room = RECORD_HEADER_LEN * 3 + 64 + text.len();
                        io.wr.room() >= room && {
                            write_response_head(
                                &mut io.wr,
                                200,
                                &[("Content-Type", "text/plain")],
                                Some(text.len() as u64),
                            )?;
                            write_body(&mut io.wr, text.as_bytes())?;
                            write_end(&mut io.wr)?;
                            true
                        }
                    }
                }
                Incoming::Body(data) if self.echoing => {
                    io.wr.room() >= data.len() + RECORD_HEADER_LEN && {
                        write_body(&mut io.wr, data)?;
                        true
                    }
                }
                Incoming::Body(_) => true,
                Incoming::End if self.echoing => write_end(&mut io.wr).is_ok(),
                Incoming::End => true,
            };
            if !fits {
                break;
            }
            io.rd.consume(len)?;
            active = true;
        }
        if io.rd.is_empty() && io.rd.consume_eof().is_some() && !io.wr.is_eof() {
            // The peer has no more requests: end ours once the answers are out.
            io.wr.close();
            active = true;
        }
        Ok(active)
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:0");
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            _ => {
                eprintln!("usage: http_echo [--addr HOST:PORT]");
                return ExitCode::from(2);
            }
        }
    }
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        eprintln!("http_echo: --addr {addr:?} is no HOST:PORT");
        return ExitCode::from(2);
    };
    let config = HttpConfig {
        max_body: 64 * 1024,
        idle_timeout: Some(Duration::from_secs(10)),
        ..HttpConfig::default()
    };
    let served = pipebuf_examples::serve_until_signalled(Server::bind(addr), move |_| {
        Some(Endpoint::new(HttpServer::new(config), EchoApp::default()))
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http_echo: {e}");
            ExitCode::FAILURE
        }
    }
}
