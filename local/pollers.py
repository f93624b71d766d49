"""A background thread that calls ``poll()`` every ``period`` seconds until stopped: what the
local event sources (DynamoDB streams, SQS queues) share."""

import logging
import threading

logger = logging.getLogger(__name__)


class Poller:
    name = "local-poller"

    def __init__(self, period: float):
        self._period = period
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> int:
        """One round; how many records or messages were handed to a function."""
        raise NotImplementedError

    def active(self) -> bool:
        """Whether there is anything to poll."""
        return True

    def start(self) -> "Poller":
        if self._thread is None and self.active():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.wait(self._period):
            try:
                self.poll()
            except Exception:
                logger.exception("%s: a poll failed", self.name)
