"""Lists are ``{"items": [...], "next_cursor": null | str}`` and take ``?cursor=&limit=``.

A cursor is DynamoDB's ``LastEvaluatedKey`` as URL-safe base64 JSON. It is opaque to
clients; a cursor that does not decode to the key shape of the list it came from is a 422.
"""

import base64
import binascii
import json
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from pydantic import Field

from iacp.errors import InvalidInput
from iacp.model import Model

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
T = TypeVar("T")


class Page(Model, Generic[T]):
    """One page of a list. ``Page[Workspace]`` is a class of its own, which pydantic creates
    when the expression is evaluated (~5 ms for the first of a process, ~0.3 ms each after):
    the services that return pages and the routes that answer with one defer their
    annotations (``from __future__ import annotations``), so that a function creates none
    when it loads (but the inventory's ``ResourcePage``, a subclass); a route's is created
    with the rest of its signature's types at its first request, when Powertools evaluates
    them."""

    items: list[T]
    next_cursor: str | None = None


def every_item(page: Callable[[str | None], Page[T]]) -> list[T]:
    """Every item of a list, ``page(cursor)`` after page until the last."""
    items: list[T] = []
    cursor: str | None = None
    while True:
        listed = page(cursor)
        items.extend(listed.items)
        cursor = listed.next_cursor
        if cursor is None:
            return items


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode()


def decode_cursor(
    cursor: str | None,
    key_names: frozenset[str],
    within: Callable[[dict[str, str]], bool] = lambda _: True,
) -> dict[str, str] | None:
    """The start key a cursor stands for, checked to have this list's key attributes and to
    lie ``within`` it: DynamoDB refuses a start key outside the query's key condition."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = None
    if (
        not isinstance(key, dict)
        or set(key) != key_names
        or not all(isinstance(v, str) for v in key.values())
        or not within(key)
    ):
        raise InvalidInput("The cursor is not one this list handed out.", parameter="cursor")
    return key
