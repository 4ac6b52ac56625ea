"""A real WebSocket client (the `websockets` package, asyncio API) driving our echo servers.

    python ws_client.py SCENARIO URL CA

URL is ws://HOST:PORT/ or wss://HOST:PORT/; CA is a PEM file to verify the server with
(hostname checked), or `-` to skip verification (wss only). Prints one line `ok ...` and exits
0 when the scenario passed; otherwise prints what went wrong to stderr and exits 1. Every
wait is bounded: the whole scenario by SCENARIO_TIMEOUT, each receive by STEP_TIMEOUT.

Scenarios:
  sizes       text and binary messages of the sizes around each frame-length boundary, up
              to 8 MiB, each echo byte-exact and of its type
  fragments   messages sent as async iterators (fragmented), including text split inside
              a UTF-8 character and pings between fragments
  ping        pings with empty, short and 125-byte payloads, and several in a row
  close CODE [REASON]
              the close handshake started by us; the server's reply must carry CODE and the
              server must then end the TCP connection
  burst       1000 messages sent without waiting for their echoes, then all echoes in order
  concurrent  20 clients at once, each with its own mix of messages
  http        a plain HTTP GET (no upgrade): prints the response head; the server must end
              the connection after it
"""

import asyncio
import random
import socket
import ssl
import sys
import time

import websockets
from websockets.asyncio.client import connect

SCENARIO_TIMEOUT = 90
STEP_TIMEOUT = 20
# Closing must be quick: the close timeout only bounds a broken server.
CLOSE_TIMEOUT = 5
SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 8 << 20]


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def text_of(n, seed):
    """A str whose UTF-8 encoding is exactly n bytes, with 2-, 3- and 4-byte characters."""
    unit = ["a", "\u00e9", "\u20ac", "\U0001f600"]  # 1 + 2 + 3 + 4 = 10 bytes
    k = seed % 4
    unit = "".join(unit[k:] + unit[:k])
    filler = chr(ord("A") + seed % 26)
    text = unit * (n // 10) + filler * (n % 10)
    assert len(text.encode()) == n
    return text


def bytes_of(n, seed):
    return random.Random(seed).randbytes(n)


def describe(msg):
    kind = "text" if isinstance(msg, str) else "binary"
    return "%s of %d" % (kind, len(msg.encode()) if isinstance(msg, str) else len(msg))


def ssl_context(url, ca):
    if not url.startswith("wss:"):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca == "-":
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.load_verify_locations(ca)
    return ctx


def open_ws(url, ca):
    return connect(
        url,
        ssl=ssl_context(url, ca),
        max_size=None,
        open_timeout=STEP_TIMEOUT,
        close_timeout=CLOSE_TIMEOUT,
        ping_interval=None,
    )


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)


async def echo(ws, msg, what=""):
    await ws.send(msg)
    got = await recv(ws)
    check(type(got) is type(msg), "%s%s came back as %s" % (what, describe(msg), describe(got)))
    if got != msg:
        a = got.encode() if isinstance(got, str) else got
        b = msg.encode() if isinstance(msg, str) else msg
        at = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        raise Failed(
            "%s%s came back with %d bytes, first difference at byte %d"
            % (what, describe(msg), len(a), at)
        )


async def close_normally(ws, code=1000, reason=""):
    """Our close; returns (code, reason) of the server's reply, checked to be one."""
    started = time.monotonic()
    await ws.close(code, reason)
    await asyncio.wait_for(ws.wait_closed(), STEP_TIMEOUT)
    took = time.monotonic() - started
    rcvd = ws.protocol.close_rcvd
    check(rcvd is not None, "no close frame from the server (took %.2f s)" % took)
    check(
        ws.protocol.close_rcvd_then_sent is False,
        "the server's close frame came before ours: not a reply",
    )
    # The server ends TCP after the close handshake; waiting out our close timeout means it
    # did not.
    check(took < CLOSE_TIMEOUT - 1, "close handshake took %.2f s: server kept TCP open" % took)
    return rcvd.code, rcvd.reason


# ------------------------------------------------------------------------------------------
# Scenarios


async def sizes(url, ca):
    async with open_ws(url, ca) as ws:
        for seed, n in enumerate(SIZES):
            await echo(ws, text_of(n, seed), "text: ")
            await echo(ws, bytes_of(n, seed), "binary: ")
        code, _ = await close_normally(ws)
        check(code == 1000, "close reply code %s" % code)
    return "%d messages" % (2 * len(SIZES))


async def fragments(url, ca):
    count = 0
    async with open_ws(url, ca) as ws:

        async def agen(parts, between=None):
            for i, part in enumerate(parts):
                if i and between:
                    await between(i)
                yield part

        async def fragmented(parts, expect, text=None, between=None):
            nonlocal count
            await ws.send(agen(parts, between), text=text)
            got = await recv(ws)
            check(
                type(got) is type(expect) and got == expect,
                "fragmented %s (%d fragments) came back as %s"
                % (describe(expect), len(parts), describe(got)),
            )
            count += 1

        await fragmented(["hel", "lo ", "wor", "ld"], "hello world")
        parts = [b"\x00\x01", b"", b"\xff" * 300, b"end"]
        await fragmented(parts, b"".join(parts))
        # Empty fragments only: an empty message in three frames.
        await fragmented([b"", b"", b""], b"")
        await fragmented(["", "", ""], "")
        # Text whose UTF-8 characters are cut between fragments (sent as bytes, text=True).
        text = text_of(4099, 3)
        raw = text.encode()
        cuts = [raw[i : i + 7] for i in range(0, len(raw), 7)]
        await fragmented(cuts, text, text=True)
        # 100 fragments of 1 KiB, and 4 of 256 KiB.
        blob = bytes_of(100 * 1024, 7)
        await fragmented([blob[i : i + 1024] for i in range(0, len(blob), 1024)], blob)
        big = text_of(1 << 20, 9)
        await fragmented([big[i : i + (1 << 18)] for i in range(0, len(big), 1 << 18)], big)

        # Pings between the fragments of a data message: the server must answer them and
        # still reassemble the message.
        waiters = []

        async def ping_between(i):
            waiters.append(await ws.ping(b"between %d" % i))

        parts = [b"frag %d;" % i for i in range(10)]
        await fragmented(parts, b"".join(parts), between=ping_between)
        await asyncio.wait_for(asyncio.gather(*waiters), STEP_TIMEOUT)
        check(len(waiters) == 9, "sent %d pings between fragments" % len(waiters))

        code, _ = await close_normally(ws)
        check(code == 1000, "close reply code %s" % code)
    return "%d fragmented messages, 9 pings between fragments answered" % count


