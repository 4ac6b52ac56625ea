"""A real WebSocket server (the `websockets` package, asyncio API) for our client to talk to.

    python ws_server.py echo [SUBPROTOCOL...] [--tls CERT KEY]
    python ws_server.py reject [--tls CERT KEY]
    python ws_server.py corrupt

Serves on 127.0.0.1, port 0, and prints `port N` once it accepts connections. Then, per
connection:

  echo    echoes every message with its type; with SUBPROTOCOLs it supports those (the first
          of them the client offers is chosen, in this list's order). The text message
          `close-me 4002 some reason` makes the server start the close handshake with that
          code and reason. When a connection ends it prints
          `closed RCVD_CODE RCVD_REASON_REPR` (what our close frame said; `closed none` if
          none came).
  reject  refuses every upgrade with `403 Forbidden`, prints `rejected`.
  corrupt echoes every message with the last byte of each non-empty binary message
          flipped (for checking that a client notices).

With `--tls CERT KEY` (PEM files) it serves wss:// instead of ws://.

Stops by itself when stdin reaches its end (the test closes it or dies) or after LIFETIME
seconds, whichever comes first.
"""

import asyncio
import ssl
import sys
import threading
from http import HTTPStatus

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

LIFETIME = 120


def say(line):
    print(line, flush=True)


async def echo(ws):
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("close-me "):
                _, code, reason = msg.split(" ", 2)
                await ws.close(int(code), reason)
                break
            await ws.send(msg)
    except ConnectionClosed:
        # Any close code but 1000 and 1001 ends the iteration with this.
        pass
    await ws.wait_closed()
    rcvd = ws.protocol.close_rcvd
    say("closed none" if rcvd is None else "closed %d %r" % (rcvd.code, rcvd.reason))


async def corrupt(ws):
    try:
        async for msg in ws:
            if isinstance(msg, bytes) and msg:
                msg = msg[:-1] + bytes([msg[-1] ^ 1])
            await ws.send(msg)
    except ConnectionClosed:
        pass


def reject(connection, request):
    say("rejected")
    return connection.respond(HTTPStatus.FORBIDDEN, "no WebSocket for you\n")


async def main():
    mode, args = sys.argv[1], sys.argv[2:]
    tls = None
    if "--tls" in args:
        at = args.index("--tls")
        cert, key = args[at + 1], args[at + 2]
        del args[at : at + 3]
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
    if mode == "echo":
        kwargs = {"subprotocols": args} if args else {}
        handler = echo
    elif mode == "corrupt":
        kwargs = {}
        handler = corrupt
    elif mode == "reject":
        kwargs = {"process_request": reject}
        handler = echo
    else:
        sys.exit("unknown mode " + mode)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def watch_stdin():
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    async with serve(
        handler, "127.0.0.1", 0, max_size=None, ping_interval=None, close_timeout=5, ssl=tls, **kwargs
    ) as server:
        port = server.sockets[0].getsockname()[1]
        say("port %d" % port)
        try:
            await asyncio.wait_for(stop.wait(), LIFETIME)
        except (asyncio.TimeoutError, TimeoutError):
            say("lifetime over")


if __name__ == "__main__":
    asyncio.run(main())
