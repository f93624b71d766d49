"""What the local event sources (DynamoDB streams, SQS queues) share: the functions' handlers,
the sources read from the template, and a background thread that polls them until stopped.

A poller polls soon after something may have arrived for it (its ``arrivals``: the moto
server counts the requests that write to a table, or send to a queue or the event bus), at
most every ``least`` seconds, and at least every ``period`` seconds for what arrives with no
request (a delayed message, a retry after its visibility timeout). Polling twice a second
whatever happened cost an idle platform a tenth of a core (docs/performance.md).
"""

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from local.background import BackgroundLoop
from local.functions import Handler

logger = logging.getLogger(__name__)
Source = TypeVar("Source")


class Arrivals:
    """How many requests so far may have given a poller work, and a wait for the next one."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.count = 0

    def arrived(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_after(self, seen: int, timeout: float) -> int:
        """Wait for an arrival after the ``seen``-th, at most ``timeout`` seconds; the number
        of arrivals then."""
        with self._changed:
            self._changed.wait_for(lambda: self.count != seen, timeout)
            return self.count


TABLE_WRITES = Arrivals()  # for the stream poller
MESSAGES = Arrivals()  # for the queue poller: a message sent, or an event put on the bus


class Poller(BackgroundLoop, Generic[Source]):
    name = "local-poller"
    arrivals = Arrivals()  # each subclass names its own

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        sources: Sequence[Source],
        period: float = 2.0,
        least: float = 0.5,
    ):
        super().__init__()
        self.sources = list(sources)
        self._handlers = handlers
        self._period = period
        self._least = least
        self._client: Any = None  # the subclass's boto3 client, made on the first poll

    def poll(self) -> int:
        """One round; how many records or messages were handed to a function."""
        raise NotImplementedError

    def _has_work(self) -> bool:
        return bool(self.sources)

    def _run(self) -> None:
        seen = self.arrivals.count
        while not self._stopping.wait(self._least):
            seen = self.arrivals.wait_after(seen, self._period - self._least)
            if self._stopping.is_set():
                return
            try:
                self.poll()
            except Exception:
                logger.exception("%s: a poll failed", self.name)
