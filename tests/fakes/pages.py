"""Pagination for the fakes: an opaque cursor naming the last item handed out, refused (422)
when it does not come from the same list, as the DynamoDB stores refuse theirs."""

from collections.abc import Callable, Sequence
from typing import TypeVar

from iacp.pagination import decode_cursor, encode_cursor

T = TypeVar("T")
_KEY = frozenset({"after", "list"})


def page_of(
    items: Sequence[T], key: Callable[[T], str], limit: int, cursor: str | None, list_id: str = ""
) -> tuple[list[T], str | None]:
    """``items`` in list order (each with a unique ``key``), a page after ``cursor``."""
    start = decode_cursor(cursor, _KEY, within=lambda k: k["list"] == list_id)
    keys = [key(item) for item in items]
    first = 0
    if start is not None:
        after = start["after"]
        first = keys.index(after) + 1 if after in keys else len(items)
    page = list(items[first : first + limit])
    if first + limit >= len(items):
        return page, None
    return page, encode_cursor({"after": key(page[-1]), "list": list_id})
