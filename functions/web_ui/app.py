"""The web UI function: the browser app (web/, built into ./static by ``make web``) served at
the API's root, so that the app and /api/v1 share one origin: the API sends no CORS headers,
and a browser lets no other origin's page read it. Every reply carries a strict
Content-Security-Policy (docs/web-ui.md)."""

import json
import mimetypes
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

STATIC = Path(__file__).parent / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Vite names the files under assets/ by their content's hash: they never change. The page
# itself is checked each time, so a new deployment is seen at the next load.
IMMUTABLE = "public, max-age=31536000, immutable"
TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")


def _bundle(root: Path) -> dict[str, tuple[str, str]]:
    """The built app's files by their URL path: (content type, text). Only text: API
    Gateway's REST API passes a Lambda's body as text unless binary media types are set."""
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith(TEXT_TYPES):
            charset = "" if content_type == "image/svg+xml" else "; charset=utf-8"
            name = path.relative_to(root).as_posix()
            files[name] = (content_type + charset, path.read_text(encoding="utf-8"))
    return files


BUNDLE = _bundle(STATIC)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    name = (event.get("pathParameters") or {}).get("proxy") or "index.html"
    requested = str((event.get("requestContext") or {}).get("path") or "/")
    if name == "index.html" and not requested.endswith("/"):
        # The stage's root without its slash (".../live"): the app's URLs are relative to
        # the page, so it must be loaded as ".../live/".
        return {"statusCode": 301, "headers": {"Location": requested + "/"}, "body": ""}
    found = BUNDLE.get(name)
    if found is None and name == "index.html":
        return _error(503, "The web UI is not built here: run `make web` (docs/web-ui.md).")
    if found is None:
        return _error(404, "No such page. The web UI is at / and the API under /api/v1.")
    content_type, body = found
    cache = IMMUTABLE if name.startswith("assets/") else "no-cache"
    headers = {**SECURITY_HEADERS, "Content-Type": content_type, "Cache-Control": cache}
    return {"statusCode": 200, "headers": headers, "body": body}


def _error(status: int, detail: str) -> dict[str, Any]:
    title = "Not Found" if status == 404 else "Service Unavailable"
    body = json.dumps({"errors": [{"status": str(status), "title": title, "detail": detail}]})
    headers = {**SECURITY_HEADERS, "Content-Type": "application/json", "Cache-Control": "no-cache"}
    return {"statusCode": status, "headers": headers, "body": body}
