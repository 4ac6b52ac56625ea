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
import socket
import ssl
import struct
import sys
import time

import raw_frames
from raw_frames import Reader

STEP_TIMEOUT = 10
LIFETIME = 60
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def say(line):
    print(line, flush=True)


def frame(opcode, payload, fin=True, rsv=0, mask=False):
    """A server frame: unmasked unless `mask` is set."""
    return raw_frames.frame(opcode, payload, fin=fin, rsv=rsv, mask=mask)


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



def serve(conn, case):
    rest = handshake(conn)
    reader = Reader(conn, rest)
    hostile = {
        "rsv": frame(0x1, b"reserved bit", rsv=0x40),
        "masked": frame(0x1, b"masked by the server", mask=True),
        "bad-utf8": frame(0x1, b"not utf-8: \xff\xfe"),
        # Over the client's --max-message 1000 (valid text otherwise).
        "big": frame(0x1, b"x" * 2000),
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
        sys.exit("usage: raw_ws_server.py rsv|masked|bad-utf8|big|echo [--tls CERT KEY]")
    case, args = sys.argv[1], sys.argv[2:]
    if case not in ("rsv", "masked", "bad-utf8", "big", "echo"):
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
