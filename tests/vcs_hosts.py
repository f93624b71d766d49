"""Fake GitHub and GitLab APIs on 127.0.0.1: the documented endpoints the platform reports to
(commit statuses, pull-request comments, merge-request notes), checking the token as each
host does (401 without it), recording every request, and failing the next N requests on
demand (``fail_next``), as a host having a bad minute would."""

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import unquote, urlsplit

TOKEN = "a-host-token-of-some-length"


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class FakeHost:
    """What both fakes share: the server, the record, the comments by pull request."""

    token: str = TOKEN
    requests: list[Recorded] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)  # each with "sha", "repository"
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    fail_next: int = 0
    fail_status: int = 502
    _next_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Self:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                status, reply = host.handle(self.command, self.path, body, dict(self.headers))
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def handle(self, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(Recorded(method, path, body, headers))
            if not self.authorized({k.lower(): v for k, v in headers.items()}):
                return 401, {"message": "Bad credentials"}
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_status, {"message": "Server Error"}
            return self.route(method, urlsplit(path), body)

    def authorized(self, headers: dict[str, str]) -> bool:
        raise NotImplementedError

    def route(self, method: str, url: Any, body: Any) -> tuple[int, Any]:
        raise NotImplementedError

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def statuses_of(self, sha: str) -> list[dict[str, Any]]:
        return [s for s in self.statuses if s["sha"] == sha]

    def page(self, items: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
        params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
        size, number = int(params.get("per_page", 30)), int(params.get("page", 1))
        return items[(number - 1) * size : number * size]


class FakeGitHub(FakeHost):
    """``POST /repos/{o}/{r}/statuses/{sha}``, ``GET/POST /repos/{o}/{r}/issues/{n}/comments``,
    ``PATCH /repos/{o}/{r}/issues/comments/{id}``; ``Authorization: Bearer <token>``."""

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.token}"

    def route(self, method: str, url: Any, body: Any) -> tuple[int, Any]:
        path = url.path
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/statuses/([0-9a-f]{40})", path):
            if method != "POST":
                return 405, {"message": "Method Not Allowed"}
            if body.get("state") not in ("pending", "success", "failure", "error"):
                return 422, {"message": "Validation Failed"}
            if len(body.get("description", "")) > 140:
                return 422, {"message": "description is too long (maximum is 140 characters)"}
            status = body | {"sha": m.group(2), "repository": m.group(1), "id": self.new_id()}
            self.statuses.append(status)
            return 201, status
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path):
            comments = self.comments.setdefault((m.group(1), int(m.group(2))), [])
            if method == "GET":
                return 200, self.page(comments, url.query)
            if method == "POST":
                if len(body["body"]) > 65536:
                    return 422, {"message": "body is too long (maximum is 65536 characters)"}
                comment = {"id": self.new_id(), "body": body["body"]}
                comments.append(comment)
                return 201, comment
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path)
        if m and method == "PATCH":
            for (repository, _), comments in self.comments.items():
                for comment in comments:
                    if repository == m.group(1) and comment["id"] == int(m.group(2)):
                        comment["body"] = body["body"]
                        return 200, comment
        return 404, {"message": "Not Found"}


class FakeGitLab(FakeHost):
    """``POST /api/v4/projects/{id}/statuses/{sha}``, ``GET/POST
    /api/v4/projects/{id}/merge_requests/{iid}/notes``, ``PUT .../notes/{note_id}``;
    ``PRIVATE-TOKEN``. Like GitLab, a status its job already has is a 400."""

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("private-token") == self.token

    def route(self, method: str, url: Any, body: Any) -> tuple[int, Any]:
        path = url.path
        if m := re.fullmatch(r"/api/v4/projects/([^/]+)/statuses/([0-9a-f]{40})", path):
            project, sha = unquote(m.group(1)), m.group(2)
            if body.get("state") not in ("pending", "running", "success", "failed", "canceled"):
                return 400, {"message": "state does not have a valid value"}
            latest = [s for s in self.statuses if s["sha"] == sha and s["name"] == body["name"]]
            if latest and latest[-1]["state"] == body["state"]:
                verb = {"running": "run", "pending": "enqueue"}.get(body["state"], "succeed")
                return 400, {
                    "message": f"Cannot transition status via :{verb} from :{body['state']}"
                }
            status = body | {"sha": sha, "repository": project, "id": self.new_id()}
            self.statuses.append(status)
            return 201, status
        if m := re.fullmatch(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes", path):
            notes = self.comments.setdefault((unquote(m.group(1)), int(m.group(2))), [])
            if method == "GET":
                return 200, self.page(notes, url.query)
            if method == "POST":
                note = {"id": self.new_id(), "body": body["body"]}
                notes.append(note)
                return 201, note
        m = re.fullmatch(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)", path)
        if m and method == "PUT":
            notes = self.comments.get((unquote(m.group(1)), int(m.group(2))), [])
            for note in notes:
                if note["id"] == int(m.group(3)):
                    note["body"] = body["body"]
                    return 200, note
        return 404, {"message": "404 Not found"}
