"""A run's variables, handed from the workflow to the runner for one phase.

The runner never holds the platform secret and never reads the workspaces table (see
docs/security.md): the workflow unseals the workspace's variables, seals them again under a
key made for this one phase, and stores the ciphertext among the run's own artifacts. The
key travels with the phase's other inputs (the task's overrides), so the object alone opens
nothing, and a copy of it under another run or phase fails to open (it is bound to its key).
"""

import base64
import os

from pydantic import ConfigDict, TypeAdapter

from iacp.variables.models import RunVariable

_NONCE_BYTES = 12
# Built, and cryptography imported, at the first phase handed over (iacp.crypto, iacp.model).
_VARIABLES = TypeAdapter(list[RunVariable], config=ConfigDict(defer_build=True))


def variables_key(run_id: str, phase: str) -> str:
    """Where the phase's sealed variables are, among the run's artifacts."""
    return f"runs/{run_id}/{phase}/variables.sealed"


def seal_variables(variables: list[RunVariable], bound_to: str) -> tuple[str, bytes]:
    """A fresh key (base64) and the variables sealed under it, bound to ``bound_to`` (the
    object's key)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_NONCE_BYTES)
    plaintext = _VARIABLES.dump_json(variables)
    sealed = nonce + AESGCM(key).encrypt(nonce, plaintext, bound_to.encode())
    return base64.b64encode(key).decode(), sealed


def open_variables(sealed: bytes, key: str, bound_to: str) -> list[RunVariable]:
    """The variables :func:`seal_variables` sealed; raises ``cryptography``'s InvalidTag when
    the key or the binding is not theirs."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    plaintext = AESGCM(base64.b64decode(key)).decrypt(nonce, ciphertext, bound_to.encode())
    return _VARIABLES.validate_json(plaintext)