async def ping(url, ca):
    async with open_ws(url, ca) as ws:
        for payload in [b"", b"x", bytes_of(125, 1), "text payload"]:
            waiter = await ws.ping(payload)
            await asyncio.wait_for(waiter, STEP_TIMEOUT)
        # Several in a row before any pong: each must be acknowledged (websockets counts a
        # pong for a later ping as acknowledging the earlier ones).
        waiters = [await ws.ping(b"row %d" % i) for i in range(5)]
        await asyncio.wait_for(asyncio.gather(*waiters), STEP_TIMEOUT)
        # The connection still echoes after all that.
        await echo(ws, "after pings")
        code, _ = await close_normally(ws)
        check(code == 1000, "close reply code %s" % code)
    return "9 pings answered"


async def close(url, ca, code, reason=""):
    code = int(code)
    async with open_ws(url, ca) as ws:
        await echo(ws, "before close")
        got_code, got_reason = await close_normally(ws, code, reason)
    check(got_code == code, "we closed with %d, the server answered %d" % (code, got_code))
    return "close %d answered with %d %r" % (code, got_code, got_reason)


async def burst(url, ca):
    n = 1000
    rnd = random.Random(1000)
    msgs = []
    for i in range(n):
        size = rnd.choice([0, 1, 10, 125, 126, 1000, 4000])
        msgs.append(text_of(size, i) if i % 2 else bytes_of(size, i))
    async with open_ws(url, ca) as ws:

        async def sender():
            for m in msgs:
                await ws.send(m)

        async def receiver():
            for i, m in enumerate(msgs):
                got = await recv(ws)
                check(
                    type(got) is type(m) and got == m,
                    "burst message %d (%s) came back as %s" % (i, describe(m), describe(got)),
                )

        await asyncio.gather(sender(), receiver())
        code, _ = await close_normally(ws)
        check(code == 1000, "close reply code %s" % code)
    return "%d pipelined messages" % n


async def concurrent(url, ca):
    clients = 20

    async def one(c):
        rnd = random.Random(c)
        async with open_ws(url, ca) as ws:
            for i in range(30):
                size = rnd.choice([0, 5, 126, 3000, 65536, 200000])
                msg = text_of(size, c + i) if rnd.random() < 0.5 else bytes_of(size, c * 100 + i)
                await echo(ws, msg, "client %d message %d: " % (c, i))
            code, _ = await close_normally(ws)
            check(code == 1000, "client %d: close reply code %s" % (c, code))

    await asyncio.gather(*(one(c) for c in range(clients)))
    return "%d clients" % clients


async def http(url, ca):
    secure = url.startswith("wss:")
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)

    def get():
        sock = socket.create_connection((host, int(port)), timeout=STEP_TIMEOUT)
        if secure:
            sock = ssl_context(url, ca).wrap_socket(sock, server_hostname=host)
        with sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: %s:%s\r\nAccept: */*\r\n\r\n"
                         % (host.encode(), port.encode()))
            data = b""
            while True:
                got = sock.recv(4096)  # raises on timeout: the server must end the stream
                if not got:
                    return data
                data += got

    data = await asyncio.to_thread(get)
    head, sep, body = data.partition(b"\r\n\r\n")
    check(sep, "no complete response head: %r" % data)
    check(body == b"", "body after the head: %r" % body)
    return head.decode().replace("\r\n", " | ")


SCENARIOS = {
    "sizes": sizes,
    "fragments": fragments,
    "ping": ping,
    "close": close,
    "burst": burst,
    "concurrent": concurrent,
    "http": http,
}


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in SCENARIOS:
        sys.exit("usage: ws_client.py %s URL CA|- [ARGS...]" % "|".join(SCENARIOS))
    scenario, url, ca, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    try:
        summary = asyncio.run(
            asyncio.wait_for(SCENARIOS[scenario](url, ca, *args), SCENARIO_TIMEOUT)
        )
    except Failed as e:
        sys.exit("%s: %s" % (scenario, e))
    except (asyncio.TimeoutError, TimeoutError):
        sys.exit("%s: timed out (a receive took over %d s or the scenario over %d s)"
                 % (scenario, STEP_TIMEOUT, SCENARIO_TIMEOUT))
    except websockets.exceptions.WebSocketException as e:
        sys.exit("%s: websockets: %s: %s" % (scenario, type(e).__name__, e))
    except OSError as e:
        sys.exit("%s: %s: %s" % (scenario, type(e).__name__, e))
    print("ok", summary, flush=True)


if __name__ == "__main__":
    main()
