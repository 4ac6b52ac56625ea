"""A hand-made WebSocket client (standard library only) that sends one hostile thing to a
server and reports the close code the server answered with.

    python raw_ws_client.py CASE URL

URL is ws://HOST:PORT/ or wss://HOST:PORT/ (the certificate is not verified). After the
opening handshake, by hand, CASE decides what is sent:

  oversized N  one text message of N bytes (for a server whose message limit is lower)
  rsv          a masked text frame with the reserved bit RSV1 set (no extension agreed)
  unmasked     an unmasked text frame (a client must mask every frame)
  bad-utf8     a text message that is not valid UTF-8
  shutdown     one text message; once its echo is back, prints `echoed` and waits for the
               server to close (the test stops the server then)

Then it reads frames (skipping data frames and pings) until the server's close frame,
answers it with a close frame carrying the same code (errors ignored: a failing server may
be gone already), and prints one line:

  close CODE     the server's close frame carried CODE (`close empty` if it had no code)
  close none     the connection ended without a close frame (FIN, reset, TLS error)
  close timeout  nothing ended within STEP_TIMEOUT

Exits 0 after printing any of these; 1 with a message on stderr if the handshake failed.
"""

import socket
import ssl
import struct
import sys
import time

import raw_frames
from raw_frames import Reader

STEP_TIMEOUT = 10


def connect(url):
    scheme, rest = url.split("://", 1)
    hostport = rest.split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=STEP_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if scheme == "wss":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
    elif scheme != "ws":
        sys.exit("not a ws:// or wss:// URL: " + url)
    sock.sendall(
        (
            "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % hostport
        ).encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        got = sock.recv(4096)
        if not got:
            sys.exit("the server ended the connection during the handshake: %r" % data)
        data += got
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        sys.exit("no upgrade: %r" % head)
    return sock, rest


def frame(opcode, payload, fin=True, rsv=0, mask=True):
    """A client frame: masked unless `mask` is false."""
    return raw_frames.frame(opcode, payload, fin=fin, rsv=rsv, mask=mask)


def until_close(reader, deadline):
    """The server's close frame payload; None if the connection ended without one."""
    while True:
        got = reader.frame(deadline)
        if got is None:
            return None
        _fin, opcode, payload = got
        if opcode == 0x8:
            return payload
        if opcode == 0x9:
            try:
                reader.sock.sendall(frame(0xA, payload))
            except (OSError, ssl.SSLError):
                pass


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: raw_ws_client.py oversized N|rsv|unmasked|bad-utf8|shutdown URL")
    case, args = sys.argv[1], sys.argv[2:]
    size = 0
    if case == "oversized":
        size, args = int(args[0]), args[1:]
    url = args[0]
    sock, rest = connect(url)
    reader = Reader(sock, rest)
    deadline = time.monotonic() + STEP_TIMEOUT
    if case == "oversized":
        hostile = frame(0x1, b"x" * size)
    elif case == "rsv":
        hostile = frame(0x1, b"reserved bit", rsv=0x40)
    elif case == "unmasked":
        hostile = frame(0x1, b"not masked", mask=False)
    elif case == "bad-utf8":
        hostile = frame(0x1, b"not utf-8: \xff\xfe")
    elif case == "shutdown":
        sock.sendall(frame(0x1, b"before the shutdown"))
        got = reader.frame(deadline)
        if got != (True, 0x1, b"before the shutdown"):
            sys.exit("no echo: %r" % (got,))
        print("echoed", flush=True)
        hostile = b""
    else:
        sys.exit("unknown case " + case)
    try:
        sock.sendall(hostile)
    except (OSError, ssl.SSLError):
        # The server may fail the connection before taking it all; its close frame may
        # still be waiting to be read.
        pass
    try:
        payload = until_close(reader, time.monotonic() + STEP_TIMEOUT)
    except TimeoutError:
        print("close timeout", flush=True)
        return
    if payload is None:
        print("close none", flush=True)
        return
    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    print("close empty" if code is None else "close %d" % code, flush=True)
    # Complete the close handshake, then wait (bounded) for the server to end TCP.
    try:
        sock.sendall(frame(0x8, payload[:2]))
        end = time.monotonic() + STEP_TIMEOUT
        while reader.frame(end) is not None:
            pass
    except (OSError, ssl.SSLError, TimeoutError):
        pass


if __name__ == "__main__":
    main()
