"""Identifiers with HCP Terraform's prefixes (design §3): ``ws-``, ``run-``, ``at-`` ..."""

import secrets
import string

ALPHABET = string.ascii_letters + string.digits
_SUFFIX_LENGTH = 16  # 62**16 ≈ 4.8e28: collisions are not a practical concern


def new_id(prefix: str) -> str:
    suffix = "".join(secrets.choice(ALPHABET) for _ in range(_SUFFIX_LENGTH))
    return f"{prefix}-{suffix}"
