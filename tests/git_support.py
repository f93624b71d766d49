"""Real git repositories for tests: bare repositories with commits made here, and a smart-HTTP
git server on 127.0.0.1 (``git http-backend`` as CGI) that can demand a clone token the way
GitHub takes one (HTTP Basic, user ``x-access-token``).

git runs with no system or global configuration and no inherited ``GIT_*`` variable, so a
developer's ``~/.gitconfig`` (or a hook's ``GIT_DIR``) changes nothing.
"""

import base64
import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import unquote, urlsplit

BRANCH = "main"
_GIT_TIMEOUT_SECONDS = 30
_AUTHOR = {
    "GIT_AUTHOR_NAME": "iacp tests",
    "GIT_AUTHOR_EMAIL": "tests@iacp.invalid",
    "GIT_COMMITTER_NAME": "iacp tests",
    "GIT_COMMITTER_EMAIL": "tests@iacp.invalid",
}


def git_environment(**extra: str) -> dict[str, str]:
    """This process's environment for git: no ``GIT_*`` of its own, no system or global
    configuration, no prompt; the tests' author; plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        **_AUTHOR,
        **extra,
    )
    return env


def git(*args: str, cwd: Path) -> str:
    """Run ``git args`` in ``cwd``; its stdout, stripped. Fails the caller on an error."""
    completed = subprocess.run(  # noqa: S603 -- a test's own git command
        ["git", *args],  # noqa: S607 -- git from PATH, as the runner finds it
        cwd=cwd,
        env=git_environment(),
        capture_output=True,
        text=True,
        timeout=_GIT_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout.strip()


def make_repository(
    tmp_path: Path,
    files_by_commit: Sequence[Mapping[str, str | None]],
    name: str = "repository",
) -> tuple[Path, list[str]]:
    """A bare repository ``tmp_path/<name>.git`` whose branch ``main`` has one commit per
    element of ``files_by_commit``, in order. Each element maps paths to their new text
    (``None`` deletes the file); files not named keep their content from the commit before.
    Returns the bare repository and the commits' SHAs, oldest first. The commits are pushed
    from a work clone, ``tmp_path/<name>-work``, which can make more (``add_commit``)."""
    bare = tmp_path / f"{name}.git"
    work = tmp_path / f"{name}-work"
    git("init", "--quiet", "--bare", f"--initial-branch={BRANCH}", str(bare), cwd=tmp_path)
    git("init", "--quiet", f"--initial-branch={BRANCH}", str(work), cwd=tmp_path)
    git("remote", "add", "origin", str(bare), cwd=work)
    shas = [add_commit(work, files) for files in files_by_commit]
    return bare, shas


def add_commit(work: Path, files: Mapping[str, str | None], message: str = "") -> str:
    """Commit ``files`` (``None`` deletes) in the work clone ``work`` and push it to its bare
    repository's ``main``; the commit's SHA."""
    for path, text in files.items():
        target = work / path
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    git("add", "--all", cwd=work)
    git(
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        message or f"Change {', '.join(files)}",
        cwd=work,
    )
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{BRANCH}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def file_url(bare: Path) -> str:
    """The ``file:///...`` clone URL of a local repository."""
    return bare.resolve().as_uri()


def basic_token_header(token: str) -> str:
    """The ``Authorization`` value GitHub takes a token in (and the runner sends)."""
    return "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()


class GitHttpServer:
    """The bare repositories under ``root``, served read-only over git's smart HTTP protocol
    on 127.0.0.1 by ``git http-backend``. With ``token``, a request without
    ``Authorization: Basic base64("x-access-token:<token>")`` gets 401 and
    ``WWW-Authenticate: Basic``. With ``protocol_v2=False`` the client's ``Git-Protocol``
    header is ignored: the server speaks protocol v0, which (as many hosts do) refuses to
    serve a commit by its SHA unless a ref points at it.

    Use as a context manager; ``url(bare)`` is a repository's clone URL; ``refused`` counts
    the requests refused for their credentials."""

    def __init__(self, root: Path, token: str | None = None, *, protocol_v2: bool = True):
        self.root = root.resolve()
        self.token = token
        self.protocol_v2 = protocol_v2
        self.refused = 0
        self._backend = _http_backend()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, bare: Path) -> str:
        """The clone URL of a bare repository under ``root``."""
        return f"{self.base_url}/{bare.resolve().relative_to(self.root).as_posix()}"

    def authorized(self, header: str | None) -> bool:
        return self.token is None or header == basic_token_header(self.token)

    def run_backend(self, request: "_Request") -> tuple[int, list[tuple[str, str]], bytes]:
        """Run http-backend as a CGI script for one request: status, headers, body."""
        env = git_environment(
            GIT_PROJECT_ROOT=str(self.root),
            GIT_HTTP_EXPORT_ALL="1",
            REQUEST_METHOD=request.method,
            PATH_INFO=request.path,
            QUERY_STRING=request.query,
            CONTENT_TYPE=request.content_type,
            CONTENT_LENGTH=str(len(request.body)),
            REMOTE_ADDR="127.0.0.1",
        )
        if request.content_encoding:  # git gzips large request bodies; http-backend unzips
            env["HTTP_CONTENT_ENCODING"] = request.content_encoding
        if self.protocol_v2 and request.git_protocol:
            env["GIT_PROTOCOL"] = request.git_protocol
        completed = subprocess.run(  # noqa: S603 -- git's own CGI program
            [self._backend],
            input=request.body,
            env=env,
            capture_output=True,
            timeout=_GIT_TIMEOUT_SECONDS,
            check=False,
        )
        return _parse_cgi(completed.stdout)


class _Request:
    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes):
        parts = urlsplit(handler.path)
        self.method = handler.command
        self.path = unquote(parts.path)
        self.query = parts.query
        self.content_type = handler.headers.get("Content-Type", "")
        self.content_encoding = handler.headers.get("Content-Encoding", "")
        self.git_protocol = handler.headers.get("Git-Protocol", "")
        self.body = body


def _handler_for(server: GitHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            body = _read_body(self)
            if not server.authorized(self.headers.get("Authorization")):
                server.refused += 1
                self.send_response(HTTPStatus.UNAUTHORIZED)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, headers, reply = server.run_backend(_Request(self, body))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: pytest shows a failing test's git output instead

    return Handler


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()  # the CRLF after each chunk
        handler.rfile.readline()  # the CRLF after the last, empty chunk
        return b"".join(chunks)
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _parse_cgi(output: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """A CGI response: header lines, an empty line, the body. ``Status:`` sets the status."""
    ends = [(output.find(s), s) for s in (b"\r\n\r\n", b"\n\n") if s in output]
    end, separator = min(ends) if ends else (len(output), b"")
    head, body = output[:end], output[end + len(separator) :]
    status, headers = 200, []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            headers.append((name.strip(), value.strip()))
    return status, headers, body


def _http_backend() -> str:
    exec_path = subprocess.run(
        ["git", "--exec-path"],  # noqa: S607 -- git from PATH
        capture_output=True,
        text=True,
        check=True,
        env=git_environment(),
    ).stdout.strip()
    backend = Path(exec_path) / "git-http-backend"
    if not backend.is_file():
        raise RuntimeError(f"git-http-backend is not at {backend}")
    return str(backend)
