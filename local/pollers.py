"""What the local event sources (DynamoDB streams, SQS queues) share: the functions' handlers,
the sources read from the template, and a background thread that calls ``poll()`` every
``period`` seconds until stopped."""

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from local.functions import Handler

logger = logging.getLogger(__name__)
Source = TypeVar("Source")


class Poller(Generic[Source]):
    name = "local-poller"

    def __init__(
        self, handlers: Mapping[str, Handler], sources: Sequence[Source], period: float = 0.5
    ):
        self.sources = list(sources)
        self._handlers = handlers
        self._period = period
        self._client: Any = None  # the subclass's boto3 client, made on the first poll
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> int:
        """One round; how many records or messages were handed to a function."""
        raise NotImplementedError

    def start(self) -> "Poller[Source]":
        if self._thread is None and self.sources:
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
