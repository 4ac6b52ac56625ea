//! Sockets for [`pipebuf`] chains on mio event loops.
//!
//! ```text
//!  socket ⇄ [Link] ⇄ PipeBufPair ⇄ [your Chain: TLS, WebSocket, app ...]
//!            └────────── one connection in a Driver ──────────┘
//! ```
//!
//! Two layers, use either:
//!
//! - [`Link`] connects one non-blocking socket (TCP or Unix stream, see [`LinkStream`]) to a
//!   [`PipeBufPair`](pipebuf::PipeBufPair): it reads straight into the incoming buffer's free
//!   space, writes from the outgoing buffer, and maps stream state both ways (close ⇄ FIN,
//!   abort → RST, peer RST → abort). It is the only component that does I/O. Its docs state
//!   what a driver must do for edge-triggered readiness.
//! - [`Driver`] runs a whole server or client around the links: listeners (IPv4/IPv6,
//!   `SO_REUSEPORT` for one loop per thread), non-blocking connects, connection ids that a
//!   stale holder can never confuse with a newer connection ([`ConnId`]), a [`Chain`] per
//!   connection built by the application, the activity loop, read interest that follows
//!   backpressure, timers, idle timeouts, connection limits, connection classes with
//!   priorities, read budgets and pausing, broadcast with per-connection results, and graceful
//!   shutdown. The application owns the loop: `poll`, then drain `next_event`.
//!
//! Per event the driver touches only the connections concerned: nothing is proportional to
//! the number of connections, and idle connections hold no buffer memory.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use pipebuf::PBufRdWr;
//! use pipebuf_mio::{Chain, Context, Driver, DriverConfig, Event};
//!
//! /// Answers each connection with the number of bytes it sent, once it has sent them all.
//! #[derive(Default)]
//! struct Count(usize);
//!
//! impl Chain for Count {
//!     type Msg = usize;
//!     type Error = pipebuf::Error;
//!     fn process(&mut self, mut net: PBufRdWr<'_>, cx: &mut Context<'_, usize>) -> Result<bool, pipebuf::Error> {
//!         let n = net.rd.consume_all();
//!         self.0 += n;
//!         if net.rd.consume_eof().is_some() {
//!             net.wr.append(self.0.to_string().as_bytes())?;
//!             net.wr.close();
//!             cx.emit(self.0);
//!             return Ok(true);
//!         }
//!         Ok(n > 0)
//!     }
//! }
//!
//! let mut driver = Driver::new(DriverConfig::default(), Box::new(|_| Some(Count::default()))).unwrap();
//! let listener = driver.listen_tcp("127.0.0.1:0".parse().unwrap(), false).unwrap();
//! let addr = driver.local_addr(listener).unwrap().to_string();
//! let client = std::thread::spawn(move || {
//!     let mut s = std::net::TcpStream::connect(addr).unwrap();
//!     s.write_all(&[7; 1000]).unwrap();
//!     s.shutdown(std::net::Shutdown::Write).unwrap();
//!     let mut answer = String::new();
//!     s.read_to_string(&mut answer).unwrap();
//!     answer
//! });
//! let mut counted = None;
//! while counted.is_none() {
//!     driver.poll(Some(Duration::from_secs(5))).unwrap();
//!     while let Some(event) = driver.next_event() {
//!         if let Event::Message { msg, .. } = event {
//!             counted = Some(msg);
//!         }
//!     }
//! }
//! assert_eq!(counted, Some(1000));
//! assert_eq!(client.join().unwrap(), "1000");
//! ```

#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod driver;
mod link;

pub use driver::{
    Accepted, Chain, ChainFactory, ClassConfig, ClassId, ConnId, Context, Disposition, Driver,
    DriverConfig, DriverStats, Event, LeftReason, ListenerId, LocalAddr, SendResult,
};
pub use link::{DEFAULT_READ_CHUNK, Link, LinkError, LinkStream};
