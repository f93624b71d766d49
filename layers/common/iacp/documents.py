"""A stored document as the API hands it out: a store reads it, ``iacp.http.document_reply``
answers with it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class StoredDocument:
    """A stored JSON document as a reply: its bytes, or, when it is too large for a Lambda
    reply, a short-lived URL to download it from."""

    body: bytes | None = None
    url: str = ""
