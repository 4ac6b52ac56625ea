"""wss_chat under abuse: many chatters in one room, one flooder that never reads, and
connections that never finish their handshakes.

    python chat_abuse.py HOST:PORT CLIENTS MESSAGES FLOOD

In room `abuse`, CLIENTS - 1 well-behaved members (the `websockets` client) and one flooder
(a hand-written WebSocket client that, once upgraded, only ever writes as fast as the server
takes it, never reading a byte) join. FLOOD is what it writes: `long`, 4000-byte lines under
the name `flooder`, one at a time; or `short`, one-byte lines under a 32-character name, 20000
at a time (each line read is copied to every member at about six times its size). Two more
connections stall before the chat: one sends half a TLS ClientHello, one completes TLS and
sends half an HTTP upgrade request. Then every well-behaved member sends MESSAGES lines while
the flood runs, and each must receive every line of every well-behaved member (its own too),
each sender's in order, within PHASE_TIMEOUT. None of them may be disconnected. Afterwards a
new member joins and chats, and every well-behaved member receives that too: the server is
still healthy.

The certificate is not verified (wss_chat makes a self-signed one at start).

Prints one line `ok ...` (with what became of the flooder: `aborted` by the server, or `held`
by backpressure until the chat was over) and exits 0 on success; otherwise prints what went wrong to
stderr and exits 1. Every wait is bounded: the run by RUN_TIMEOUT, each phase by
PHASE_TIMEOUT.
"""

import asyncio
import socket
import ssl
import sys
import time

import websockets
from websockets.asyncio.client import connect

RUN_TIMEOUT = 100
PHASE_TIMEOUT = 40
ROOM = "abuse"
FLOOD_LINE = 4000
FLOOD_NAME = {"long": "flooder", "short": "flooder" + "-" * 25}
# The flooder stops by itself after this much, should the server neither abort nor stop it.
FLOOD_CAP = 256 << 20


class Failed(Exception):
    pass


def insecure():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Member:
    """A well-behaved member: reads everything, all the time."""

    def __init__(self, addr, name, senders, messages, flooder):
        self.addr = addr
        self.flooder = flooder
        self.name = name
        self.messages = messages
        # Next message number expected from each well-behaved sender.
        self.expect = {s: 0 for s in senders}
        self.missing = len(senders) * messages
        self.joined = asyncio.Event()
        self.complete = asyncio.Event()
        self.lines_after = {}  # line -> asyncio.Event, for the health check
        self.flood_lines = 0
        self.received = 0
        self.error = None
        self.ws = None

    async def start(self):
        self.ws = await connect(
            "wss://%s/chat?room=%s" % (self.addr, ROOM),
            ssl=insecure(),
            server_hostname="localhost",
            open_timeout=PHASE_TIMEOUT,
            close_timeout=2,
            ping_interval=None,
            max_queue=None,
        )
        self.reader = asyncio.create_task(self.read())
        await self.ws.send(self.name)

    async def read(self):
        try:
            async for line in self.ws:
                self.received += 1
                self.take(line)
            self.error = "closed by the server (%s)" % self.ws.close_code
        except websockets.exceptions.ConnectionClosed as e:
            self.error = "disconnected: %s" % e
        except Exception as e:  # reported by the main task
            self.error = "%s: %s" % (type(e).__name__, e)
        finally:
            # Wake every waiter: a disconnected member fails at once, not at a timeout.
            self.joined.set()
            self.complete.set()
            for event in self.lines_after.values():
                event.set()

    def take(self, line):
        if line.startswith("* %s joined " % self.name):
            self.joined.set()
        if line in self.lines_after:
            self.lines_after[line].set()
        sender, sep, text = line.partition(": ")
        if not sep or sender.startswith("*"):
            return
        if sender == self.flooder:
            self.flood_lines += 1
            return
        if sender not in self.expect:
            return
        want = self.expect[sender]
        if text != "%s #%d" % (sender, want):
            self.error = "from %s expected %r, got %r" % (sender, "%s #%d" % (sender, want), text)
            self.complete.set()
            return
        self.expect[sender] = want + 1
        self.missing -= 1
        if self.missing == 0:
            self.complete.set()

    def check(self):
        if self.error:
            raise Failed("%s: %s (after %d lines)" % (self.name, self.error, self.received))

    def short(self):
        lacking = {s: n for s, n in self.expect.items() if n < self.messages}
        some = ", ".join("%s has %d" % kv for kv in list(lacking.items())[:5])
        return "%s lacks %d lines from %d senders (%s), got %d lines (%d of the flood)" % (
            self.name,
            self.missing,
            len(lacking),
            some,
            self.received,
            self.flood_lines,
        )


