"""WebSocket frames by hand (standard library only), shared by raw_ws_client.py and
raw_ws_server.py: encoding one frame, with or without a mask, and reading frames off a
socket with a deadline."""

import os
import socket
import ssl
import struct
import time


def frame(opcode, payload, fin=True, rsv=0, mask=False):
    """One frame: FIN as given, RSV bits `rsv`, masked with a random key when `mask` is set."""
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


class Reader:
    """Frames (fin, opcode, unmasked payload) from a socket, starting with the bytes that
    came after the opening handshake."""

    def __init__(self, sock, rest):
        self.sock = sock
        self.buf = rest

    def frame(self, deadline):
        """The next frame; None when the connection ends first; TimeoutError at `deadline`
        (a time.monotonic() value)."""
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
