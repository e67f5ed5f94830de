"""The HTTP exchange with the extension: kept-alive connections, error documents, the wire format."""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
import time
import urllib.parse
from typing import Any, Dict, Optional, Set, Tuple

from .errors import ExtensionError, NotFoundError, UnreachableError
from .models import Outcome
from .settings import TOKEN_HEADER


class Transport:
    """Sends requests to the extension on host:port, each bounded by timeout seconds, with the token.
    It is thread-safe: each thread keeps its own connection alive (the extension never closes idle
    connections, and a new connection per request costs about as much again as the request)."""

    def __init__(self, host: str, port: int, token: str, timeout: float) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.timeout = timeout
        self._local = threading.local()
        # Every thread's connection, so that close() closes them all, not only the caller's.
        self._conns: Set[http.client.HTTPConnection] = set()
        self._conns_lock = threading.Lock()

    def roundtrip(self, method: str, path: str, data: Optional[bytes], headers: Dict[str, str]) -> Tuple[int, bytes]:
        """Sends one request on this thread's kept-alive connection. A kept connection found closed
        before any answer came (the extension that served it is gone) is replaced once; any other
        failure closes the connection and propagates."""
        # One deadline bounds the whole exchange: a socket timeout alone bounds each read, and an
        # answer that comes a little at a time would hold the caller for as long as it trickles.
        deadline = time.monotonic() + self.timeout
        for attempt in (0, 1):
            conn: Optional[_Connection] = getattr(self._local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = _Connection(self.host, self.port, timeout=self.timeout)
                self._local.conn = conn
            else:
                # The timeout may have been changed since this thread's connection was made, and
                # the last answer's reads left the socket with what remained of its deadline.
                conn.timeout = self.timeout
                if conn.sock is not None:
                    conn.sock.settimeout(self.timeout)
            conn.deadline = deadline
            with self._conns_lock:
                self._conns.add(conn)  # again after a close(), which a kept connection outlives
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read(1 << 20)
                if resp.will_close or not resp.isclosed():
                    self.drop()  # closing, or an answer longer than we read: start afresh next time
                return resp.status, raw
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.drop()
                if not reused or attempt == 1:
                    raise
            except BaseException:
                self.drop()
                raise
        raise AssertionError("unreachable")

    def drop(self) -> None:
        """Closes this thread's connection; the next request opens another."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._conns_lock:
                self._conns.discard(conn)
            conn.close()

    def close(self) -> None:
        """Closes every thread's kept-alive connection. A later request opens a new one."""
        with self._conns_lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            conn.close()

    def call(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers[TOKEN_HEADER] = self.token
        try:
            status, raw = self.roundtrip(method, path, data, headers)
        except (OSError, http.client.HTTPException) as err:
            raise UnreachableError(f"breakerbox: extension unreachable at {self.host}:{self.port}: {method} {path}: {err}") from err
        if not 200 <= status <= 299:
            code, message = "unexpected", raw.decode("utf-8", "replace").strip()
            try:
                doc = json.loads(raw)
                code, message = doc["error"]["code"], doc["error"]["message"]
            except (ValueError, KeyError, TypeError):
                pass
            if status == 404 and code == "not_found":
                raise NotFoundError(status, code, message)
            raise ExtensionError(status, code, message)
        if not raw:
            return {}
        try:
            doc = json.loads(raw)
        except ValueError as err:
            raise UnreachableError(f"breakerbox: the answer to {method} {path} is not JSON: {err}") from err
        if not isinstance(doc, dict):
            raise UnreachableError(f"breakerbox: the answer to {method} {path} is not a JSON object")
        return doc


class _Connection(http.client.HTTPConnection):
    """An HTTPConnection whose answer is read by ``deadline`` (time.monotonic()) at the latest."""

    deadline: float = 0.0

    def getresponse(self) -> http.client.HTTPResponse:
        sock = self.sock
        if sock is None:
            return super().getresponse()
        self.sock = _DeadlineSocket(sock, self.deadline)  # type: ignore[assignment]
        try:
            return super().getresponse()
        finally:
            if self.sock is not None:  # getresponse closes (None) a connection the answer closes
                self.sock = sock


class _DeadlineSocket:
    """What HTTPResponse reads from: the socket, whose reads end at the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        self._sock.close()


class _DeadlineReader(io.RawIOBase):
    """Reads the socket with the time left before the deadline as each read's timeout."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self._sock.settimeout(left)
        return self._sock.recv_into(b)


def outcome_json(o: Outcome) -> dict:
    if not isinstance(o, Outcome):
        raise TypeError(f"report takes Outcome values, got {type(o).__name__}")
    doc: Dict[str, Any] = {"ok": bool(o.ok), "latencyMs": float(o.latency_ms)}
    if o.permit:
        doc["permit"] = o.permit
    if o.call:
        doc["call"] = o.call
    if o.error:
        doc["error"] = o.error
    return doc


def circuit_path(circuit: str) -> str:
    return "/v1/circuits/" + urllib.parse.quote(circuit, safe="")
