"""Signed JSON POSTs to services outside the platform (run-task services, notification
receivers), and JSON calls to repository hosts' APIs (commit statuses, pull-request
comments): one honest attempt each, no retries and no redirects, and a failure described in
words a platform engineer can act on. Retrying is the caller's business (the workflow for run
tasks, SQS for notifications).

The URLs are chosen by workspace admins, not by the platform's operators, so by default a
POST goes only to a host whose every address is public: never to loopback (where Lambda's
runtime API listens), link-local (instance metadata), or private networks. A stack that
must reach services on its own network allows them (``OutboundPrivateAddresses``). They are
``https://`` unless the stack allows plain HTTP (``AllowPlainHttpUrls``): a webhook carries
its signature, and a run task's an access token to the run's plan.

Of a POST's reply only the status counts, and at most ``MAX_REPLY_BYTES`` of its body is
read; a JSON call (``call_json``) reads and parses up to ``MAX_JSON_REPLY_BYTES``.
"""

import hashlib
import hmac
import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.util import parse_url

from iacp import PRODUCT, __version__
from iacp.errors import InvalidInput

USER_AGENT = f"{PRODUCT}/{__version__}"
MAX_REPLY_BYTES = 64 * 1024
# A page of a pull request's comments: up to 100 of GitHub's 65,536-character bodies.
MAX_JSON_REPLY_BYTES = 16 * 1024 * 1024
_http = urllib3.PoolManager(retries=False)

# Never public, whatever Python's ``is_global`` says of an address in them: ranges that
# embed an IPv4 address (which may be a private one, reached through a translator), and the
# IETF's protocol assignments (``is_global`` makes exceptions there).
_NON_PUBLIC_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "192.0.0.0/24",  # IETF protocol assignments
        "::/96",  # IPv4-compatible (deprecated)
        "::ffff:0:0/96",  # IPv4-mapped
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local use
        "2001::/32",  # Teredo
        "2002::/16",  # 6to4
    )
)


def require_https(url: str, *, plain_http_allowed: bool) -> None:
    """Refuse (422, on ``/url``) an ``http://`` URL if the stack does not allow plain HTTP."""
    if urlsplit(url).scheme.lower() != "https" and not plain_http_allowed:
        raise InvalidInput(
            "url: must be an https:// URL: this stack does not send to plain http:// "
            "(AllowPlainHttpUrls).",
            pointer="/url",
        )


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


@dataclass(frozen=True)
class Outbound:
    """Where the platform may send; ``private_addresses``: to hosts on private networks too."""

    private_addresses: bool = False

    def post_json(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        *,
        timeout: float,
        accept_any_2xx: bool = True,
        receiver: str = "the service",
    ) -> PostOutcome:
        """POST ``body`` (JSON bytes); accepted on a 2xx (or only a 200)."""
        refused = self.refusal(url, receiver)
        if refused:
            return PostOutcome(False, refused)
        return _post_json(url, body, headers, timeout, accept_any_2xx, receiver)

    def refusal(self, url: str, receiver: str) -> str:
        """Why the platform may not send to ``url`` ('' when it may)."""
        if self.private_addresses:
            return ""
        host, private = _private_address(url)
        if not private:
            return ""
        return (
            f"{receiver}'s host {host} has the private address {private}; this "
            "platform sends only to public addresses (OutboundPrivateAddresses)"
        )


@dataclass(frozen=True)
class JsonReply:
    """A JSON call's outcome: ``status_code`` None when the host did not answer; ``body`` the
    parsed reply (None when empty or not JSON)."""

    ok: bool
    problem: str = ""
    status_code: int | None = None
    body: Any = None


