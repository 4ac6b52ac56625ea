"""A hand-made WebSocket server (standard library only) for one client connection: sends the
client one hostile frame and reports the close code the client answered with.

    python raw_ws_server.py CASE [--tls CERT KEY]

Serves on 127.0.0.1, port 0, and prints `port N` once it accepts connections. After the
opening handshake (by hand), CASE decides what the client gets:

  rsv       a text frame with the reserved bit RSV1 set (no extension agreed)
  masked    a masked text frame (a server must not mask)
  bad-utf8  a text message that is not valid UTF-8
  echo      nothing hostile: every data frame comes back as it came (unmasked)

Then it reads the client's frames (echoing data frames in `echo` mode, answering pings)
until the client's close frame, prints one line

  closed CODE     the client's close frame carried CODE (`closed empty` if it had no code)
  closed none     the connection ended without a close frame
  closed timeout  nothing ended within STEP_TIMEOUT

answers the close frame with the same code (over TLS also with close_notify), ends the
connection and exits 0. With `--tls CERT KEY` (PEM files) it speaks wss:// instead of ws://.
Gives up after LIFETIME seconds without a client.
"""

import base64
import hashlib
import os
import socket
import ssl
import struct
import sys
import time

STEP_TIMEOUT = 10
LIFETIME = 60
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def say(line):
    print(line, flush=True)


def frame(opcode, payload, fin=True, rsv=0, mask=False):
    """A server frame; unmasked unless `mask` is set."""
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", first, n | bit)
    elif n < 65536:
        head = struct.pack("!BBH", first, 126 | bit, n)
    else:
        head = struct.pack("!BBQ", first, 127 | bit, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def handshake(sock):
    """Reads the upgrade request, answers 101; returns the bytes that came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = sock.recv(4096)
        if not got:
            sys.exit("the client ended the connection during the handshake: %r" % data)
        data += got
    head, _, rest = data.partition(b"\r\n\r\n")
    key = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    if key is None:
        sys.exit("no Sec-WebSocket-Key in %r" % head)
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    sock.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    return rest


class Reader:
    """Client frames (fin, opcode, unmasked payload) from the socket."""

    def __init__(self, sock, rest):
        self.sock = sock
        self.buf = rest

    def frame(self, deadline):
        while True:
            parsed = self.parse()
            if parsed is not None:
                return parsed
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                got = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                raise TimeoutError
            except (OSError, ssl.SSLError):
                return None
            if not got:
                return None
            self.buf += got

    def parse(self):
        b = self.buf
        if len(b) < 2:
            return None
        fin = bool(b[0] & 0x80)
        opcode = b[0] & 0x0F
        masked = b[1] & 0x80
        n = b[1] & 0x7F
        at = 2
        if n == 126:
            if len(b) < 4:
                return None
            (n,) = struct.unpack("!H", b[2:4])
            at = 4
        elif n == 127:
            if len(b) < 10:
                return None
            (n,) = struct.unpack("!Q", b[2:10])
            at = 10
        key = b""
        if masked:
            key = b[at : at + 4]
            at += 4
        if len(b) < at + n:
            return None
        payload = b[at : at + n]
        if masked:
            payload = bytes(x ^ key[i % 4] for i, x in enumerate(payload))
        self.buf = b[at + n :]
        return fin, opcode, payload


def serve(conn, case):
    rest = handshake(conn)
    reader = Reader(conn, rest)
    hostile = {
        "rsv": frame(0x1, b"reserved bit", rsv=0x40),
        "masked": frame(0x1, b"masked by the server", mask=True),
        "bad-utf8": frame(0x1, b"not utf-8: \xff\xfe"),
        "echo": b"",
    }[case]
    if hostile:
        conn.sendall(hostile)
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        try:
            got = reader.frame(deadline)
        except TimeoutError:
            say("closed timeout")
            return
        if got is None:
            say("closed none")
            return
        fin, opcode, payload = got
        if opcode == 0x8:
            break
        if opcode == 0x9:
            conn.sendall(frame(0xA, payload))
        elif case == "echo" and opcode in (0x0, 0x1, 0x2):
            conn.sendall(frame(opcode, payload, fin=fin))
            # An echo session lasts as long as the client keeps talking.
            deadline = time.monotonic() + STEP_TIMEOUT
    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    say("closed empty" if code is None else "closed %d" % code)
    try:
        conn.sendall(frame(0x8, payload[:2]))
        if isinstance(conn, ssl.SSLSocket):
            conn = conn.unwrap()
        conn.shutdown(socket.SHUT_WR)
        # Wait (bounded) for the client to end its side too.
        conn.settimeout(STEP_TIMEOUT)
        while conn.recv(4096):
            pass
    except (OSError, ssl.SSLError):
        pass


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: raw_ws_server.py rsv|masked|bad-utf8|echo [--tls CERT KEY]")
    case, args = sys.argv[1], sys.argv[2:]
    if case not in ("rsv", "masked", "bad-utf8", "echo"):
        sys.exit("unknown case " + case)
    tls = None
    if args[:1] == ["--tls"]:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args[1], args[2])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(LIFETIME)
    say("port %d" % listener.getsockname()[1])
    try:
        conn, _ = listener.accept()
    except (socket.timeout, TimeoutError):
        sys.exit("no client within %d s" % LIFETIME)
    conn.settimeout(STEP_TIMEOUT)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        conn = tls.wrap_socket(conn, server_side=True)
    with conn:
        serve(conn, case)


if __name__ == "__main__":
    main()
