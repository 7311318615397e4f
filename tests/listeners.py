"""Listeners on 127.0.0.1 that must see nothing: a plain TCP server that records each
connection and the bytes it is sent, and one that answers like a PostgreSQL server asking for a
cleartext password (so a client that would send one does)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

import pytest


class Listener:
    """A plain TCP server on 127.0.0.1: records each connection and the bytes it sends."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.received = b""
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    self.converse(conn)

    def converse(self, conn: socket.socket) -> None:
        self.received += conn.recv(65536)

    def saw(self, text: str) -> bool:
        return text.encode() in self.received

    def close(self) -> None:
        self.sock.close()


class FakePostgres(Listener):
    """Answers like a PostgreSQL server that wants a cleartext password, and keeps it."""

    def _read(self, conn: socket.socket) -> bytes:
        header = conn.recv(4)
        if len(header) < 4:
            return b""
        (length,) = struct.unpack(">i", header)
        body = b""
        while len(body) < length - 4:
            chunk = conn.recv(length - 4 - len(body))
            if not chunk:
                break
            body += chunk
        self.received += header + body
        return body

    def converse(self, conn: socket.socket) -> None:
        body = self._read(conn)
        while body[:4] in (struct.pack(">i", 80877103), struct.pack(">i", 80877104)):
            conn.sendall(b"N")  # no SSL, no GSS encryption: go on in plaintext
            body = self._read(conn)
        conn.sendall(b"R" + struct.pack(">ii", 8, 3))  # AuthenticationCleartextPassword
        self.received += conn.recv(65536)  # the PasswordMessage, if the client sends one


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def fake_pg():
    server = FakePostgres()
    yield server
    server.close()
