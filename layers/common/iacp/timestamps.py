"""One way to tell and print time: timezone-aware UTC, ISO 8601 with a ``Z``."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, PlainSerializer


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, PlainSerializer(to_iso, return_type=str)]
"""A timezone-aware datetime that serialises as ``2026-11-24T03:05:20Z``."""
