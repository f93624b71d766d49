"""Printing: tables, ``key: value`` blocks, raw JSON, and notes on standard error."""

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any


def say(text: str = "") -> None:
    """A line on standard output, at once (a watched run's lines arrive over time)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def note(text: str) -> None:
    """A line for the person, not the pipe: standard error."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def print_json(value: Any) -> None:
    say(json.dumps(value, indent=2))


def text(value: Any) -> str:
    """A value as a cell shows it."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], empty: str) -> None:
    """Columns aligned to their widest cell; ``empty`` when there is no row."""
    cells = [[text(cell) for cell in row] for row in rows]
    if not cells:
        say(empty)
        return
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def fields(pairs: Iterable[tuple[str, Any]]) -> None:
    """``name: value`` lines, the values aligned."""
    listed = [(name, text(value)) for name, value in pairs]
    width = max((len(name) for name, _ in listed), default=0) + 1
    for name, value in listed:
        say(f"{name + ':':<{width}} {value}".rstrip())
