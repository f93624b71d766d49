"""Execution endings, which moto never announces.

In AWS, EventBridge receives "Step Functions Execution Status Change" when an execution ends,
and the platform's reconcile rule acts on it (design §7). moto emits no such event. Its
interpreter does call one method when an execution ends; ``local.moto_fidelity`` hooks it to
``notify``, and local mode registers a callback here that turns the ending into the event.

Callbacks run on the execution's own thread, after moto has recorded the final status (a
``DescribeExecution`` from the callback sees it). One that raises is logged and does not
disturb the others or the interpreter.
"""

import logging
import threading
from collections.abc import Callable

ExecutionEndCallback = Callable[[str, str], None]
"""Called with ``(execution_arn, status)``: SUCCEEDED, FAILED, ABORTED or TIMED_OUT."""

_callbacks: list[ExecutionEndCallback] = []
_lock = threading.Lock()
LOG = logging.getLogger(__name__)


def on_execution_end(callback: ExecutionEndCallback) -> Callable[[], None]:
    """Call ``callback`` once for every execution that ends; returns a function removing it."""
    with _lock:
        _callbacks.append(callback)

    def remove() -> None:
        with _lock:
            if callback in _callbacks:
                _callbacks.remove(callback)

    return remove


def notify(execution_arn: str, status: str) -> None:
    """Tell every registered callback that an execution ended (``local.moto_fidelity``)."""
    with _lock:
        callbacks = list(_callbacks)
    for callback in callbacks:
        try:
            callback(execution_arn, status)
        except Exception:
            LOG.exception("execution-end callback failed for %s (%s)", execution_arn, status)
