"""Signed JSON POSTs to services outside the platform (run-task services, notification
receivers): one honest attempt each, no retries and no redirects, and a failure described in
words a platform engineer can act on. Retrying is the caller's business (the workflow for run
tasks, SQS for notifications)."""

import hashlib
import hmac
from dataclasses import dataclass

import urllib3

from iacp import PRODUCT, __version__

USER_AGENT = f"{PRODUCT}/{__version__}"
_http = urllib3.PoolManager(retries=False)


def sign(body: bytes, key: str | None) -> str:
    """Lower-case hex HMAC-SHA512 of the exact bytes sent, as HCP Terraform signs run-task
    requests and notifications; empty without a key."""
    if not key:
        return ""
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


@dataclass(frozen=True)
class PostOutcome:
    accepted: bool
    problem: str = ""  # why not
    status_code: int | None = None  # the receiver's answer, if it answered


def post_json(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    accept_any_2xx: bool = True,
    receiver: str = "the service",
) -> PostOutcome:
    """POST ``body`` (JSON bytes); accepted on a 2xx (or only a 200)."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT} | headers
    try:
        reply = _http.request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(total=timeout),
            redirect=False,
            preload_content=True,
        )
    except urllib3.exceptions.NewConnectionError as error:
        # Before TimeoutError: urllib3 makes a refused connection a ConnectTimeoutError.
        return PostOutcome(False, f"{receiver} could not be reached ({_reason(error)})")
    except urllib3.exceptions.TimeoutError:
        return PostOutcome(False, f"{receiver} did not answer within {timeout:g} s")
    except urllib3.exceptions.HTTPError as error:
        return PostOutcome(False, f"{receiver} could not be reached ({_reason(error)})")
    ok = 200 <= reply.status < 300 if accept_any_2xx else reply.status == 200
    if ok:
        return PostOutcome(True, status_code=reply.status)
    return PostOutcome(False, f"{receiver} answered HTTP {reply.status}", reply.status)


def _reason(error: Exception) -> str:
    reason = getattr(error, "reason", None) or error
    return type(reason).__name__ if not str(reason) else str(reason).split(": ")[-1][:200]
