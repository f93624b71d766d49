"""Encryption at rest for secrets the platform must read back (sensitive variables, and
later HMAC keys and run-task tokens).

Keys are derived from the platform secret with HKDF, one key per purpose, so a key used to
seal variables can never verify a JWT. Each value is sealed with AES-256-GCM and bound to its
record through the associated data: a ciphertext copied onto another record fails to open.

cryptography is imported when a key is first derived or a sealer made, not with this module:
most functions import code that can seal, and many never do (~20 ms of a cold start).
"""

import base64
import os

_NONCE_BYTES = 12


def derive_key(platform_secret: str, purpose: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"iacp/{purpose}".encode())
    return hkdf.derive(platform_secret.encode())


class Sealer:
    """Seals and opens short strings with AES-256-GCM; the output is base64 text."""

    def __init__(self, key: bytes):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, bound_to: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = self._aead.encrypt(nonce, plaintext.encode(), bound_to.encode())
        return base64.b64encode(nonce + ciphertext).decode()

    def open(self, sealed: str, *, bound_to: str) -> str:
        raw = base64.b64decode(sealed)
        nonce, ciphertext = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, bound_to.encode()).decode()
