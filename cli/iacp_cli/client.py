"""The user API over HTTP (``urllib``), JSON in and out; every failure is a ``CliError``."""

import json
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from http.client import HTTPException
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from iacp_cli import __version__
from iacp_cli.config import Settings
from iacp_cli.errors import CliError

TIMEOUT_SECONDS = 30.0
PAGE_LIMIT = 100
# A GET is retried on these (a gateway or throttling hiccup), after 0.5, 1 and 2 s.
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
RETRY_DELAYS = (0.5, 1.0, 2.0)

JsonObject = dict[str, Any]


def segment(value: str) -> str:
    """``value`` as one path segment."""
    return quote(value, safe="")


class Client:
    """Calls ``{url}/api/v1`` with the token. The token is sent only there: never to the
    presigned upload URL, never on to a redirect."""

    def __init__(self, settings: Settings, timeout: float = TIMEOUT_SECONDS):
        self.settings = settings
        self.timeout = timeout
        self.retry_delays: tuple[float, ...] = RETRY_DELAYS

    # --- the API ----------------------------------------------------------------------

    def get(self, path: str, query: Mapping[str, str | int] | None = None) -> Any:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body={} if body is None else body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def list_all(self, path: str, query: Mapping[str, str] | None = None) -> list[JsonObject]:
        """Every item of a list route (with ``query``), following ``next_cursor``."""
        items: list[JsonObject] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page_query: dict[str, str | int] = {**(query or {}), "limit": PAGE_LIMIT}
            if cursor:
                page_query["cursor"] = cursor
            page = self.get(path, page_query)
            items.extend(page.get("items", []))
            cursor = page.get("next_cursor")
            if not cursor or cursor in seen:
                return items
            seen.add(cursor)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        body: Any = None,
    ) -> Any:
        """The decoded JSON answer (None for an empty one), or a ``CliError``."""
        url = self.settings.api + path
        if query:
            url += "?" + urlencode({k: str(v) for k, v in query.items()})
        data = None if body is None else json.dumps(body).encode()
        delays = iter(self.retry_delays if method == "GET" else ())
        while True:
            request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
            request.add_header("Accept", "application/json")
            request.add_header("User-Agent", f"iacp-cli/{__version__}")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            # Unredirected: a redirect to another host never carries the token.
            request.add_unredirected_header("Authorization", f"Bearer {self.settings.token}")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    raw: bytes = response.read()
            except urllib.error.HTTPError as error:
                with error:
                    status, text = error.code, _read_text(error)
                delay = next(delays, None) if status in RETRIED_STATUSES else None
                if delay is None:
                    raise self._api_error(status, error.reason, text) from None
                time.sleep(delay)
                continue
            except (urllib.error.URLError, OSError, HTTPException) as error:
                reason = getattr(error, "reason", error)
                delay = next(delays, None) if _transient(reason) else None
                if delay is None:
                    raise self._unreachable(reason) from None
                time.sleep(delay)
                continue
            if not raw.strip():
                return None
            try:
                return json.loads(raw)
            except ValueError:
                raise CliError(
                    f"{method} {self.settings.api}{path}: the answer is not JSON: "
                    f"{_excerpt(raw.decode(errors='replace'))}"
                ) from None

    # --- the configuration upload ---------------------------------------------------------

    def upload(self, upload_url: str, archive: bytes) -> None:
        """PUT the archive to a presigned URL, without the API token (the URL is its own
        authorization; S3 would refuse a second one) and without a Content-Type."""
        request = urllib.request.Request(upload_url, data=archive, method="PUT")  # noqa: S310
        request.add_header("User-Agent", f"iacp-cli/{__version__}")
        try:
            with _UPLOADS.open(request, timeout=max(self.timeout, 120.0)) as response:
                response.read()
        except urllib.error.HTTPError as error:
            with error:
                text = _read_text(error)
            # S3 answers XML: <Error><Code>...</Code><Message>...</Message></Error>
            code = re.search(r"<Code>(.*?)</Code>", text)
            message = re.search(r"<Message>(.*?)</Message>", text)
            detail = ": ".join(m.group(1) for m in (code, message) if m) or _excerpt(text)
            raise CliError(
                f"the upload was refused: {error.code} {detail}", status=error.code
            ) from None
        except (urllib.error.URLError, OSError, HTTPException) as error:
            host = urlsplit(upload_url).netloc
            reason = getattr(error, "reason", error)
            raise CliError(f"could not upload to {host}: {_reason(reason)}") from None

    # --- errors ---------------------------------------------------------------------------

    def _api_error(self, status: int, reason: str, text: str) -> CliError:
        detail = _error_detail(text) or reason or "no detail"
        message = f"{status} {detail}"
        if status == 401:
            message += f" (the token came from {self.settings.token_source})"
        return CliError(message, status=status)

    def _unreachable(self, reason: object) -> CliError:
        url = self.settings.url
        if _refused(reason):
            hint = (
                "; is the local platform running? Start it with `make local`"
                if urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
                else ""
            )
            return CliError(
                f"could not reach {url} (connection refused; the URL came from "
                f"{self.settings.url_source}){hint}"
            )
        if isinstance(reason, TimeoutError):
            return CliError(f"{url} did not answer within {self.timeout:.0f} s")
        return CliError(
            f"could not reach {url}: {_reason(reason)} (the URL came from "
            f"{self.settings.url_source})"
        )


class _WithoutContentType(urllib.request.BaseHandler):
    """Sends a body without the Content-Type urllib adds to every one: as `curl -T` does.
    A presigned URL signed with S3's signature version 2 covers the Content-Type (empty),
    so any other value is refused; version 4 signs only the host, so none is fine too."""

    handler_order = 1000  # after urllib's own preparation of the request (500)

    def http_request(self, request: urllib.request.Request) -> urllib.request.Request:
        request.remove_header("Content-type")
        return request

    https_request = http_request


# The configuration upload's opener: urllib's own (proxies from the environment included).
_UPLOADS = urllib.request.build_opener(_WithoutContentType)


def _transient(reason: object) -> bool:
    """A failure a second try may not meet: a timeout, a dropped connection."""
    return isinstance(
        reason, TimeoutError | ConnectionResetError | ConnectionAbortedError | HTTPException
    )


def _refused(reason: object) -> bool:
    return isinstance(reason, ConnectionRefusedError)


def _reason(reason: object) -> str:
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve the host name ({reason.strerror})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _read_text(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(100_000).decode("utf-8", errors="replace")
    except (OSError, HTTPException):
        return ""


def _error_detail(text: str) -> str | None:
    """The details of the API's ``{"errors": [...]}``, or API Gateway's ``{"message"}``."""
    try:
        document = json.loads(text)
    except ValueError:
        return _excerpt(text) or None
    if isinstance(document, dict):
        errors = document.get("errors")
        if isinstance(errors, list) and errors:
            details = [
                str(e.get("detail") or e.get("title") or "")
                for e in errors
                if isinstance(e, dict) and (e.get("detail") or e.get("title"))
            ]
            if details:
                return "; ".join(details)
        message = document.get("message") or document.get("Message")
        if isinstance(message, str) and message:
            return message
    return _excerpt(text) or None


def _excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
