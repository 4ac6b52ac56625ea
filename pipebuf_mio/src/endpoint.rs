//! A connection's whole chain as a driver sees it: a stack of layers and the application on
//! top, with the pair between them.

use std::fmt;

use pipebuf::{Layer, PBufRdWr, PipeBufPair, Time};

use crate::{BoxError, Chain, Context, SendResult};

/// How many stack steps an application's failure gets to reach the socket side within the
/// call that reports it; later calls carry on with the rest.
const DELIVERY_STEPS: usize = 8;

/// Where an endpoint is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The stack and the application run.
    Running,
    /// Something failed: only the stack runs, delivering what tells the peer.
    Delivering,
}

/// Why an [`Endpoint`] failed: a layer of its stack, or the application.
#[derive(Debug)]
pub enum EndpointError<E> {
    /// The stack failed (for a [`Stack`](pipebuf::Stack), a
    /// [`StackError`](pipebuf::StackError) naming the layer).
    Stack(E),
    /// The application on top failed.
    App(BoxError),
}

impl<E: fmt::Display> fmt::Display for EndpointError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::Stack(e) => e.fmt(f),
            EndpointError::App(e) => write!(f, "application: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for EndpointError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EndpointError::Stack(e) => Some(e),
            EndpointError::App(e) => Some(e.as_ref()),
        }
    }
}

/// A [`Chain`] made of a stack of [`Layer`]s (TLS, WebSocket, your own components, or a
/// [`Stack`](pipebuf::Stack) of them) and an application on top, which is itself a
/// [`Chain`] that sees the stack's upper pair as its `net`.
///
/// ```text
///  socket ⇄ [Link] ⇄ net pair ⇄ [stack: Tls ⇄ WebSocket] ⇄ top pair ⇄ [app]
/// ```
///
/// One call of [`process`](Chain::process) runs the stack, the application, and the stack
/// again if the application wrote, at the driver's time ([`Context::now`]) for every layer.
/// [`send`](Chain::send), [`close`](Chain::close) and deadlines go to the application and the
/// stack as they concern them. When a layer or the application fails, the stack delivers what
/// tells the peer (a close frame encrypted by TLS, an alert) before and after the error is
/// returned; the driver keeps calling until that is out (see [`Chain::Error`]).
///
/// ```
/// use pipebuf::Stack;
/// use pipebuf_mio::{Echo, Endpoint};
/// use pipebuf_websocket::{WebSocket, WsConfig, accept_all};
///
/// // ws:// echo: the WebSocket's message records echoed with their types.
/// let ws = Endpoint::new(WebSocket::server(WsConfig::default(), accept_all()), Echo::default());
/// // The same over a layer of your own: any `Layer` slots in, e.g. `Option<Tls>` for
/// // "TLS if configured".
/// let counted: Endpoint<Stack<Option<pipebuf_rustls::Tls>, WebSocket>, Echo> = Endpoint::new(
///     Stack::new(None, WebSocket::server(WsConfig::default(), accept_all())),
///     Echo::default(),
/// );
/// # let _ = (ws, counted);
/// ```
pub struct Endpoint<S, A> {
    stack: S,
    top: PipeBufPair,
    app: A,
    phase: Phase,
}

impl<S, A> Endpoint<S, A> {
    /// `app` on top of `stack`, with a growable pair of default limits between them.
    pub fn new(stack: S, app: A) -> Self {
        Self::with_pair(stack, PipeBufPair::new(), app)
    }

    /// `app` on top of `stack` with the given pair between them (other limits).
    pub fn with_pair(stack: S, top: PipeBufPair, app: A) -> Self {
        Endpoint {
            stack,
            top,
            app,
            phase: Phase::Running,
        }
    }

    /// The stack of layers (to query a layer: `endpoint.stack().upper().subprotocol()`).
    pub fn stack(&self) -> &S {
        &self.stack
    }

    /// The stack of layers, to configure one.
    pub fn stack_mut(&mut self) -> &mut S {
        &mut self.stack
    }

    /// The application on top.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The application on top, mutably.
    pub fn app_mut(&mut self) -> &mut A {
        &mut self.app
    }
}

impl<S: Layer, A: Chain> Endpoint<S, A> {
    fn run_stack(&mut self, now: Time, net: &mut PBufRdWr<'_>) -> Result<bool, S::Error> {
        self.stack.process(now, net.reborrow(), self.top.lower())
    }
}

impl<S, A> Chain for Endpoint<S, A>
where
    S: Layer,
    S::Error: std::error::Error + Send + Sync + 'static,
    A: Chain,
{
    type Msg = A::Msg;
    type Error = EndpointError<S::Error>;

    fn process(
        &mut self,
        mut net: PBufRdWr<'_>,
        cx: &mut Context<'_, A::Msg>,
    ) -> Result<bool, Self::Error> {
        let now = cx.now();
        if self.phase == Phase::Delivering {
            // Nobody reads above a failed stack any more.
            let dropped = self.top.upper().rd.discard();
            return Ok(self.run_stack(now, &mut net).unwrap_or(false) | dropped);
        }
        let mut active = self.run_stack(now, &mut net).map_err(|e| {
            self.phase = Phase::Delivering;
            EndpointError::Stack(e)
        })?;
        let down_before = self.top.down.tripwire();
        match self.app.process(self.top.upper(), cx) {
            Ok(app) => active |= app,
            Err(e) => {
                self.phase = Phase::Delivering;
                // A broken application: its output is aborted, and each layer passes the
                // abort on towards the socket.
                let mut top = self.top.upper();
                if !top.wr.is_eof() {
                    top.wr.abort();
                }
                for _ in 0..DELIVERY_STEPS {
                    if !self.run_stack(now, &mut net).unwrap_or(false) {
                        break;
                    }
                }
                return Err(EndpointError::App(e.into()));
            }
        }
        if self.top.down.tripwire() != down_before {
            active |= self.run_stack(now, &mut net).map_err(|e| {
                self.phase = Phase::Delivering;
                EndpointError::Stack(e)
            })?;
        }
        Ok(active)
    }

    fn send(&mut self, _net: PBufRdWr<'_>, data: &[u8]) -> SendResult {
        if self.phase == Phase::Delivering {
            return SendResult::Gone;
        }
        self.app.send(self.top.upper(), data)
    }

    fn close(&mut self, _net: PBufRdWr<'_>) {
        self.app.close(self.top.upper());
    }

    fn next_deadline(&self) -> Option<Time> {
        match (self.stack.next_deadline(), self.app.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn release(&mut self) {
        self.top.release();
        self.stack.release();
        self.app.release();
    }
}

impl<S: fmt::Debug, A: fmt::Debug> fmt::Debug for Endpoint<S, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("stack", &self.stack)
            .field("app", &self.app)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}
