"""A few hand-encoded Kafka requests on a raw socket.

The interop suites use real clients for everything a client does; this module exists for what no
client will do on purpose: speak an API version the broker does not support, send garbage, and
probe readiness without a client library's retries and background threads. Encodings follow the
Kafka protocol guide (https://kafka.apache.org/protocol): request header v1 is
api_key:int16, api_version:int16, correlation_id:int32, client_id:nullable string; response header
v0 is correlation_id:int32; every frame is prefixed by its length as int32.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from typing import Iterator, Optional

API_PRODUCE = 0
API_FETCH = 1
API_METADATA = 3
API_API_VERSIONS = 18

UNSUPPORTED_VERSION = 35


class Closed(Exception):
    """The broker closed the connection (EOF or reset) before a whole response arrived."""


class RawConnection:
    """One TCP connection on which frames are written and read with deadlines."""

    def __init__(self, sock: socket.socket, timeout_s: float):
        self.sock = sock
        self.timeout_s = timeout_s
        self.next_correlation_id = 1

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, api_key: int, api_version: int, body: bytes = b"", client_id: Optional[str] = "sluice-interop") -> tuple[int, bytes]:
        """Send one request with header v1 and return (correlation id, response body after header v0)."""
        correlation_id = self.next_correlation_id
        self.next_correlation_id += 1
        header = struct.pack(">hhi", api_key, api_version, correlation_id) + encode_nullable_string(client_id)
        payload = header + body
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        frame = self.read_frame()
        (response_correlation_id,) = struct.unpack_from(">i", frame, 0)
        return response_correlation_id, frame[4:]

    def read_frame(self) -> bytes:
        (size,) = struct.unpack(">i", self._read_exactly(4))
        if size < 4:
            raise AssertionError(f"broker sent a response frame of size {size}")
        return self._read_exactly(size)

    def api_versions(self, version: int = 0) -> tuple[int, dict[int, tuple[int, int]]]:
        """ApiVersions (v0 request body is empty); returns (error code, {api_key: (min, max)}).

        Also parses the v0-shaped answer Kafka sends to an ApiVersions version it does not know.
        """
        _, body = self.request(API_API_VERSIONS, version)
        return parse_api_versions_v0(body)

    def wait_closed(self, timeout_s: float) -> bool:
        """True if the broker closes this connection (EOF or reset) within `timeout_s`.

        Bytes the broker sends before closing are skipped; a connection still open at the deadline
        gives False.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True

    def _read_exactly(self, n: int) -> bytes:
        deadline = time.monotonic() + self.timeout_s
        buf = bytearray()
        while len(buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no whole response within {self.timeout_s}s ({len(buf)}/{n} bytes)")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(n - len(buf))
            except (ConnectionResetError, BrokenPipeError) as e:
                raise Closed(f"connection reset: {e}") from None
            if not chunk:
                raise Closed(f"connection closed by the broker after {len(buf)}/{n} bytes")
            buf += chunk
        return bytes(buf)


@contextlib.contextmanager
def connect(bootstrap: str, timeout_s: float = 10.0) -> Iterator[RawConnection]:
    host, port = bootstrap.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = RawConnection(sock, timeout_s)
    try:
        yield conn
    finally:
        conn.close()


def encode_nullable_string(s: Optional[str]) -> bytes:
    if s is None:
        return struct.pack(">h", -1)
    raw = s.encode()
    return struct.pack(">h", len(raw)) + raw


def parse_api_versions_v0(body: bytes) -> tuple[int, dict[int, tuple[int, int]]]:
    error_code, count = struct.unpack_from(">hi", body, 0)
    versions: dict[int, tuple[int, int]] = {}
    pos = 6
    for _ in range(max(count, 0)):
        key, lo, hi = struct.unpack_from(">hhh", body, pos)
        versions[key] = (lo, hi)
        pos += 6
    return error_code, versions


def metadata_v0_request_body(topics: list[str]) -> bytes:
    """Metadata v0..v3 body: topics as array of string (v0: empty array means all topics)."""
    out = struct.pack(">i", len(topics))
    for t in topics:
        out += encode_nullable_string(t)
    return out
