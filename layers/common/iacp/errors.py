"""Domain errors. Each names an HTTP status; ``iacp.http`` turns them into the error shape
``{"errors": [{"status", "title", "detail", "source"}]}`` (design §9)."""

from http import HTTPStatus
from typing import ClassVar


class DomainError(Exception):
    status: ClassVar[HTTPStatus] = HTTPStatus.BAD_REQUEST

    def __init__(self, detail: str, *, pointer: str | None = None, parameter: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.source: dict[str, str] | None = None
        if pointer is not None:
            self.source = {"pointer": pointer}
        elif parameter is not None:
            self.source = {"parameter": parameter}


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
