"""Identifiers with HCP Terraform's prefixes (design §3): ``ws-``, ``run-``, ``at-`` ..."""

import hashlib
import secrets
import string

ALPHABET = string.ascii_letters + string.digits
_SUFFIX_LENGTH = 16  # 62**16 ≈ 4.8e28: collisions are not a practical concern


def new_id(prefix: str) -> str:
    suffix = "".join(secrets.choice(ALPHABET) for _ in range(_SUFFIX_LENGTH))
    return f"{prefix}-{suffix}"


def derived_id(prefix: str, *parts: str) -> str:
    """An id that is a function of what it identifies, in the same alphabet as ``new_id``:
    work that may be retried or delivered twice finds the object its first attempt made
    (a conditional put then refuses the second) instead of making another."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    number = int.from_bytes(digest, "big")
    suffix = ""
    for _ in range(_SUFFIX_LENGTH):
        number, index = divmod(number, len(ALPHABET))
        suffix += ALPHABET[index]
    return f"{prefix}-{suffix}"
