"""A real WebSocket server with permessage-deflate (the `websockets` package) for our client.

    python deflate_server.py [--no-context-takeover] [--server-max-window-bits N]

Serves ws:// on 127.0.0.1, port 0, and prints `port N` once it accepts connections. Accepts
permessage-deflate (websockets' own implementation; --no-context-takeover requires both
sides to reset, --server-max-window-bits limits its own window), prints
`extensions HEADER` (its Sec-WebSocket-Extensions answer, `none` if it declined) for each
connection, then echoes every message with its type. Stops when stdin reaches its end or
after LIFETIME seconds.
"""

import asyncio
import sys
import threading

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

LIFETIME = 300


def say(line):
    print(line, flush=True)


async def echo(ws):
    say("extensions %s" % (ws.response.headers.get("Sec-WebSocket-Extensions") or "none"))
    try:
        async for msg in ws:
            await ws.send(msg)
    except ConnectionClosed:
        pass


async def main():
    args = sys.argv[1:]
    reset = "--no-context-takeover" in args
    bits = int(args[args.index("--server-max-window-bits") + 1]) if "--server-max-window-bits" in args else None
    factory = ServerPerMessageDeflateFactory(
        server_no_context_takeover=reset,
        client_no_context_takeover=reset,
        server_max_window_bits=bits,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def watch_stdin():
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    async with serve(
        echo, "127.0.0.1", 0, extensions=[factory], compression=None, max_size=None,
        ping_interval=None, close_timeout=5,
        # The echo of a large message starts before it has arrived whole: no receive limit.
        max_queue=None,
    ) as server:
        say("port %d" % server.sockets[0].getsockname()[1])
        try:
            await asyncio.wait_for(stop.wait(), LIFETIME)
        except (asyncio.TimeoutError, TimeoutError):
            say("lifetime over")


if __name__ == "__main__":
    asyncio.run(main())
