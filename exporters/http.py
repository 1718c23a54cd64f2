"""The HTTP side of ``dtscope export``: ``/metrics``, a small index page at ``/``.

One thread per connection (``ThreadingHTTPServer``), HTTP/1.1 keep-alive, TLS
handshakes done in the connection's own thread (a slow client never holds up the
others), basic auth checked before anything else is looked at.
"""

from __future__ import annotations

import base64
import binascii
import html
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dtscope.errors import UsageError

from .prometheus import Exposition
from .webconfig import WebConfig

DEFAULT_LISTEN = "127.0.0.1:9470"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (all interfaces, as with node_exporter)."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9470")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(f"--listen {text!r}: the port must be a number") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"--listen {text!r}: the port must be between 0 and 65535")
    return host or "", port


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many scrapers connecting at once must not hit SYN drops

    # Each connection holds a thread until it closes or idles out (_Handler.timeout);
    # past this many, new connections are closed at once rather than exhaust threads.
    max_connections = 512

    def __init__(self, address, handler, exposition: Exposition, web: WebConfig, title: str):
        host = address[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        self._connection_slots = threading.BoundedSemaphore(self.max_connections)
        self.exposition = exposition
        self.web = web
        self.title = title
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        if not self._connection_slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._connection_slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connection_slots.release()

    def finish_request(self, request, client_address) -> None:
        # Runs in the connection's thread: the TLS handshake happens here, not in accept().
        context = self.web.ssl_context
        if context is not None:
            request.settimeout(10)
            try:
                request = context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address) -> None:
        # A client that goes away mid-response is not an error worth a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, ssl.SSLError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: Prometheus reuses its connection
    timeout = 60  # an idle keep-alive connection releases its thread after this
    server: _Server
    server_version = "dtscope-exporter"
    sys_version = ""

    def log_message(self, format, *args) -> None:
        pass  # one line per scrape would flood the service log

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _respond(self, head: bool) -> None:
        if not self._authorized():
            self._send(
                401,
                b"Unauthorized\n",
                "text/plain; charset=utf-8",
                head,
                {"WWW-Authenticate": 'Basic realm="dtscope"'},
            )
            return
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            compressed = "gzip" in self.headers.get("Accept-Encoding", "")
            try:
                body = self.server.exposition.render(compressed)
            except Exception as err:  # noqa: BLE001 - a scrape reports the failure, the server lives
                self._send(500, f"error rendering metrics: {err}\n".encode(), "text/plain", head)
                return
            self._send(
                200,
                body,
                Exposition.CONTENT_TYPE,
                head,
                {"Content-Encoding": "gzip"} if compressed else None,
            )
        elif path == "/":
            self._send(200, self._index(), "text/html; charset=utf-8", head)
        else:
            self._send(404, b"Not found: try /metrics\n", "text/plain; charset=utf-8", head)

    def _authorized(self) -> bool:
        web = self.server.web
        if not web.auth_required:
            return True
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        return bool(sep) and web.check_password(user, password)

    def _index(self) -> bytes:
        rows = []
        for s in self.server.exposition.scripts:
            state = "up" if s.up else "down"
            rows.append(
                f"<tr><td>{html.escape(s.script)}</td><td>{state}</td>"
                f"<td>{s.restarts}</td><td>{len(s.metrics)}</td></tr>"
            )
        title = html.escape(self.server.title)
        page = (
            f"<!doctype html><html><head><title>{title}</title></head><body>"
            f'<h1>{title}</h1><p><a href="/metrics">Metrics</a></p>'
            "<table><tr><th>script</th><th>tracer</th><th>restarts</th><th>aggregations</th></tr>"
            + "".join(rows)
            + "</table></body></html>\n"
        )
        return page.encode()

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        head: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**self.server.web.headers, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)


class ExporterServer:
    """Serves an :class:`Exposition` on ``address`` until :meth:`shutdown`."""

    def __init__(
        self,
        exposition: Exposition,
        address: tuple[str, int],
        web: WebConfig | None = None,
        title: str = "dtscope exporter",
    ):
        try:
            self._server = _Server(address, _Handler, exposition, web or WebConfig(), title)
        except OSError as err:
            host, port = address
            raise UsageError(f"cannot listen on {host}:{port}: {err.strerror}") from None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        scheme = "https" if self._server.web.ssl_context else "http"
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> ExporterServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="dtscope-export-http", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
