"""Signed URLs for the clients that call a URL the API handed them without a token: the
terraform CLI reads a plan's or an apply's log through its ``log-read-url`` (go-tfe sends no
``Authorization`` there, and replaces the whole query string with ``?limit=&offset=``), so the
signature and its expiry live in the URL's path.

A signature is an HMAC-SHA256 of what the URL names and its expiry, keyed with a key derived
from the platform secret for this purpose alone; it is checked in constant time, then the
expiry. A bad or tampered URL is a 404 that says nothing of why; a genuine one past its expiry
is a 403.
"""

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta

from iacp.crypto import derive_key
from iacp.errors import Forbidden, NotFound
from iacp.secrets import platform_secret
from iacp.timestamps import utcnow

PURPOSE = "tfe-signed-urls"
# A log URL is asked for when its phase starts, and read until it ends: a phase lasts at
# most RunnerPhaseTimeoutSeconds (an hour) after its run-task stages.
LIFETIME = timedelta(hours=4)


def signing_key(secret_arn: str) -> bytes:
    return derive_key(platform_secret(secret_arn), PURPOSE)


class UrlSigner:
    def __init__(
        self,
        key: Callable[[], bytes],
        clock: Callable[[], datetime] = utcnow,
        lifetime: timedelta = LIFETIME,
    ):
        self._key = key  # called only when a URL is signed or checked
        self._clock = clock
        self._lifetime = lifetime

    def sign(self, subject: str) -> str:
        """``<expiry>/<signature>``, the path segments that vouch for ``subject``."""
        expires = str(int((self._clock() + self._lifetime).timestamp()))
        return f"{expires}/{self._signature(subject, expires)}"

    def verify(self, subject: str, expires: str, signature: str) -> None:
        expected = self._signature(subject, expires)
        if not (expires.isdigit() and hmac.compare_digest(expected, signature)):
            raise NotFound("No such URL.")
        if int(expires) <= self._clock().timestamp():
            raise Forbidden("This URL has expired: ask for the resource again for a new one.")

    def _signature(self, subject: str, expires: str) -> str:
        message = f"{subject}\n{expires}".encode()
        digest = hmac.new(self._key(), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
