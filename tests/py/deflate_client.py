"""A real WebSocket client with permessage-deflate (the `websockets` package) for our server.

    python deflate_client.py URL [--no-context-takeover] [--client-max-window-bits N]
                                 [--server-max-window-bits N] [--expect-plain]

Offers permessage-deflate with the parameters given, then sends text and binary messages of
1 B to 16 MiB (compressible and random), each checked against its echo byte for byte. Prints
`ok extensions=HEADER` (the response's Sec-WebSocket-Extensions, `none` if absent) on
success, `fail ...` otherwise. With --expect-plain the server must decline compression.
"""

import asyncio
import os
import sys

from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

SIZES = [1, 63, 64, 125, 126, 1000, 65535, 65536, 1 << 20, 16 << 20]


async def main():
    url, args = sys.argv[1], sys.argv[2:]
    reset = "--no-context-takeover" in args

    def value(flag):
        return int(args[args.index(flag) + 1]) if flag in args else None

    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=reset,
        client_no_context_takeover=reset,
        server_max_window_bits=value("--server-max-window-bits"),
        client_max_window_bits=value("--client-max-window-bits") or True,
    )
    # The asyncio client keeps reading while it sends (the sync one does not, and the echo
    # of a 16 MiB message streams back while the message is still going out), and an
    # unbounded receive queue keeps it reading until the message is whole.
    async with connect(
        url, extensions=[factory], compression=None, max_size=None, open_timeout=20,
        close_timeout=20, ping_interval=None, max_queue=None,
    ) as ws:
        header = ws.response.headers.get("Sec-WebSocket-Extensions")
        negotiated = bool(ws.protocol.extensions)
        if negotiated == ("--expect-plain" in args):
            print("fail: extensions %r (negotiated: %s)" % (header, negotiated))
            return 1
        for size in SIZES:
            compressible = (b"the quick brown fox jumps over the lazy dog " * (size // 44 + 1))[:size]
            for data in [compressible.decode(), compressible, os.urandom(size)]:
                await ws.send(data)
                got = await asyncio.wait_for(ws.recv(), 120)
                if got != data:
                    print("fail: %s of %d bytes came back different" % (type(data).__name__, size))
                    return 1
        await ws.close()
    print("ok extensions=%s" % (header or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
