"""moto's backends saved once and restored into each test's fresh ``mock_aws``.

Creating the stack's tables, bucket, queues, secret, event buses, cluster and state machines
through the API costs a quarter of a second, in every one of a thousand tests; copying the
backends as they stood after the first creation costs a millisecond. A test gets its own copy,
so what it writes is gone when the next one starts, as with a new ``mock_aws``.
"""

import copyreg
import pickle
import threading
from dataclasses import dataclass

from moto.core.base_backend import BackendDict, BaseBackend


def _new_lock(lock: object) -> tuple[type, tuple[()]]:
    """A copied backend gets locks of its own (SQS's queues hold a condition); what a lock
    holds is not part of what was saved: nothing holds one between tests."""
    return type(lock), ()


for _lock_type in (type(threading.Lock()), type(threading.RLock()), threading.Condition):
    copyreg.pickle(_lock_type, _new_lock)


@dataclass(frozen=True)
class _SavedBackend:
    backends: BackendDict[BaseBackend]
    account_id: str
    region: str
    state: bytes  # pickled: a reset of S3 closes every object moto made, copies too


class BackendSnapshot:
    """Every backend moto holds at the moment it is taken (call inside ``mock_aws``)."""

    def __init__(self) -> None:
        self._saved = [
            _SavedBackend(backends, account_id, region, pickle.dumps(backend))
            for backends in BackendDict._instances  # type: ignore[misc]
            for account_id, region, backend in backends.iter_backends()
        ]

    def restore(self) -> None:
        """Put a copy of each saved backend in place (call inside a fresh ``mock_aws``, whose
        start forgot the backends of the test before)."""
        for saved in self._saved:
            # Indexing by account registers the service as in use, so mock_aws resets it.
            account = saved.backends[saved.account_id]
            dict.__setitem__(account, saved.region, pickle.loads(saved.state))  # noqa: S301
