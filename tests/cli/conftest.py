"""The CLI without the platform: a tiny HTTP server on 127.0.0.1 answers as the API would."""

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from iacp_cli.__main__ import main

TOKEN = "at-clitestclitest01.s3cr3t-value"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


# A route answers (status, JSON body or None, extra headers), or the bytes of a raw body.
Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]
Route = Callable[[Request], Reply] | Reply


@dataclass
class FakeApi:
    """Routes by (method, path); every request is recorded. Unrouted: the API's 404."""

    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    def route(self, method: str, path: str, reply: Route) -> None:
        self.routes[(method, path)] = reply

    def answer(self, request: Request) -> tuple[int, bytes, dict[str, str]]:
        self.requests.append(request)
        route = self.routes.get((request.method, request.path))
        if route is None:
            return 404, error_body(404, "Not Found", f"No route {request.path}"), {}
        reply = route(request) if callable(route) else route
        status, body, *rest = reply
        headers = rest[0] if rest else {}
        if body is None:
            return status, b"", headers
        if isinstance(body, bytes):
            return status, body, headers
        return status, json.dumps(body).encode(), {"Content-Type": "application/json", **headers}

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests if method in (None, r.method)]


def error_body(status: int, title: str, detail: str) -> bytes:
    return json.dumps(
        {"errors": [{"status": str(status), "title": title, "detail": detail}]}
    ).encode()


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                self.command,
                url.path,
                dict(parse_qsl(url.query)),
                dict(self.headers.items()),
                self.rfile.read(length),
            )
            status, body, headers = fake.answer(request)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No settings from the person running the tests: no IACP_* variables, and a working
    directory without .iacp/local.json above it."""
    monkeypatch.delenv("IACP_URL", raising=False)
    monkeypatch.delenv("IACP_TOKEN", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """Runs ``iacp ARGS`` in this process against the fake API."""
    monkeypatch.setenv("IACP_URL", api.url)
    monkeypatch.setenv("IACP_TOKEN", TOKEN)

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def workspace(ws_id: str = "ws-aaaaaaaaaaaaaaaa", name: str = "demo", **fields: Any) -> Any:
    return {
        "id": ws_id,
        "name": name,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "description": "",
        "terraform_version": None,
        "working_directory": "",
        "auto_apply": False,
        "locked": False,
        "lock": None,
        "current_run_id": None,
        **fields,
    }
