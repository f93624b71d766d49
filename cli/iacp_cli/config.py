"""Where the platform is and which token to use.

Each setting comes from the first of: the ``--url``/``--token`` flags, the ``IACP_URL``/
``IACP_TOKEN`` environment variables, and ``.iacp/local.json`` (``{"url": ..., "token": ...}``,
written by the local server) in the current directory or the nearest parent that has one.
The file's token is used only with the file's URL, so a local token is never sent to another
platform.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from iacp_cli.errors import CliError

URL_VARIABLE = "IACP_URL"
TOKEN_VARIABLE = "IACP_TOKEN"  # noqa: S105 - the variable's name, not a token
LOCAL_FILE = Path(".iacp") / "local.json"
API_PATH = "/api/v1"


@dataclass(frozen=True)
class Settings:
    url: str  # the platform's base URL, without a trailing slash; the API is under /api/v1
    token: str
    url_source: str  # where each came from, for messages: "--url", "IACP_URL" or the file
    token_source: str

    @property
    def api(self) -> str:
        return self.url + API_PATH


def find_local_file(start: Path) -> Path | None:
    """``.iacp/local.json`` in ``start`` or the nearest parent that has one."""
    for directory in (start, *start.parents):
        candidate = directory / LOCAL_FILE
        if candidate.is_file():
            return candidate
    return None


def normalize_url(url: str, source: str) -> str:
    """The base URL without a trailing slash; ``.../api/v1`` is accepted and trimmed."""
    url = url.strip().rstrip("/")
    if url.endswith(API_PATH):
        url = url[: -len(API_PATH)]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(f"the platform URL from {source} is not an http(s) URL: {url!r}")
    return url


def resolve(
    url_flag: str | None, token_flag: str | None, environ: Mapping[str, str], cwd: Path
) -> Settings:
    """The settings, from flags, then the environment, then ``.iacp/local.json``."""
    file_path = find_local_file(cwd)
    file_url, file_token = _read_local_file(file_path) if file_path else (None, None)

    url_source: str
    if url_flag:
        url, url_source = url_flag, "--url"
    elif environ.get(URL_VARIABLE):
        url, url_source = environ[URL_VARIABLE], URL_VARIABLE
    elif file_path and file_url:
        url, url_source = file_url, str(file_path)
    else:
        raise CliError(
            "no platform URL: pass --url, set IACP_URL, or start the local platform "
            f"(`make local` writes .iacp/local.json); {_looked_in(cwd, file_path)}"
        )
    url = normalize_url(url, url_source)

    token_source: str
    if token_flag:
        token, token_source = token_flag, "--token"
    elif environ.get(TOKEN_VARIABLE):
        token, token_source = environ[TOKEN_VARIABLE], TOKEN_VARIABLE
    elif file_path and file_token and file_url and normalize_url(file_url, str(file_path)) == url:
        token, token_source = file_token, str(file_path)
    else:
        where = f"; {_looked_in(cwd, file_path)}"
        if file_path and file_token:
            where = f"; {file_path} holds a token for another URL ({file_url})"
        raise CliError(f"no API token: pass --token or set IACP_TOKEN{where}")
    return Settings(url=url, token=token.strip(), url_source=url_source, token_source=token_source)


def _read_local_file(path: Path) -> tuple[str | None, str | None]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read {path}: {error}") from None
    if not isinstance(document, dict):
        raise CliError(f"{path} is not a JSON object with url and token")
    url, token = document.get("url"), document.get("token")
    return (url if isinstance(url, str) else None, token if isinstance(token, str) else None)


def _looked_in(cwd: Path, file_path: Path | None) -> str:
    if file_path is None:
        return f"no {LOCAL_FILE} in {cwd} or its parents"
    return f"{file_path} has none"
