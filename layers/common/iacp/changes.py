"""What the PATCH bodies (``...Update`` models) share: only the fields present change."""

from typing import Any

from pydantic import field_validator


def _refuse_null(cls: type, value: Any) -> Any:
    if value is None:
        raise ValueError("may be changed but not set to null")
    return value


def not_nullable(*fields: str) -> Any:
    """A validator for a PATCH model: these fields may be left out, but not set to null
    (``"*"``: every field). Use as ``_not_null = not_nullable("name", ...)``."""
    return field_validator(*fields, mode="before")(classmethod(_refuse_null))
