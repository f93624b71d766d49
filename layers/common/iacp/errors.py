"""Domain errors. Each names an HTTP status; ``iacp.http`` turns them into the error shape
``{"errors": [{"status", "title", "detail", "source"}]}`` (design §9)."""

from collections.abc import Iterable
from http import HTTPStatus
from typing import ClassVar

QUOTED_LIMIT = 64


def capped(value: object, limit: int = QUOTED_LIMIT) -> str:
    """A submitted value as an error message may quote it: at most its first ``limit``
    characters, with an ellipsis when there were more. A message that repeated a long value
    whole would be a way to make the platform echo anything (a secret pasted into the wrong
    field, a page of text)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pointer_of(location: Iterable[int | str]) -> str:
    """The JSON pointer of a pydantic error's location, each part ``capped`` (a key of the
    body is the caller's text too)."""
    return "".join(f"/{capped(part)}" for part in location)


class DomainError(Exception):
    status: ClassVar[HTTPStatus] = HTTPStatus.BAD_REQUEST

    def __init__(
        self,
        detail: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        header: str | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        self.source: dict[str, str] | None = None
        if pointer is not None:
            self.source = {"pointer": pointer}
        elif parameter is not None:
            self.source = {"parameter": parameter}
        elif header is not None:
            self.source = {"header": header}


class Unauthorized(DomainError):
    status = HTTPStatus.UNAUTHORIZED


class Forbidden(DomainError):
    status = HTTPStatus.FORBIDDEN


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND


class Conflict(DomainError):
    """The request is valid but the current state forbids it (lock held, name taken)."""

    status = HTTPStatus.CONFLICT


class InvalidInput(DomainError):
    """A well-formed request whose content the domain rejects; ``pointer`` names the field."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY


class BadRequest(DomainError):
    """A request that cannot be read at all (not JSON, a required header missing)."""

    status = HTTPStatus.BAD_REQUEST


class PayloadTooLarge(DomainError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class UnsupportedMediaType(DomainError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
