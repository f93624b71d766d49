"""The API Gateway emulator over real HTTP on 127.0.0.1, for what must reach the local platform
as a network client would (e.g. a run-task service calling back).

The platform advertises ``http://127.0.0.1:<port>`` as its public base URL; the routes are
under it as in the template (``/api/v1/...``). The same paths with the stage in front
(``/live/api/v1/...``) are accepted too, since in AWS the stage is part of the URL.

Presigned S3 URLs the platform hands out (configuration uploads, downloads) point here too,
so one address is all a client needs: a request for one of ``buckets`` (path-style
``/<bucket>/<key>``) passes through, bytes unchanged, to ``s3_upstream`` (the moto server).
"""

import http.client
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from local.gateway import ApiGateway, GatewayReply

logger = logging.getLogger(__name__)

# Headers of a reply that are this server's to set, not the gateway's.
_OWN_HEADERS = {"content-length", "transfer-encoding", "connection"}


class HttpFront:
    """An HTTP server for an ``ApiGateway``. The socket is bound on construction, so
    ``base_url`` is known before the gateway exists: set ``gateway`` later, then ``start()``.
    Until a gateway is set, requests are answered 503."""

    def __init__(self, gateway: ApiGateway | None = None, host: str = "127.0.0.1", port: int = 0):
        self.gateway = gateway
        self.s3_upstream: tuple[str, int] | None = None  # (host, port) of the S3 endpoint
        self.buckets: frozenset[str] = frozenset()
        self._server = _Server((host, port), _RequestHandler)
        self._server.front = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> "HttpFront":
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"http-front-{self.base_url}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call more than once."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "HttpFront":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def is_s3(self, target: str) -> bool:
        first = urlsplit(target).path.lstrip("/").split("/", 1)[0]
        return self.s3_upstream is not None and first in self.buckets

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> GatewayReply:
        """One HTTP request (``target`` as in the request line) as the gateway answers it."""
        gateway = self.gateway
        if gateway is None:
            return _error(503, "Service Unavailable", "The platform is starting.")
        url = urlsplit(target)
        path = unquote(url.path) or "/"
        stage = f"/{gateway.stage}"
        if path == stage or path.startswith(f"{stage}/"):
            path = path[len(stage) :] or "/"
        query = dict(parse_qsl(url.query, keep_blank_values=True)) or None
        try:
            text = body.decode("utf-8") if body else None
        except UnicodeDecodeError:
            return _error(400, "Bad Request", "The request body is not UTF-8 text.")
        return gateway.request(method, path, headers=headers, query=query, body=text)


def _error(status: int, title: str, detail: str) -> GatewayReply:
    """An answer of this front itself, in the API's error shape."""
    body = {"errors": [{"status": str(status), "title": title, "detail": detail}]}
    return GatewayReply(status, {"Content-Type": "application/json"}, json.dumps(body))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog: socketserver's 5 made clients connecting at once (16 in the
    # concurrency tests) see their connections reset, which API Gateway never does.
    request_queue_size = 128
    front: HttpFront


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 for chunked request bodies and "Expect: 100-continue"; each reply closes its
    # connection, so no idle keep-alive connection outlives stop().
    protocol_version = "HTTP/1.1"
    server_version = "iacp-local"

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def do_PATCH(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def _forward(self) -> None:
        front = cast(_Server, self.server).front
        try:
            body = self._read_body()
        except ValueError as error:
            self._reply(_error(400, "Bad Request", str(error)))
            return
        if front.is_s3(self.path):
            self._pass_to_s3(front, body)
            return
        try:
            reply = front.handle(self.command, self.path, dict(self.headers.items()), body)
        except Exception:
            logger.exception("the gateway failed on %s %s", self.command, self.path)
            reply = _error(500, "Internal Server Error", "The local gateway failed.")
        self._reply(reply)

    def _pass_to_s3(self, front: HttpFront, body: bytes | None) -> None:
        """The request as it came, to the S3 endpoint; its answer as it came, back."""
        assert front.s3_upstream is not None
        headers = {
            name: value for name, value in self.headers.items() if name.lower() not in _OWN_HEADERS
        }
        if body is not None:
            headers["Content-Length"] = str(len(body))
        upstream = http.client.HTTPConnection(*front.s3_upstream, timeout=60)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
        except OSError as error:
            self._reply(_error(502, "Bad Gateway", f"The S3 endpoint failed: {error}."))
            return
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in _OWN_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.close_connection = True

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return None
        if not length.strip().isdigit():
            raise ValueError(f"Invalid Content-Length: {length!r}.")
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            line = self.rfile.readline(65537).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise ValueError("Invalid chunked request body.") from None
            if size == 0:
                while self.rfile.readline(65537).strip():  # trailers, up to the empty line
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(65537)  # the CRLF after the chunk

    def _reply(self, reply: GatewayReply) -> None:
        payload = reply.body.encode("utf-8")
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            if name.lower() not in _OWN_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)