async def ws_upgrade(reader, writer, host):
    writer.write(
        (
            "GET /chat?room=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % (ROOM, host)
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PHASE_TIMEOUT)
    if not head.startswith(b"HTTP/1.1 101"):
        raise Failed("flooder: upgrade refused: %r" % head)


def text_frame(payload):
    """A masked text frame (the zero mask key, which leaves the payload as it is)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x81, 0x80 | n])
    else:
        head = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    return head + b"\0\0\0\0" + payload


class Flooder:
    """Upgrades to WebSocket, names itself, then only writes; never reads after the upgrade."""

    def __init__(self, addr, kind):
        self.kind = kind
        self.name = FLOOD_NAME[kind]
        self.host, port = addr.rsplit(":", 1)
        self.port = int(port)
        self.sent = 0
        self.outcome = None

    async def connect(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive window: what the server sends piles up on its side at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (self.host, self.port))
        self.reader, self.writer = await asyncio.open_connection(
            sock=sock, ssl=insecure(), server_hostname="localhost"
        )
        await ws_upgrade(self.reader, self.writer, self.host)
        self.writer.write(text_frame(self.name.encode()))
        await self.writer.drain()

    async def flood(self, stop):
        filler = b"x" * FLOOD_LINE
        short = text_frame(b"x") * 20000
        n = 0
        try:
            while not stop.is_set() and self.sent < FLOOD_CAP:
                if self.kind == "long":
                    line = b"flood %d " % n
                    chunk = text_frame(line + filler[len(line) :])
                    n += 1
                else:
                    chunk = short
                self.writer.write(chunk)
                await self.writer.drain()
                self.sent += len(chunk)
            self.outcome = "held (sent %d KiB%s)" % (
                self.sent >> 10,
                ", the cap" if self.sent >= FLOOD_CAP else "",
            )
        except (ConnectionError, ssl.SSLError) as e:
            self.outcome = "aborted by the server (%s) once it had written %d KiB" % (
                type(e).__name__,
                self.sent >> 10,
            )

    def close(self):
        self.writer.transport.abort()


async def stalled_client_hello(host, port):
    """A TCP connection that sends the first half of a real ClientHello, then nothing."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = insecure().wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(hello[: len(hello) // 2])
    await writer.drain()
    return writer


async def stalled_upgrade(host, port):
    """A TLS connection that sends half an HTTP upgrade request, then nothing."""
    reader, writer = await asyncio.open_connection(
        host, port, ssl=insecure(), server_hostname="localhost"
    )
    writer.write(b"GET /chat?room=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: webs" % (ROOM.encode(), host.encode()))
    await writer.drain()
    return writer


async def wait_all(members, event_of, what):
    """Waits until `event_of(m)` is set for every member; fails on the first broken one."""
    try:
        await asyncio.wait_for(
            asyncio.gather(*(event_of(m).wait() for m in members)), PHASE_TIMEOUT
        )
    except (asyncio.TimeoutError, TimeoutError):
        for m in members:
            m.check()
        late = [m for m in members if not event_of(m).is_set()]
        raise Failed(
            "%d members still waiting for %s after %d s; first: %s"
            % (len(late), what, PHASE_TIMEOUT, late[0].short())
        ) from None
    for m in members:
        m.check()


async def run(addr, clients, messages, kind):
    host, port = addr.rsplit(":", 1)
    port = int(port)
    started = time.monotonic()
    names = ["c%03d" % i for i in range(clients - 1)]
    flooder = Flooder(addr, kind)
    members = [Member(addr, n, names, messages, flooder.name) for n in names]
    stalled = []
    try:
        stalled.append(await stalled_client_hello(host, port))
        stalled.append(await stalled_upgrade(host, port))

        # Everyone joins (a few at a time, as people do; all at once works too but only
        # measures the handshake backlog).
        gate = asyncio.Semaphore(50)

        async def start(m):
            async with gate:
                await m.start()

        await asyncio.wait_for(asyncio.gather(*(start(m) for m in members)), PHASE_TIMEOUT)
        await flooder.connect()
        await wait_all(members, lambda m: m.joined, "their own arrival")
        joined = time.monotonic()

        # The chat, while the flood runs.
        stop = asyncio.Event()
        flood = asyncio.create_task(flooder.flood(stop))

        async def chat(m):
            for k in range(messages):
                await m.ws.send("%s #%d" % (m.name, k))
                await asyncio.sleep(0.01)

        await asyncio.wait_for(asyncio.gather(*(chat(m) for m in members)), PHASE_TIMEOUT)
        await wait_all(members, lambda m: m.complete, "every line")
        chatted = time.monotonic()
        stop.set()
        await asyncio.wait_for(flood, PHASE_TIMEOUT)

        # Still healthy: a newcomer chats, and everyone hears it.
        line = "late: still here"
        for m in members:
            m.lines_after[line] = asyncio.Event()
        late = Member(addr, "late", ["late"], 1, flooder.name)
        await late.start()
        await asyncio.wait_for(late.joined.wait(), PHASE_TIMEOUT)
        late.check()
        await late.ws.send("still here")
        await wait_all(members, lambda m: m.lines_after[line], repr(line))

        flood_lines = sorted(m.flood_lines for m in members)
        return (
            "%d members got all %d lines each, in order per sender (joined in %.1f s, chatted "
            "in %.1f s, each got %d..%d of the %s flood's lines); flooder %s; 2 stalled "
            "handshakes held; a newcomer chatted with all"
            % (
                len(names),
                len(names) * messages,
                joined - started,
                chatted - joined,
                flood_lines[0],
                flood_lines[-1],
                kind,
                flooder.outcome,
            )
        )
    finally:
        if hasattr(flooder, "writer"):
            flooder.close()
        for w in stalled:
            w.transport.abort()
        for m in members:
            if m.ws:
                m.ws.transport.abort()


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in FLOOD_NAME:
        sys.exit("usage: chat_abuse.py HOST:PORT CLIENTS MESSAGES long|short")
    addr, clients, messages, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    try:
        summary = asyncio.run(asyncio.wait_for(run(addr, clients, messages, kind), RUN_TIMEOUT))
    except Failed as e:
        sys.exit("chat abuse: %s" % e)
    except (asyncio.TimeoutError, TimeoutError):
        sys.exit("chat abuse: timed out (a phase over %d s or the run over %d s)"
                 % (PHASE_TIMEOUT, RUN_TIMEOUT))
    except websockets.exceptions.WebSocketException as e:
        sys.exit("chat abuse: websockets: %s: %s" % (type(e).__name__, e))
    except OSError as e:
        sys.exit("chat abuse: %s: %s" % (type(e).__name__, e))
    print("ok", summary, flush=True)


if __name__ == "__main__":
    main()