def call_json(
    outbound: Outbound,
    method: str,
    url: str,
    headers: dict[str, str],
    *,
    body: Any = None,
    timeout: float,
    receiver: str = "the service",
) -> JsonReply:
    """One ``method`` request with ``body`` as JSON (if not None), guarded as ``post_json``
    is; ``ok`` on a 2xx. The reply's JSON is parsed whatever its status: hosts explain a
    refusal in it."""
    refused = outbound.refusal(url, receiver)
    if refused:
        return JsonReply(False, refused)
    sent = {"Accept": "application/json", "User-Agent": USER_AGENT} | headers
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    reply = _send(method, url, data, sent, timeout, receiver)
    if isinstance(reply, str):
        return JsonReply(False, reply)
    try:
        raw = reply.read(MAX_JSON_REPLY_BYTES + 1)
    except urllib3.exceptions.HTTPError as error:
        reply.close()
        return JsonReply(False, f"{receiver}'s reply broke off ({_reason(error)})", reply.status)
    finally:
        reply.release_conn()
    if len(raw) > MAX_JSON_REPLY_BYTES:
        return JsonReply(False, f"{receiver}'s reply was over {MAX_JSON_REPLY_BYTES} bytes")
    try:
        parsed = json.loads(raw) if raw.strip() else None
    except ValueError:
        parsed = None
    ok = 200 <= reply.status < 300
    problem = "" if ok else f"{receiver} answered HTTP {reply.status}"
    return JsonReply(ok, problem, reply.status, parsed)


def _send(
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    timeout: float,
    receiver: str,
) -> urllib3.BaseHTTPResponse | str:
    """One request, never redirected, its reply unread; or why it got no reply."""
    try:
        return _http.request(
            method,
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(total=timeout),
            redirect=False,
            preload_content=False,
        )
    except urllib3.exceptions.NewConnectionError as error:
        # Before TimeoutError: urllib3 makes a refused connection a ConnectTimeoutError.
        return f"{receiver} could not be reached ({_reason(error)})"
    except urllib3.exceptions.TimeoutError:
        return f"{receiver} did not answer within {timeout:g} s"
    except urllib3.exceptions.HTTPError as error:
        return f"{receiver} could not be reached ({_reason(error)})"


def _private_address(url: str) -> tuple[str, str]:
    """``url``'s host and the first of its addresses that is not public ('' when all are,
    or when the name does not resolve: the POST then fails as unreachable).

    The name is resolved again when the POST connects, so a name whose answer changes in
    between (DNS rebinding) gets through: a known limit. Outside a VPC, as the functions
    run, a private address leads nowhere of the stack's anyway."""
    parsed = parse_url(url)
    host = parsed.host or ""
    try:
        found = socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return host, ""
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not is_public(ip):
            return host, str(ip)
    return host, ""


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether the platform may send to ``ip`` without ``OutboundPrivateAddresses=allow``."""
    return ip.is_global and not any(ip in network for network in _NON_PUBLIC_NETWORKS)


def _post_json(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    accept_any_2xx: bool,
    receiver: str,
) -> PostOutcome:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT} | headers
    reply = _send("POST", url, body, headers, timeout, receiver)
    if isinstance(reply, str):
        return PostOutcome(False, reply)
    _read_up_to_limit(reply)
    ok = 200 <= reply.status < 300 if accept_any_2xx else reply.status == 200
    if ok:
        return PostOutcome(True, status_code=reply.status)
    return PostOutcome(False, f"{receiver} answered HTTP {reply.status}", reply.status)


def _read_up_to_limit(reply: urllib3.BaseHTTPResponse) -> None:
    """Read the reply's body, as is (never decompressed), up to ``MAX_REPLY_BYTES``: nothing
    uses it, but a connection is reused only once its reply is read to the end. A longer
    reply, or one that breaks off, is read no further and its connection closed."""
    try:
        whole = len(reply.read(MAX_REPLY_BYTES + 1, decode_content=False)) <= MAX_REPLY_BYTES
    except urllib3.exceptions.HTTPError:
        whole = False
    if not whole:
        reply.close()
    reply.release_conn()


def _reason(error: Exception) -> str:
    reason = getattr(error, "reason", None) or error
    return type(reason).__name__ if not str(reason) else str(reason).split(": ")[-1][:200]
