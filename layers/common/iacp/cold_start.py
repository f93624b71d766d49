"""What a function's handler module does around everything it loads at a cold start."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a handler module imports and builds
    what it keeps, and what it built then frozen out of the collector's reach.

    A cold start creates several hundred thousand objects (600 to 800 modules, their classes
    and functions, the clients' service models) and nearly all of them live as long as the
    process. With the collector running, each of its full passes during the import walks all
    of them built so far: about a tenth of a cold import (measured: docs/performance.md).
    Pausing alone would only move that walk to the first allocation after it; freezing moves
    the objects to the permanent generation, so neither the cold start nor any later
    invocation's collection walks them. What the import left as garbage stays frozen: a
    one-off, small beside what the import keeps.

    The collector is resumed only if it ran before, and even when the import fails (local
    mode loads the handlers into one long-lived process)."""
    was_running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_running:
            gc.enable()
