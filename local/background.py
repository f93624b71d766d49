"""A daemon thread that runs a loop until stopped: what the local event-source pollers and the
scheduler share."""

import threading
from typing import Self


class BackgroundLoop:
    name = "local-background"

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _has_work(self) -> bool:
        """Whether there is anything to loop over: without, ``start`` starts no thread."""
        return True

    def _run(self) -> None:
        """The loop; it ends once ``self._stopping`` is set."""
        raise NotImplementedError

    def start(self) -> Self:
        if self._thread is None and self._has_work():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the loop, waiting up to ``timeout`` for a round under way to end."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
