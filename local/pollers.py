"""What the local event sources (DynamoDB streams, SQS queues) share: the functions' handlers,
the sources read from the template, and a background thread that calls ``poll()`` every
``period`` seconds until stopped."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from local.background import BackgroundLoop
from local.functions import Handler

logger = logging.getLogger(__name__)
Source = TypeVar("Source")


class Poller(BackgroundLoop, Generic[Source]):
    name = "local-poller"

    def __init__(
        self, handlers: Mapping[str, Handler], sources: Sequence[Source], period: float = 0.5
    ):
        super().__init__()
        self.sources = list(sources)
        self._handlers = handlers
        self._period = period
        self._client: Any = None  # the subclass's boto3 client, made on the first poll

    def poll(self) -> int:
        """One round; how many records or messages were handed to a function."""
        raise NotImplementedError

    def _has_work(self) -> bool:
        return bool(self.sources)

    def _run(self) -> None:
        while not self._stopping.wait(self._period):
            try:
                self.poll()
            except Exception:
                logger.exception("%s: a poll failed", self.name)
