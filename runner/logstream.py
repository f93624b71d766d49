"""Terraform's output, streamed to the run's log in S3 as numbered chunks.

Chunk ``{prefix}/{offset:012d}`` holds the log's bytes from ``offset`` on; a reader lists the
prefix and concatenates the chunks in key order. Every line is decoded (undecodable bytes
become U+FFFD) and masked before it is buffered, so no chunk ever holds a sensitive value that
appeared whole within one line. A value split across lines (a multi-line secret, or a line
longer than the reader's limit cut at the wrong place) is not recognised: a known limit.
"""

import re
import threading
from collections.abc import Callable, Iterable

from iacp.observability import logger

MASK = "***"
FLUSH_SECONDS = 1.0
MAX_CHUNK_BYTES = 1 << 20  # a burst of output is flushed before it grows past this


class Masker:
    """Replaces every known sensitive value with ``***``; longer values first, so a value that
    contains another is masked whole."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        self._values.update(value for value in values if value)
        if self._values:
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(value) for value in ordered))

    def mask(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(MASK, text)


class LogStreamer:
    """Buffers lines and flushes them as a chunk every ``flush_seconds`` (from a background
    thread, so output that stops mid-run, e.g. during a long ``local-exec``, still shows)."""

    def __init__(
        self,
        put: Callable[[str, bytes], None],
        prefix: str,
        masker: Masker,
        flush_seconds: float = FLUSH_SECONDS,
    ):
        self._put = put
        self._prefix = prefix
        self.masker = masker
        self._flush_seconds = flush_seconds
        self._pending = bytearray()
        self._offset = 0  # of the first pending byte; only changed by a flush
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one upload at a time keeps chunks in order
        self._stopped = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="log-flusher", daemon=True)
        self._ticker.start()

    def write(self, line: bytes | str) -> str:
        """Append one line of output and return it as logged: decoded, masked, no newline."""
        text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
        text = self.masker.mask(text.rstrip("\r\n"))
        with self._pending_lock:
            self._pending += (text + "\n").encode()
            full = len(self._pending) >= MAX_CHUNK_BYTES
        if full:
            self.flush()
        return text

    def flush(self) -> None:
        with self._flush_lock:
            with self._pending_lock:
                if not self._pending:
                    return
                chunk = bytes(self._pending)
                self._pending.clear()
            try:
                self._put(f"{self._prefix}/{self._offset:012d}", chunk)
            except Exception:
                # Put it back for the next flush: a lost chunk would leave a gap in the log.
                with self._pending_lock:
                    self._pending[:0] = chunk
                raise
            self._offset += len(chunk)

    def complete(self) -> None:
        """Flush what is left and write the ``complete`` marker; the log is then final."""
        self._stopped.set()
        self._ticker.join()
        self.flush()
        self._put(f"{self._prefix}/complete", b"")

    def _tick(self) -> None:
        while not self._stopped.wait(self._flush_seconds):
            try:
                self.flush()
            except Exception as error:  # S3 hiccup: the lines stay buffered for the next tick
                logger.warning(
                    "log flush failed, will retry", extra={"error": type(error).__name__}
                )
