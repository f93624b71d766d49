r"""Terraform's output, streamed to the run's log in S3 as numbered chunks.

Chunk ``{prefix}{offset:012d}`` (the prefix, ``iacp.runs.phase.log_prefix``, ends in ``/``)
holds the log's bytes from ``offset`` on; a reader lists the prefix and concatenates the
chunks in key order. Every line is decoded (undecodable bytes
become U+FFFD) and masked before it is buffered, so no chunk ever holds a sensitive value in a
form the masker knows.

The masker replaces a sensitive value with ``***`` in each form Terraform, or a command it
runs, prints it in: as it is; JSON-escaped, which is also how Terraform quotes strings in a
plan (``\"`` ``\\`` ``\n`` ``\t``), with non-ASCII as ``\uXXXX`` or not, and with Go's
``\u003c`` ``\u003e`` ``\u0026`` for ``<`` ``>`` ``&``. Inside a list or map a value is just
quoted. Output is masked line by line, so a multi-line value is also masked line by line: each
of its lines, without the indentation around it (Terraform prints a multi-line string as a
``<<-EOT`` block, its lines indented), is masked like a value of its own.

The length rule (constants below) keeps masking from corrupting unrelated output: a value of
at least 8 characters is masked wherever it appears; one of 4 to 7 characters only as a whole
word, not next to a letter, digit or underscore; a shorter one (or a shorter line of a
multi-line value) never.

Limits: a value printed in another form is not recognised: escaped twice (JSON in JSON), base64
or otherwise encoded, re-formatted (Terraform shows a JSON string as ``jsonencode({...})``, its
members on lines of their own), or cut across lines (a line longer than the reader's limit
split inside the value).
"""

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator

from iacp.observability import logger

FLUSH_SECONDS = 1.0
MAX_CHUNK_BYTES = 1 << 20  # a burst of output is flushed before it grows past this

MASK = "***"
# A value this long is masked wherever it appears. A shorter one turns up by chance inside
# unrelated words: a secret "ab" masked anywhere would turn "abcdef" into "***cdef".
MASK_ANYWHERE_MIN_LENGTH = 8
# From this length, a shorter value is masked where it stands as a word of its own (the
# "pass" of "password=pass", not of "passport"). Below it, even whole words ("on", "dev",
# "1") are too common to hide without garbling the log, and too short to protect anyway.
MASK_AS_WORD_MIN_LENGTH = 4
# Go's encoding/json (Terraform's -json output, most Go tools) also escapes these, for HTML.
_GO_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


class Masker:
    """Replaces every known sensitive value, in each of its printed forms, with ``***``;
    longer forms first, so a value that contains another is masked whole."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        self._values.update(value for value in values if value)
        forms = {
            (form, whole_word)
            for value in self._values
            for piece, whole_word in _pieces(value)
            for form in _printed_forms(piece)
        }
        if forms:
            ordered = sorted(forms, key=lambda found: (-len(found[0]), found))
            self._pattern = re.compile("|".join(_pattern_for(*found) for found in ordered))

    def mask(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(MASK, text)


def _pieces(value: str) -> Iterator[tuple[str, bool]]:
    """What to look for, and whether only as a whole word: the value and, when it spans lines,
    each of its lines (the log is masked a line at a time)."""
    for piece in {value, *(line.strip() for line in value.splitlines())}:
        if len(piece) >= MASK_ANYWHERE_MIN_LENGTH:
            yield piece, False
        elif len(piece) >= MASK_AS_WORD_MIN_LENGTH:
            yield piece, True


def _printed_forms(piece: str) -> set[str]:
    json_escaped = json.dumps(piece, ensure_ascii=False)[1:-1]
    go_escaped = json_escaped.translate(_GO_JSON_ESCAPES)
    return {piece, json_escaped, json.dumps(piece)[1:-1], go_escaped}


def _pattern_for(form: str, whole_word: bool) -> str:
    return rf"(?<!\w){re.escape(form)}(?!\w)" if whole_word else re.escape(form)


class LogStreamer:
    """Buffers lines and flushes them as a chunk every ``flush_seconds`` (from a background
    thread, so output that stops mid-run, e.g. during a long ``local-exec``, still shows).

    The clock starts at the first line: a phase whose output takes less than
    ``flush_seconds`` (most small plans and applies, in local mode) uploads its log once, as
    one chunk when it completes, and the background thread starts only once there is output;
    a longer one streams a chunk a ``flush_seconds``."""

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
        self._ticker: threading.Thread | None = None  # from the first line on

    def write(self, line: bytes | str) -> str:
        """Append one line of output and return it as logged: decoded, masked, no newline."""
        text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
        text = self.masker.mask(text.rstrip("\r\n"))
        with self._pending_lock:
            self._pending += (text + "\n").encode()
            full = len(self._pending) >= MAX_CHUNK_BYTES
            if self._ticker is None and not self._stopped.is_set():
                self._ticker = threading.Thread(target=self._tick, name="log-flusher", daemon=True)
                self._ticker.start()
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
                self._put(f"{self._prefix}{self._offset:012d}", chunk)
            except Exception:
                # Put it back for the next flush: a lost chunk would leave a gap in the log.
                with self._pending_lock:
                    self._pending[:0] = chunk
                raise
            self._offset += len(chunk)

    def complete(self) -> None:
        """Flush what is left and write the ``complete`` marker; the log is then final."""
        with self._pending_lock:
            self._stopped.set()
            ticker = self._ticker
        if ticker is not None:
            ticker.join()
        self.flush()
        self._put(f"{self._prefix}complete", b"")

    def _tick(self) -> None:
        while not self._stopped.wait(self._flush_seconds):
            try:
                self.flush()
            except Exception as error:  # S3 hiccup: the lines stay buffered for the next tick
                logger.warning(
                    "log flush failed, will retry", extra={"error": type(error).__name__}
                )
