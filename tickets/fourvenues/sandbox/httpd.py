"""The sandbox's HTTP plumbing: a threading server on the standard library's ``http.server``.

It reads request bodies (``Content-Length`` or chunked, at most :data:`MAX_BODY_BYTES`), hands
each request to :meth:`.app.SandboxApp.dispatch` and carries out the :class:`.replies.Reply`:
send it, hang then close, or reset the connection. It tracks its open connections so that
stopping never waits on an idle keep-alive client or a hanging fault.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any

from .app import SandboxApp
from .replies import HANG, RESET, HttpRequest, Reply, error_reply
from .validation import ApiError, bad_request

MAX_BODY_BYTES = 2 * 1024 * 1024


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its open connections, so stopping never waits on an
    idle keep-alive client or a hanging fault."""

    daemon_threads = True
    # stop() releases and joins handler threads itself, with a bound.
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.log: Callable[[str], None] | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        super().__init__(address, SandboxRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall without DNS.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections[request] = threading.current_thread()
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(request, None)

    def release_connections(self) -> list[threading.Thread]:
        """Shut every open connection down; returns the threads serving them."""
        with self._connections_lock:
            connections = list(self._connections.items())
        for sock, _ in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                sock.shutdown(socket.SHUT_RDWR)
        return [thread for _, thread in connections]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, reset) is expected in fault tests, not an error.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class SandboxRequestHandler(BaseHTTPRequestHandler):
    """One connection's requests: read the body, dispatch, deliver the reply."""

    server: SandboxHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "FourvenuesSandbox/1.0"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection is dropped after this many seconds
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client waits for
    # a delayed ACK (~40 ms) on every second request, which would swamp latency measurements.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ApiError as exc:
            reply = error_reply(exc.status, exc.message)
            reply.close = True  # the unread body would poison the next request
        else:
            reply = self.server.app.dispatch(
                HttpRequest(self.command, self.path, self.headers, body)
            )
        self._deliver(reply)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        if not raw_length.strip().isdigit():
            raise bad_request("Invalid Content-Length")
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            raise ApiError(413, f"Request body larger than {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise bad_request("Invalid chunked body") from None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise ApiError(413, f"Request body larger than {MAX_BODY_BYTES} bytes")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _deliver(self, reply: Reply) -> None:
        if reply.action == HANG:
            self.log_message(
                '"%s" hung %.3fs, closing without a response', self.requestline, reply.hang_seconds
            )
            self.server.app.pause(reply.hang_seconds)
            self.close_connection = True
            return
        if reply.action == RESET:
            self.log_message('"%s" connection reset without a response', self.requestline)
            self.close_connection = True
            # SO_LINGER 0 makes close() send RST; rfile holds a reference that would
            # otherwise keep the socket open until the handler finishes.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")
